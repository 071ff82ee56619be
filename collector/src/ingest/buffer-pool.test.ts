import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BufferPool } from './buffer-pool'

test('a released buffer is handed out again, as a view of exactly the size asked for', () => {
  const pool = new BufferPool()
  const a = pool.acquire(100_000)
  assert.equal(a.length, 100_000)
  a.fill(7)
  pool.release(a)
  const b = pool.acquire(120_000)
  assert.equal(b.length, 120_000)
  assert.equal(b.buffer, a.buffer, 'same 128 KiB memory reused')
  assert.deepEqual(pool.stats(), { allocated: 1, reused: 1, free_bytes: 0 })
})

test('a view (subarray) releases its buffer; a second release of it is ignored', () => {
  const pool = new BufferPool()
  const a = pool.acquire(70_000)
  pool.release(a.subarray(10, 20))
  pool.release(a)
  assert.equal(pool.stats().free_bytes, 128 * 1024, 'pushed once')
  const b = pool.acquire(70_000)
  const c = pool.acquire(70_000)
  assert.equal(b.buffer, a.buffer)
  assert.notEqual(c.buffer, b.buffer, 'not handed out twice')
})

test('buffers the pool did not hand out, and sizes above the largest class, are never pooled', () => {
  const pool = new BufferPool()
  pool.release(Buffer.alloc(64 * 1024))
  pool.release(Buffer.allocUnsafeSlow(128 * 1024))
  const big = pool.acquire(BufferPool.MAX_BYTES + 1)
  assert.equal(big.length, BufferPool.MAX_BYTES + 1)
  pool.release(big)
  assert.equal(pool.stats().free_bytes, 0)
  assert.equal(pool.acquire(0).length, 0)
})

test('the free lists keep at most maxFreeBytes', () => {
  const pool = new BufferPool(256 * 1024)
  const held = [pool.acquire(100_000), pool.acquire(100_000), pool.acquire(100_000)]
  for (const b of held) pool.release(b)
  assert.equal(pool.stats().free_bytes, 256 * 1024, 'the third 128 KiB buffer is left to the GC')
  const again = [pool.acquire(100_000), pool.acquire(100_000), pool.acquire(100_000)]
  assert.equal(pool.stats().reused, 2)
  assert.equal(new Set(again.map((b) => b.buffer)).size, 3)
})
