import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { emptyTable } from './calls'
import { type LatencyDistribution, orderByValue, projectLatency } from './latency'

describe('orderByValue', () => {
  test('ascending, as a comparison sort orders them, for any finite or infinite value', () => {
    let seed = 3
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 2 ** 32
    }
    const special = [-0, 0, -5.5, 1e300, -1e-300, 3, Number.MIN_VALUE, -Infinity, Infinity, 2 ** 60]
    const values = Float64Array.from({ length: 4000 }, (_, i) =>
      i % 4 === 0 ? (special[i % special.length] ?? 0) : Math.round((random() - 0.3) * 1e4) / 8,
    )
    const rows = Uint32Array.from({ length: 2000 }, (_, i) => i * 2)
    const expected = Array.from(rows).sort((a, b) => {
      const x = values[a] ?? 0
      const y = values[b] ?? 0
      return x < y ? -1 : x > y ? 1 : a - b
    })
    const got = Array.from(orderByValue(rows, values))
    // Equal values (−0 and 0 are equal) may come in either order; the values in order must match.
    assert.deepEqual(
      got.map((r) => values[r]),
      expected.map((r) => values[r]),
    )
    assert.deepEqual(
      [...got].sort((a, b) => a - b),
      Array.from(rows),
    )
  })
})

describe('projectLatency', () => {
  test('each call takes the candidate quantile at its mid-rank within its own model; ties share it', () => {
    const calls = emptyTable(6)
    calls.models.push('a', 'cand')
    calls.model.set([0, 0, 0, 0, 1, 0])
    const values = Float64Array.from([400, 100, 400, Number.NaN, 999, 200])
    // Candidate quantiles on a 0..1000 grid: q(u) = 1000 · u.
    const candidate: LatencyDistribution = {
      model: 'cand',
      calls: 1001,
      quantiles: Float64Array.from({ length: 1001 }, (_, i) => i),
      from: '',
      to: '',
    }
    const out = projectLatency(calls, values, 'cand', candidate)
    // Model a: 100 (rank 0), 200 (rank 1), 400 ×2 (ranks 2–3, mid-rank 2.5) of 4 → u = (rank + 0.5) / 4.
    assert.deepEqual(Array.from(out), [750, 125, 750, Number.NaN, 999, 375])
  })
})
