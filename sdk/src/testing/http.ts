import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isRecord, type UnknownRecord } from '../narrow'

/** A request a fake server received. */
export interface RecordedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: UnknownRecord
}

export const sleep = (ms: number): Promise<void> =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve()

export function chunkText(text: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += Math.max(1, size)) out.push(text.slice(i, i + Math.max(1, size)))
  return out
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

export function startSse(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers })
  res.flushHeaders()
}

/** One SSE message: `event:` line when named, then the JSON data. */
export function sseMessage(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`
}

/** Requests a fake server is answering right now, and the most it answered at once. */
export interface FakeServerLoad {
  inFlight: number
  maxInFlight: number
}

export interface FakeServer {
  url: string
  load: FakeServerLoad
  close(): Promise<void>
}

/**
 * A local HTTP server on 127.0.0.1 (random port) that parses JSON bodies and hands each request to
 * `handle`; a body that is not JSON gets `onBadJson`. Handler failures destroy the connection.
 */
export async function startFakeServer(
  handle: (req: RecordedRequest & { method: string }, res: ServerResponse) => Promise<void> | void,
  onBadJson: (res: ServerResponse) => void,
): Promise<FakeServer> {
  const load: FakeServerLoad = { inFlight: 0, maxInFlight: 0 }
  const server = createServer((req, res) => {
    load.inFlight += 1
    if (load.inFlight > load.maxInFlight) load.maxInFlight = load.inFlight
    res.once('close', () => {
      load.inFlight -= 1
    })
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      let body: UnknownRecord = {}
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}')
        if (isRecord(parsed)) body = parsed
      } catch {
        onBadJson(res)
        return
      }
      const request = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body }
      Promise.resolve()
        .then(() => handle(request, res))
        .catch(() => res.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    load,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
