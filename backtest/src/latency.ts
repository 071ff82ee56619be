/**
 * Latency projection: what a call would have taken on the candidate model, read off that model's
 * own recorded latency distribution in this project. Each call keeps its rank: a call at the 80th
 * percentile of its baseline model's latencies maps to the 80th percentile of the candidate's
 * (quantile mapping), so slow calls stay slow. A projection, not a measurement: prompt changes,
 * output length and caching effects on latency are not modelled; replay measures them.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import type { CallTable } from './calls'
import { chTime } from './calls'

/** Quantile levels fetched for a model's distribution: 0, 0.001, …, 1. */
const GRID = 1000
const LEVELS = Array.from({ length: GRID + 1 }, (_, i) => (i / GRID).toFixed(3)).join(', ')

export interface LatencyDistribution {
  model: string
  /** Calls the distribution is computed from. */
  calls: number
  /** Quantiles at levels 0, 1/1000, …, 1 (type 7, like Excel's PERCENTILE.INC). */
  quantiles: Float64Array
  from: string
  to: string
}

const distributionRow = z.object({
  calls: z.union([z.number(), z.string()]).transform(Number),
  q: z.array(z.number().nullable()),
})

/** At least this many recorded calls before a distribution is used for a projection. */
export const MIN_LATENCY_CALLS = 20

/**
 * The recorded latency (duration or time to first token) distribution of `model` in a project,
 * over [from, to); error calls excluded. Null when fewer than {@link MIN_LATENCY_CALLS} calls.
 */
export async function loadLatencyDistribution(
  storage: Storage,
  q: { projectId: string; model: string; from: Date; to: Date; field: 'duration' | 'ttft' },
): Promise<LatencyDistribution | null> {
  const column = q.field === 'duration' ? 'duration_ms' : 'ttft_ms'
  const result = await storage.client.query({
    query: `
      SELECT count() AS calls, quantilesExactInclusive(${LEVELS})(${column}) AS q
      FROM ${storage.database}.spans FINAL
      WHERE project_id = {projectId:String}
        AND start_time >= {from:DateTime64(6, 'UTC')} AND start_time < {to:DateTime64(6, 'UTC')}
        AND kind = 'llm' AND status != 'error' AND (model = {model:String} OR request_model = {model:String})
        AND ${column} IS NOT NULL`,
    query_params: { projectId: q.projectId, model: q.model, from: chTime(q.from), to: chTime(q.to) },
    format: 'JSONEachRow',
  })
  const [row] = z.array(distributionRow).parse(await result.json())
  if (!row || row.calls < MIN_LATENCY_CALLS) return null
  return {
    model: q.model,
    calls: row.calls,
    quantiles: Float64Array.from(row.q, (v) => v ?? Number.NaN),
    from: q.from.toISOString(),
    to: q.to.toISOString(),
  }
}

/**
 * `rows` ordered by `values[row]` ascending (no NaN), stable: an LSD radix sort on the IEEE-754
 * bits mapped to unsigned order (negative values flipped), 11 bits a pass, passes where every
 * row has the same digit skipped. Ties (−0 and 0 included) end up adjacent, as a comparison sort
 * would leave them.
 */
export function orderByValue(rows: Uint32Array, values: Float64Array): Uint32Array {
  const n = rows.length
  const bits = new Float64Array(n)
  for (let i = 0; i < n; i++) bits[i] = values[rows[i] ?? 0] ?? 0
  const words = new Uint32Array(bits.buffer)
  const little = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
  const lo = new Uint32Array(n)
  const hi = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    let h = words[little ? 2 * i + 1 : 2 * i] ?? 0
    let l = words[little ? 2 * i : 2 * i + 1] ?? 0
    if (h & 0x80000000) {
      h = ~h >>> 0
      l = ~l >>> 0
    } else {
      h = (h | 0x80000000) >>> 0
    }
    hi[i] = h
    lo[i] = l
  }
  // Positions 0..n-1 of the list, sorted by (hi, lo); `rows` maps them back.
  let order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  let other = new Uint32Array(n)
  const counts = new Uint32Array(2048)
  for (const [word, shift] of [
    [lo, 0],
    [lo, 11],
    [lo, 22],
    [hi, 0],
    [hi, 11],
    [hi, 22],
  ] as const) {
    counts.fill(0)
    for (let i = 0; i < n; i++) {
      const d = ((word[i] ?? 0) >>> shift) & 2047
      counts[d] = (counts[d] ?? 0) + 1
    }
    if (counts[((word[0] ?? 0) >>> shift) & 2047] === n) continue
    let sum = 0
    for (let d = 0; d < 2048; d++) {
      const c = counts[d] ?? 0
      counts[d] = sum
      sum += c
    }
    for (let i = 0; i < n; i++) {
      const k = order[i] ?? 0
      const d = ((word[k] ?? 0) >>> shift) & 2047
      const to = counts[d] ?? 0
      counts[d] = to + 1
      other[to] = k
    }
    const swap = order
    order = other
    other = swap
  }
  for (let i = 0; i < n; i++) other[i] = rows[order[i] ?? 0] ?? 0
  return other
}

function atLevel(quantiles: Float64Array, u: number): number {
  const h = Math.min(Math.max(u, 0), 1) * (quantiles.length - 1)
  const lo = Math.floor(h)
  const a = quantiles[lo] ?? Number.NaN
  const b = quantiles[Math.min(quantiles.length - 1, lo + 1)] ?? a
  return a + (h - lo) * (b - a)
}

/**
 * Projected latency per call: calls whose model is the candidate keep their recorded value;
 * others take the candidate distribution's quantile at their mid-rank within their own model's
 * calls in the cohort. `values` are the recorded latencies (NaN where missing stay NaN).
 */
export function projectLatency(
  calls: CallTable,
  values: Float64Array,
  candidateModel: string,
  candidate: LatencyDistribution,
): Float64Array {
  const out = new Float64Array(calls.n)
  const byModel = new Map<number, number[]>()
  const isCandidate = Uint8Array.from(calls.models, (m) => (m === candidateModel ? 1 : 0))
  for (let i = 0; i < calls.n; i++) {
    const v = values[i] ?? Number.NaN
    if (Number.isNaN(v)) {
      out[i] = Number.NaN
      continue
    }
    const m = calls.model[i] ?? 0
    if (isCandidate[m]) {
      out[i] = v
      continue
    }
    let list = byModel.get(m)
    if (!list) {
      list = []
      byModel.set(m, list)
    }
    list.push(i)
  }
  for (const unsorted of byModel.values()) {
    const list = orderByValue(Uint32Array.from(unsorted), values)
    // Mid-ranks, ties sharing one rank, so equal recorded latencies project equally.
    for (let r = 0; r < list.length; ) {
      let s = r
      while (s + 1 < list.length && values[list[s + 1] ?? 0] === values[list[r] ?? 0]) s++
      const u = ((r + s) / 2 + 0.5) / list.length
      const projected = atLevel(candidate.quantiles, u)
      for (let k = r; k <= s; k++) out[list[k] ?? 0] = projected
      r = s + 1
    }
  }
  return out
}
