/**
 * The back-test report: JSON first. The CLI, the REST API, the dashboard page and the Markdown,
 * HTML and CSV exports all render this one document.
 */

import { abReportToHtml, abReportToMarkdown } from './ab-report'
import type { AbSummary } from './ab-spec'
import type { CandidateSpec, EvaluationSpec, ObjectiveKey, Objectives } from './candidate'
import type { Cohort, CohortFilter, CohortSample } from './cohort'
import { samplesNeeded } from './stats'

export const REPORT_SCHEMA_VERSION = 1

export type MetricName =
  | 'cost_per_call_usd'
  | 'latency_p50_ms'
  | 'latency_p95_ms'
  | 'ttft_p50_ms'
  | 'cache_hit_rate'
  | 'cached_input_share'
  | 'quality'
  // Replay (measured, paired per call):
  | 'latency_ms'
  | 'ttft_ms'
  | 'output_tokens'
  | 'output_chars'
  // Live A/B (two independent arms of recorded traffic):
  | 'cost_per_trace_usd'
  | 'ttft_p95_ms'
  | 'error_rate'

/** One metric, baseline vs candidate. Intervals are 95%; `ci_low`/`ci_high` bound the delta. */
export interface MetricRow {
  name: MetricName
  /** Quality rows: the score (evaluator) name; one `quality` row per evaluator. */
  score?: string
  label: string
  unit: 'usd' | 'ms' | 'rate' | 'score' | 'tokens' | 'chars'
  better: 'lower' | 'higher'
  baseline: number | null
  candidate: number | null
  /** candidate − baseline. */
  delta: number | null
  ci_low: number | null
  ci_high: number | null
  /** candidate / baseline with its interval (computed on the log scale). */
  ratio: number | null
  ratio_ci_low: number | null
  ratio_ci_high: number | null
  /** The candidate's own value interval (what objectives are checked against). */
  candidate_ci_low: number | null
  candidate_ci_high: number | null
  p_value: number | null
  /** After the stated correction for the number of metrics compared. */
  p_value_adjusted: number | null
  /** Items (calls) and independent clusters (traces) behind the estimate. */
  n: number
  clusters: number
  /** Minimum detectable delta at 80% power, α = 0.05, for this sample size and design. */
  mde: number | null
  /** Calls needed for the observed delta to be detected with 80% power (when it was not significant). */
  n_needed: number | null
  method: string
  /** Robustness check: Wilcoxon signed-rank (continuous) or McNemar (pass/fail). */
  test: { name: string; statistic: number; p_value: number; method: string } | null
  win_tie_loss: { wins: number; ties: number; losses: number } | null
  /** True when the candidate value is a projection (latency in what-if mode), not a measurement. */
  projection: boolean
  note: string | null
}

export type VerdictResult = 'pass' | 'fail' | 'inconclusive'

export interface ObjectiveCheck {
  objective: ObjectiveKey
  /** What the interval is compared with (for max_quality_regression: −margin, or +margin for a lower-is-better score). */
  threshold: number
  /** How: the interval must be at most (≤) or at least (≥) the threshold. */
  comparator: '≤' | '≥'
  metric: MetricName
  /** Quality objectives: the score they are about. */
  score?: string
  /**
   * The value compared: a ratio for cost_per_call_max_ratio, the paired delta (candidate −
   * baseline) for max_quality_regression, else the candidate's value.
   */
  value: number | null
  ci_low: number | null
  ci_high: number | null
  result: VerdictResult
  reason: string
  /** For an inconclusive result: calls that would likely settle it (80% power). */
  n_needed: number | null
}

/** What a replay did: calls issued to the candidate, spend, and the paired metrics. */
export interface ReplaySummary {
  /** `done`, or `stopped_budget` (partial results) / `aborted`. */
  status: 'done' | 'stopped_budget' | 'aborted'
  total: number
  resumed: number
  issued: number
  failed: number
  /** Calls answered by the candidate and compared with their recording. */
  paired_calls: number
  spent_usd: number
  budget_usd: number | null
  base_url: string | null
}

/** How both arms were evaluated (replay with `evaluation`); the rows are the `quality` metrics. */
export interface QualitySummary {
  reference: EvaluationSpec['reference']
  evaluators: Array<{
    name: string
    data_type: 'numeric' | 'boolean' | 'categorical'
    better: 'higher' | 'lower'
    origin: 'request' | 'rule'
    rule_id: string | null
    /** Calls scored in both arms (the paired comparison covers these). */
    paired: number
    failed: { baseline: number; candidate: number }
  }>
  /** The score the quality objectives and the triangle use. */
  primary: string | null
  calls: number
  /** Scores written by this run / found already stored (resumed). */
  scored: number
  resumed: number
  eval_cost_usd: number
  /** Where the scores are: source `evaluator`, `metadata.backtest_id` and `metadata.arm`. */
  storage: string
}

/** One corner of the intelligence–cost–latency triangle, with 95% intervals. */
export interface TriangleArm {
  quality: number | null
  quality_ci: [number, number] | null
  cost_per_call_usd: number | null
  cost_ci: [number, number] | null
  latency_p50_ms: number | null
  latency_p95_ms: number | null
  latency_p95_ci: [number, number] | null
}

/** The intelligence–cost–latency triangle, baseline vs candidate, for the page's chart. */
export interface Triangle {
  /** The quality score plotted (null: not measured). */
  quality_score: string | null
  quality_unit: MetricRow['unit'] | null
  baseline: TriangleArm
  candidate: TriangleArm
  /** True when the candidate's latency is a projection (what-if). */
  latency_projection: boolean
}

/**
 * One report shape for both modes. A replay report (`mode: 'replay'`) has measured (not
 * projected) metrics, `caching` as the candidate endpoint reported it (measured cache reads and
 * writes, no simulation), and the `replay` section.
 */
export interface BacktestReport {
  schema_version: typeof REPORT_SCHEMA_VERSION
  mode: 'what_if' | 'replay' | 'ab'
  /** Replay only. */
  replay?: ReplaySummary
  /** Live A/B only: the arms (attribute, values, n, time ranges), traffic mix and exclusions. */
  ab?: AbSummary
  generated_at: string
  project_id: string
  backtest_id: string | null
  cohort: {
    id: string
    filter: CohortFilter
    sample: CohortSample | null
    traces: number
    calls: number
  }
  candidate: CandidateSpec
  baseline: { models: Array<{ provider: string; model: string; calls: number }> }
  pricing: {
    price_table_version: string
    candidate_price: {
      source: 'custom' | 'price table'
      input: number
      output: number
      cache_read: number | null
      cache_write: number | null
    } | null
    /** Prices in effect at each call's start time apply to both arms. */
    price_at: 'call_time'
    baseline_unpriced_calls: number
    notes: string[]
  }
  totals: {
    calls: number
    /** Calls priced in both arms: the cost comparison covers these. */
    priced_calls: number
    baseline_cost_usd: string
    candidate_cost_usd: string
    /** What the recorded spans say they cost (recorded prices), for reference. */
    recorded_cost_usd: string | null
    savings_usd: string
  }
  caching: {
    enabled: boolean
    rule: {
      provider: string
      mode: string
      min_tokens: number
      ttl_seconds: number
      verified: boolean
      source: string
    } | null
    simulated_calls: number
    calls_without_content: number
    hit_rate: number | null
    read_tokens: number
    write_tokens: number
    input_tokens: number
    /** Candidate cost without caching minus with it. */
    savings_usd: string | null
    token_counts: string
    calibration: {
      calls: number
      models: string[]
      recorded_read_tokens: number
      simulated_read_tokens: number
      /** (simulated − recorded) / recorded. */
      relative_error: number | null
      /** Share of calls where simulation and recording agree on hit vs miss. */
      hit_agreement: number
    } | null
  }
  latency: {
    /** True in what-if mode; false in replay mode (measured). */
    projection: boolean
    method: string
    source: { model: string; calls: number; from: string; to: string } | null
    note: string | null
  }
  metrics: MetricRow[]
  /** Replay with evaluators: how both arms were scored. */
  quality?: QualitySummary
  /** The intelligence–cost–latency triangle (baseline vs candidate); see {@link triangle}. */
  triangle?: Triangle
  correction: { method: 'holm'; family_size: number; statement: string }
  objectives: Objectives
  verdict: { result: VerdictResult; summary: string; checks: ObjectiveCheck[] }
  messages: string[]
  assumptions: string[]
}

/** A report's `cohort` section: the frozen cohort and the calls the report covers. */
export function reportCohort(cohort: Cohort, calls: number): BacktestReport['cohort'] {
  return {
    id: cohort.id,
    filter: cohort.filter,
    sample: cohort.sample,
    traces: cohort.trace_count,
    calls,
  }
}

const Z95 = 1.959963984540054

/** SE implied by a symmetric 95% interval. */
function seFromInterval(lo: number, hi: number): number {
  return (hi - lo) / (2 * Z95)
}

type Use = 'ratio' | 'candidate' | 'delta'

function check(
  objective: ObjectiveKey,
  threshold: number,
  metric: MetricRow | undefined,
  use: Use,
  direction: 'at_most' | 'at_least',
  n: number,
  missing = 'not measured',
): ObjectiveCheck {
  const base = {
    objective,
    threshold,
    comparator: direction === 'at_most' ? ('≤' as const) : ('≥' as const),
    metric: metric?.name ?? ('quality' as MetricName),
    ...(metric?.score !== undefined ? { score: metric.score } : {}),
  }
  const pick = (ratio: number | null, candidate: number | null, delta: number | null) =>
    use === 'ratio' ? ratio : use === 'delta' ? delta : candidate
  const value = metric ? pick(metric.ratio, metric.candidate, metric.delta) : null
  const lo = metric ? pick(metric.ratio_ci_low, metric.candidate_ci_low, metric.ci_low) : null
  const hi = metric ? pick(metric.ratio_ci_high, metric.candidate_ci_high, metric.ci_high) : null
  if (!metric || value === null || lo === null || hi === null || Number.isNaN(lo) || Number.isNaN(hi)) {
    return {
      ...base,
      value,
      ci_low: lo,
      ci_high: hi,
      result: 'inconclusive',
      reason: metric?.note ?? missing,
      n_needed: null,
    }
  }
  // "At most" objectives (cost, latency) pass when the whole interval is at or below the threshold.
  const atMost = direction === 'at_most'
  const pass = atMost ? hi <= threshold : lo >= threshold
  const fail = atMost ? lo > threshold : hi < threshold
  const what =
    use === 'ratio'
      ? `${metric.label} ratio`
      : use === 'delta'
        ? `${metric.label} delta (candidate − baseline)`
        : metric.label
  let nNeeded: number | null = null
  let reason: string
  if (pass)
    reason = `${what} 95% CI [${fmt(lo)}, ${fmt(hi)}] is entirely ${atMost ? '≤' : '≥'} ${fmt(threshold)}`
  else if (fail)
    reason = `${what} 95% CI [${fmt(lo)}, ${fmt(hi)}] is entirely ${atMost ? '>' : '<'} ${fmt(threshold)}`
  else {
    // The interval straddles the threshold: how many calls would move it off, at 80% power.
    const onLog = use === 'ratio' && value > 0 && lo > 0
    const se = onLog ? seFromInterval(Math.log(lo), Math.log(hi)) : seFromInterval(lo, hi)
    const distance = onLog ? Math.abs(Math.log(threshold) - Math.log(value)) : Math.abs(threshold - value)
    const needed = samplesNeeded(n, se, distance)
    // The interval still contains the threshold after n calls, so n did not settle it. A normal
    // reading of a skewed or degenerate interval (a rule-of-three bound, bootstrap percentiles)
    // can still answer ≤ n: then only "more than n" is known, and no number is claimed.
    nNeeded = Number.isFinite(needed) && needed > n ? needed : null
    reason =
      `${what} 95% CI [${fmt(lo)}, ${fmt(hi)}] contains ${fmt(threshold)}` +
      (nNeeded !== null
        ? `; about ${nNeeded} calls would settle it`
        : Number.isFinite(needed)
          ? `; more than the ${n} calls run would be needed (the interval is too irregular to say how many)`
          : '; the estimate sits on the threshold')
  }
  return {
    ...base,
    value,
    ci_low: lo,
    ci_high: hi,
    result: pass ? 'pass' : fail ? 'fail' : 'inconclusive',
    reason,
    n_needed: nNeeded,
  }
}

/**
 * The quality row the quality objectives use: the one of `objectives.quality_score`, else the
 * first quality row (the first evaluator's).
 */
export function primaryQuality(objectives: Objectives, metrics: MetricRow[]): MetricRow | undefined {
  const quality = metrics.filter((m) => m.name === 'quality')
  if (objectives.quality_score !== undefined) return quality.find((m) => m.score === objectives.quality_score)
  return quality[0]
}

/**
 * The verdict against objectives defined in advance: pass when every objective's interval is on
 * the right side, fail when any objective's interval is wholly on the wrong side, otherwise
 * inconclusive — never rounded into a win. No objectives: inconclusive ("nothing to judge").
 */
export function verdict(
  objectives: Objectives,
  metrics: MetricRow[],
  n: number,
  tooSmall: string | null,
): BacktestReport['verdict'] {
  const byName = (name: MetricName) => metrics.find((m) => m.name === name)
  const checks: ObjectiveCheck[] = []
  const o = objectives
  if (o.cost_per_call_max_ratio !== undefined)
    checks.push(
      check(
        'cost_per_call_max_ratio',
        o.cost_per_call_max_ratio,
        byName('cost_per_call_usd'),
        'ratio',
        'at_most',
        n,
      ),
    )
  if (o.cost_per_call_max_usd !== undefined)
    checks.push(
      check(
        'cost_per_call_max_usd',
        o.cost_per_call_max_usd,
        byName('cost_per_call_usd'),
        'candidate',
        'at_most',
        n,
      ),
    )
  if (o.latency_p50_max_ms !== undefined)
    checks.push(
      check('latency_p50_max_ms', o.latency_p50_max_ms, byName('latency_p50_ms'), 'candidate', 'at_most', n),
    )
  if (o.latency_p95_max_ms !== undefined)
    checks.push(
      check('latency_p95_max_ms', o.latency_p95_max_ms, byName('latency_p95_ms'), 'candidate', 'at_most', n),
    )
  const quality = primaryQuality(o, metrics)
  const noQuality =
    o.quality_score !== undefined && metrics.some((m) => m.name === 'quality' && m.score !== undefined)
      ? `no evaluator named '${o.quality_score}' scored this back-test`
      : 'quality needs a replay with evaluators (request.evaluation)'
  if (o.min_quality !== undefined)
    checks.push(check('min_quality', o.min_quality, quality, 'candidate', 'at_least', n, noQuality))
  if (o.max_quality_regression !== undefined) {
    // Non-inferiority: the paired delta must clear −margin (+margin for a lower-is-better score).
    const lowerBetter = quality?.better === 'lower'
    const margin = o.max_quality_regression
    checks.push(
      check(
        'max_quality_regression',
        lowerBetter ? margin : -margin,
        quality,
        'delta',
        lowerBetter ? 'at_most' : 'at_least',
        n,
        noQuality,
      ),
    )
  }
  if (tooSmall) {
    for (const c of checks) {
      c.result = 'inconclusive'
      c.reason = tooSmall
    }
    return { result: 'inconclusive', summary: `Inconclusive: ${tooSmall}`, checks }
  }
  if (checks.length === 0) {
    return {
      result: 'inconclusive',
      summary:
        'Inconclusive: no objectives were given, so there is nothing to judge against (see the metrics).',
      checks,
    }
  }
  const failed = checks.filter((c) => c.result === 'fail')
  const open = checks.filter((c) => c.result === 'inconclusive')
  if (failed.length > 0) {
    return { result: 'fail', summary: `Fail: ${failed.map((c) => c.reason).join('; ')}.`, checks }
  }
  if (open.length > 0) {
    return {
      result: 'inconclusive',
      summary: `Inconclusive: ${open.map((c) => `${c.objective}: ${c.reason}`).join('; ')}.`,
      checks,
    }
  }
  return { result: 'pass', summary: `Pass: every objective's 95% interval is on the right side.`, checks }
}

const pair = (lo: number | null, hi: number | null): [number, number] | null =>
  lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi) ? null : [lo, hi]

/**
 * The intelligence–cost–latency triangle from a report's metrics: per arm, the primary quality
 * score, cost per call and latency p50/p95, with the 95% intervals the report has for each
 * (the baseline's own interval is not computed for every metric: null there).
 */
export function triangle(metrics: MetricRow[], objectives: Objectives = {}): Triangle {
  const q = primaryQuality(objectives, metrics)
  const cost = metrics.find((m) => m.name === 'cost_per_call_usd')
  const p50 = metrics.find((m) => m.name === 'latency_p50_ms')
  const p95 = metrics.find((m) => m.name === 'latency_p95_ms')
  const quality = q && q.candidate !== null ? q : undefined
  return {
    quality_score: quality ? (quality.score ?? quality.label) : null,
    quality_unit: quality?.unit ?? null,
    baseline: {
      quality: quality?.baseline ?? null,
      quality_ci: null,
      cost_per_call_usd: cost?.baseline ?? null,
      cost_ci: null,
      latency_p50_ms: p50?.baseline ?? null,
      latency_p95_ms: p95?.baseline ?? null,
      latency_p95_ci: null,
    },
    candidate: {
      quality: quality?.candidate ?? null,
      quality_ci: pair(quality?.candidate_ci_low ?? null, quality?.candidate_ci_high ?? null),
      cost_per_call_usd: cost?.candidate ?? null,
      cost_ci: pair(cost?.candidate_ci_low ?? null, cost?.candidate_ci_high ?? null),
      latency_p50_ms: p50?.candidate ?? null,
      latency_p95_ms: p95?.candidate ?? null,
      latency_p95_ci: pair(p95?.candidate_ci_low ?? null, p95?.candidate_ci_high ?? null),
    },
    latency_projection: p95?.projection ?? p50?.projection ?? false,
  }
}

/** Compact number formatting for reasons and exports. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—'
  if (x === 0) return '0'
  const abs = Math.abs(x)
  if (abs >= 1000) return x.toFixed(0)
  if (abs >= 1) return Number(x.toPrecision(digits)).toString()
  return Number(x.toPrecision(Math.max(2, digits - 1))).toString()
}

// ------------------------------------------------------------------------------------------------
// Exports

const CSV_COLUMNS = [
  'metric',
  'unit',
  'baseline',
  'candidate',
  'delta',
  'ci_low',
  'ci_high',
  'ratio',
  'ratio_ci_low',
  'ratio_ci_high',
  'p_value',
  'p_value_adjusted',
  'n',
  'clusters',
  'mde',
  'n_needed',
  'projection',
  'method',
  'score',
  'test',
  'test_p_value',
  'wins',
  'ties',
  'losses',
  'candidate_ci_low',
  'candidate_ci_high',
] as const

function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))
      ? ''
      : String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One row per metric, then the verdict; RFC 4180 quoting. */
export function reportToCsv(report: BacktestReport): string {
  const lines = [CSV_COLUMNS.join(',')]
  for (const m of report.metrics) {
    lines.push(
      [
        m.name,
        m.unit,
        m.baseline,
        m.candidate,
        m.delta,
        m.ci_low,
        m.ci_high,
        m.ratio,
        m.ratio_ci_low,
        m.ratio_ci_high,
        m.p_value,
        m.p_value_adjusted,
        m.n,
        m.clusters,
        m.mde,
        m.n_needed,
        m.projection,
        m.method,
        m.score ?? '',
        m.test?.name ?? '',
        m.test?.p_value ?? '',
        m.win_tie_loss?.wins ?? '',
        m.win_tie_loss?.ties ?? '',
        m.win_tie_loss?.losses ?? '',
        m.candidate_ci_low,
        m.candidate_ci_high,
      ]
        .map(csvCell)
        .join(','),
    )
  }
  // The verdict and objective rows fill a few columns by position (see CSV_COLUMNS).
  const sparseRow = (cells: Record<number, unknown>): string =>
    CSV_COLUMNS.map((_, k) => csvCell(cells[k] ?? '')).join(',')
  lines.push(sparseRow({ 0: 'verdict', 2: report.verdict.result, 17: report.verdict.summary }))
  for (const ch of report.verdict.checks) {
    lines.push(
      sparseRow({
        0: `objective:${ch.objective}`,
        2: ch.threshold,
        3: ch.value,
        5: ch.ci_low,
        6: ch.ci_high,
        15: ch.n_needed,
        17: `${ch.result}: ${ch.reason}`,
        18: ch.score ?? '',
      }),
    )
  }
  return `${lines.join('\r\n')}\r\n`
}

export function interval(lo: number | null, hi: number | null): string {
  return lo === null || hi === null || Number.isNaN(lo) || Number.isNaN(hi) ? '—' : `[${fmt(lo)}, ${fmt(hi)}]`
}

export function pValue(p: number | null): string {
  if (p === null || Number.isNaN(p)) return '—'
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4)
}

export function mdEscape(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

function modeLabel(report: BacktestReport): string {
  return report.mode === 'replay' ? 'replay' : 'what-if'
}

function latencyLead(report: BacktestReport): string {
  return report.latency.projection ? 'Latency is a projection:' : 'Latency is measured:'
}

function replayLine(r: ReplaySummary): string {
  return (
    `Replay ${r.status === 'stopped_budget' ? 'stopped at the budget cap (partial results)' : r.status}: ` +
    `${r.paired_calls} paired calls of ${r.total} (${r.issued} issued by this run, ${r.resumed} resumed, ${r.failed} failed), ` +
    `$${fmt(r.spent_usd)} spent${r.budget_usd !== null ? ` of a $${fmt(r.budget_usd)} budget` : ''}.`
  )
}

/** Reports stored before checks had a comparator: only min_quality was "at least". */
function comparatorOf(ch: ObjectiveCheck): string {
  return ch.comparator ?? (ch.objective === 'min_quality' ? '≥' : '≤')
}

function testCell(m: MetricRow): string {
  return m.test ? `${m.test.name} (${pValue(m.test.p_value)})` : '—'
}

function wtl(m: MetricRow): string {
  const w = m.win_tie_loss
  return w ? `${w.wins}/${w.ties}/${w.losses}` : '—'
}

function qualityLine(q: QualitySummary): string {
  const list = q.evaluators
    .map(
      (e) =>
        `${e.name} (${e.data_type}${e.origin === 'rule' ? `, rule ${e.rule_id}` : ''}; ${e.paired} paired` +
        (e.failed.baseline + e.failed.candidate > 0
          ? `, ${e.failed.baseline}/${e.failed.candidate} failed baseline/candidate`
          : '') +
        ')',
    )
    .join(', ')
  return (
    `Quality: both arms scored by the same evaluators on ${q.calls} calls — ${list || 'none'}. ` +
    `Reference: ${q.reference === 'recorded' ? 'the recorded answer (the baseline is compared with itself)' : 'none'}. ` +
    `${q.scored} scores written, ${q.resumed} reused` +
    (q.eval_cost_usd > 0 ? `, judge cost $${fmt(q.eval_cost_usd)}` : '') +
    `. ${q.storage}`
  )
}

function triangleTable(t: Triangle): string[] {
  const ci = (c: [number, number] | null) => (c ? ` ${interval(c[0], c[1])}` : '')
  return [
    `| arm | quality${t.quality_score ? ` (${mdEscape(t.quality_score)})` : ''} | cost per call (USD) | latency p50 (ms) | latency p95 (ms)${t.latency_projection ? ' (projection)' : ''} |`,
    '|---|---|---|---|---|',
    `| baseline | ${fmt(t.baseline.quality)} | ${fmt(t.baseline.cost_per_call_usd)} | ${fmt(t.baseline.latency_p50_ms)} | ${fmt(t.baseline.latency_p95_ms)} |`,
    `| candidate | ${fmt(t.candidate.quality)}${ci(t.candidate.quality_ci)} | ${fmt(t.candidate.cost_per_call_usd)}${ci(t.candidate.cost_ci)} | ${fmt(t.candidate.latency_p50_ms)} | ${fmt(t.candidate.latency_p95_ms)}${ci(t.candidate.latency_p95_ci)} |`,
  ]
}

/** The report as Markdown (tables for metrics and objectives). */
export function reportToMarkdown(report: BacktestReport): string {
  const c = report.candidate
  const out: string[] = []
  out.push(`# Back-test (${modeLabel(report)}): ${mdEscape(c.name ?? `${c.provider}/${c.model}`)}`)
  out.push('')
  out.push(`**Verdict: ${report.verdict.result.toUpperCase()}** — ${mdEscape(report.verdict.summary)}`)
  out.push('')
  const f = report.cohort.filter
  out.push(
    `Cohort \`${report.cohort.id}\`: ${report.cohort.traces} traces, ${report.cohort.calls} calls, ${f.from} → ${f.to}` +
      (report.cohort.sample
        ? ` (sample of ${report.cohort.sample.size}, seed ${report.cohort.sample.seed})`
        : ''),
  )
  out.push(
    `Baseline: ${report.baseline.models.map((m) => `${m.provider}/${m.model} (${m.calls})`).join(', ') || '—'}. ` +
      `Candidate: ${c.provider}/${c.model}, caching ${c.caching}.`,
  )
  out.push('')
  out.push(
    `Cost of the cohort: baseline $${report.totals.baseline_cost_usd}, candidate $${report.totals.candidate_cost_usd} ` +
      `(savings $${report.totals.savings_usd}) over ${report.totals.priced_calls} priced calls.`,
  )
  if (report.replay) {
    out.push('')
    out.push(mdEscape(replayLine(report.replay)))
  }
  out.push('')
  out.push(
    '| metric | baseline | candidate | delta | 95% CI | ratio [95% CI] | p (adj.) | n | clusters | MDE | n needed | test (p) | win/tie/loss |',
  )
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const m of report.metrics) {
    out.push(
      `| ${mdEscape(m.label)}${m.projection ? ' (projection)' : ''} | ${fmt(m.baseline)} | ${fmt(m.candidate)} | ${fmt(m.delta)} | ${interval(m.ci_low, m.ci_high)} | ${m.ratio === null ? '—' : `${fmt(m.ratio)} ${interval(m.ratio_ci_low, m.ratio_ci_high)}`} | ${pValue(m.p_value)} (${pValue(m.p_value_adjusted)}) | ${m.n} | ${m.clusters} | ${fmt(m.mde)} | ${m.n_needed ?? '—'} | ${testCell(m)} | ${wtl(m)} |`,
    )
  }
  out.push('')
  out.push(`P-values adjusted: ${report.correction.statement}`)
  const notes = report.metrics.filter((m) => m.note && m.name === 'quality')
  if (report.quality) {
    out.push('')
    out.push(mdEscape(qualityLine(report.quality)))
    for (const m of notes) out.push(`- ${mdEscape(m.label)}: ${mdEscape(m.note ?? '')}`)
  }
  if (report.triangle) {
    out.push('')
    out.push('Intelligence–cost–latency:')
    out.push('')
    out.push(...triangleTable(report.triangle))
  }
  if (report.verdict.checks.length > 0) {
    out.push('')
    out.push('| objective | threshold | value | 95% CI | result | reason |')
    out.push('|---|---|---|---|---|---|')
    for (const ch of report.verdict.checks) {
      out.push(
        `| ${ch.objective}${ch.score ? ` (${mdEscape(ch.score)})` : ''} | ${comparatorOf(ch)} ${fmt(ch.threshold)} | ${fmt(ch.value)} | ${interval(ch.ci_low, ch.ci_high)} | ${ch.result} | ${mdEscape(ch.reason)} |`,
      )
    }
  }
  const cache = report.caching
  if (cache.enabled) {
    out.push('')
    out.push(
      report.mode === 'replay'
        ? `Prompt caching (measured by the candidate endpoint): ${fmt(cache.hit_rate)} of calls read from the cache, ${cache.read_tokens} tokens read, ${cache.write_tokens} written. ${cache.token_counts}`
        : `Prompt caching (simulated): hit rate ${fmt(cache.hit_rate)}, ${cache.read_tokens} tokens read, ${cache.write_tokens} written, ` +
            `savings $${cache.savings_usd ?? '—'}. ${cache.token_counts}`,
    )
    if (cache.calibration) {
      out.push(
        `Calibration on recorded caching (${cache.calibration.models.join(', ')}): simulated ${cache.calibration.simulated_read_tokens} vs recorded ${cache.calibration.recorded_read_tokens} read tokens (error ${fmt(cache.calibration.relative_error)}), hit/miss agreement ${fmt(cache.calibration.hit_agreement)}.`,
      )
    }
  }
  out.push('')
  out.push(
    `${latencyLead(report)} ${report.latency.method}${report.latency.note ? ` ${report.latency.note}` : ''}`,
  )
  out.push(...markdownNotes(report))
  return `${out.join('\n')}\n`
}

/** The Markdown closing lines of any report: its messages (when any) and assumptions. */
export function markdownNotes(report: BacktestReport): string[] {
  const out: string[] = []
  if (report.messages.length > 0) out.push('', 'Messages:', ...report.messages.map((m) => `- ${mdEscape(m)}`))
  out.push('', 'Assumptions:', ...report.assumptions.map((a) => `- ${mdEscape(a)}`))
  return out
}

export function html(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

function triangleHtml(t: Triangle): string {
  const ci = (c: [number, number] | null) => (c ? ` ${interval(c[0], c[1])}` : '')
  const row = (arm: string, a: TriangleArm, withCi: boolean) =>
    `<tr><td>${arm}</td><td>${fmt(a.quality)}${withCi ? ci(a.quality_ci) : ''}</td><td>${fmt(a.cost_per_call_usd)}${withCi ? ci(a.cost_ci) : ''}</td><td>${fmt(a.latency_p50_ms)}</td><td>${fmt(a.latency_p95_ms)}${withCi ? ci(a.latency_p95_ci) : ''}</td></tr>`
  return `<h2>Intelligence–cost–latency</h2><table><thead><tr><th>arm</th><th>quality${t.quality_score ? ` (${html(t.quality_score)})` : ''}</th><th>cost per call (USD)</th><th>latency p50 (ms)</th><th>latency p95 (ms)${t.latency_projection ? ' (projection)' : ''}</th></tr></thead><tbody>${row('baseline', t.baseline, false)}${row('candidate', t.candidate, true)}</tbody></table>`
}

/** The report as a standalone HTML page (escaped; no scripts). */
export function reportToHtml(report: BacktestReport): string {
  const c = report.candidate
  const rows = report.metrics
    .map(
      (m) =>
        `<tr><td>${html(m.label)}${m.projection ? ' <em>(projection)</em>' : ''}</td><td>${fmt(m.baseline)}</td><td>${fmt(m.candidate)}</td><td>${fmt(m.delta)}</td><td>${interval(m.ci_low, m.ci_high)}</td><td>${m.ratio === null ? '—' : `${fmt(m.ratio)} ${interval(m.ratio_ci_low, m.ratio_ci_high)}`}</td><td>${pValue(m.p_value)} (${pValue(m.p_value_adjusted)})</td><td>${m.n}</td><td>${m.clusters}</td><td>${fmt(m.mde)}</td><td>${m.n_needed ?? '—'}</td><td>${html(testCell(m))}</td><td>${wtl(m)}</td></tr>`,
    )
    .join('\n')
  const checks = report.verdict.checks
    .map(
      (ch) =>
        `<tr><td>${html(ch.objective)}${ch.score ? ` (${html(ch.score)})` : ''}</td><td>${comparatorOf(ch)} ${fmt(ch.threshold)}</td><td>${fmt(ch.value)}</td><td>${interval(ch.ci_low, ch.ci_high)}</td><td>${ch.result}</td><td>${html(ch.reason)}</td></tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back-test ${html(c.provider)}/${html(c.model)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:right}td:first-child,th:first-child{text-align:left}.verdict{font-size:1.2rem}</style>
</head><body>
<h1>Back-test (${modeLabel(report)}): ${html(c.name ?? `${c.provider}/${c.model}`)}</h1>
<p class="verdict"><strong>Verdict: ${report.verdict.result.toUpperCase()}</strong> — ${html(report.verdict.summary)}</p>
<p>Cohort <code>${html(report.cohort.id)}</code>: ${report.cohort.traces} traces, ${report.cohort.calls} calls, ${html(report.cohort.filter.from)} → ${html(report.cohort.filter.to)}.
Cost: baseline $${report.totals.baseline_cost_usd}, candidate $${report.totals.candidate_cost_usd}, savings $${report.totals.savings_usd}.</p>
<table><thead><tr><th>metric</th><th>baseline</th><th>candidate</th><th>delta</th><th>95% CI</th><th>ratio [95% CI]</th><th>p (adj.)</th><th>n</th><th>clusters</th><th>MDE</th><th>n needed</th><th>test (p)</th><th>win/tie/loss</th></tr></thead>
<tbody>${rows}</tbody></table>
<p>${html(report.correction.statement)}</p>
${checks ? `<table><thead><tr><th>objective</th><th>threshold</th><th>value</th><th>95% CI</th><th>result</th><th>reason</th></tr></thead><tbody>${checks}</tbody></table>` : ''}
${report.replay ? `<p>${html(replayLine(report.replay))}</p>` : ''}
${report.quality ? `<p>${html(qualityLine(report.quality))}</p>` : ''}
${report.triangle ? triangleHtml(report.triangle) : ''}
<p>${latencyLead(report)} ${html(report.latency.method)}</p>
${htmlNotes(report)}
</body></html>
`
}

/** The HTML closing part of any report: its messages (when any) and assumptions. */
export function htmlNotes(report: BacktestReport): string {
  return `${report.messages.length ? `<ul>${report.messages.map((m) => `<li>${html(m)}</li>`).join('')}</ul>` : ''}
<h2>Assumptions</h2><ul>${report.assumptions.map((a) => `<li>${html(a)}</li>`).join('')}</ul>`
}

export type ReportFormat = 'json' | 'md' | 'html' | 'csv'

/**
 * Render any back-test report (what-if, replay or live A/B) as JSON, Markdown, HTML or CSV. A live
 * A/B report (`mode: 'ab'`) gets its own Markdown / HTML (`ab-report.ts`), so every caller works
 * whatever the mode.
 */
export function renderReport(report: BacktestReport, format: ReportFormat): string {
  if (report.mode === 'ab' && report.ab && (format === 'md' || format === 'html'))
    return format === 'md' ? abReportToMarkdown(report) : abReportToHtml(report)
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`
    case 'md':
      return reportToMarkdown(report)
    case 'html':
      return reportToHtml(report)
    case 'csv':
      return reportToCsv(report)
  }
}
