import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createOtlpHandler } from './http/otlp-handler'
import type { PriceTable } from './pricing/price-table'
import type { ProjectRepository, Storage } from './storage'
import { SpanWriter } from './writer/span-writer'

export interface CollectorOptions {
  /** Where spans are stored (`${storage.database}.spans`; migrations must have run). */
  storage: Storage
  /** Resolves API keys to projects (`authenticate(key) → projectId | null`). */
  projects: Pick<ProjectRepository, 'authenticate'>
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port to bind; 0 picks a free port. @default 4318 */
  port?: number
  /** Largest request body, compressed and decompressed; larger → 413. @default 10485760 (10 MiB) */
  maxBodyBytes?: number
  /** Rows per insert. @default 5000 */
  batchMaxRows?: number
  /** Longest a row waits before its batch is inserted. @default 200 */
  batchMaxDelayMs?: number
  /** Rows accepted but not stored beyond which requests get 429 with Retry-After. @default 100000 */
  maxPendingRows?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE (the built-in table) */
  priceTable?: PriceTable
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number
}

export interface CollectorStats {
  accepted_spans: number
  rejected_spans: number
  inserted_rows: number
  pending_rows: number
  /** Span rejections by reason, and whole-request refusals as `request_<code>`. */
  rejections: Record<string, number>
}

export interface RunningCollector {
  /** Base URL, e.g. 'http://127.0.0.1:4318'; traces go to `${url}/v1/traces`. */
  url: string
  port: number
  /** Write everything accepted so far to storage (tests, shutdown). */
  flush(): Promise<void>
  /** Stop accepting, finish in-flight requests, flush, close the server (not the storage). */
  close(): Promise<void>
  stats(): CollectorStats
}

/** How long `close()` lets in-flight requests finish before cutting connections. */
const CLOSE_GRACE_MS = 5000

/**
 * Start the OTLP/HTTP receiver (`POST /v1/traces`) on its own node:http server. Resolves once
 * the port is bound.
 */
export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const host = options.host ?? '127.0.0.1'
  const writer = new SpanWriter({
    storage: options.storage,
    ...(options.batchMaxRows !== undefined && { batchMaxRows: options.batchMaxRows }),
    ...(options.batchMaxDelayMs !== undefined && { batchMaxDelayMs: options.batchMaxDelayMs }),
    ...(options.maxPendingRows !== undefined && { maxPendingRows: options.maxPendingRows }),
  })
  const handler = createOtlpHandler({
    projects: options.projects,
    writer,
    ...(options.maxBodyBytes !== undefined && { maxBodyBytes: options.maxBodyBytes }),
    ...(options.priceTable !== undefined && { priceTable: options.priceTable }),
    ...(options.now !== undefined && { now: options.now }),
  })
  let closing = false
  const server = createServer((req, res) => {
    // Once closing, finish this request but do not keep its connection alive.
    if (closing) res.shouldKeepAlive = false
    handler(req, res)
  })
  // Bound slow or stalled uploads.
  server.requestTimeout = 60_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 4318, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (error) => console.error('[hindsight collector] server error', error))
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

  let closed: Promise<void> | null = null
  async function shutdown(): Promise<void> {
    closing = true
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    let grace: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      grace = setTimeout(() => {
        server.closeAllConnections()
        resolve()
      }, CLOSE_GRACE_MS)
    })
    await Promise.race([stopped, timeout])
    clearTimeout(grace)
    await writer.close()
  }

  return {
    url,
    port,
    flush: () => writer.flush(),
    close: () => {
      closed ??= shutdown()
      return closed
    },
    stats: () => {
      const ingest = handler.stats()
      const written = writer.stats()
      return {
        accepted_spans: ingest.accepted_spans,
        rejected_spans: ingest.rejected_spans,
        inserted_rows: written.inserted_rows,
        pending_rows: written.pending_rows,
        rejections: ingest.rejections,
      }
    },
  }
}
