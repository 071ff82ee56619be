/**
 * The replay's paired comparison: per replayed call, the recorded (baseline) and the candidate's
 * measured cost, latency, time to first token and output length; paired mean differences with
 * cluster-robust intervals (calls of one trace are clustered) and Wilcoxon as the robustness test;
 * a seeded paired cluster bootstrap (≥ 10,000 resamples) for the cost and latency ratios and the
 * latency p50/p95 (and TTFT p50) deltas; quality rows from the evaluation of both arms; Holm
 * over every metric with a test; MDE and calls needed per metric.
 */
import type { CandidateSpec, Objectives } from '../candidate'
import type { Cohort } from '../cohort'
import type { QualityEvaluation } from '../evaluate'
import { qualityRows } from '../evaluate-metrics'
import { bootstrapFields, differenceFields, emptyMetricRow, finite, powerFields } from '../metric-row'
import {
  type BacktestReport,
  type MetricRow,
  primaryQuality,
  type QualitySummary,
  REPORT_SCHEMA_VERSION,
  reportCohort,
  triangle,
  verdict,
} from '../report'
import {
  CORRECTION_LABEL,
  clusteredMeanCI,
  holm,
  meanCI,
  type PairedBootstrapResult,
  pairedBootstrap,
  pairedMeanDifference,
  wilcoxonSignedRank,
  winTieLoss,
} from '../stats'
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

/** Paired metrics over the calls the candidate answered. */
export function replayMetrics(records: ReplayCallRecord[]): ReplayMetric[] {
  const rows = METRICS.map(({ name, better, pick }): ReplayMetric => {
    const { b, c, clusters, groups } = paired(records, pick)
    const n = b.length
    const mean = (v: Float64Array) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : null)
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
      clusters: groups,
      method: '',
      test: null,
      win_tie_loss: null,
      note: n < 2 || groups < 2 ? `only ${n} paired calls in ${groups} traces` : null,
    }
    if (empty.note) return empty
    const diff = pairedMeanDifference(b, c, { clusters })
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

/** Paired values of one measurement over the answered calls (both arms finite), clustered by trace. */
interface Paired {
  b: Float64Array
  c: Float64Array
  clusters: Uint32Array
  groups: number
}

function paired(records: readonly ReplayCallRecord[], pick: Pick): Paired {
  const b: number[] = []
  const c: number[] = []
  const clusters: number[] = []
  const traceIndex = new Map<string, number>()
  for (const r of records) {
    if (!r.result.ok) continue
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
  return {
    b: Float64Array.from(b),
    c: Float64Array.from(c),
    clusters: Uint32Array.from(clusters),
    groups: traceIndex.size,
  }
}

/** Fewest paired calls for percentile and ratio intervals (as the what-if). */
export const MIN_REPLAY_CALLS = 10

export interface ReplayRowOptions {
  /** Bootstrap resamples. @default 10_000 */
  resamples?: number
  /** Bootstrap seed (same seed, same intervals). @default 'hindsight' */
  seed?: string | number
  /** Quality of both arms (`evaluateReplay`): one `quality` row per evaluator. */
  quality?: QualityEvaluation
}

function emptyRow(name: RowName, p: Paired | null, note: string): MetricRow {
  const { label, unit } = ROW_INFO[name]
  return emptyMetricRow({ name, label, unit, better: 'lower' }, note, p?.b.length ?? 0, p?.groups ?? 0)
}

type RowName =
  | 'cost_per_call_usd'
  | 'latency_ms'
  | 'latency_p50_ms'
  | 'latency_p95_ms'
  | 'ttft_ms'
  | 'ttft_p50_ms'
  | 'output_tokens'
  | 'output_chars'

const ROW_INFO: Record<RowName, { label: string; unit: MetricRow['unit'] }> = {
  cost_per_call_usd: { label: 'Cost per call (USD)', unit: 'usd' },
  latency_ms: { label: 'Latency, mean (ms)', unit: 'ms' },
  latency_p50_ms: { label: 'Latency p50 (ms)', unit: 'ms' },
  latency_p95_ms: { label: 'Latency p95 (ms)', unit: 'ms' },
  ttft_ms: { label: 'Time to first token, mean (ms)', unit: 'ms' },
  ttft_p50_ms: { label: 'Time to first token p50 (ms)', unit: 'ms' },
  output_tokens: { label: 'Output tokens per call', unit: 'tokens' },
  output_chars: { label: 'Output characters per call', unit: 'chars' },
}

function tooFew(p: Paired, min: number): string | null {
  return p.b.length < min || p.groups < 2
    ? `only ${p.b.length} paired calls in ${p.groups} traces (need at least ${min} calls in 2 traces)`
    : null
}

/**
 * A mean row: the paired mean difference (CLT, cluster-robust when calls share a trace), the
 * candidate's own mean interval, Wilcoxon, win/tie/loss, MDE and calls needed; with `boot`, the
 * ratio of means and its bootstrap interval (log scale).
 */
function meanRow(
  name: RowName,
  p: Paired,
  boot: PairedBootstrapResult | undefined,
  note: string | null,
): MetricRow {
  const small = tooFew(p, 2)
  if (small) return emptyRow(name, p, small)
  const clustered = p.groups < p.b.length
  const diff = clustered
    ? pairedMeanDifference(p.b, p.c, { clusters: p.clusters })
    : pairedMeanDifference(p.b, p.c)
  const own = clustered ? clusteredMeanCI(p.c, p.clusters) : meanCI(p.c)
  const w = wilcoxonSignedRank(p.b, p.c)
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length
  return {
    ...emptyRow(name, p, ''),
    baseline: mean(p.b),
    candidate: mean(p.c),
    ...differenceFields(diff, boot, own),
    ...powerFields(p.b.length, diff.se, diff.estimate, diff.p_value),
    method: boot ? `${diff.method}; ratio: ${boot.method}` : diff.method,
    test: { name: 'Wilcoxon signed-rank', statistic: w.statistic, p_value: w.p_value, method: w.method },
    win_tie_loss: winTieLoss(p.b, p.c, { better: 'lower', tolerance: 1e-9 }),
    note: note ?? (boot ? null : 'ratio interval needs at least 10 paired calls with positive values'),
  }
}

/** A percentile row from the paired bootstrap: delta, ratio and the candidate's own interval. */
function percentileRow(name: RowName, p: Paired, r: PairedBootstrapResult, winTie: boolean): MetricRow {
  return {
    ...emptyRow(name, p, ''),
    ...bootstrapFields(r),
    clusters: r.clusters,
    ...powerFields(p.b.length, r.delta_se, r.delta, r.p_value),
    method: `${r.method}; Harrell–Davis quantiles`,
    win_tie_loss: winTie ? winTieLoss(p.b, p.c, { better: 'lower', tolerance: 0.5 }) : null,
    note: null,
  }
}

const allPositive = (v: Float64Array) => v.every((x) => x > 0)

/** Calls of the replay sent streaming (their candidate TTFT measured), resumed ones included. */
function streamedCalls(records: readonly ReplayCallRecord[]): number {
  return records.filter((r) => r.result.ok && r.result.streamed === true).length
}

/** Why a replay has no paired time to first token, worded after what was streamed. */
function ttftMissing(records: readonly ReplayCallRecord[]): string {
  const ok = records.filter((r) => r.result.ok)
  const streamed = streamedCalls(records)
  if (ok.length === 0) return 'no call was answered by the candidate'
  if (streamed === 0)
    return 'no time to first token for the candidate: it was called without streaming (the recorded calls did not stream; set candidate.parameters.stream to true to measure it)'
  const recorded = ok.filter((r) => r.result.baseline.ttft_ms !== null).length
  if (recorded === 0)
    return `the candidate streamed ${streamed} calls, but the recording has no time to first token to pair them with (the recorded calls did not stream)`
  return `no call has a time to first token in both arms (${streamed} candidate calls streamed, ${recorded} recorded calls have one)`
}

/** "N calls failed … (most common: 78 × "401 …")": the errors, so a wrong endpoint or key is visible in the report. */
function failedMessage(run: ReplayRun): string {
  const counts = new Map<string, number>()
  for (const r of run.records) {
    const error = r.result.error
    if (r.result.ok || !error || error.includes('no recorded messages')) continue
    const key = error.length > 200 ? `${error.slice(0, 200)}…` : error
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const top = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([error, n]) => `${n} × ${JSON.stringify(error)}`)
  return `${run.failed} calls failed at the candidate endpoint and are not compared${top.length > 0 ? ` (${top.join('; ')})` : ''}.`
}

/** The replay's latency method, worded after whether the candidate was called streaming. */
function latencyMethod(candidate: CandidateSpec, run: ReplayRun): string {
  const where =
    candidate.base_url ?? (candidate.api === 'anthropic' ? 'the Anthropic API' : 'the candidate endpoint')
  const ok = run.records.filter((r) => r.result.ok).length
  // Resumed calls carry `streamed` in their records; `run.streamed` counts this process's calls.
  const streamed = Math.max(streamedCalls(run.records), run.streamed)
  const how =
    streamed === 0
      ? 'non-streaming, so no candidate time to first token'
      : streamed >= ok
        ? 'streaming, so the time to the first content delta (TTFT) was measured too'
        : `${streamed} of ${ok} calls streaming (their TTFT measured), the others not`
  return `each recorded call was re-issued to ${where} and its wall-clock duration measured (${how}).`
}

/**
 * Every metric row of a replay report: cost per call (mean delta, ratio with its bootstrap
 * interval, the candidate's mean interval for `cost_per_call_max_usd`), latency mean / p50 / p95
 * (bootstrap of the paired percentiles, so `latency_p*_max_ms` objectives can be decided), TTFT
 * when both arms have it, output tokens and characters, then quality (one row per evaluator);
 * p-values adjusted by Holm over all rows with a test.
 */
export function replayMetricRows(
  records: readonly ReplayCallRecord[],
  o: ReplayRowOptions = {},
): MetricRow[] {
  const resamples = o.resamples ?? 10_000
  const seed = o.seed ?? 'hindsight'
  const boot = (p: Paired, stats: Parameters<typeof pairedBootstrap>[2]) =>
    pairedBootstrap(p.b, p.c, stats, { clusters: p.clusters, resamples, seed })
  const rows: MetricRow[] = []
  const byName = new Map(METRICS.map((m) => [m.name, m.pick]))
  const pick = (name: ReplayMetric['name']) => byName.get(name) as Pick

  const cost = paired(records, pick('cost_per_call_usd'))
  const costBoot =
    !tooFew(cost, MIN_REPLAY_CALLS) && allPositive(cost.b) ? boot(cost, [{ kind: 'mean' }])[0] : undefined
  rows.push(meanRow('cost_per_call_usd', cost, costBoot, null))

  const latency = paired(records, pick('latency_ms'))
  const latencySmall = tooFew(latency, MIN_REPLAY_CALLS)
  if (latencySmall) {
    rows.push(meanRow('latency_ms', latency, undefined, null))
    rows.push(emptyRow('latency_p50_ms', latency, latencySmall))
    rows.push(emptyRow('latency_p95_ms', latency, latencySmall))
  } else {
    const [mean, p50, p95] = boot(latency, [
      { kind: 'mean' },
      { kind: 'quantile', q: 0.5 },
      { kind: 'quantile', q: 0.95 },
    ])
    rows.push(meanRow('latency_ms', latency, mean, null))
    if (p50) rows.push(percentileRow('latency_p50_ms', latency, p50, true))
    if (p95) rows.push(percentileRow('latency_p95_ms', latency, p95, false))
  }

  const ttft = paired(records, pick('ttft_ms'))
  if (ttft.b.length > 0) {
    const ttftSmall = tooFew(ttft, MIN_REPLAY_CALLS)
    const [tMean, tP50] = ttftSmall ? [] : boot(ttft, [{ kind: 'mean' }, { kind: 'quantile', q: 0.5 }])
    rows.push(meanRow('ttft_ms', ttft, tMean, null))
    rows.push(
      tP50 ? percentileRow('ttft_p50_ms', ttft, tP50, true) : emptyRow('ttft_p50_ms', ttft, ttftSmall ?? ''),
    )
  } else {
    rows.push(emptyRow('ttft_ms', ttft, ttftMissing(records)))
  }
  for (const name of ['output_tokens', 'output_chars'] as const) {
    const p = paired(records, pick(name))
    const small = tooFew(p, MIN_REPLAY_CALLS)
    const b = small || !allPositive(p.b) ? undefined : boot(p, [{ kind: 'mean' }])[0]
    rows.push(meanRow(name, p, b, null))
  }
  if (o.quality) rows.push(...qualityRows(o.quality))

  const withP = rows.filter((m) => m.p_value !== null)
  const adjusted = holm(withP.map((m) => m.p_value as number))
  withP.forEach((m, k) => {
    m.p_value_adjusted = finite(adjusted[k] ?? Number.NaN)
  })
  return rows
}

function qualitySummary(q: QualityEvaluation, rows: MetricRow[], objectives: Objectives): QualitySummary {
  const primary = primaryQuality(objectives, rows)
  return {
    reference: q.reference,
    evaluators: q.evaluators.map((e) => ({
      name: e.name,
      data_type: e.data_type,
      better: e.better,
      origin: e.origin,
      rule_id: e.rule_id,
      paired: e.pairs.filter((p) => p.baseline !== null && p.candidate !== null).length,
      failed: e.failed,
    })),
    primary: primary?.score ?? null,
    calls: q.calls,
    scored: q.scored,
    resumed: q.resumed,
    eval_cost_usd: q.eval_cost_usd,
    storage:
      "Scores: source 'evaluator', metadata backtest_id, arm (baseline | candidate) and replay_of (recorded trace/span), under per-arm trace ids so they never count as the recorded traces' production quality.",
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
  /** Bootstrap resamples (≥ 10,000 recommended). @default 10_000 */
  resamples?: number
  /** Bootstrap seed. @default the cohort id */
  seed?: string | number
  /** Both arms' quality (`evaluateReplay`), when the request asked for evaluation. */
  quality?: QualityEvaluation
}

const usd = (x: number) => (Number.isFinite(x) ? x.toFixed(9) : '0.000000000')

/** The replay's report, in the shape of the what-if report (`mode: 'replay'`, measured metrics). */
export function replayReport(o: ReplayReportOptions): BacktestReport {
  const { run, candidate } = o
  const metrics = replayMetricRows(run.records, {
    resamples: o.resamples,
    seed: o.seed ?? o.cohort.id,
    ...(o.quality ? { quality: o.quality } : {}),
  })
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
  const messages = [...run.messages, ...(o.quality?.messages ?? [])]
  if (run.failed > 0) messages.push(failedMessage(run))
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
    cohort: reportCohort(o.cohort, run.total),
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
      // Measured, not simulated: the cache reads and writes the candidate endpoint reported.
      enabled: candidate.caching === 'on',
      rule: null,
      simulated_calls: 0,
      calls_without_content: run.records.filter((r) => r.result.error?.includes('no recorded messages'))
        .length,
      hit_rate:
        candidate.caching === 'on' && ok.length > 0
          ? ok.filter((r) => (r.result.cache_read_tokens ?? 0) > 0).length / ok.length
          : null,
      read_tokens: ok.reduce((s, r) => s + (r.result.cache_read_tokens ?? 0), 0),
      write_tokens: ok.reduce((s, r) => s + (r.result.cache_write_tokens ?? 0), 0),
      input_tokens: ok.reduce((s, r) => s + r.result.input_tokens, 0),
      savings_usd: null,
      token_counts:
        candidate.caching === 'on'
          ? 'Token counts, cache reads and writes are those the candidate endpoint returned (measured, not simulated; the hit rate is the share of calls with a cache read).'
          : 'Token counts are those the candidate endpoint returned.',
      calibration: null,
    },
    latency: {
      projection: false,
      method: latencyMethod(candidate, run),
      source: null,
      note: null,
    },
    metrics,
    ...(o.quality ? { quality: qualitySummary(o.quality, metrics, o.objectives) } : {}),
    triangle: triangle(metrics, o.objectives),
    correction: {
      method: 'holm',
      family_size: withP.length,
      statement: `${CORRECTION_LABEL.holm} over the ${withP.length} metrics with a test in this report (cost, latency, output and quality together); intervals are per-metric 95%.`,
    },
    objectives: o.objectives,
    verdict: verdict(o.objectives, metrics, ok.length, tooSmall),
    messages,
    assumptions: [
      'Each LLM step of a trace is replayed on its own with its recorded inputs (tool outputs as recorded).',
      'Deltas are paired per call (candidate − recorded); calls of one trace are clustered.',
      'Ratios and percentiles: seeded paired cluster bootstrap (whole traces resampled), normal intervals with the bootstrap standard error on the log scale for ratios.',
      ...(o.quality
        ? [
            'Quality: both arms scored by the same evaluators; pass/fail scores compared with McNemar, continuous ones with Wilcoxon; the verdict uses the paired delta and the candidate’s interval.',
          ]
        : []),
      'Recorded latency and the candidate latency were measured on different days, networks and loads.',
    ],
  }
}
