/**
 * In-process ingest: spans a process produces itself for a project it already knows (the
 * back-test replay's candidate spans in `hindsight start`) go through the same pipeline as
 * network spans — OTLP decode within the limits, validation, mapping, the project's prices, the
 * write-ahead spool and the batched writer — without an API key (a key is stored hashed, so the
 * server cannot send with a project's key) and without a socket.
 */
import { CollectorError } from '../errors'
import type { IngestLimits } from '../limits/limits'
import type { OtlpEncoding } from '../otlp/decode'
import type { PriceTable } from '../pricing/price-table'
import { ingestPriceResolver, type PriceTableResolver } from '../pricing/project-prices'
import { Spool } from '../spool/spool'
import type { Storage } from '../storage'
import { SpanWriter, type SpanWriterStats } from '../writer/span-writer'
import { IngestPipeline, type IngestResult, type IngestStats } from './pipeline'

export interface LocalIngestOptions {
  /** Where spans are stored (`${storage.database}.spans`; migrations must have run). */
  storage: Storage
  /**
   * Write-ahead spool directory of this ingest (its own: a spool is locked by one writer, e.g.
   * `<dataDir>/spool-local`). Accepted spans are fsynced there before `ingest` resolves and
   * replayed on the next start after a crash. Without it accepted rows wait in memory.
   */
  spoolDir?: string
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
  /** Price table per project. @default each project's custom prices (storage) over `priceTable` */
  prices?: PriceTableResolver
  limits?: Partial<IngestLimits>
  /** Rows held in memory before they are stored. @default 100000 */
  maxPendingRows?: number
  /** Longest a row waits before its batch is inserted. @default 200 */
  batchMaxDelayMs?: number
  /**
   * How many times a request refused for now (writer busy or failing: what HTTP answers 429 /
   * 503) is retried after the delay the pipeline asks for, before `ingest` rejects. @default 5
   */
  maxRetries?: number
  onError?: (message: string, error: unknown) => void
}

export interface LocalIngestStats extends IngestStats, SpanWriterStats {
  /** Requests retried after a 429 / 503-style refusal. */
  retries: number
}

export interface LocalIngest {
  /**
   * Decode an OTLP trace request (`ExportTraceServiceRequest`, protobuf or JSON) and store its
   * spans for `projectId`. Resolves once the accepted rows are durable (spool) or queued, with
   * what OTLP would put in `partial_success`; rejects with a `CollectorError` when the request is
   * malformed or still refused after `maxRetries`.
   */
  ingest(projectId: string, body: Uint8Array, encoding?: OtlpEncoding): Promise<IngestResult>
  /** Write everything accepted so far to storage. */
  flush(): Promise<void>
  /** Stop accepting, store what was accepted (or leave it in the spool), close the spool. Idempotent. */
  close(): Promise<void>
  stats(): LocalIngestStats
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Open the spool (replaying what a crash left in it) and the writer, and return the ingest. */
export async function startLocalIngest(options: LocalIngestOptions): Promise<LocalIngest> {
  const onError =
    options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
  const spool = options.spoolDir ? await Spool.open({ dir: options.spoolDir, onError }) : null
  const writer = new SpanWriter({
    storage: options.storage,
    onError,
    ...(spool && { spool }),
    ...(options.maxPendingRows !== undefined && { maxPendingRows: options.maxPendingRows }),
    ...(options.batchMaxDelayMs !== undefined && { batchMaxDelayMs: options.batchMaxDelayMs }),
  })
  const pipeline = new IngestPipeline({
    // No key travels in-process: the caller names the project.
    projects: { authenticate: async () => null },
    writer,
    onError,
    ...(options.priceTable !== undefined && { priceTable: options.priceTable }),
    prices: options.prices ?? ingestPriceResolver(options.storage, { base: options.priceTable, onError }),
    ...(options.limits !== undefined && { limits: options.limits }),
  })
  const maxRetries = options.maxRetries ?? 5
  let retries = 0
  let closing = false
  let closed: Promise<void> | null = null

  const once = async (projectId: string, body: Uint8Array, encoding: OtlpEncoding) => {
    if (closing) throw new CollectorError('storage_unavailable', 'the local ingest is closed')
    const release = pipeline.enter()
    try {
      pipeline.checkCapacity()
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
      return await pipeline.ingest(projectId, pipeline.decode(bytes, encoding))
    } finally {
      release()
    }
  }

  return {
    async ingest(projectId, body, encoding = 'protobuf') {
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(projectId, body, encoding)
        } catch (error) {
          const retry =
            CollectorError.isInstance(error) && error.retryable && !closing && attempt < maxRetries
          if (!retry) throw error
          retries += 1
          await sleep((error.retryAfterSeconds ?? 1) * 1000)
        }
      }
    },
    flush: () => writer.flush(),
    close() {
      closing = true
      closed ??= (async () => {
        await writer.close()
        await spool?.close()
      })()
      return closed
    },
    stats: () => ({ ...pipeline.stats(), ...writer.stats(), retries }),
  }
}
