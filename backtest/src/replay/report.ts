/**
 * The replay's paired comparison: per replayed call, the recorded (baseline) and the candidate's
 * measured cost, latency, time to first token and output length; paired mean differences with
 * cluster-robust intervals (calls of one trace are clustered) and Wilcoxon as the robustness test.
 */
import { holm, pairedMeanDifference, wilcoxonSignedRank, winTieLoss } from '../stats'
import type { ReplayCallRecord } from './store'

export interface ReplayMetric {
  name: 'cost_per_call_usd' | 'latency_ms' | 'ttft_ms' | 'output_tokens' | 'output_chars'
  baseline: number | null
  candidate: number | null
  delta: number | null
  ci_low: number | null
  ci_high: number | null
  p_value: number | null
  p_value_adjusted: number | null
  n: number
  clusters: number
  method: string
  test: { name: string; statistic: number; p_value: number } | null
  win_tie_loss: { wins: number; ties: number; losses: number } | null
  note: string | null
}

type Pick = (r: ReplayCallRecord) => [number | null, number | null]

const METRICS: Array<{ name: ReplayMetric['name']; better: 'lower' | 'higher'; pick: Pick }> = [
  {
    name: 'cost_per_call_usd',
    better: 'lower',
    pick: (r) => [r.result.baseline.cost_usd, r.result.cost_usd],
  },
  { name: 'latency_ms', better: 'lower', pick: (r) => [r.result.baseline.duration_ms, r.result.duration_ms] },
  { name: 'ttft_ms', better: 'lower', pick: (r) => [r.result.baseline.ttft_ms, r.result.ttft_ms] },
  {
    name: 'output_tokens',
    better: 'lower',
    pick: (r) => [r.result.baseline.output_tokens, r.result.output_tokens],
  },
  {
    name: 'output_chars',
    better: 'lower',
    pick: (r) => [r.result.baseline.output_chars, r.result.output_chars],
  },
]

const finite = (x: number) => (Number.isFinite(x) ? x : null)

/** Paired metrics over the calls the candidate answered. */
export function replayMetrics(records: ReplayCallRecord[]): ReplayMetric[] {
  const ok = records.filter((r) => r.result.ok)
  const rows = METRICS.map(({ name, better, pick }): ReplayMetric => {
    const b: number[] = []
    const c: number[] = []
    const clusters: number[] = []
    const traceIndex = new Map<string, number>()
    for (const r of ok) {
      const [x, y] = pick(r)
      if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) continue
      b.push(x)
      c.push(y)
      let k = traceIndex.get(r.trace_id)
      if (k === undefined) {
        k = traceIndex.size
        traceIndex.set(r.trace_id, k)
      }
      clusters.push(k)
    }
    const n = b.length
    const mean = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : null)
    const empty: ReplayMetric = {
      name,
      baseline: mean(b),
      candidate: mean(c),
      delta: null,
      ci_low: null,
      ci_high: null,
      p_value: null,
      p_value_adjusted: null,
      n,
      clusters: traceIndex.size,
      method: '',
      test: null,
      win_tie_loss: null,
      note: n < 2 || traceIndex.size < 2 ? `only ${n} paired calls in ${traceIndex.size} traces` : null,
    }
    if (empty.note) return empty
    const diff = pairedMeanDifference(b, c, { clusters: Uint32Array.from(clusters) })
    const w = wilcoxonSignedRank(b, c)
    return {
      ...empty,
      delta: finite(diff.estimate),
      ci_low: finite(diff.ci_low),
      ci_high: finite(diff.ci_high),
      p_value: finite(diff.p_value),
      method: diff.method,
      test: { name: 'Wilcoxon signed-rank', statistic: w.statistic, p_value: w.p_value },
      win_tie_loss: winTieLoss(b, c, { better, tolerance: 1e-9 }),
    }
  })
  const withP = rows.filter((m) => m.p_value !== null)
  const adjusted = holm(withP.map((m) => m.p_value as number))
  withP.forEach((m, k) => {
    m.p_value_adjusted = finite(adjusted[k] ?? Number.NaN)
  })
  return rows
}
