import { binomialCdf, chiSquare1Sf, normalCdf } from './distributions'
import { type ClusterLabels, clusteredMeanCI, type Estimate, meanCI, type Values } from './mean'

function assertPaired(baseline: Values, candidate: Values): void {
  if (baseline.length !== candidate.length) {
    throw new RangeError(
      `candidate: ${candidate.length} values for ${baseline.length} baseline values (pairs)`,
    )
  }
}

/** Per-item differences candidate − baseline. */
export function differences(baseline: Values, candidate: Values): Float64Array {
  assertPaired(baseline, candidate)
  const d = new Float64Array(baseline.length)
  for (let i = 0; i < d.length; i++) d[i] = (candidate[i] ?? 0) - (baseline[i] ?? 0)
  return d
}

/**
 * Paired mean difference (candidate − baseline) with its CLT interval: the mean of the per-item
 * differences, so the between-item variance cancels. With `clusters`, the standard error is
 * cluster-robust (items of one trace or session are not independent).
 */
export function pairedMeanDifference(
  baseline: Values,
  candidate: Values,
  options: { clusters?: ClusterLabels; confidence?: number } = {},
): Estimate {
  const d = differences(baseline, candidate)
  const result = options.clusters
    ? clusteredMeanCI(d, options.clusters, options.confidence)
    : meanCI(d, options.confidence)
  return { ...result, method: `paired difference: ${result.method}` }
}

export interface WilcoxonResult {
  /** V: the sum of the ranks of positive differences (candidate > baseline), as R reports it. */
  statistic: number
  p_value: number
  /** Pairs used: non-zero differences ('wilcox' zero handling: zeros are dropped, as in R). */
  n: number
  zeros: number
  method: 'exact' | 'normal approximation'
  /** Standardized statistic of the normal approximation (continuity-corrected). */
  z?: number
}

/** Largest n for which the exact null distribution is used (R's wilcox.test uses n < 50). */
const WILCOXON_EXACT_MAX_N = 49

/**
 * Wilcoxon signed-rank test of paired samples (two-sided), as R's `wilcox.test(candidate,
 * baseline, paired = TRUE)`: zero differences dropped; exact null distribution when fewer than 50
 * pairs remain and no absolute differences tie; otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction.
 */
export function wilcoxonSignedRank(
  baseline: Values,
  candidate: Values,
  options: { exact?: boolean; correct?: boolean } = {},
): WilcoxonResult {
  const all = differences(baseline, candidate)
  const d: number[] = []
  for (const x of all) if (x !== 0) d.push(x)
  const zeros = all.length - d.length
  const n = d.length
  if (n === 0) return { statistic: 0, p_value: 1, n: 0, zeros, method: 'exact' }
  // Mid-ranks of |d|: sort the absolute values once (native typed-array sort), then each positive
  // difference's rank is the middle of its run of equal values (binary search).
  const abs = Float64Array.from(d, Math.abs).sort()
  let tieTerm = 0
  let hasTies = false
  for (let i = 0; i < n; ) {
    let j = i
    while (j + 1 < n && abs[j + 1] === abs[i]) j++
    const t = j - i + 1
    if (t > 1) {
      hasTies = true
      tieTerm += t * t * t - t
    }
    i = j + 1
  }
  const firstAtLeast = (x: number, strict: boolean) => {
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const v = abs[mid] ?? 0
      if (strict ? v <= x : v < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  let v = 0
  for (const x of d) {
    if (x <= 0) continue
    const first = firstAtLeast(x, false)
    const after = firstAtLeast(x, true)
    v += (first + after - 1) / 2 + 1
  }
  const exact = options.exact ?? (n <= WILCOXON_EXACT_MAX_N && !hasTies && zeros === 0)
  if (exact && !hasTies) {
    return { statistic: v, p_value: exactSignedRankP(v, n), n, zeros, method: 'exact' }
  }
  const mean = (n * (n + 1)) / 4
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48
  const diff = v - mean
  const correction = (options.correct ?? true) ? 0.5 * Math.sign(diff) : 0
  const z = variance > 0 ? (diff - correction) / Math.sqrt(variance) : 0
  const p = Math.min(1, 2 * Math.min(normalCdf(z), normalCdf(-z)))
  return { statistic: v, p_value: p, n, zeros, method: 'normal approximation', z }
}

/** Counts of subsets of {1..n} by rank sum: the exact null distribution of V (all 2ⁿ equally likely). */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2
  const counts = new Float64Array(max + 1)
  counts[0] = 1
  for (let k = 1; k <= n; k++) {
    for (let s = (k * (k + 1)) / 2; s >= k; s--) counts[s] = (counts[s] ?? 0) + (counts[s - k] ?? 0)
  }
  return counts
}

function exactSignedRankP(v: number, n: number): number {
  const counts = signedRankCounts(n)
  const total = 2 ** n
  const mean = (n * (n + 1)) / 4
  let tail = 0
  if (v > mean) {
    for (let s = Math.ceil(v); s < counts.length; s++) tail += counts[s] ?? 0
  } else {
    for (let s = 0; s <= Math.floor(v); s++) tail += counts[s] ?? 0
  }
  return Math.min(1, (2 * tail) / total)
}

export interface McNemarResult {
  /** Pairs where only the baseline passed. */
  b: number
  /** Pairs where only the candidate passed. */
  c: number
  /** χ² statistic (continuity-corrected) for the chi-square method; min(b, c) for the exact one. */
  statistic: number
  p_value: number
  method: 'exact binomial' | 'chi-square with continuity correction'
}

/** Below this many discordant pairs the exact binomial test is used. */
const MCNEMAR_EXACT_BELOW = 25

/**
 * McNemar's test for paired pass/fail outcomes, from the discordant counts b (baseline only
 * passed) and c (candidate only passed). Exact two-sided binomial test (b ~ Bin(b + c, ½)) when
 * b + c < 25, else χ² = (|b − c| − 1)² / (b + c) with 1 degree of freedom (R's `mcnemar.test`).
 */
export function mcnemar(b: number, c: number, options: { exact?: boolean } = {}): McNemarResult {
  for (const [name, x] of [
    ['b', b],
    ['c', c],
  ] as const) {
    if (!Number.isInteger(x) || x < 0) throw new RangeError(`${name}: must be a whole number ≥ 0, got ${x}`)
  }
  const m = b + c
  if (m === 0) return { b, c, statistic: 0, p_value: 1, method: 'exact binomial' }
  const exact = options.exact ?? m < MCNEMAR_EXACT_BELOW
  if (exact) {
    const k = Math.min(b, c)
    return { b, c, statistic: k, p_value: Math.min(1, 2 * binomialCdf(k, m, 0.5)), method: 'exact binomial' }
  }
  const chi2 = Math.max(0, Math.abs(b - c) - 1) ** 2 / m
  return {
    b,
    c,
    statistic: chi2,
    p_value: chiSquare1Sf(chi2),
    method: 'chi-square with continuity correction',
  }
}

/** McNemar's test from per-item outcomes of the two arms. */
export function mcnemarPaired(baseline: ArrayLike<boolean>, candidate: ArrayLike<boolean>): McNemarResult {
  if (baseline.length !== candidate.length) {
    throw new RangeError(`candidate: ${candidate.length} outcomes for ${baseline.length} baseline outcomes`)
  }
  let b = 0
  let c = 0
  for (let i = 0; i < baseline.length; i++) {
    if (baseline[i] && !candidate[i]) b++
    else if (!baseline[i] && candidate[i]) c++
  }
  return mcnemar(b, c)
}

export interface WinTieLoss {
  /** Items where the candidate is better. */
  wins: number
  ties: number
  losses: number
}

/**
 * Counts items where the candidate is better, equal (within `tolerance`, absolute) or worse.
 * `better: 'lower'` for cost and latency, `'higher'` for quality.
 */
export function winTieLoss(
  baseline: Values,
  candidate: Values,
  options: { better: 'lower' | 'higher'; tolerance?: number },
): WinTieLoss {
  const d = differences(baseline, candidate)
  const tolerance = options.tolerance ?? 0
  const out: WinTieLoss = { wins: 0, ties: 0, losses: 0 }
  for (const x of d) {
    if (Math.abs(x) <= tolerance) out.ties++
    else if (options.better === 'lower' ? x < 0 : x > 0) out.wins++
    else out.losses++
  }
  return out
}
