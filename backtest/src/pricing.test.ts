/**
 * Re-pricing without an object per call: `priceIndexedCalls` against the collector's own
 * `computeCostUsd` applied call by call (the independent reference), with long-context tiers,
 * cache reads / writes / 1-hour writes and unpriced calls.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { computeCostUsd, type PriceEntry } from '@hindsight/collector'
import { fromNano, priceCalls, priceIndexedCalls, toNano, type UsageColumns } from './pricing'

const flat: PriceEntry = {
  provider: 'openai',
  model: 'm1',
  effective_from: '2025-01-01',
  input: 2.5,
  output: 10,
  cache_read: 1.25,
}
const tiered: PriceEntry = {
  provider: 'anthropic',
  model: 'm2',
  effective_from: '2025-01-01',
  input: 3,
  output: 15,
  cache_read: 0.3,
  cache_write: 3.75,
  cache_write_1h: 6,
  tiers: [{ above_input_tokens: 200_000, input: 6, output: 22.5, cache_read: 0.6 }],
}

function fixture(n: number) {
  let seed = 11
  const random = (k: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return Math.floor((seed / 2 ** 32) * k)
  }
  const usage: UsageColumns = {
    input: new Float64Array(n),
    output: new Float64Array(n),
    read: new Float64Array(n),
    write: new Float64Array(n),
    write1h: new Float64Array(n),
  }
  const index = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const input = random(3) === 0 ? 150_000 + random(100_000) : random(20_000)
    const read = random(2) ? random(input + 1) : 0
    const write = random(input - read + 1)
    usage.input[i] = input
    usage.read[i] = read
    usage.write[i] = write
    ;(usage.write1h as Float64Array)[i] = random(3) === 0 ? random(write + 1) : 0
    usage.output[i] = random(4000)
    index[i] = random(10) === 0 ? -1 : random(2)
  }
  return { usage, index, entries: [flat, tiered] }
}

describe('priceIndexedCalls', () => {
  const n = 5000
  const { usage, index, entries } = fixture(n)
  const priced = priceIndexedCalls(usage, n, { index, entries })
  /** The collector's cost of call `i` at price entry `k` (the reference the typed-array pass must match). */
  const collectorCost = (i: number, k: number) =>
    computeCostUsd(
      {
        input_tokens: usage.input[i] ?? 0,
        output_tokens: usage.output[i] ?? 0,
        cache_read_tokens: usage.read[i] ?? 0,
        cache_write_tokens: usage.write[i] ?? 0,
        cache_write_1h_tokens: usage.write1h?.[i] ?? 0,
      },
      entries[k] as PriceEntry,
    )

  test('per call: the collector’s cost of that call (tiers, cache reads, writes, 1-hour writes)', () => {
    let unpriced = 0
    for (let i = 0; i < n; i++) {
      const k = index[i] ?? -1
      if (k < 0) {
        unpriced++
        assert.ok(Number.isNaN(priced.perCall[i]))
        continue
      }
      const expected = Number(collectorCost(i, k))
      // computeCostUsd rounds to the nanodollar; the per-call float does not.
      assert.ok(Math.abs((priced.perCall[i] ?? 0) - expected) <= 5e-10, `call ${i}`)
    }
    assert.equal(priced.unpriced, unpriced)
  })

  test('the exact total: within a nanodollar per call of the sum of per-call costs', () => {
    let sum = 0n
    let count = 0
    for (let i = 0; i < n; i++) {
      const k = index[i] ?? -1
      if (k < 0) continue
      count++
      sum += toNano(collectorCost(i, k))
    }
    const difference = toNano(priced.totalUsd) - sum
    assert.ok(difference <= BigInt(count) && difference >= -BigInt(count), `${fromNano(difference)}`)
    assert.match(priced.totalUsd, /^\d+\.\d{9}$/)
  })

  test('priceCalls (a price per call) gives the same result', () => {
    const viaClosure = priceCalls(usage, n, (i) => {
      const k = index[i] ?? -1
      return k < 0 ? null : (entries[k] ?? null)
    })
    assert.equal(viaClosure.totalUsd, priced.totalUsd)
    assert.equal(viaClosure.unpriced, priced.unpriced)
    assert.deepEqual(Array.from(viaClosure.perCall), Array.from(priced.perCall))
  })
})
