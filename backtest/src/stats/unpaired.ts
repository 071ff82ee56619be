/**
 * Two independent samples (a live A/B: two releases on different traffic). Nothing is paired, so
 * the between-item variance does not cancel: each arm's mean carries its own standard error and
 * the difference combines them (Welch). Calls of one trace or session are clustered within their
 * arm; clusters never span arms.
 */
import { normalCdf } from './distributions'
import { type ClusterLabels, clusteredMeanCI, type Estimate, meanCI, tInterval, type Values } from './mean'

/** candidate − baseline of two independent means, with each arm's own estimate. */
export interface TwoSampleEstimate {
  /** candidate mean − baseline mean. */
  estimate: number
  se: number
  ci_low: number
  ci_high: number
  /** Welch–Satterthwaite degrees of freedom. */
  df: number
  /** Two-sided p-value of "no difference" (t with `df`). */
  p_value: number
  /** Items of both arms. */
  n: number
  /** Independent units of both arms (clusters, or items when not clustered). */
  clusters: number
  baseline: Estimate
  candidate: Estimate
  method: string
}

export interface WelchOptions {
  /** Cluster labels of the baseline items (calls of one trace or session); omit for independent items. */
  baselineClusters?: ClusterLabels
  candidateClusters?: ClusterLabels
  /** @default 0.95 */
  confidence?: number
}

/**
 * Welch's unequal-variance interval for the difference of two independent means. Each arm's
 * standard error is the CLT one (or cluster-robust CR1 when its items are clustered, with G − 1
 * degrees of freedom); SE = √(SE_b² + SE_c²) and the degrees of freedom follow Welch–Satterthwaite,
 * df = (v_b + v_c)² / (v_b²/df_b + v_c²/df_c). Without clusters this is exactly Welch's t test
 * (R's `t.test(var.equal = FALSE)`, SciPy's `ttest_ind(equal_var=False)`).
 */
export function welchMeanDifference(
  baseline: Values,
  candidate: Values,
  options: WelchOptions = {},
): TwoSampleEstimate {
  const confidence = options.confidence ?? 0.95
  const b = options.baselineClusters
    ? clusteredMeanCI(baseline, options.baselineClusters, confidence)
    : meanCI(baseline, confidence)
  const c = options.candidateClusters
    ? clusteredMeanCI(candidate, options.candidateClusters, confidence)
    : meanCI(candidate, confidence)
  const clustered = options.baselineClusters !== undefined || options.candidateClusters !== undefined
  const method = clustered
    ? 'difference of independent means, cluster-robust (CR1) standard errors per arm, Welch–Satterthwaite t interval'
    : "difference of independent means, Welch's t interval (Welch–Satterthwaite df)"
  const estimate = c.estimate - b.estimate
  const vb = b.se * b.se
  const vc = c.se * c.se
  const se = Math.sqrt(vb + vc)
  const n = b.n + c.n
  const clusters = b.clusters + c.clusters
  if (!Number.isFinite(se) || b.df < 1 || c.df < 1) {
    return {
      estimate,
      se: Number.NaN,
      ci_low: Number.NaN,
      ci_high: Number.NaN,
      df: Number.NaN,
      p_value: Number.NaN,
      n,
      clusters,
      baseline: b,
      candidate: c,
      method,
    }
  }
  if (se === 0) {
    return {
      estimate,
      se,
      ci_low: estimate,
      ci_high: estimate,
      df: b.df + c.df,
      p_value: estimate === 0 ? 1 : 0,
      n,
      clusters,
      baseline: b,
      candidate: c,
      method,
    }
  }
  const df = (vb + vc) ** 2 / ((vb * vb) / b.df + (vc * vc) / c.df)
  return { ...tInterval(estimate, se, df, n, clusters, confidence, method), baseline: b, candidate: c }
}

export interface MannWhitneyResult {
  /**
   * W (R's name) = U of the candidate: the number of (candidate, baseline) pairs where the
   * candidate is larger, ties counting ½.
   */
  statistic: number
  p_value: number
  /** W / (n_b · n_c): the probability that a candidate item exceeds a baseline item (ties ½). */
  probability_of_superiority: number
  n_baseline: number
  n_candidate: number
  method: 'exact' | 'normal approximation'
  z?: number
}

/** R's wilcox.test uses the exact null distribution when both samples have fewer than 50 items. */
const MANN_WHITNEY_EXACT_BELOW = 50

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test of two independent samples, two-sided, as R's
 * `wilcox.test(candidate, baseline)`: the exact null distribution when both arms have fewer than 50
 * items and there are no ties, else the normal approximation with the tie-corrected variance and a
 * continuity correction. Not the signed-rank test: nothing is paired. It assumes independent
 * items, so with clustered calls it is a robustness check, not the primary test.
 */
export function mannWhitney(
  baseline: Values,
  candidate: Values,
  options: { exact?: boolean; correct?: boolean } = {},
): MannWhitneyResult {
  const nb = baseline.length
  const nc = candidate.length
  if (nb === 0 || nc === 0) {
    return {
      statistic: Number.NaN,
      p_value: Number.NaN,
      probability_of_superiority: Number.NaN,
      n_baseline: nb,
      n_candidate: nc,
      method: 'exact',
    }
  }
  const total = nb + nc
  // Pool, sort once (value, then arm), assign mid-ranks to runs of ties.
  const values = new Float64Array(total)
  for (let i = 0; i < nc; i++) values[i] = candidate[i] ?? Number.NaN
  for (let i = 0; i < nb; i++) values[nc + i] = baseline[i] ?? Number.NaN
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError('values: every item must be finite')
  const order = Uint32Array.from({ length: total }, (_, i) => i).sort(
    (a, b) => (values[a] ?? 0) - (values[b] ?? 0),
  )
  let rankSumCandidate = 0
  let tieTerm = 0
  for (let i = 0; i < total; ) {
    let j = i
    const v = values[order[i] ?? 0]
    while (j + 1 < total && values[order[j + 1] ?? 0] === v) j++
    const t = j - i + 1
    if (t > 1) tieTerm += t * t * t - t
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if ((order[k] ?? 0) < nc) rankSumCandidate += rank
    i = j + 1
  }
  const w = rankSumCandidate - (nc * (nc + 1)) / 2
  const superiority = w / (nb * nc)
  const hasTies = tieTerm > 0
  const exact = options.exact ?? (nb < MANN_WHITNEY_EXACT_BELOW && nc < MANN_WHITNEY_EXACT_BELOW && !hasTies)
  if (exact && !hasTies) {
    const counts = rankSumCounts(nc, nb)
    let all = 0
    for (const x of counts) all += x
    let tail = 0
    if (w > (nb * nc) / 2) for (let u = Math.ceil(w); u < counts.length; u++) tail += counts[u] ?? 0
    else for (let u = 0; u <= Math.floor(w); u++) tail += counts[u] ?? 0
    return {
      statistic: w,
      p_value: Math.min(1, (2 * tail) / all),
      probability_of_superiority: superiority,
      n_baseline: nb,
      n_candidate: nc,
      method: 'exact',
    }
  }
  const mean = (nb * nc) / 2
  const variance = ((nb * nc) / 12) * (total + 1 - tieTerm / (total * (total - 1)))
  const diff = w - mean
  const correction = (options.correct ?? true) ? 0.5 * Math.sign(diff) : 0
  const z = variance > 0 ? (diff - correction) / Math.sqrt(variance) : 0
  return {
    statistic: w,
    p_value: Math.min(1, 2 * Math.min(normalCdf(z), normalCdf(-z))),
    probability_of_superiority: superiority,
    n_baseline: nb,
    n_candidate: nc,
    method: 'normal approximation',
    z,
  }
}

/**
 * Number of arrangements of m items of one sample and n of the other giving each U = 0..mn (the
 * exact null distribution, all C(m+n, m) arrangements equally likely). Built up one item of the
 * second sample at a time: f_j(i, u) = f_j(i − 1, u − j) + f_{j−1}(i, u) (the largest item is
 * either from the first sample, beating all j items of the second, or from the second).
 */
function rankSumCounts(m: number, n: number): Float64Array {
  const width = m * n + 1
  const f = new Float64Array((m + 1) * width)
  // j = 0: only U = 0, one arrangement for any i.
  for (let i = 0; i <= m; i++) f[i * width] = 1
  for (let j = 1; j <= n; j++) {
    for (let i = 1; i <= m; i++) {
      const row = i * width
      const prev = (i - 1) * width
      for (let u = m * n; u >= j; u--) f[row + u] = (f[row + u] ?? 0) + (f[prev + u - j] ?? 0)
    }
  }
  return f.subarray(m * width, m * width + width)
}
