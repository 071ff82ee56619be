/**
 * Two independent proportions (error rate of release A vs release B): the Newcombe hybrid score
 * interval for the difference and the two-proportion z test. Counts may be fractional: with
 * clustered items, pass effective sample sizes n / design effect (Kish) and the same share of
 * successes, which keeps the estimate and widens the interval by √(design effect).
 */
import { twoSidedNormalP, zFor } from './distributions'

function assertCounts(x: number, n: number, name: string): void {
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`${name}: n must be > 0, got ${n}`)
  if (!(x >= 0 && x <= n)) throw new RangeError(`${name}: successes must be in [0, n], got ${x} of ${n}`)
}

/** Wilson score bounds for x successes of n (n may be fractional, see the module note). */
export function wilsonBounds(x: number, n: number, confidence = 0.95): [number, number] {
  assertCounts(x, n, 'wilson')
  const z = zFor(confidence)
  const p = x / n
  const z2 = z * z
  const denominator = 1 + z2 / n
  const center = (p + z2 / (2 * n)) / denominator
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator
  return [x === 0 ? 0 : Math.max(0, center - half), x === n ? 1 : Math.min(1, center + half)]
}

export interface ProportionDifference {
  /** Candidate rate − baseline rate. */
  estimate: number
  ci_low: number
  ci_high: number
  baseline: { rate: number; ci_low: number; ci_high: number; n: number }
  candidate: { rate: number; ci_low: number; ci_high: number; n: number }
  method: string
}

/**
 * Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the difference between
 * independent proportions", Statistics in Medicine 17:873–890, method 10) for p_c − p_b, built
 * from each arm's Wilson interval: [d − √((p_c − l_c)² + (u_b − p_b)²), d + √((u_c − p_c)² +
 * (p_b − l_b)²)]. It keeps good coverage near 0 and 1, where the Wald interval fails.
 */
export function newcombeDifference(
  baselineSuccesses: number,
  baselineN: number,
  candidateSuccesses: number,
  candidateN: number,
  confidence = 0.95,
): ProportionDifference {
  assertCounts(baselineSuccesses, baselineN, 'baseline')
  assertCounts(candidateSuccesses, candidateN, 'candidate')
  const pb = baselineSuccesses / baselineN
  const pc = candidateSuccesses / candidateN
  const [lb, ub] = wilsonBounds(baselineSuccesses, baselineN, confidence)
  const [lc, uc] = wilsonBounds(candidateSuccesses, candidateN, confidence)
  const d = pc - pb
  return {
    estimate: d,
    ci_low: d - Math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2),
    ci_high: d + Math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2),
    baseline: { rate: pb, ci_low: lb, ci_high: ub, n: baselineN },
    candidate: { rate: pc, ci_low: lc, ci_high: uc, n: candidateN },
    method: 'Newcombe hybrid score interval (Wilson per arm)',
  }
}

export interface TwoProportionTest {
  /** Standardized difference (candidate − baseline) / pooled SE. */
  z: number
  /** z²: Pearson's χ² of the 2 × 2 table, without continuity correction. */
  statistic: number
  p_value: number
  method: string
}

/**
 * Two-proportion z test of H0: p_b = p_c with the pooled standard error
 * √(p̄(1 − p̄)(1/n_b + 1/n_c)); two-sided. Identical to Pearson's χ² on the 2 × 2 table without
 * continuity correction (R's `prop.test(correct = FALSE)`).
 */
export function twoProportionTest(
  baselineSuccesses: number,
  baselineN: number,
  candidateSuccesses: number,
  candidateN: number,
): TwoProportionTest {
  assertCounts(baselineSuccesses, baselineN, 'baseline')
  assertCounts(candidateSuccesses, candidateN, 'candidate')
  const pooled = (baselineSuccesses + candidateSuccesses) / (baselineN + candidateN)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / baselineN + 1 / candidateN))
  const d = candidateSuccesses / candidateN - baselineSuccesses / baselineN
  const method = 'two-proportion z test (pooled), as χ² without continuity correction'
  if (se === 0) return { z: 0, statistic: 0, p_value: 1, method }
  const z = d / se
  return { z, statistic: z * z, p_value: twoSidedNormalP(z), method }
}
