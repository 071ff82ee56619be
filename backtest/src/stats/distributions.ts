/**
 * The distribution functions the statistics need, from stdlib-js (`@stdlib/stats-base-dists-*`):
 * small per-function packages with TypeScript declarations, ports of Cephes/Boost algorithms with
 * published accuracy tests against those references. They are the only numerical dependency.
 */
import betaCdfImpl from '@stdlib/stats-base-dists-beta-cdf'
import binomialCdfImpl from '@stdlib/stats-base-dists-binomial-cdf'
import normalCdfImpl from '@stdlib/stats-base-dists-normal-cdf'
import normalQuantileImpl from '@stdlib/stats-base-dists-normal-quantile'
import tCdfImpl from '@stdlib/stats-base-dists-t-cdf'
import tQuantileImpl from '@stdlib/stats-base-dists-t-quantile'

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return normalCdfImpl(x, 0, 1)
}

/** Standard normal quantile Φ⁻¹(p). */
export function normalQuantile(p: number): number {
  return normalQuantileImpl(p, 0, 1)
}

/** Student's t CDF with `df` degrees of freedom (df = ∞ is the normal). */
export function tCdf(x: number, df: number): number {
  return Number.isFinite(df) ? tCdfImpl(x, df) : normalCdf(x)
}

/** Student's t quantile with `df` degrees of freedom (df = ∞ is the normal). */
export function tQuantile(p: number, df: number): number {
  return Number.isFinite(df) ? tQuantileImpl(p, df) : normalQuantile(p)
}

/** Beta(a, b) CDF, the regularized incomplete beta function I_x(a, b). */
export function betaCdf(x: number, a: number, b: number): number {
  return betaCdfImpl(x, a, b)
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  return binomialCdfImpl(k, n, p)
}

/**
 * Upper tail of the chi-square distribution with 1 degree of freedom, P(χ²₁ ≥ x). Uses the exact
 * identity P(χ²₁ ≥ x) = 2 Φ(−√x), which keeps full relative precision far into the tail.
 */
export function chiSquare1Sf(x: number): number {
  if (!(x > 0)) return 1
  return 2 * normalCdf(-Math.sqrt(x))
}

/** Two-sided p-value of a standard normal statistic. */
export function twoSidedNormalP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN
  return Math.min(1, 2 * normalCdf(-Math.abs(z)))
}

/** Two-sided p-value of a t statistic with `df` degrees of freedom. */
export function twoSidedTP(t: number, df: number): number {
  if (Number.isNaN(t)) return Number.NaN
  return Math.min(1, 2 * tCdf(-Math.abs(t), df))
}

/** z for a two-sided interval of `confidence` (1.959964 for 95%). */
export function zFor(confidence: number): number {
  assertConfidence(confidence)
  return normalQuantile(1 - (1 - confidence) / 2)
}

export function assertConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence: must be in (0, 1), got ${confidence}`)
}
