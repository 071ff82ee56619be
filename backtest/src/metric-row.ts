/**
 * Building blocks of a report's metric rows, shared by every mode (what-if, replay, live A/B and
 * the quality rows): non-finite figures become null, a row starts empty, and a bootstrap result's
 * estimates and intervals fill the same fields in every mode.
 */
import type { MetricRow } from './report'
import { minimumDetectableEffect, type PairedBootstrapResult, samplesNeeded } from './stats'

/** What a row is about (name, the score of a quality row, label, unit, direction). */
export type MetricHead = Pick<MetricRow, 'name' | 'score' | 'label' | 'unit' | 'better'>

/** The figures a bootstrap result gives a row: estimates, delta / ratio / candidate intervals, p. */
export type BootstrapFields = Pick<
  MetricRow,
  | 'baseline'
  | 'candidate'
  | 'delta'
  | 'ci_low'
  | 'ci_high'
  | 'ratio'
  | 'ratio_ci_low'
  | 'ratio_ci_high'
  | 'candidate_ci_low'
  | 'candidate_ci_high'
  | 'p_value'
>

/** A figure for the report: NaN, ±Infinity and missing values become null. */
export function finite(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x
}

/**
 * A row without estimates (too few calls, nothing recorded, or the start of a row the caller
 * fills in): every figure null, `n` items in `clusters` clusters, `note` says why.
 */
export function emptyMetricRow(head: MetricHead, note: string | null, n = 0, clusters = 0): MetricRow {
  return {
    ...head,
    baseline: null,
    candidate: null,
    delta: null,
    ci_low: null,
    ci_high: null,
    ratio: null,
    ratio_ci_low: null,
    ratio_ci_high: null,
    candidate_ci_low: null,
    candidate_ci_high: null,
    p_value: null,
    p_value_adjusted: null,
    n,
    clusters,
    mde: null,
    n_needed: null,
    method: '',
    test: null,
    win_tie_loss: null,
    projection: false,
    note,
  }
}

/** A paired or unpaired bootstrap result's estimates and intervals as row fields. */
export function bootstrapFields(r: PairedBootstrapResult): BootstrapFields {
  return {
    baseline: finite(r.baseline),
    candidate: finite(r.candidate),
    delta: finite(r.delta),
    ci_low: finite(r.delta_ci_low),
    ci_high: finite(r.delta_ci_high),
    ratio: finite(r.ratio),
    ratio_ci_low: finite(r.ratio_ci_low),
    ratio_ci_high: finite(r.ratio_ci_high),
    candidate_ci_low: finite(r.candidate_ci_low),
    candidate_ci_high: finite(r.candidate_ci_high),
    p_value: finite(r.p_value),
  }
}

/**
 * A mean difference's row fields: the delta and its interval and p-value from the difference
 * test, the ratio interval from a bootstrap (when there is one), the candidate's own interval.
 */
export function differenceFields(
  diff: { estimate: number; ci_low: number; ci_high: number; p_value: number },
  boot: Pick<PairedBootstrapResult, 'ratio' | 'ratio_ci_low' | 'ratio_ci_high'> | undefined,
  own: { ci_low: number; ci_high: number },
): Omit<BootstrapFields, 'baseline' | 'candidate'> {
  return {
    delta: finite(diff.estimate),
    ci_low: finite(diff.ci_low),
    ci_high: finite(diff.ci_high),
    ratio: finite(boot?.ratio),
    ratio_ci_low: finite(boot?.ratio_ci_low),
    ratio_ci_high: finite(boot?.ratio_ci_high),
    candidate_ci_low: finite(own.ci_low),
    candidate_ci_high: finite(own.ci_high),
    p_value: finite(diff.p_value),
  }
}

/**
 * A difference's power figures: the minimum detectable effect at its standard error, and — when
 * it is not significant at 5% (p ≥ 0.05) — the items needed to detect it. Both null when the
 * standard error is zero or unknown (no spread: nothing to size).
 */
export function powerFields(
  n: number,
  se: number,
  delta: number,
  pValue: number,
): Pick<MetricRow, 'mde' | 'n_needed'> {
  if (!(se > 0)) return { mde: null, n_needed: null }
  return {
    mde: finite(minimumDetectableEffect(se)),
    n_needed: pValue < 0.05 ? null : finite(samplesNeeded(n, se, delta)),
  }
}
