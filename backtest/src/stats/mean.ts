import { assertConfidence, tQuantile, twoSidedTP } from './distributions'

/** An estimate with its standard error and a two-sided interval. */
export interface Estimate {
  estimate: number
  /** Standard error of the estimate. */
  se: number
  ci_low: number
  ci_high: number
  /** Items the estimate is computed from. */
  n: number
  /** Independent units: `n` for independent items, the number of clusters otherwise. */
  clusters: number
  /** Degrees of freedom of the t reference distribution. */
  df: number
  /** Two-sided p-value of H0: the true value is 0 (t test with `df`). */
  p_value: number
  /** How the interval was computed, in words. */
  method: string
}

export type Values = ArrayLike<number>
/** Cluster labels, one per item (trace or session ids, or their indices). */
export type ClusterLabels = ArrayLike<string | number>

function sum(values: Values): number {
  let s = 0
  for (let i = 0; i < values.length; i++) s += values[i] ?? 0
  return s
}

function assertFinite(values: Values, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${name}: item ${i} is not a finite number`)
  }
}

function nan(n: number, clusters: number, method: string): Estimate {
  return {
    estimate: Number.NaN,
    se: Number.NaN,
    ci_low: Number.NaN,
    ci_high: Number.NaN,
    n,
    clusters,
    df: Math.max(0, clusters - 1),
    p_value: Number.NaN,
    method,
  }
}

/** The t interval and two-sided p-value of an estimate with standard error `se` and `df` degrees of freedom. */
export function tInterval(
  estimate: number,
  se: number,
  df: number,
  n: number,
  clusters: number,
  confidence: number,
  method: string,
): Estimate {
  const t = tQuantile(1 - (1 - confidence) / 2, df)
  const p = se > 0 ? twoSidedTP(estimate / se, df) : estimate === 0 ? 1 : 0
  return {
    estimate,
    se,
    ci_low: estimate - t * se,
    ci_high: estimate + t * se,
    n,
    clusters,
    df,
    p_value: p,
    method,
  }
}

/**
 * Mean of independent items with the central-limit-theorem standard error
 * SE = √(Σ(xᵢ − x̄)² / (n(n − 1))) and a Student t interval with n − 1 degrees of freedom (what
 * R's `t.test` and SciPy's `t.interval` give; it tends to the normal interval as n grows).
 * Fewer than 2 items: the estimate only, with NaN error bars.
 */
export function meanCI(values: Values, confidence = 0.95): Estimate {
  assertConfidence(confidence)
  assertFinite(values, 'values')
  const n = values.length
  const method = 'mean, CLT standard error, t interval (n − 1 df)'
  if (n === 0) return nan(0, 0, method)
  const mean = sum(values) / n
  if (n < 2) return { ...nan(n, n, method), estimate: mean }
  let ss = 0
  for (let i = 0; i < n; i++) {
    const d = (values[i] ?? 0) - mean
    ss += d * d
  }
  const se = Math.sqrt(ss / (n * (n - 1)))
  return tInterval(mean, se, n - 1, n, n, confidence, method)
}

/**
 * Dense cluster indices 0..G−1 for labels, in order of first appearance. A Uint32Array is taken as
 * cluster indices already (fast path, no hashing); empty indices are squeezed out so G counts only
 * clusters that have items.
 */
export function clusterIndex(labels: ClusterLabels): { index: Uint32Array; count: number } {
  if (labels instanceof Uint32Array) {
    let max = -1
    for (const k of labels) if (k > max) max = k
    const remap = new Int32Array(max + 1).fill(-1)
    let count = 0
    for (const k of labels) if (remap[k] === -1) remap[k] = count++
    // Already dense (the order of first appearance does not matter to the estimators).
    if (count === max + 1) return { index: labels, count }
    return { index: labels.map((k) => remap[k] ?? 0), count }
  }
  const index = new Uint32Array(labels.length)
  const seen = new Map<string | number, number>()
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as string | number
    let k = seen.get(label)
    if (k === undefined) {
      k = seen.size
      seen.set(label, k)
    }
    index[i] = k
  }
  return { index, count: seen.size }
}

/**
 * Mean of items that are correlated within clusters (calls of one trace or session), with the
 * cluster-robust (sandwich) standard error: V = G/(G − 1) · Σ_g (Σ_{i∈g} (xᵢ − x̄))² / n², the
 * CR1 small-sample form that Stata's `vce(cluster)` uses for a regression on a constant; the
 * interval uses t with G − 1 degrees of freedom. Without the G/(G − 1) factor this is the formula
 * of Miller (2024, "Adding Error Bars to Evals", eq. 5). With one item per cluster it equals
 * {@link meanCI}. Fewer than 2 clusters: NaN error bars (no between-cluster variation to measure).
 */
export function clusteredMeanCI(values: Values, clusters: ClusterLabels, confidence = 0.95): Estimate {
  assertConfidence(confidence)
  assertFinite(values, 'values')
  if (clusters.length !== values.length) {
    throw new RangeError(`clusters: ${clusters.length} labels for ${values.length} values`)
  }
  const n = values.length
  const { index, count: g } = clusterIndex(clusters)
  const method = 'mean, cluster-robust (CR1) standard error, t interval (G − 1 df)'
  if (n === 0) return nan(0, 0, method)
  const mean = sum(values) / n
  if (g < 2) return { ...nan(n, g, method), estimate: mean }
  const sums = new Float64Array(g)
  for (let i = 0; i < n; i++) {
    const k = index[i] ?? 0
    sums[k] = (sums[k] ?? 0) + (values[i] ?? 0) - mean
  }
  let s2 = 0
  for (let k = 0; k < g; k++) s2 += (sums[k] ?? 0) ** 2
  const se = Math.sqrt(((g / (g - 1)) * s2) / (n * n))
  return tInterval(mean, se, g - 1, n, g, confidence, method)
}

/**
 * The design effect of clustering: (clustered SE / naive SE)². About 1 + (m − 1)ρ for clusters of
 * size m with within-cluster correlation ρ; 1 means clustering does not matter.
 */
export function designEffect(values: Values, clusters: ClusterLabels): number {
  const naive = meanCI(values).se
  const clustered = clusteredMeanCI(values, clusters).se
  return naive > 0 ? (clustered / naive) ** 2 : Number.NaN
}
