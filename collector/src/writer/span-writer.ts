import { Readable } from 'node:stream'
import type { SpanRow } from '../canonical'
import { ingestBuffers } from '../ingest/buffer-pool'
import type { Spool, SpoolPosition, SpoolRecord } from '../spool/spool'
import type { Storage } from '../storage'

export interface SpanWriterOptions {
  /** Where rows go: `${storage.database}.spans`. */
  storage: Pick<Storage, 'client' | 'database'>
  /**
   * Insert as soon as this many rows are buffered (bigger inserts cost the engine less CPU per
   * row and leave fewer parts to merge, but need more engine memory while they are parsed:
   * 20000-row batches of ~3 KB rows raised the process's RSS by ~300 MiB in the benchmark).
   * Under load a batch is whatever arrived during the previous insert, up to this.
   * @default DEFAULT_BATCH_MAX_ROWS (10000)
   */
  batchMaxRows?: number
  /** Insert buffered rows at most this long after the first one arrived. @default 200 */
  batchMaxDelayMs?: number
  /**
   * Rows held in memory (buffered or being inserted). Without a spool, `admit` refuses more
   * beyond it; with one, further rows wait on disk only and are read back as memory frees up.
   * @default 100_000
   */
  maxPendingRows?: number
  /**
   * Serialized bytes held in memory, bounded like `maxPendingRows`. With a spool, a backlog beyond
   * it waits on disk, not in the heap, and while inserts succeed `throttle` holds requests before
   * it is reached (see `maxLagMs`), so rows are read back from disk only after an outage.
   * @default 268_435_456 (256 MiB); 134_217_728 (128 MiB) with a spool
   */
  maxPendingBytes?: number
  /**
   * Most time the rows not yet stored may take to insert, at the speed recent inserts ran, before
   * `throttle` holds new requests back: under steady overload, intake is slowed to what storage
   * keeps, instead of every span waiting longer and longer (on disk, with a spool) before it is
   * queryable. With a spool, requests are also held while the bytes not yet stored near
   * `maxPendingBytes`. Applies only while inserts are succeeding; during an outage the spool (or
   * the pending bounds) absorb as before. @default 1000
   */
  maxLagMs?: number
  /**
   * Write-ahead log: when set, `accept` resolves only once the rows are fsynced in it, rows are
   * replayed from it on start, and the writer commits its watermark after each insert. While
   * storage fails, requests keep being accepted into it up to `spoolMaxBytes`. The writer does
   * not close it. @default none (rows live in memory until inserted)
   */
  spool?: Spool
  /** Spool bytes not yet stored beyond which `admit` refuses more. @default 1073741824 (1 GiB) */
  spoolMaxBytes?: number
  /** First retry delay after a failed insert; doubles per attempt. @default 100 */
  retryBaseDelayMs?: number
  /** Longest delay between retries. @default 5000 */
  retryMaxDelayMs?: number
  /**
   * Retries of a failing insert once `close()` has begun, before its rows are given up (without a
   * spool) or left in the spool for the next start. @default 3
   */
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
  /** Rows accepted but not yet stored (in memory, in flight, or waiting in the spool). */
  pending_rows: number
  /** Rows held in memory (at most `maxPendingRows`, unless one request alone is larger). */
  memory_rows: number
  /** Serialized bytes held in memory. */
  pending_bytes: number
  /** Bytes in the spool not yet stored (0 without a spool). */
  spool_bytes: number
  /** Rows found in the spool at start and replayed. */
  replayed_rows: number
  /** Rows given up: rejected by the engine as bad data, or still failing at shutdown. */
  dropped_rows: number
  /** Insert attempts that failed (each retry counts). */
  failed_inserts: number
}

/** Whether rows would be welcome now: 'full' → answer 429, 'failing' → answer 503. */
export type AdmitResult = 'ok' | 'full' | 'failing'

type InsertBody = (body: Buffer) => Promise<void>

/** Serialized rows (JSONEachRow lines) and, with a spool, where their record ends. */
interface Chunk {
  body: Buffer
  rows: number
  end: SpoolPosition | null
}

interface Waiter {
  target: number
  droppedBefore: number
  resolve: () => void
  reject: (error: Error) => void
}

/** Largest batch Buffer kept for reuse between inserts (see `SpanWriter.join`). */
const BATCH_SCRATCH_MAX_BYTES = 96 * 2 ** 20
/** Longest a request waits in `throttle` before it goes on regardless. */
const MAX_THROTTLE_MS = 5000

/**
 * With a spool, `throttle` also holds requests while the bytes not yet stored pass this share of
 * `maxPendingBytes`: in steady operation rows then stay in memory from the request to the insert,
 * and the disk is only the write-ahead log, not a second queue read back on the insert's path.
 */
const SPILL_LAG_SHARE = 0.9

/** Rows per insert at most, unless configured (`batchMaxRows`). */
export const DEFAULT_BATCH_MAX_ROWS = 10_000

/**
 * Engine settings of every span insert (embedded and server), chosen by measurement on the
 * benchmark's rows (`bench/README.md`, ingest): the collector inserts one batch at a time while
 * its own threads decode the next requests on the same cores, so CPU per row matters more than
 * one insert's latency.
 * - `input_format_parallel_parsing = 0`: parse the batch on the inserting thread; splitting it
 *   for parallel parsing costs more CPU per row than it saves on 2 busy cores.
 * - `optimize_on_insert = 0`: no ReplacingMergeTree de-duplication inside each inserted block
 *   (a sort and merge per insert). Duplicates are collapsed by background merges and `FINAL`,
 *   as they are across inserts anyway, so nothing a reader sees changes.
 * Together about 25–35% less engine CPU per row (JSONEachRow, ~3 KB rows).
 */
export const SPAN_INSERT_SETTINGS: Readonly<Record<string, 0 | 1>> = Object.freeze({
  input_format_parallel_parsing: 0,
  optimize_on_insert: 0,
})

type RawInsertParams = {
  table: string
  values: Buffer
  format: 'JSONEachRow'
  settings?: Readonly<Record<string, number>>
}

interface RawInsertConnection {
  connectionName?: string
  chdb?: {
    rawInsert?: (params: RawInsertParams) => Promise<unknown>
  }
}

/** Inserts JSONEachRow bytes into `table` with the insert `settings`. */
export type RawInsert = (
  table: string,
  values: Buffer,
  settings: Readonly<Record<string, number>>,
) => Promise<void>

/**
 * chDB's raw insert for an embedded storage client, or null when the client is not embedded chDB.
 * The chDB connection is reachable only through the client's (untyped) `connection` field;
 * checked structurally so a different client version simply takes the portable path.
 */
export function chdbRawInsert(storage: Pick<Storage, 'client'>): RawInsert | null {
  const connection = (storage.client as unknown as { connection?: RawInsertConnection }).connection
  const chdb = connection?.chdb
  const rawInsert = chdb?.rawInsert
  if (connection?.connectionName !== 'chdb' || typeof rawInsert !== 'function') return null
  return async (table, values, settings) => {
    await rawInsert.call(chdb, { table, values, format: 'JSONEachRow', settings })
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

/** Serialize rows once, as the engine will read them: one JSON object per line. */
export function serializeRows(rows: readonly SpanRow[]): Buffer {
  let text = ''
  for (const row of rows) text += `${JSON.stringify(row)}\n`
  return Buffer.from(text)
}

/**
 * Buffers serialized rows and inserts them into `spans` in batches (on size, on a timer, on
 * `flush()` and on `close()`), one insert at a time so rows are stored in arrival order. Rows
 * are serialized to JSONEachRow once, before they reach the writer, and those bytes are what the
 * engine receives (and, with a spool, what is written to disk).
 *
 * Failures: data errors split the batch until the offending rows are isolated and dropped (and
 * reported); any other error is retried with exponential backoff for as long as the writer is
 * open, while `failing` is true.
 *
 * Without a spool, rows live in memory until inserted (a crash loses them) and `admit` refuses
 * rows beyond `maxPendingRows` ('full') or while inserts fail ('failing'). With a spool, `accept`
 * resolves once the rows are fsynced; memory holds at most `maxPendingRows` and the rest waits on
 * disk, read back in order as inserts catch up; `admit` refuses only when the spool holds
 * `spoolMaxBytes` not yet stored.
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
  private readonly spool: Spool | null
  private readonly spoolMaxBytes: number
  private readonly maxLagMs: number
  /** Rows per second of insert time, smoothed over recent inserts (0 until the first). */
  private insertSpeed = 0
  /** When the last insert succeeded (ms, performance clock). */
  private lastStoredAt = 0
  /** Requests waiting in `throttle`. */
  private throttled: (() => void)[] = []

  private batchScratch: Buffer = Buffer.allocUnsafeSlow(0)
  private queue: Chunk[] = []
  private queueRows = 0
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
  private abandoned = false
  private isFailing = false
  private inserted = 0
  private dropped = 0
  private failedInserts = 0
  private replayed = 0
  /** With a spool: rows from `cursor` on are on disk only, not in memory. */
  private spilled = false
  private cursor: SpoolPosition | null = null

  constructor(options: SpanWriterOptions) {
    this.table = `${options.storage.database}.spans`
    this.batchMaxRows = Math.max(1, options.batchMaxRows ?? DEFAULT_BATCH_MAX_ROWS)
    this.batchMaxDelayMs = Math.max(0, options.batchMaxDelayMs ?? 200)
    this.maxPendingRows = Math.max(1, options.maxPendingRows ?? 100_000)
    this.maxPendingBytes = Math.max(1, options.maxPendingBytes ?? (options.spool ? 128 : 256) * 2 ** 20)
    this.retryBaseDelayMs = Math.max(1, options.retryBaseDelayMs ?? 100)
    this.retryMaxDelayMs = Math.max(this.retryBaseDelayMs, options.retryMaxDelayMs ?? 5000)
    this.closeRetries = Math.max(0, options.closeRetries ?? 3)
    this.onError =
      options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
    this.insertBody = this.chooseInsert(options.storage, options.rawInsert ?? true)
    this.spool = options.spool ?? null
    this.spoolMaxBytes = Math.max(1, options.spoolMaxBytes ?? 2 ** 30)
    this.maxLagMs = Math.max(1, options.maxLagMs ?? 1000)
    if (this.spool) {
      const spool = this.spool
      spool.onDurable = (record) => this.onDurable(record)
      if (!spool.isAtEnd(spool.watermark)) {
        // A previous process left rows that storage may not hold: replay them first.
        this.spilled = true
        this.cursor = spool.watermark
        this.replayed = spool.recovery.rows
        this.added += spool.recovery.rows
        this.kick()
      }
    }
  }

  private chooseInsert(storage: Pick<Storage, 'client'>, preferRaw: boolean): InsertBody {
    const rawInsert = preferRaw ? chdbRawInsert(storage) : null
    if (rawInsert) return (body) => rawInsert(this.table, body, SPAN_INSERT_SETTINGS)
    return async (body) => {
      const result = await storage.client.exec({
        query: `INSERT INTO ${this.table} FORMAT JSONEachRow`,
        values: Readable.from([body]),
        clickhouse_settings: SPAN_INSERT_SETTINGS,
      })
      // Drain the (empty) response so an HTTP connection goes back to the pool.
      for await (const _ of result.stream) {
      }
    }
  }

  /** Rows accepted and not yet stored (in memory or, with a spool, on disk). */
  get pendingRows(): number {
    return this.added - this.settled
  }

  /** True while inserts are failing and being retried. */
  get failing(): boolean {
    return this.isFailing
  }

  /** True when accepted rows are made durable (a spool is configured). */
  get durable(): boolean {
    return this.spool !== null
  }

  private get memoryRows(): number {
    return this.queueRows + this.inflightRows
  }

  private get memoryBytes(): number {
    return this.queueBytes + this.inflightBytes
  }

  /**
   * Whether `rows` more rows (`bytes` serialized, when known) may be accepted now. Something
   * larger than the whole bound is still admitted when nothing is pending, so it cannot be
   * refused forever.
   */
  admit(rows: number, bytes = 0): AdmitResult {
    if (this.closing) return 'failing'
    if (this.spool) {
      const pending = this.spool.pendingBytes
      if (pending !== 0 && pending + bytes > this.spoolMaxBytes) return this.isFailing ? 'failing' : 'full'
      return 'ok'
    }
    if (this.isFailing) return 'failing'
    const pending = this.memoryRows
    if (pending === 0) return 'ok'
    if (pending + rows > this.maxPendingRows) return 'full'
    if (this.memoryBytes > this.maxPendingBytes) return 'full'
    return 'ok'
  }

  /**
   * Backpressure: resolves at once while storage keeps up, else once the rows not yet stored are
   * back under `maxLagMs` of inserts (or after `MAX_THROTTLE_MS`, so a request never waits
   * unboundedly). The pipeline awaits it before it decodes a request: under steady overload,
   * acknowledgements slow to the pace storage keeps and clients send less, instead of every span
   * waiting longer and longer (on disk, with a spool) before it is queryable, and without a storm
   * of 429s and idle retry pauses.
   */
  throttle(): Promise<void> {
    if (this.closing || !this.lagging()) return Promise.resolve()
    return new Promise<void>((resolve) => {
      // Whichever comes first resolves; the other is then a no-op.
      const timer = setTimeout(resolve, MAX_THROTTLE_MS)
      timer.unref()
      this.throttled.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** Let throttled requests go once the backlog is back under `maxLagMs` (or on close). */
  private releaseThrottled(): void {
    if (this.throttled.length === 0 || (!this.closing && this.lagging())) return
    const waiting = this.throttled
    this.throttled = []
    for (const done of waiting) done()
  }

  /**
   * True when inserts are succeeding (one stored within the last 2 s) but the rows not yet stored
   * would take more than `maxLagMs` to insert at the recent speed. More than one batch must be
   * waiting, so a single large request into an idle writer is never refused.
   */
  private lagging(): boolean {
    if (this.isFailing || this.insertSpeed === 0) return false
    const pending = this.pendingRows
    if (pending <= this.batchMaxRows) return false
    if (performance.now() - this.lastStoredAt > 2000) return false
    // With a spool: rows beyond the memory bound would wait on disk and be read back before their
    // insert (CPU and time on the insert stream's path), so that is lagging too.
    if (this.spool && this.spool.pendingBytes > this.maxPendingBytes * SPILL_LAG_SHARE) return true
    return (pending / this.insertSpeed) * 1000 > this.maxLagMs
  }

  /**
   * Accept canonical rows (serialized here). Without a spool they are queued at once; with one,
   * they are appended to it in the background (failures reported through `onError`): use
   * `accept` to know when they are durable.
   */
  add(rows: readonly SpanRow[]): void {
    if (this.closing) throw new Error('SpanWriter is closed')
    if (rows.length === 0) return
    this.accept(serializeRows(rows), rows.length).catch((error: unknown) =>
      this.onError(`${rows.length} span rows could not be spooled`, error),
    )
  }

  /**
   * Accept rows already serialized as JSONEachRow lines (`rows` lines in `body`). Resolves once
   * they are queued (no spool) or fsynced in the spool; rejects when they could not be.
   */
  accept(body: Buffer, rows: number): Promise<void> {
    if (this.closing) return Promise.reject(new Error('SpanWriter is closed'))
    if (rows === 0) return Promise.resolve()
    if (this.spool) return this.spool.append(body, rows).then(() => {})
    this.added += rows
    this.enqueue({ body, rows, end: null })
    return Promise.resolve()
  }

  private enqueue(chunk: Chunk): void {
    this.queue.push(chunk)
    this.queueRows += chunk.rows
    this.queueBytes += chunk.body.length
    if (this.queueRows >= this.batchMaxRows) this.kick()
    else this.armTimer()
  }

  /** A record reached the disk (called by the spool, in file order). */
  private onDurable(record: SpoolRecord): void {
    this.added += record.rows
    if (this.spilled) {
      // Read back from disk when its turn comes; the in-memory copy is not needed.
      ingestBuffers.release(record.body)
      return
    }
    const memory = this.memoryRows
    if (
      memory > 0 &&
      (memory + record.rows > this.maxPendingRows ||
        this.memoryBytes + record.body.length > this.maxPendingBytes)
    ) {
      // Memory is full: from here on rows wait on disk and are read back in order.
      this.spilled = true
      this.cursor = record.start
      ingestBuffers.release(record.body)
      return
    }
    this.enqueue({ body: record.body, rows: record.rows, end: record.end })
  }

  /** Resolves once every row accepted before the call is stored; rejects if some had to be dropped. */
  flush(): Promise<void> {
    const target = this.added
    if (this.settled >= target) return Promise.resolve()
    if (this.abandoned) return Promise.reject(this.abandonError())
    this.flushTarget = Math.max(this.flushTarget, target)
    const promise = new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, droppedBefore: this.dropped, resolve, reject })
    })
    this.kick()
    return promise
  }

  /**
   * Stop accepting rows and store what is pending. Failing inserts get `closeRetries` more tries;
   * then, without a spool, their rows are given up, and with one they stay on disk for the next
   * start.
   */
  async close(): Promise<void> {
    this.closing = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.releaseThrottled()
    // Dropped rows were reported through onError; a shutdown sequence should go on.
    await this.flush().catch(() => {})
    if (this.spool?.onDurable) this.spool.onDurable = null
  }

  stats(): SpanWriterStats {
    return {
      inserted_rows: this.inserted,
      pending_rows: this.pendingRows,
      memory_rows: this.memoryRows,
      pending_bytes: this.memoryBytes,
      spool_bytes: this.spool?.pendingBytes ?? 0,
      replayed_rows: this.replayed,
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
      if (this.abandoned) return
      if (this.shouldSend() || (this.spilled && this.hasRoom() && this.queue.length === 0)) this.kick()
      else if (this.queue.length > 0) this.armTimer()
    })
  }

  private hasRoom(): boolean {
    return this.memoryRows < this.maxPendingRows && this.memoryBytes < this.maxPendingBytes
  }

  private shouldSend(): boolean {
    if (this.queue.length === 0 || this.abandoned) return false
    return (
      this.queueRows >= this.batchMaxRows ||
      this.timerFired ||
      this.flushTarget > this.settled ||
      this.closing
    )
  }

  /** `fill`, with a read error reported (the next round of the drain loop tries again). */
  private async fillSafely(): Promise<boolean> {
    try {
      return await this.fill()
    } catch (error) {
      this.onError('reading spooled rows failed; retrying', error)
      return false
    }
  }

  /** Read rows waiting on disk into memory, as far as memory allows; false when nothing was read. */
  private async fill(): Promise<boolean> {
    const spool = this.spool
    if (!spool || !this.spilled || !this.cursor) return false
    const { records, next } = await spool.read(this.cursor, {
      rows: this.maxPendingRows - this.memoryRows,
      bytes: this.maxPendingBytes - this.memoryBytes,
      atLeastOne: this.memoryRows === 0,
    })
    for (const record of records) {
      this.queue.push({ body: record.body, rows: record.rows, end: record.end })
      this.queueRows += record.rows
      this.queueBytes += record.body.length
    }
    this.cursor = next
    // Synchronously with the check, so no record made durable meanwhile is missed.
    if (spool.isAtEnd(next)) {
      this.spilled = false
      this.cursor = null
    }
    return records.length > 0
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.spilled && this.hasRoom() && this.queueRows < this.batchMaxRows) {
        const progressed = await this.fillSafely()
        if (!progressed && this.spilled && this.queue.length === 0) {
          // Nothing readable yet (or a read error): do not spin.
          await sleep(this.retryBaseDelayMs)
          return
        }
      }
      if (!this.shouldSend()) return
      if (this.timer && this.queueRows <= this.batchMaxRows) {
        clearTimeout(this.timer)
        this.timer = null
      }
      const batch = this.takeBatch()
      if (this.queue.length === 0) this.timerFired = false
      const inserting = this.insertBatch(batch.body, batch.rows).catch((error: unknown) => {
        // insertBatch handles its own failures; this guards the loop against bugs.
        this.drop(batch.body, batch.rows, error)
        return 'stored' as const
      })
      // While the engine inserts this batch, read the next one back from the spool: reading (its
      // awaits queue behind request decoding on this thread) is then off the insert stream's path.
      // Awaited before the loop goes on, so two reads never run at once.
      if (this.spilled && this.hasRoom()) await this.fillSafely()
      const outcome = await inserting
      this.inflightRows = 0
      this.inflightBytes = 0
      if (outcome === 'abandoned') {
        this.abandon()
        return
      }
      // The batch's bodies are stored (or dropped): their memory can serve the next requests.
      for (const body of batch.done) ingestBuffers.release(body)
      this.settled += batch.rows
      if (batch.end) this.spool?.commit(batch.end)
      this.settleWaiters()
      this.releaseThrottled()
    }
  }

  private takeBatch(): { body: Buffer; rows: number; end: SpoolPosition | null; done: Buffer[] } {
    const bodies: Buffer[] = []
    /** Bodies taken whole: nothing refers to them once this batch is stored. */
    const done: Buffer[] = []
    let rows = 0
    let bytes = 0
    let end: SpoolPosition | null = null
    while (rows < this.batchMaxRows) {
      const chunk = this.queue[0]
      if (!chunk) break
      const room = this.batchMaxRows - rows
      if (chunk.rows > room) {
        // Split at a line boundary: the rest (and the chunk's spool position) stays queued.
        const cut = lineOffset(chunk.body, room)
        const head = chunk.body.subarray(0, cut)
        chunk.body = chunk.body.subarray(cut)
        chunk.rows -= room
        bodies.push(head)
        rows += room
        bytes += head.length
        break
      }
      this.queue.shift()
      bodies.push(chunk.body)
      done.push(chunk.body)
      rows += chunk.rows
      bytes += chunk.body.length
      end = chunk.end ?? end
    }
    this.queueRows -= rows
    this.queueBytes -= bytes
    this.inflightRows = rows
    this.inflightBytes = bytes
    const body = bodies.length === 1 && bodies[0] ? bodies[0] : this.join(bodies, bytes)
    return { body, rows, end, done }
  }

  /**
   * The bodies of a batch in one Buffer. Batches are inserted one at a time, so one Buffer is
   * reused from batch to batch (up to BATCH_SCRATCH_MAX_BYTES): no batch-sized allocation and
   * release per insert, which is what made the process's memory swing by a batch each time.
   */
  private join(bodies: Buffer[], bytes: number): Buffer {
    if (bytes > BATCH_SCRATCH_MAX_BYTES) return Buffer.concat(bodies, bytes)
    if (this.batchScratch.length < bytes) {
      this.batchScratch = Buffer.allocUnsafeSlow(Math.min(BATCH_SCRATCH_MAX_BYTES, Math.ceil(bytes * 1.25)))
    }
    let offset = 0
    for (const body of bodies) offset += body.copy(this.batchScratch, offset)
    return this.batchScratch.subarray(0, offset)
  }

  private abandonError(): Error {
    return new Error(
      `storage is unavailable at shutdown; ${this.pendingRows} span rows stay in the spool and are stored on the next start`,
    )
  }

  /** Closing with storage down and a spool: stop, leaving the rows on disk for the next start. */
  private abandon(): void {
    this.abandoned = true
    const error = this.abandonError()
    this.onError(error.message, error)
    for (const waiter of this.waiters) waiter.reject(error)
    this.waiters = []
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

  private async insertBatch(body: Buffer, rows: number): Promise<'stored' | 'abandoned'> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now()
        await this.insertBody(body)
        this.lastStoredAt = performance.now()
        const speed = (rows * 1000) / Math.max(1, this.lastStoredAt - started)
        this.insertSpeed = this.insertSpeed === 0 ? speed : this.insertSpeed * 0.7 + speed * 0.3
        this.inserted += rows
        this.isFailing = false
        return 'stored'
      } catch (error) {
        this.failedInserts += 1
        if (isDataError(error)) return this.bisect(splitLines(body), error)
        this.isFailing = true
        if (this.closing && attempt > this.closeRetries) {
          if (this.spool) return 'abandoned'
          this.drop(body, rows, error)
          return 'stored'
        }
        if (attempt === 1 || attempt % 10 === 0) {
          this.onError(`inserting ${rows} span rows failed (attempt ${attempt}); retrying`, error)
        }
        const delay = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** Math.min(attempt - 1, 20))
        await sleep(delay)
      }
    }
  }

  /** Insert halves until the rows the engine refuses are isolated; those are dropped. */
  private async bisect(lines: Buffer[], error: unknown): Promise<'stored' | 'abandoned'> {
    if (lines.length === 1 && lines[0]) {
      this.drop(lines[0], 1, error)
      return 'stored'
    }
    const middle = Math.ceil(lines.length / 2)
    for (const half of [lines.slice(0, middle), lines.slice(middle)]) {
      if ((await this.insertBatch(Buffer.concat(half), half.length)) === 'abandoned') return 'abandoned'
    }
    return 'stored'
  }

  private drop(body: Buffer, rows: number, error: unknown): void {
    this.dropped += rows
    const sample = body.subarray(0, 300).toString()
    this.onError(`dropped ${rows} span rows that could not be stored; first: ${sample}`, error)
  }
}

/** Byte offset just after the `lines`-th newline of `body`. */
function lineOffset(body: Buffer, lines: number): number {
  let offset = 0
  for (let i = 0; i < lines; i++) {
    const newline = body.indexOf(0x0a, offset)
    if (newline === -1) return body.length
    offset = newline + 1
  }
  return offset
}

/** JSONEachRow lines of a body (each line keeps its newline). */
export function splitLines(body: Buffer): Buffer[] {
  const lines: Buffer[] = []
  let start = 0
  while (start < body.length) {
    const end = body.indexOf(0x0a, start)
    const stop = end === -1 ? body.length : end + 1
    lines.push(body.subarray(start, stop))
    start = stop
  }
  return lines
}
