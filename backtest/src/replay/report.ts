/**
 * The replay's paired comparison: per replayed call, the recorded (baseline) and the candidate's
 * measured cost, latency, time to first token and output length; paired mean differences with
 * cluster-robust intervals (calls of one trace are clustered) and Wilcoxon as the robustness test.
 */
import type { CandidateSpec, Objectives } from '../candidate'
import type { Cohort } from '../cohort'
import { type BacktestReport, type MetricRow, REPORT_SCHEMA_VERSION, verdict } from '../report'
import { holm, pairedMeanDifference, wilcoxonSignedRank, winTieLoss } from '../stats'
import type { RecordedCall } from './request'
import type { ReplayRun } from './runner'
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

const METRIC_INFO: Record<
  ReplayMetric['name'],
  { label: string; unit: MetricRow['unit']; better: MetricRow['better'] }
> = {
  cost_per_call_usd: { label: 'Cost per call (USD)', unit: 'usd', better: 'lower' },
  latency_ms: { label: 'Latency, mean (ms)', unit: 'ms', better: 'lower' },
  ttft_ms: { label: 'Time to first token, mean (ms)', unit: 'ms', better: 'lower' },
  output_tokens: { label: 'Output tokens per call', unit: 'tokens', better: 'lower' },
  output_chars: { label: 'Output characters per call', unit: 'chars', better: 'lower' },
}

/** A replay metric in the report's row shape (measured, so never a projection). */
export function replayMetricRow(m: ReplayMetric): MetricRow {
  const info = METRIC_INFO[m.name]
  const ratio =
    m.baseline !== null && m.candidate !== null && m.baseline > 0 ? m.candidate / m.baseline : null
  return {
    name: m.name,
    label: info.label,
    unit: info.unit,
    better: info.better,
    baseline: m.baseline,
    candidate: m.candidate,
    delta: m.delta,
    ci_low: m.ci_low,
    ci_high: m.ci_high,
    ratio,
    ratio_ci_low: null,
    ratio_ci_high: null,
    candidate_ci_low: null,
    candidate_ci_high: null,
    p_value: m.p_value,
    p_value_adjusted: m.p_value_adjusted,
    n: m.n,
    clusters: m.clusters,
    mde: null,
    n_needed: null,
    method: m.method,
    test: m.test ? { ...m.test, method: 'paired, zeros dropped' } : null,
    win_tie_loss: m.win_tie_loss,
    projection: false,
    note: m.note,
  }
}

export interface ReplayReportOptions {
  projectId: string
  backtestId: string | null
  cohort: Cohort
  candidate: CandidateSpec
  objectives: Objectives
  run: ReplayRun
  /** The cohort's recorded calls (baseline models). */
  calls: RecordedCall[]
  priceTableVersion: string
  now?: Date
}

const usd = (x: number) => (Number.isFinite(x) ? x.toFixed(9) : '0.000000000')

/** The replay's report, in the shape of the what-if report (`mode: 'replay'`, measured metrics). */
export function replayReport(o: ReplayReportOptions): BacktestReport {
  const { run, candidate } = o
  const metricsRaw = replayMetrics(run.records)
  const metrics = metricsRaw.map(replayMetricRow)
  const ok = run.records.filter((r) => r.result.ok)
  const priced = ok.filter((r) => r.result.cost_usd !== null && r.result.baseline.cost_usd !== null)
  const baselineCost = priced.reduce((s, r) => s + (r.result.baseline.cost_usd ?? 0), 0)
  const candidateCost = priced.reduce((s, r) => s + (r.result.cost_usd ?? 0), 0)
  const modelCounts = new Map<string, { provider: string; model: string; calls: number }>()
  for (const c of o.calls) {
    const key = `${c.provider}/${c.model}`
    const entry = modelCounts.get(key) ?? { provider: c.provider, model: c.model, calls: 0 }
    entry.calls++
    modelCounts.set(key, entry)
  }
  const withP = metrics.filter((m) => m.p_value !== null)
  const tooSmall =
    ok.length < 2 ? `only ${ok.length} calls were answered by the candidate: too few to compare` : null
  const price = candidate.price
  const messages = [...run.messages]
  if (run.failed > 0)
    messages.push(`${run.failed} calls failed at the candidate endpoint and are not compared.`)
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    mode: 'replay',
    replay: {
      status: run.status,
      total: run.total,
      resumed: run.resumed,
      issued: run.issued,
      failed: run.failed,
      paired_calls: ok.length,
      spent_usd: run.spent_usd,
      budget_usd: candidate.budget_usd ?? null,
      base_url: candidate.base_url ?? null,
    },
    generated_at: (o.now ?? new Date()).toISOString(),
    project_id: o.projectId,
    backtest_id: o.backtestId,
    cohort: {
      id: o.cohort.id,
      filter: o.cohort.filter,
      sample: o.cohort.sample,
      traces: o.cohort.trace_count,
      calls: run.total,
    },
    candidate,
    baseline: { models: [...modelCounts.values()].sort((a, b) => b.calls - a.calls) },
    pricing: {
      price_table_version: o.priceTableVersion,
      candidate_price: price
        ? {
            source: 'custom',
            input: price.input,
            output: price.output,
            cache_read: price.cache_read ?? null,
            cache_write: price.cache_write ?? null,
          }
        : null,
      price_at: 'call_time',
      baseline_unpriced_calls: ok.filter((r) => r.result.baseline.cost_usd === null).length,
      notes: [
        'The candidate arm is priced from the usage its endpoint returned; the baseline is the recorded cost.',
      ],
    },
    totals: {
      calls: run.total,
      priced_calls: priced.length,
      baseline_cost_usd: usd(baselineCost),
      candidate_cost_usd: usd(candidateCost),
      recorded_cost_usd: usd(baselineCost),
      savings_usd: usd(baselineCost - candidateCost),
    },
    caching: {
      enabled: false,
      rule: null,
      simulated_calls: 0,
      calls_without_content: run.records.filter((r) => r.result.error?.includes('no recorded messages'))
        .length,
      hit_rate: null,
      read_tokens: 0,
      write_tokens: 0,
      input_tokens: ok.reduce((s, r) => s + r.result.input_tokens, 0),
      savings_usd: null,
      token_counts: 'Token counts are those the candidate endpoint returned.',
      calibration: null,
    },
    latency: {
      projection: false,
      method: `each recorded call was re-issued to ${candidate.base_url ?? 'the candidate endpoint'} and its wall-clock duration measured (non-streaming, so no candidate TTFT).`,
      source: null,
      note: null,
    },
    metrics,
    correction: {
      method: 'holm',
      family_size: withP.length,
      statement: `Holm's step-down correction over the ${withP.length} metrics with a test in this report.`,
    },
    objectives: o.objectives,
    verdict: verdict(o.objectives, metrics, ok.length, tooSmall),
    messages,
    assumptions: [
      'Each LLM step of a trace is replayed on its own with its recorded inputs (tool outputs as recorded).',
      'Deltas are paired per call (candidate − recorded); calls of one trace are clustered.',
      'Recorded latency and the candidate latency were measured on different days, networks and loads.',
    ],
  }
}
