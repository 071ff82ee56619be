import { Readable } from 'node:stream'
import type { SpanRow } from '../canonical'
import type { Storage } from '../storage'

export interface SpanWriterOptions {
  /** Where rows go: `${storage.database}.spans`. */
  storage: Pick<Storage, 'client' | 'database'>
  /** Insert as soon as this many rows are buffered. @default 5000 */
  batchMaxRows?: number
  /** Insert buffered rows at most this long after the first one arrived. @default 200 */
  batchMaxDelayMs?: number
  /** Rows buffered or being inserted beyond which `admit` refuses more. @default 100_000 */
  maxPendingRows?: number
  /** Serialized bytes buffered beyond which `admit` refuses more. @default 268_435_456 (256 MiB) */
  maxPendingBytes?: number
  /** First retry delay after a failed insert; doubles per attempt. @default 100 */
  retryBaseDelayMs?: number
  /** Longest delay between retries. @default 5000 */
  retryMaxDelayMs?: number
  /** Retries of a failing insert once `close()` has begun, before its rows are given up. @default 3 */
  closeRetries?: number
  /**
   * Use chDB's raw Buffer insert when the storage is embedded (about twice as fast as going
   * through the client); falls back to the client when unavailable. @default true
   */
  rawInsert?: boolean
  /** Where insert failures are reported. @default console.error */
  onError?: (message: string, error: unknown) => void
}

export interface SpanWriterStats {
  /** Rows stored. */
  inserted_rows: number
  /** Rows accepted but not yet stored (buffered or in flight). */
  pending_rows: number
  pending_bytes: number
  /** Rows given up: rejected by the engine as bad data, or still failing at shutdown. */
  dropped_rows: number
  /** Insert attempts that failed (each retry counts). */
  failed_inserts: number
}

/** Whether `add` would be welcome now: 'full' → answer 429, 'failing' → answer 503. */
export type AdmitResult = 'ok' | 'full' | 'failing'

type InsertBody = (body: Buffer) => Promise<void>

interface Waiter {
  target: number
  droppedBefore: number
  resolve: () => void
  reject: (error: Error) => void
}

interface RawInsertConnection {
  connectionName?: string
  chdb?: {
    rawInsert?: (params: { table: string; values: Buffer; format: 'JSONEachRow' }) => Promise<unknown>
  }
}

// ClickHouse error codes that mean "this data can never be inserted" (parse and type errors):
// the batch is split to isolate the bad rows instead of retrying it forever.
const DATA_ERROR_CODES = new Set([6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 321, 407])
const DATA_ERROR_TEXT = /Cannot parse|CANNOT_PARSE|INCORRECT_DATA|TYPE_MISMATCH|Cannot read all data/i

function errorCode(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code)
  if (typeof code === 'number') return code
  const match = /Code: (\d+)/.exec(String((error as { message?: unknown }).message ?? ''))
  return match?.[1] ? Number(match[1]) : null
}

/** True when retrying the same rows cannot succeed. Everything else (network, engine load) is retried. */
export function isDataError(error: unknown): boolean {
  const code = errorCode(error)
  if (code !== null && DATA_ERROR_CODES.has(code)) return true
  const message = error instanceof Error ? error.message : String(error)
  return DATA_ERROR_TEXT.test(message)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Buffers canonical rows and inserts them into `spans` in batches (on size, on a timer, on
 * `flush()` and on `close()`), one insert at a time so rows are stored in arrival order.
 * Each row is serialized to a JSONEachRow line once, when it is added.
 *
 * Failures: data errors split the batch until the offending rows are isolated and dropped (and
 * reported); any other error is retried with exponential backoff for as long as the writer is
 * open, while `admit` reports 'failing' so the receiver answers 503 and clients back off.
 * Rows live in memory until inserted: a crash loses what is pending (no spool yet).
 */
export class SpanWriter {
  private readonly table: string
  private readonly batchMaxRows: number
  private readonly batchMaxDelayMs: number
  private readonly maxPendingRows: number
  private readonly maxPendingBytes: number
  private readonly retryBaseDelayMs: number
  private readonly retryMaxDelayMs: number
  private readonly closeRetries: number
  private readonly onError: (message: string, error: unknown) => void
  private readonly insertBody: InsertBody

  private queue: string[] = []
  private queueBytes = 0
  private inflightRows = 0
  private inflightBytes = 0
  private added = 0
  private settled = 0
  private flushTarget = 0
  private timer: NodeJS.Timeout | null = null
  private timerFired = false
  private running: Promise<void> | null = null
  private waiters: Waiter[] = []
  private closing = false
  private isFailing = false
  private inserted = 0
  private dropped = 0
  private failedInserts = 0

  constructor(options: SpanWriterOptions) {
    this.table = `${options.storage.database}.spans`
    this.batchMaxRows = Math.max(1, options.batchMaxRows ?? 5000)
    this.batchMaxDelayMs = Math.max(0, options.batchMaxDelayMs ?? 200)
    this.maxPendingRows = Math.max(1, options.maxPendingRows ?? 100_000)
    this.maxPendingBytes = Math.max(1, options.maxPendingBytes ?? 256 * 2 ** 20)
    this.retryBaseDelayMs = Math.max(1, options.retryBaseDelayMs ?? 100)
    this.retryMaxDelayMs = Math.max(this.retryBaseDelayMs, options.retryMaxDelayMs ?? 5000)
    this.closeRetries = Math.max(0, options.closeRetries ?? 3)
    this.onError =
      options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
    this.insertBody = this.chooseInsert(options.storage, options.rawInsert ?? true)
  }

  private chooseInsert(storage: Pick<Storage, 'client'>, preferRaw: boolean): InsertBody {
    // The chDB connection is reachable only through the client's (untyped) `connection` field;
    // checked structurally so a different client version simply takes the portable path.
    const connection = (storage.client as unknown as { connection?: RawInsertConnection }).connection
    const rawInsert = connection?.chdb?.rawInsert
    if (preferRaw && connection?.connectionName === 'chdb' && typeof rawInsert === 'function') {
      return async (body) => {
        await rawInsert.call(connection.chdb, { table: this.table, values: body, format: 'JSONEachRow' })
      }
    }
    return async (body) => {
      const result = await storage.client.exec({
        query: `INSERT INTO ${this.table} FORMAT JSONEachRow`,
        values: Readable.from([body]),
      })
      // Drain the (empty) response so an HTTP connection goes back to the pool.
      for await (const _ of result.stream) {
      }
    }
  }

  /** Rows accepted and not yet stored. */
  get pendingRows(): number {
    return this.queue.length + this.inflightRows
  }

  /** True while inserts are failing and being retried. */
  get failing(): boolean {
    return this.isFailing
  }

  /**
   * Whether `rows` more rows may be added now. A request larger than the whole bound is still
   * admitted into an empty writer, so it cannot be refused forever.
   */
  admit(rows: number): AdmitResult {
    if (this.closing || this.isFailing) return 'failing'
    const pending = this.pendingRows
    if (pending === 0) return 'ok'
    if (pending + rows > this.maxPendingRows) return 'full'
    if (this.queueBytes + this.inflightBytes > this.maxPendingBytes) return 'full'
    return 'ok'
  }

  /** Accept rows; they are stored within `batchMaxDelayMs` (or sooner when a batch fills). */
  add(rows: readonly SpanRow[]): void {
    if (this.closing) throw new Error('SpanWriter is closed')
    if (rows.length === 0) return
    for (const row of rows) {
      const line = `${JSON.stringify(row)}\n`
      this.queue.push(line)
      this.queueBytes += line.length
    }
    this.added += rows.length
    if (this.queue.length >= this.batchMaxRows) this.kick()
    else this.armTimer()
  }

  /** Resolves once every row added before the call is stored; rejects if some had to be dropped. */
  flush(): Promise<void> {
    const target = this.added
    if (this.settled >= target) return Promise.resolve()
    this.flushTarget = Math.max(this.flushTarget, target)
    const promise = new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, droppedBefore: this.dropped, resolve, reject })
    })
    this.kick()
    return promise
  }

  /** Stop accepting rows and store what is pending (failing inserts get `closeRetries` more tries). */
  async close(): Promise<void> {
    this.closing = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    // Dropped rows were reported through onError; a shutdown sequence should go on.
    await this.flush().catch(() => {})
  }

  stats(): SpanWriterStats {
    return {
      inserted_rows: this.inserted,
      pending_rows: this.pendingRows,
      pending_bytes: this.queueBytes + this.inflightBytes,
      dropped_rows: this.dropped,
      failed_inserts: this.failedInserts,
    }
  }

  private armTimer(): void {
    if (this.timer || this.closing) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.timerFired = true
      this.kick()
    }, this.batchMaxDelayMs)
  }

  private kick(): void {
    if (this.running) return
    this.running = this.drain().finally(() => {
      this.running = null
      if (this.shouldSend()) this.kick()
      else if (this.queue.length > 0) this.armTimer()
    })
  }

  private shouldSend(): boolean {
    if (this.queue.length === 0) return false
    return (
      this.queue.length >= this.batchMaxRows ||
      this.timerFired ||
      this.flushTarget > this.settled ||
      this.closing
    )
  }

  private async drain(): Promise<void> {
    while (this.shouldSend()) {
      if (this.timer && this.queue.length <= this.batchMaxRows) {
        clearTimeout(this.timer)
        this.timer = null
      }
      const batch = this.queue.splice(0, this.batchMaxRows)
      const bytes = batch.reduce((n, line) => n + line.length, 0)
      this.queueBytes -= bytes
      if (this.queue.length === 0) this.timerFired = false
      this.inflightRows = batch.length
      this.inflightBytes = bytes
      try {
        await this.insertBatch(batch)
      } catch (error) {
        // insertBatch handles its own failures; this guards the loop against bugs.
        this.drop(batch, error)
      }
      this.inflightRows = 0
      this.inflightBytes = 0
      this.settled += batch.length
      this.settleWaiters()
    }
  }

  private settleWaiters(): void {
    const remaining: Waiter[] = []
    for (const waiter of this.waiters) {
      if (waiter.target > this.settled) {
        remaining.push(waiter)
        continue
      }
      const lost = this.dropped - waiter.droppedBefore
      if (lost > 0) waiter.reject(new Error(`${lost} span rows could not be stored (see the collector log)`))
      else waiter.resolve()
    }
    this.waiters = remaining
  }

  private async insertBatch(lines: string[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.insertBody(Buffer.from(lines.join('')))
        this.inserted += lines.length
        this.isFailing = false
        return
      } catch (error) {
        this.failedInserts += 1
        if (isDataError(error)) {
          await this.bisect(lines, error)
          return
        }
        this.isFailing = true
        if (this.closing && attempt > this.closeRetries) {
          this.drop(lines, error)
          return
        }
        if (attempt === 1 || attempt % 10 === 0) {
          this.onError(`inserting ${lines.length} span rows failed (attempt ${attempt}); retrying`, error)
        }
        const delay = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** Math.min(attempt - 1, 20))
        await sleep(delay)
      }
    }
  }

  private async bisect(lines: string[], error: unknown): Promise<void> {
    if (lines.length === 1) {
      this.drop(lines, error)
      return
    }
    const middle = Math.ceil(lines.length / 2)
    await this.insertBatch(lines.slice(0, middle))
    await this.insertBatch(lines.slice(middle))
  }

  private drop(lines: string[], error: unknown): void {
    this.dropped += lines.length
    const sample = lines[0]?.slice(0, 300) ?? ''
    this.onError(`dropped ${lines.length} span rows that could not be stored; first: ${sample}`, error)
  }
}
