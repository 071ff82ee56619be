import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type GrpcReceiver, startGrpcReceiver } from './grpc/grpc-receiver'
import { createOtlpHandler } from './http/otlp-handler'
import { IngestPipeline } from './ingest/pipeline'
import type { IngestLimits } from './limits/limits'
import type { PriceTable } from './pricing/price-table'
import { ingestPriceResolver, type PriceTableResolver } from './pricing/project-prices'
import { type RetentionJob, type RetentionJobOptions, startRetentionJob } from './retention/retention'
import { Spool } from './spool/spool'
import type { ProjectRepository, Storage } from './storage'
import { SpanWriter } from './writer/span-writer'

export interface CollectorOptions {
  /** Where spans are stored (`${storage.database}.spans`; migrations must have run). */
  storage: Storage
  /** Resolves API keys to projects (`authenticate(key) → projectId | null`). */
  projects: Pick<ProjectRepository, 'authenticate'>
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** OTLP/HTTP port to bind; 0 picks a free port. @default 4318 */
  port?: number
  /**
   * OTLP/gRPC port to bind; 0 picks a free port, `false` serves no gRPC.
   * @default 4317, or 0 (a free port) when `port` is 0
   */
  grpcPort?: number | false
  /**
   * Largest request body (HTTP: compressed and decompressed; gRPC: the decompressed message);
   * larger → 413 / RESOURCE_EXHAUSTED. @default 10485760 (10 MiB)
   */
  maxBodyBytes?: number
  /** Rows per insert at most. @default 10000 */
  batchMaxRows?: number
  /** Longest a row waits before its batch is inserted. @default 200 */
  batchMaxDelayMs?: number
  /**
   * Rows held in memory before they are stored. Without a spool, requests beyond it get 429 with
   * Retry-After; with one, further rows wait on disk only. @default 100000
   */
  maxPendingRows?: number
  /** Most insert lag (ms at the recent insert speed) before 429s slow intake (see SpanWriter). @default 1000 */
  maxLagMs?: number
  /**
   * Directory of the write-ahead spool (e.g. `<dataDir>/spool`). When set, a request is answered
   * only once its rows are fsynced there; rows left by a crash are replayed on start; while
   * storage is down, spans keep being accepted up to `spoolMaxBytes`. When absent, accepted rows
   * live in memory until stored (a crash loses them). @default none
   */
  spoolDir?: string
  /**
   * Spool bytes not yet stored beyond which requests get 503 with Retry-After (storage failing)
   * or 429 (storage slow). @default 1073741824 (1 GiB)
   */
  spoolMaxBytes?: number
  /** Size at which a spool segment file is rotated. @default 67108864 (64 MiB) */
  spoolSegmentBytes?: number
  /** Spans per request, attributes per span, value lengths (see `IngestLimits`). @default DEFAULT_LIMITS */
  limits?: Partial<IngestLimits>
  /** Requests handled at once over both transports; more get 429 / RESOURCE_EXHAUSTED. @default 64 */
  maxConcurrentRequests?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE (the built-in table) */
  priceTable?: PriceTable
  /** Price table per project. @default each project's custom prices (storage) over `priceTable` */
  prices?: PriceTableResolver
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number
  /** Where unexpected errors (insert failures, spool problems) are reported. @default console.error */
  onError?: (message: string, error: unknown) => void
  /**
   * Enforce per-project retention (`defaultDays`: HINDSIGHT_RETENTION_DAYS) in the background:
   * at start, then every `intervalMs` (hourly). Off when absent.
   */
  retention?: RetentionJobOptions
}

export interface CollectorStats {
  accepted_spans: number
  rejected_spans: number
  inserted_rows: number
  /** Rows accepted and not yet stored (in memory or waiting in the spool). */
  pending_rows: number
  /** Rows held in memory (bounded by `maxPendingRows`). */
  memory_rows: number
  /** Spool bytes not yet stored (0 without a spool). */
  spool_bytes: number
  /** Rows found in the spool at start (left by a crash or an outage) and replayed. */
  replayed_rows: number
  /** Rows storage refused as bad data (or, without a spool, still failing at shutdown). */
  dropped_rows: number
  /** Span rejections by reason, and whole-request refusals as `request_<code>`. */
  rejections: Record<string, number>
}

export interface RunningCollector {
  /** Base URL, e.g. 'http://127.0.0.1:4318'; traces go to `${url}/v1/traces`. */
  url: string
  port: number
  /** OTLP/gRPC endpoint, e.g. 'http://127.0.0.1:4317'; null when gRPC is off. */
  grpcUrl: string | null
  grpcPort: number | null
  /** Write everything accepted so far to storage (tests, shutdown). */
  flush(): Promise<void>
  /** Stop accepting, finish in-flight requests, flush, close the server (not the storage). */
  close(): Promise<void>
  stats(): CollectorStats
}

/** How long `close()` lets in-flight requests finish before cutting connections. */
const CLOSE_GRACE_MS = 5000

/**
 * Start the OTLP receivers: HTTP (`POST /v1/traces`) on its own node:http server and gRPC
 * (`TraceService/Export`), sharing one ingest pipeline and one writer (with its spool when
 * `spoolDir` is set; rows a previous process left there are replayed at once). Resolves once
 * both ports are bound.
 */
export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const host = options.host ?? '127.0.0.1'
  const httpPort = options.port ?? 4318
  const grpcPort = options.grpcPort ?? (httpPort === 0 ? 0 : 4317)
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 2 ** 20
  const onError =
    options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
  const spool = options.spoolDir
    ? await Spool.open({
        dir: options.spoolDir,
        onError,
        ...(options.spoolSegmentBytes !== undefined && { segmentMaxBytes: options.spoolSegmentBytes }),
      })
    : null
  const writer = new SpanWriter({
    storage: options.storage,
    onError,
    ...(spool && { spool }),
    ...(options.spoolMaxBytes !== undefined && { spoolMaxBytes: options.spoolMaxBytes }),
    ...(options.batchMaxRows !== undefined && { batchMaxRows: options.batchMaxRows }),
    ...(options.batchMaxDelayMs !== undefined && { batchMaxDelayMs: options.batchMaxDelayMs }),
    ...(options.maxPendingRows !== undefined && { maxPendingRows: options.maxPendingRows }),
    ...(options.maxLagMs !== undefined && { maxLagMs: options.maxLagMs }),
  })
  const pipeline = new IngestPipeline({
    projects: options.projects,
    writer,
    onError,
    ...(options.priceTable !== undefined && { priceTable: options.priceTable }),
    prices: options.prices ?? ingestPriceResolver(options.storage, { base: options.priceTable, onError }),
    ...(options.now !== undefined && { now: options.now }),
    ...(options.limits !== undefined && { limits: options.limits }),
    ...(options.maxConcurrentRequests !== undefined && {
      maxConcurrentRequests: options.maxConcurrentRequests,
    }),
  })
  const handler = createOtlpHandler({
    projects: options.projects,
    writer,
    pipeline,
    maxBodyBytes,
    onError,
  })
  let closing = false
  const server = createServer((req, res) => {
    // Once closing, finish this request but do not keep its connection alive.
    if (closing) res.shouldKeepAlive = false
    handler(req, res)
  })
  // Bound slow or stalled uploads.
  server.requestTimeout = 60_000

  let grpc: GrpcReceiver | null = null
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(httpPort, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    if (grpcPort !== false) {
      grpc = await startGrpcReceiver({
        pipeline,
        host,
        port: grpcPort,
        maxMessageBytes: maxBodyBytes,
        onError,
      })
    }
  } catch (error) {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    await writer.close()
    await spool?.close()
    throw error
  }
  server.on('error', (error) => onError('server error', error))
  const retention: RetentionJob | null = options.retention
    ? startRetentionJob(options.storage, options.retention)
    : null
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
    await Promise.all([Promise.race([stopped, timeout]), grpc?.close(CLOSE_GRACE_MS), retention?.stop()])
    clearTimeout(grace)
    await writer.close()
    await spool?.close()
  }

  return {
    url,
    port,
    grpcUrl: grpc?.url ?? null,
    grpcPort: grpc?.port ?? null,
    flush: () => writer.flush(),
    close: () => {
      closed ??= shutdown()
      return closed
    },
    stats: () => {
      const ingest = pipeline.stats()
      const written = writer.stats()
      return {
        accepted_spans: ingest.accepted_spans,
        rejected_spans: ingest.rejected_spans,
        inserted_rows: written.inserted_rows,
        pending_rows: written.pending_rows,
        memory_rows: written.memory_rows,
        spool_bytes: written.spool_bytes,
        replayed_rows: written.replayed_rows,
        dropped_rows: written.dropped_rows,
        rejections: ingest.rejections,
      }
    },
  }
}
