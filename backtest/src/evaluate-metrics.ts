/**
 * Quality rows of a replay report: per evaluator, the paired comparison of the two arms' scores
 * on the same calls (STATISTICS.md, "Two arms on the same inputs") — the paired mean delta with
 * its CLT interval (cluster-robust when calls share a trace), McNemar for pass/fail scores,
 * Wilcoxon signed-rank for continuous ones, win/tie/loss, the candidate's own interval (Wilson
 * for a pass rate of independent calls), the minimum detectable effect and the calls needed.
 */
import type { EvaluatorQuality, QualityEvaluation } from './evaluate'
import { emptyMetricRow, finite } from './metric-row'
import type { MetricRow } from './report'
import {
  clusteredMeanCI,
  type Estimate,
  mcnemarPaired,
  meanCI,
  minimumDetectableEffect,
  pairedMeanDifference,
  type RateEstimate,
  ruleOfThree,
  samplesNeeded,
  wilcoxonSignedRank,
  wilson,
  winTieLoss,
} from './stats'

function label(e: EvaluatorQuality): string {
  if (e.data_type === 'boolean') return `Quality: ${e.name} (${e.better === 'lower' ? 'rate' : 'pass rate'})`
  return `Quality: ${e.name} (mean)`
}

function emptyRow(e: EvaluatorQuality, note: string, n = 0, clusters = 0): MetricRow {
  const unit = e.data_type === 'boolean' ? 'rate' : 'score'
  return emptyMetricRow(
    { name: 'quality', score: e.name, label: label(e), unit, better: e.better },
    note,
    n,
    clusters,
  )
}

function failureNote(e: EvaluatorQuality, compared: number): string | null {
  const { baseline, candidate } = e.failed
  if (baseline === 0 && candidate === 0) return null
  return (
    `${baseline} baseline and ${candidate} candidate evaluations failed and are left out ` +
    `(compared on ${compared} calls scored in both arms)` +
    (e.failure_examples.length > 0 ? `, e.g. ${e.failure_examples.join('; ')}` : '') +
    '.'
  )
}

/** The candidate's own interval: Wilson for a pass rate (on clusters when calls share traces), else CLT. */
function candidateInterval(
  values: Float64Array,
  clusters: Uint32Array,
  groups: number,
  binary: boolean,
): { lo: number; hi: number; method: string; note: string | null } {
  const n = values.length
  let sum = 0
  for (const v of values) sum += v
  if (binary) {
    const mean = sum / n
    let rate: RateEstimate
    if (groups === n) rate = wilson(Math.round(sum), n)
    else if (mean === 0 || mean === 1) rate = wilson(Math.round(mean * groups), groups)
    else {
      const est = clusteredMeanCI(values, clusters)
      return {
        lo: Math.max(0, est.ci_low),
        hi: Math.min(1, est.ci_high),
        method: 'cluster-robust CLT',
        note: null,
      }
    }
    return {
      lo: rate.ci_low,
      hi: rate.ci_high,
      method: groups === n ? 'Wilson' : 'Wilson on traces',
      note: rate.note ?? null,
    }
  }
  const est: Estimate = groups === n ? meanCI(values) : clusteredMeanCI(values, clusters)
  return { lo: est.ci_low, hi: est.ci_high, method: groups === n ? 'CLT' : 'cluster-robust CLT', note: null }
}

/**
 * Calls a non-significant paired delta would need at 80% power, or null when the normal
 * approximation answers n or fewer (a t interval on few traces can be wider than the z-based
 * estimate assumes): n calls did not settle it, so a smaller figure is never given.
 */
function callsNeeded(n: number, se: number, effect: number): number | null {
  const needed = finite(samplesNeeded(n, se, effect))
  return needed !== null && needed > n ? needed : null
}

/** The paired comparison of one evaluator's scores; null inputs (failed evaluations) are left out. */
export function qualityRow(e: EvaluatorQuality): MetricRow {
  if (e.data_type === 'categorical')
    return emptyRow(e, 'categorical score: stored, not compared (no mean or pass rate)')
  const complete = e.pairs.filter(
    (p): p is typeof p & { baseline: number; candidate: number } =>
      p.baseline !== null && p.candidate !== null,
  )
  const n = complete.length
  const traceIndex = new Map<string, number>()
  const b = new Float64Array(n)
  const c = new Float64Array(n)
  const clusters = new Uint32Array(n)
  complete.forEach((p, i) => {
    b[i] = p.baseline
    c[i] = p.candidate
    let k = traceIndex.get(p.trace_id)
    if (k === undefined) {
      k = traceIndex.size
      traceIndex.set(p.trace_id, k)
    }
    clusters[i] = k
  })
  const groups = traceIndex.size
  const failed = failureNote(e, n)
  if (n < 2 || groups < 2)
    return emptyRow(
      e,
      [`only ${n} calls in ${groups} traces were scored in both arms: too few to compare`, failed]
        .filter(Boolean)
        .join(' '),
      n,
      groups,
    )
  const binary = e.data_type === 'boolean'
  const diff = groups === n ? pairedMeanDifference(b, c) : pairedMeanDifference(b, c, { clusters })
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length
  const own = candidateInterval(c, clusters, groups, binary)
  let lo = diff.ci_low
  let hi = diff.ci_high
  let p = diff.p_value
  let method = diff.method
  const notes: string[] = []
  let test: MetricRow['test']
  if (binary) {
    const mc = mcnemarPaired(
      Array.from(b, (x) => x >= 0.5),
      Array.from(c, (x) => x >= 0.5),
    )
    test = { name: 'McNemar', statistic: mc.statistic, p_value: mc.p_value, method: mc.method }
  } else {
    const w = wilcoxonSignedRank(b, c)
    test = { name: 'Wilcoxon signed-rank', statistic: w.statistic, p_value: w.p_value, method: w.method }
  }
  const range = e.range ?? (binary ? { min: 0, max: 1 } : undefined)
  if (!(diff.se > 0)) {
    // Every call has the same difference: the CLT interval has zero width, which claims certainty
    // the sample does not give.
    if (range) {
      // Rule of three on the traces: with no call differing from the common difference d in G
      // traces, fewer than 3/G of them do with 95% confidence; scores within [min, max] let each
      // move the mean difference by at most (max − min) + |d| (1 for pass/fail at d = 0, 2 at ±1).
      const width = range.max - range.min
      const half = ruleOfThree(groups) * (width + Math.abs(diff.estimate))
      lo = Math.max(-width, diff.estimate - half)
      hi = Math.min(width, diff.estimate + half)
      p = test.p_value
      method = `paired difference, every call has the same difference: rule-of-three bound (3/${groups} traces)`
      notes.push(
        `Every call scored the same difference (${diff.estimate}); the interval is the rule-of-three bound, not a CLT interval.`,
      )
    } else {
      lo = Number.NaN
      hi = Number.NaN
      p = Number.NaN
      notes.push(
        `Every call scored the same difference (${diff.estimate}): no variation to build an interval from.`,
      )
    }
  }
  if (own.note) notes.push(own.note)
  if (failed) notes.push(failed)
  const significant = p < 0.05
  return {
    ...emptyRow(e, ''),
    baseline: mean(b),
    candidate: mean(c),
    delta: finite(diff.estimate),
    ci_low: finite(lo),
    ci_high: finite(hi),
    candidate_ci_low: finite(own.lo),
    candidate_ci_high: finite(own.hi),
    p_value: finite(p),
    n,
    clusters: groups,
    mde: diff.se > 0 ? finite(minimumDetectableEffect(diff.se)) : null,
    n_needed: significant || !(diff.se > 0) ? null : callsNeeded(n, diff.se, diff.estimate),
    method: `${method}; candidate interval: ${own.method}`,
    test,
    win_tie_loss: winTieLoss(b, c, { better: e.better, tolerance: 1e-9 }),
    note: notes.length > 0 ? notes.join(' ') : null,
  }
}

/** One row per evaluator, in the evaluation's order. */
export function qualityRows(q: QualityEvaluation): MetricRow[] {
  return q.evaluators.map(qualityRow)
}
