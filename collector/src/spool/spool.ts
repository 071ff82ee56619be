import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ingestBuffers } from '../ingest/buffer-pool'
import { encodeHeader, HEADER_BYTES, type ParsedRecord, parseRecord } from './records'

/** A place in the spool: byte `offset` in segment number `segment`. */
export interface SpoolPosition {
  readonly segment: number
  readonly offset: number
}

/** One appended batch of rows (one request's rows), as written and as read back. */
export interface SpoolRecord {
  /** JSONEachRow lines. */
  body: Buffer
  rows: number
  /** Where the record starts, and where the next one starts. */
  start: SpoolPosition
  end: SpoolPosition
}

export interface SpoolOptions {
  /** Directory of the segment files, the watermark and the lock (created if missing, mode 0700). */
  dir: string
  /** A segment is rotated once it holds this many bytes. @default 67108864 (64 MiB) */
  segmentMaxBytes?: number
  /** Where recovery and I/O problems are reported. @default console.error */
  onError?: (message: string, error: unknown) => void
}

/** What `Spool.open` found on disk beyond the watermark: rows to replay into storage. */
export interface SpoolRecovery {
  segments: number
  records: number
  rows: number
  bytes: number
  /** Records skipped because their checksum did not match. */
  corruptRecords: number
  /** Bytes cut from segment tails: writes torn by a crash (never acknowledged). */
  tornBytes: number
}

export interface SpoolStats {
  /** Bytes on disk not yet committed as stored, plus appends waiting for their fsync. */
  pending_bytes: number
  segments: number
  appended_records: number
  /** fsync calls; fewer than appended records when concurrent appends were grouped. */
  fsyncs: number
}

interface Segment {
  seq: number
  path: string
  /** Durable bytes (for the active segment: what has been written and fsynced). */
  size: number
  sealed: boolean
}

interface PendingAppend {
  header: Buffer
  body: Buffer
  rows: number
  resolve: (record: SpoolRecord) => void
  reject: (error: Error) => void
}

const SEGMENT_SUFFIX = '.seg'
const WATERMARK_FILE = 'watermark'
const LOCK_FILE = 'lock'
const READ_BLOCK_BYTES = 4 * 2 ** 20
/** Appends grouped into one write + fsync at most; larger groups are split. */
const GROUP_MAX_BYTES = 32 * 2 ** 20

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment === b.segment ? a.offset - b.offset : a.segment - b.segment
}

const segmentName = (seq: number) => `${String(seq).padStart(12, '0')}${SEGMENT_SUFFIX}`

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Reads records from one segment file in large blocks, so small records cost no syscall each.
 * Bodies are views into the block (which is reused: copy what must outlive the next read).
 */
class SegmentReader {
  private block: Buffer = Buffer.alloc(0)
  private blockStart = 0

  private constructor(
    private readonly handle: FileHandle,
    private readonly end: number,
  ) {}

  static async open(path: string, end: number): Promise<SegmentReader> {
    return new SegmentReader(await open(path, 'r'), end)
  }

  /** The record at `offset`, or `incomplete` when the file (up to `end`) ends inside it. */
  async at(offset: number): Promise<ParsedRecord> {
    let parsed = this.parseCached(offset)
    if (parsed && parsed.kind !== 'incomplete') return parsed
    const needed = parsed?.kind === 'incomplete' ? parsed.needed : HEADER_BYTES
    const length = Math.min(Math.max(READ_BLOCK_BYTES, needed), this.end - offset)
    if (length <= 0) return { kind: 'incomplete', needed }
    // Blocks come from the ingest pool and go back when the next one is read or the reader closes:
    // reading a backlog back allocates nothing new. Records handed out are copies (see `read`).
    const block = ingestBuffers.acquire(length)
    ingestBuffers.release(this.block)
    this.block = Buffer.alloc(0)
    const { bytesRead } = await this.handle.read(block, 0, length, offset)
    this.block = block.subarray(0, bytesRead)
    this.blockStart = offset
    parsed = this.parseCached(offset)
    return parsed ?? { kind: 'incomplete', needed }
  }

  private parseCached(offset: number): ParsedRecord | null {
    const relative = offset - this.blockStart
    if (relative < 0 || relative >= this.block.length) return null
    return parseRecord(this.block, relative)
  }

  close(): Promise<void> {
    ingestBuffers.release(this.block)
    this.block = Buffer.alloc(0)
    return this.handle.close()
  }
}

/**
 * The collector's write-ahead log. A request's rows are appended as one checksummed record and
 * fsynced before the request is acknowledged; concurrent appends share one write and one fsync
 * (group commit). Rows are deleted from disk only once storage holds them: the writer commits a
 * watermark after each insert, the watermark is persisted beside the segments, and segments
 * wholly below it are removed. On open, everything beyond the watermark is found again (a torn
 * last record is cut off) and handed back for replay.
 *
 * Segment files are append-only; a new one is started on every open and whenever the current
 * one reaches `segmentMaxBytes`. One process owns a spool directory at a time (a lock file with
 * its pid; a lock left by a dead process is taken over).
 */
export class Spool {
  /** Called synchronously, in file order, for every record once it is durable (before `append` resolves). */
  onDurable: ((record: SpoolRecord) => void) | null = null

  private readonly segments: Segment[]
  private active: Segment
  private activeHandle: FileHandle
  private mark: SpoolPosition
  private persistedMark: SpoolPosition
  private queue: PendingAppend[] = []
  private queuedBytes = 0
  private writing: Promise<void> | null = null
  private persisting: Promise<void> | null = null
  private persistFailed = false
  private closed = false
  private appended = 0
  private fsyncs = 0

  private constructor(
    private readonly dir: string,
    private readonly segmentMaxBytes: number,
    private readonly onError: (message: string, error: unknown) => void,
    segments: Segment[],
    active: Segment,
    activeHandle: FileHandle,
    mark: SpoolPosition,
    readonly recovery: SpoolRecovery,
  ) {
    this.segments = segments
    this.active = active
    this.activeHandle = activeHandle
    this.mark = mark
    this.persistedMark = mark
  }

  /** Open (or create) the spool in `options.dir`, recovering what a previous process left. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const dir = options.dir
    const onError =
      options.onError ?? ((message, error) => console.error(`[hindsight spool] ${message}`, error))
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await takeLock(dir)
    try {
      const mark = await readWatermark(dir, onError)
      const names = (await readdir(dir)).filter((n) => /^\d{12}\.seg$/.test(n)).sort()
      const segments: Segment[] = []
      const recovery: SpoolRecovery = {
        segments: 0,
        records: 0,
        rows: 0,
        bytes: 0,
        corruptRecords: 0,
        tornBytes: 0,
      }
      let maxSeq = mark.segment
      let markOffset = 0
      for (const name of names) {
        const seq = Number(name.slice(0, 12))
        maxSeq = Math.max(maxSeq, seq)
        const path = join(dir, name)
        if (seq < mark.segment) {
          await unlink(path)
          continue
        }
        const { size, start } = await recoverSegment(
          path,
          seq === mark.segment ? mark.offset : 0,
          recovery,
          onError,
        )
        if (size <= start) {
          // Nothing to replay here (empty, or entirely stored): the segment can go.
          await unlink(path)
          continue
        }
        if (seq === mark.segment) markOffset = start
        segments.push({ seq, path, size, sealed: true })
        recovery.segments += 1
      }
      const activeSeq = maxSeq + 1
      const active: Segment = {
        seq: activeSeq,
        path: join(dir, segmentName(activeSeq)),
        size: 0,
        sealed: false,
      }
      const handle = await open(active.path, 'ax', 0o600)
      await syncDir(dir)
      segments.push(active)
      // The watermark: where the first unstored record is (in the first remaining segment).
      const first = segments[0] ?? active
      const watermark = { segment: first.seq, offset: first.seq === mark.segment ? markOffset : 0 }
      const spool = new Spool(
        dir,
        Math.max(HEADER_BYTES, options.segmentMaxBytes ?? 64 * 2 ** 20),
        onError,
        segments,
        active,
        handle,
        watermark,
        recovery,
      )
      return spool
    } catch (error) {
      await releaseLock(dir)
      throw error
    }
  }

  /** Where the next durable record will start (normalized). */
  get durableEnd(): SpoolPosition {
    return { segment: this.active.seq, offset: this.active.size }
  }

  /** Everything before this position has been committed as stored. */
  get watermark(): SpoolPosition {
    return this.mark
  }

  /** Bytes on disk after the watermark plus appends waiting for their fsync. */
  get pendingBytes(): number {
    let bytes = this.queuedBytes
    for (const segment of this.segments) {
      if (segment.seq < this.mark.segment) continue
      bytes += segment.size - (segment.seq === this.mark.segment ? this.mark.offset : 0)
    }
    return Math.max(0, bytes)
  }

  stats(): SpoolStats {
    return {
      pending_bytes: this.pendingBytes,
      segments: this.segments.length,
      appended_records: this.appended,
      fsyncs: this.fsyncs,
    }
  }

  /** The same place, moved past the ends of sealed segments. */
  normalize(position: SpoolPosition): SpoolPosition {
    let current = position
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]
      if (!segment || segment.seq < current.segment) continue
      if (segment.seq > current.segment) return { segment: segment.seq, offset: 0 }
      if (!segment.sealed || current.offset < segment.size) return current
      const next = this.segments[i + 1]
      current = next ? { segment: next.seq, offset: 0 } : current
    }
    return current
  }

  /** True when no durable record starts at or after `position`. */
  isAtEnd(position: SpoolPosition): boolean {
    return comparePositions(this.normalize(position), this.durableEnd) >= 0
  }

  /**
   * Append one record; resolves once it is on disk (written and fsynced). Appends made while a
   * write is in progress are grouped into the next write and fsync.
   */
  append(body: Buffer, rows: number): Promise<SpoolRecord> {
    if (this.closed) return Promise.reject(new Error('the spool is closed'))
    return new Promise<SpoolRecord>((resolve, reject) => {
      const header = encodeHeader(body, rows)
      this.queue.push({ header, body, rows, resolve, reject })
      this.queuedBytes += header.length + body.length
      this.startWriting()
    })
  }

  private startWriting(): void {
    if (this.writing) return
    this.writing = this.writeLoop().finally(() => {
      this.writing = null
      // An append may have arrived after the loop's last check and before this callback.
      if (this.queue.length > 0) this.startWriting()
    })
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0
      let count = 0
      while (count < this.queue.length) {
        const next = this.queue[count]
        if (!next) break
        const size = next.header.length + next.body.length
        if (count > 0 && bytes + size > GROUP_MAX_BYTES) break
        bytes += size
        count += 1
      }
      const group = this.queue.splice(0, count)
      try {
        await this.writeGroup(group, bytes)
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error))
        for (const item of group) item.reject(failure)
      } finally {
        this.queuedBytes -= bytes
      }
    }
  }

  private async writeGroup(group: PendingAppend[], bytes: number): Promise<void> {
    if (this.active.size > 0 && this.active.size + bytes > this.segmentMaxBytes) await this.rotate()
    const segment = this.active
    const buffers: Buffer[] = []
    for (const item of group) buffers.push(item.header, item.body)
    try {
      let written = 0
      // writev takes at most IOV_MAX buffers per call on some platforms: write in slices.
      for (let i = 0; i < buffers.length; i += 512) {
        const slice = buffers.slice(i, i + 512)
        const expected = slice.reduce((n, b) => n + b.length, 0)
        const result = await this.activeHandle.writev(slice)
        if (result.bytesWritten !== expected) {
          throw new Error(`short write to ${segment.path}: ${result.bytesWritten} of ${expected} bytes`)
        }
        written += result.bytesWritten
      }
      await this.activeHandle.datasync()
      this.fsyncs += 1
      if (written !== bytes) throw new Error(`wrote ${written} bytes, expected ${bytes}`)
    } catch (error) {
      // The tail of this segment is now unknown: cut it back and continue in a new segment.
      this.onError(`writing ${group.length} records to ${segment.path} failed`, error)
      await truncate(segment.path, segment.size).catch(() => {})
      await this.rotate().catch((rotateError: unknown) =>
        this.onError('could not start a new spool segment', rotateError),
      )
      throw error
    }
    let offset = segment.size
    const records: SpoolRecord[] = []
    for (const item of group) {
      const start = { segment: segment.seq, offset }
      offset += item.header.length + item.body.length
      records.push({ body: item.body, rows: item.rows, start, end: { segment: segment.seq, offset } })
    }
    segment.size = offset
    this.appended += group.length
    for (let i = 0; i < group.length; i++) {
      const record = records[i]
      const item = group[i]
      if (!record || !item) continue
      try {
        this.onDurable?.(record)
      } catch (error) {
        this.onError('the spool consumer failed on a durable record', error)
      }
      item.resolve(record)
    }
  }

  private async rotate(): Promise<void> {
    const old = this.active
    const oldHandle = this.activeHandle
    const seq = old.seq + 1
    const next: Segment = { seq, path: join(this.dir, segmentName(seq)), size: 0, sealed: false }
    const handle = await open(next.path, 'ax', 0o600)
    await syncDir(this.dir)
    old.sealed = true
    this.active = next
    this.activeHandle = handle
    this.segments.push(next)
    await oldHandle.close().catch(() => {})
    this.removeStored()
  }

  /**
   * Read durable records from `from` on, within `budget` (at least one record when `atLeastOne`).
   * Checksum failures are skipped and reported. `next` is where reading should continue.
   */
  async read(
    from: SpoolPosition,
    budget: { rows: number; bytes: number; atLeastOne: boolean },
  ): Promise<{ records: SpoolRecord[]; next: SpoolPosition }> {
    const records: SpoolRecord[] = []
    let position = this.normalize(from)
    let rows = 0
    let bytes = 0
    const end = this.durableEnd
    while (comparePositions(position, end) < 0) {
      const segment = this.segments.find((s) => s.seq === position.segment)
      if (!segment) break
      const limit = segment.seq === end.segment ? end.offset : segment.size
      const reader = await SegmentReader.open(segment.path, limit)
      try {
        let offset = position.offset
        while (offset < limit) {
          const parsed = await reader.at(offset)
          if (parsed.kind === 'record') {
            const tooMuch = rows + parsed.rows > budget.rows || bytes + parsed.body.length > budget.bytes
            if (tooMuch && (records.length > 0 || !budget.atLeastOne)) {
              return { records, next: { segment: segment.seq, offset } }
            }
            const next = { segment: segment.seq, offset: offset + parsed.size }
            // A copy in a Buffer of its own from the pool: the reader's block is reused, and the
            // writer gives the copy back once its rows are stored.
            const body = ingestBuffers.acquire(parsed.body.length)
            parsed.body.copy(body)
            records.push({
              body,
              rows: parsed.rows,
              start: { segment: segment.seq, offset },
              end: next,
            })
            rows += parsed.rows
            bytes += parsed.body.length
            offset += parsed.size
          } else if (parsed.kind === 'corrupt') {
            this.onError(
              `skipping a corrupt spool record at ${segment.path}:${offset}`,
              new Error('checksum mismatch'),
            )
            offset += parsed.size
          } else {
            // Durable data always parses; anything else means the file changed under us.
            this.onError(
              `unreadable spool data at ${segment.path}:${offset} (${parsed.kind}); skipping the rest of the segment`,
              new Error(parsed.kind),
            )
            offset = limit
          }
        }
        position = this.normalize({ segment: segment.seq, offset })
        if (position.segment === segment.seq) break
      } finally {
        await reader.close()
      }
    }
    return { records, next: position }
  }

  /**
   * Everything before `position` is stored: move the watermark, persist it, and delete segments
   * that are wholly below it. Positions that do not advance the watermark are ignored.
   */
  commit(position: SpoolPosition): void {
    // After close the directory may belong to someone else: the next start replays (de-duplicated).
    if (this.closed) return
    const normalized = this.normalize(position)
    if (comparePositions(normalized, this.mark) <= 0) return
    this.mark = normalized
    this.persistFailed = false
    this.startPersisting()
  }

  private startPersisting(): void {
    if (this.persisting) return
    this.persisting = this.persistLoop().finally(() => {
      this.persisting = null
      if (!this.persistFailed && comparePositions(this.persistedMark, this.mark) !== 0) this.startPersisting()
    })
  }

  private async persistLoop(): Promise<void> {
    while (comparePositions(this.persistedMark, this.mark) !== 0) {
      const mark = this.mark
      try {
        // Not fsynced: losing it only means re-inserting rows, which storage de-duplicates.
        const tmp = join(this.dir, `${WATERMARK_FILE}.tmp`)
        await writeFile(tmp, JSON.stringify(mark), { mode: 0o600 })
        await rename(tmp, join(this.dir, WATERMARK_FILE))
        this.persistedMark = mark
        this.persistFailed = false
      } catch (error) {
        // Retried on the next commit; until then the old watermark only means more replay.
        this.persistFailed = true
        this.onError('persisting the spool watermark failed', error)
        return
      }
      this.removeStored()
    }
  }

  /** Delete sealed segments wholly below the persisted watermark. */
  private removeStored(): void {
    const mark = this.persistedMark
    while (this.segments.length > 1) {
      const first = this.segments[0]
      if (!first?.sealed) break
      const stored = first.seq < mark.segment || (first.seq === mark.segment && mark.offset >= first.size)
      if (!stored) break
      this.segments.shift()
      unlink(first.path).catch((error: unknown) => this.onError(`could not delete ${first.path}`, error))
    }
  }

  /** Finish pending appends and the watermark, release the directory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.writing) await this.writing
    while (this.persisting) await this.persisting
    await this.activeHandle.close().catch(() => {})
    if (this.active.size === 0) {
      await unlink(this.active.path).catch(() => {})
      this.segments.pop()
    }
    await releaseLock(this.dir)
  }
}

async function syncDir(dir: string): Promise<void> {
  // A new file survives a power loss only once its directory entry is synced too.
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some file systems do not support syncing directories; the data itself is synced.
  } finally {
    await handle.close()
  }
}

/** Spool directories open in this process (the lock file cannot tell this process from itself). */
const OPEN_DIRS = new Set<string>()

async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE)
  if (OPEN_DIRS.has(resolve(dir))) throw new Error(`spool directory ${dir} is already open in this process`)
  try {
    await writeFile(path, String(process.pid), { flag: 'wx', mode: 0o600 })
    OPEN_DIRS.add(resolve(dir))
    return
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  if (owner !== process.pid && isAlive(owner)) {
    throw new Error(`spool directory ${dir} is in use by process ${owner}`)
  }
  // Left behind by a process that died (e.g. kill -9): take it over.
  await writeFile(path, String(process.pid), { mode: 0o600 })
  OPEN_DIRS.add(resolve(dir))
}

async function releaseLock(dir: string): Promise<void> {
  OPEN_DIRS.delete(resolve(dir))
  await rm(join(dir, LOCK_FILE), { force: true })
}

async function readWatermark(
  dir: string,
  onError: (message: string, error: unknown) => void,
): Promise<SpoolPosition> {
  let text: string
  try {
    text = await readFile(join(dir, WATERMARK_FILE), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') onError('cannot read the spool watermark', error)
    return { segment: 0, offset: 0 }
  }
  try {
    const parsed = JSON.parse(text) as { segment?: unknown; offset?: unknown }
    const { segment, offset } = parsed
    if (
      Number.isSafeInteger(segment) &&
      Number.isSafeInteger(offset) &&
      Number(segment) >= 0 &&
      Number(offset) >= 0
    ) {
      return { segment: Number(segment), offset: Number(offset) }
    }
  } catch {}
  // A damaged watermark only costs re-inserting stored rows (storage de-duplicates them).
  onError('the spool watermark is damaged; replaying every segment', new Error(text.slice(0, 100)))
  return { segment: 0, offset: 0 }
}

/**
 * Scan one segment from `from`, counting what is to replay. A torn tail is cut off (so the
 * segment ends on a record boundary). Returns the segment's size after that and where replay starts.
 */
async function recoverSegment(
  path: string,
  from: number,
  recovery: SpoolRecovery,
  onError: (message: string, error: unknown) => void,
): Promise<{ size: number; start: number }> {
  const handle = await open(path, 'r')
  const { size } = await handle.stat()
  await handle.close()
  const scan = async (start: number) => {
    const reader = await SegmentReader.open(path, size)
    let offset = start
    let records = 0
    let rows = 0
    let corrupt = 0
    try {
      while (offset < size) {
        const parsed = await reader.at(offset)
        if (parsed.kind === 'record') {
          records += 1
          rows += parsed.rows
          offset += parsed.size
        } else if (parsed.kind === 'corrupt') {
          corrupt += 1
          offset += parsed.size
        } else {
          break
        }
      }
    } finally {
      await reader.close()
    }
    return { end: offset, records, rows, corrupt }
  }
  let start = Math.min(from, size)
  let result = await scan(start)
  if (from > 0 && (from > size || (result.end === start && start < size))) {
    // The watermark does not point at a record: replay the whole segment (storage de-duplicates).
    onError(
      `the spool watermark does not match ${path}; replaying the whole segment`,
      new Error(String(start)),
    )
    start = 0
    result = await scan(0)
  }
  if (result.corrupt > 0) {
    onError(`${result.corrupt} corrupt records skipped in ${path}`, new Error('checksum mismatch'))
  }
  if (result.end < size) {
    recovery.tornBytes += size - result.end
    await truncate(path, result.end)
  }
  recovery.records += result.records
  recovery.rows += result.rows
  recovery.bytes += Math.max(0, result.end - start)
  recovery.corruptRecords += result.corrupt
  return { size: result.end, start }
}
