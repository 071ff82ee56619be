/**
 * Test helpers, published as `@hindsight/sdk/testing`: a local server that speaks the OpenAI Chat
 * Completions wire protocol, and in-memory span capture. Nothing here is needed in production.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { HindsightOptions } from './config'
import { type Hindsight, init } from './hindsight'
import { asRecord, asString, isRecord, type UnknownRecord } from './narrow'

export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

/** A tool call the fake model makes. */
export interface FakeToolCall {
  id: string
  name: string
  /** JSON text, as OpenAI sends it. */
  arguments: string
}

/** What the fake returns for one request. Every field has a sensible default. */
export interface FakeReply {
  /** Assistant text. @default 'Hello from the fake OpenAI server.' (or none when toolCalls are given) */
  content?: string
  toolCalls?: FakeToolCall[]
  /** @default 'tool_calls' when toolCalls are given, else 'stop' */
  finishReason?: string
  /** The response's `model`. @default the request's model */
  model?: string
  /** @default 'chatcmpl-fake-<n>' */
  id?: string
  /** Token counts. @default prompt 12, completion 8, no cached or reasoning tokens */
  usage?: {
    prompt_tokens?: number
    completion_tokens?: number
    cached_tokens?: number
    reasoning_tokens?: number
  }
  /** Answer with this HTTP error instead: status plus an OpenAI error body. */
  error?: { status: number; message?: string; type?: string; code?: string | null }
  /** Delay before the response (non-streaming) or before the first chunk (streaming). @default 0 */
  firstChunkDelayMs?: number
  /** Delay between stream chunks. @default 0 */
  chunkDelayMs?: number
  /** Characters of content per stream chunk. @default 4 */
  chunkSize?: number
  /** Streaming only: stop after this many chunks (role chunk included) and fail as `failMode` says. */
  failAfterChunks?: number
  /**
   * `error-event` sends an OpenAI error object as an SSE event (the client throws an APIError);
   * `destroy` cuts the connection mid-stream.
   * @default 'error-event'
   */
  failMode?: 'error-event' | 'destroy'
}

export interface FakeOpenAIOptions {
  /** The reply, or a function choosing it per request (`index` counts requests from 0). */
  reply?: FakeReply | ((request: UnknownRecord, index: number) => FakeReply)
}

export interface RecordedRequest {
  path: string
  headers: IncomingHttpHeaders
  body: UnknownRecord
}

export interface FakeOpenAI {
  /** e.g. `http://127.0.0.1:54321` */
  url: string
  /** `url + '/v1'`: pass as the OpenAI client's `baseURL`. */
  baseURL: string
  /** Request bodies in arrival order. */
  requests: UnknownRecord[]
  /** Requests with their paths and headers. */
  recorded: RecordedRequest[]
  close(): Promise<void>
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve()

function usageOf(reply: FakeReply): UnknownRecord {
  const prompt = reply.usage?.prompt_tokens ?? 12
  const completion = reply.usage?.completion_tokens ?? 8
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: reply.usage?.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reply.usage?.reasoning_tokens ?? 0, audio_tokens: 0 },
  }
}

function chunks(text: string, size: number): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

function sendError(res: ServerResponse, error: NonNullable<FakeReply['error']>): void {
  res.writeHead(error.status, { 'content-type': 'application/json', 'x-request-id': 'req_fake_error' })
  res.end(
    JSON.stringify({
      error: {
        message: error.message ?? `Fake error ${error.status}`,
        type: error.type ?? (error.status === 429 ? 'rate_limit_exceeded' : 'api_error'),
        param: null,
        code: error.code ?? null,
      },
    }),
  )
}

interface Resolved {
  id: string
  model: string
  content: string | undefined
  toolCalls: FakeToolCall[]
  finishReason: string
  created: number
}

function resolveReply(reply: FakeReply, body: UnknownRecord, index: number): Resolved {
  const toolCalls = reply.toolCalls ?? []
  return {
    id: reply.id ?? `chatcmpl-fake-${index}`,
    model: reply.model ?? asString(body.model) ?? 'fake-model',
    content: reply.content ?? (toolCalls.length > 0 ? undefined : 'Hello from the fake OpenAI server.'),
    toolCalls,
    finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    created: Math.floor(Date.now() / 1000),
  }
}

function completionBody(r: Resolved, reply: FakeReply): UnknownRecord {
  return {
    id: r.id,
    object: 'chat.completion',
    created: r.created,
    model: r.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: r.content ?? null,
          refusal: null,
          ...(r.toolCalls.length > 0
            ? {
                tool_calls: r.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: r.finishReason,
      },
    ],
    usage: usageOf(reply),
    system_fingerprint: 'fp_fake',
  }
}

/** The chunk sequence OpenAI sends: role first, content pieces, tool-call pieces, then the finish reason. */
function streamChunks(r: Resolved, reply: FakeReply, includeUsage: boolean): UnknownRecord[] {
  const base = { id: r.id, object: 'chat.completion.chunk', created: r.created, model: r.model }
  const usage = includeUsage ? { usage: null } : {}
  const chunk = (delta: UnknownRecord, finishReason: string | null = null): UnknownRecord => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...usage,
  })
  const out: UnknownRecord[] = [chunk({ role: 'assistant', content: '', refusal: null })]
  for (const piece of chunks(r.content ?? '', reply.chunkSize ?? 4)) out.push(chunk({ content: piece }))
  r.toolCalls.forEach((call, index) => {
    out.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    )
    for (const piece of chunks(call.arguments, reply.chunkSize ?? 4)) {
      out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
    }
  })
  out.push(chunk({}, r.finishReason))
  if (includeUsage) out.push({ ...base, choices: [], usage: usageOf(reply) })
  return out
}

async function stream(
  res: ServerResponse,
  r: Resolved,
  reply: FakeReply,
  body: UnknownRecord,
): Promise<void> {
  const includeUsage = asRecord(body.stream_options)?.include_usage === true
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-request-id': 'req_fake',
  })
  res.flushHeaders()
  await sleep(reply.firstChunkDelayMs ?? 0)
  const all = streamChunks(r, reply, includeUsage)
  for (const [sent, chunk] of all.entries()) {
    if (res.destroyed) return
    if (reply.failAfterChunks !== undefined && sent >= reply.failAfterChunks) {
      if (reply.failMode === 'destroy') {
        res.destroy()
      } else {
        res.end(
          `data: ${JSON.stringify({ error: { message: 'Fake mid-stream failure', type: 'server_error' } })}\n\n`,
        )
      }
      return
    }
    if (sent > 0) await sleep(reply.chunkDelayMs ?? 0)
    if (res.destroyed) return
    res.write(`data: ${JSON.stringify(chunk)}\n\n`)
  }
  res.end('data: [DONE]\n\n')
}

/**
 * Starts a fake OpenAI server on 127.0.0.1 (random port). Point a real `new OpenAI({ baseURL })`
 * at it. It answers `POST /v1/chat/completions` (JSON or SSE when `stream: true`) and 404s the rest.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: UnknownRecord[] = []
  const recorded: RecordedRequest[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      let body: UnknownRecord = {}
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}')
        if (isRecord(parsed)) body = parsed
      } catch {
        sendError(res, { status: 400, message: 'Request body is not JSON', type: 'invalid_request_error' })
        return
      }
      const path = req.url ?? '/'
      if (req.method !== 'POST' || !path.startsWith('/v1/chat/completions')) {
        sendError(res, {
          status: 404,
          message: `No fake for ${req.method} ${path}`,
          type: 'invalid_request_error',
        })
        return
      }
      const index = requests.length
      requests.push(body)
      recorded.push({ path, headers: req.headers, body })
      const reply = typeof options.reply === 'function' ? options.reply(body, index) : (options.reply ?? {})
      void respond(res, reply, body, index).catch(() => res.destroy())
    })
  })

  async function respond(
    res: ServerResponse,
    reply: FakeReply,
    body: UnknownRecord,
    index: number,
  ): Promise<void> {
    if (reply.error) {
      await sleep(reply.firstChunkDelayMs ?? 0)
      sendError(res, reply.error)
      return
    }
    const resolved = resolveReply(reply, body, index)
    if (body.stream === true) {
      await stream(res, resolved, reply, body)
      return
    }
    await sleep(reply.firstChunkDelayMs ?? 0)
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_fake_${index}` })
    res.end(JSON.stringify(completionBody(resolved, reply)))
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    recorded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface InMemoryHindsight {
  hindsight: Hindsight
  exporter: InMemorySpanExporter
  /** Finished spans so far (spans are exported synchronously as they end). */
  spans(): ReadableSpan[]
  /** The finished spans whose name starts with `chat`. */
  chatSpans(): ReadableSpan[]
  reset(): void
}

/**
 * `init()` with an in-memory exporter behind a synchronous processor: spans can be read as soon as
 * they end, with no collector. Replaces any previous `init()`, like `init()` itself.
 */
export function initInMemory(
  options: Omit<HindsightOptions, 'exporter' | 'spanProcessor'> = {},
): InMemoryHindsight {
  const exporter = new InMemorySpanExporter()
  const hindsight = init({ ...options, spanProcessor: new SimpleSpanProcessor(exporter) })
  return {
    hindsight,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    chatSpans: () => exporter.getFinishedSpans().filter((span) => span.name.startsWith('chat')),
    reset: () => exporter.reset(),
  }
}
