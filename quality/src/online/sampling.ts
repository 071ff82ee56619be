import { createHash } from 'node:crypto'

/**
 * Deterministic sampling: a trace is in when the first 32 bits of sha256(trace id), read as a
 * fraction of 2^32, are below `rate`. The same trace is always in or always out, on every
 * worker and restart; rate 1 takes every trace and 0 none.
 */
export function sampleFraction(traceId: string): number {
  const digest = createHash('sha256').update(traceId).digest()
  return digest.readUInt32BE(0) / 2 ** 32
}

export function isSampled(traceId: string, rate: number): boolean {
  if (rate >= 1) return true
  if (rate <= 0) return false
  return sampleFraction(traceId) < rate
}
