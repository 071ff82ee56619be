/**
 * Reusable Buffers for the bytes every request passes through: the request body and its rows.
 *
 * Why: every Buffer allocation is reported to V8 as external memory, and V8 answers each ~64 MiB
 * of new external memory with a full mark-compact of the JS heap. At ingest rates of tens of
 * thousands of ~3 KB spans per second that was several full collections per second (measured:
 * ~10 µs of GC per span, a sixth of the collector's CPU). Buffers taken from here and given back
 * when their bytes are no longer needed are allocated once and reused, so steady ingest adds no
 * external memory at all.
 *
 * Buffers come in power-of-two sizes from 64 KiB to 4 MiB; `acquire(n)` returns a view of exactly
 * `n` bytes. Larger requests get a plain Buffer, and `release` ignores anything it did not hand
 * out (or already got back), so callers may release whatever they hold without tracking where it
 * came from. The free lists keep at most `maxFreeBytes`; the rest is left to the garbage collector.
 *
 * The one rule: release a Buffer only once nothing reads or writes it any more — including views
 * (`subarray`) of it, which share its memory.
 */
export class BufferPool {
  static readonly MIN_BYTES = 64 * 1024
  static readonly MAX_BYTES = 4 * 1024 * 1024

  private readonly free = new Map<number, Buffer[]>()
  /**
   * Pooled Buffers handed out and not yet released, by their memory. Weak: one its holder drops
   * without releasing is simply collected.
   */
  private readonly inUse = new WeakMap<ArrayBufferLike, Buffer>()
  private freeBytes = 0
  private allocated = 0
  private reused = 0

  constructor(private readonly maxFreeBytes = 64 * 1024 * 1024) {}

  /** A Buffer of exactly `bytes` bytes (contents undefined), reused when one is free. */
  acquire(bytes: number): Buffer {
    if (bytes > BufferPool.MAX_BYTES || bytes <= 0) return Buffer.allocUnsafeSlow(Math.max(0, bytes))
    const size = sizeClass(bytes)
    const root = this.free.get(size)?.pop()
    let buffer: Buffer
    if (root) {
      this.freeBytes -= size
      this.reused++
      buffer = root
    } else {
      this.allocated++
      buffer = Buffer.allocUnsafeSlow(size)
    }
    this.inUse.set(buffer.buffer, buffer)
    return buffer.subarray(0, bytes)
  }

  /** Give back a Buffer (or a view of one) from `acquire`; anything else is ignored. */
  release(buffer: Buffer): void {
    const root = this.inUse.get(buffer.buffer)
    if (!root) return
    this.inUse.delete(buffer.buffer)
    if (this.freeBytes + root.length > this.maxFreeBytes) return
    let list = this.free.get(root.length)
    if (!list) {
      list = []
      this.free.set(root.length, list)
    }
    list.push(root)
    this.freeBytes += root.length
  }

  stats(): { allocated: number; reused: number; free_bytes: number } {
    return { allocated: this.allocated, reused: this.reused, free_bytes: this.freeBytes }
  }
}

function sizeClass(bytes: number): number {
  let size = BufferPool.MIN_BYTES
  while (size < bytes) size *= 2
  return size
}

/** The process's pool for request bodies and rows (HTTP receiver, pipeline, writer). */
export const ingestBuffers = new BufferPool()
