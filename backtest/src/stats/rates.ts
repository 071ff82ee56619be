import { wilsonBounds } from './proportions'

/** A proportion with its Wilson score interval. */
export interface RateEstimate {
  /** successes / n (NaN when n = 0). */
  estimate: number
  ci_low: number
  ci_high: number
  successes: number
  n: number
  method: string
  /**
   * When there are no successes (or no failures), the "rule of three" bound: with 95% confidence
   * the true rate is below 3/n (or above 1 − 3/n). Reported so a 0% is never printed as certain.
   */
  rule_of_three?: { bound: 'upper' | 'lower'; value: number }
  /** A sentence for reports when the estimate sits at 0 or 1. */
  note?: string
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927; Agresti & Coull 1998 recommend it
 * over the Wald interval, which collapses at 0 and 1 and under-covers for small n). Equals R's
 * `prop.test(x, n, correct = FALSE)$conf.int`.
 */
export function wilson(successes: number, n: number, confidence = 0.95): RateEstimate {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n: must be a whole number ≥ 0, got ${n}`)
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`successes: must be a whole number in [0, n], got ${successes}`)
  }
  const method = 'Wilson score interval'
  if (n === 0) return { estimate: Number.NaN, ci_low: 0, ci_high: 1, successes, n, method, note: 'no items' }
  const [ciLow, ciHigh] = wilsonBounds(successes, n, confidence)
  const result: RateEstimate = {
    estimate: successes / n,
    ci_low: ciLow,
    ci_high: ciHigh,
    successes,
    n,
    method,
  }
  if (confidence === 0.95 && successes === 0) {
    const bound = ruleOfThree(n)
    result.rule_of_three = { bound: 'upper', value: bound }
    result.note = `0 of ${n}: the true rate is below ${formatRate(bound)} with 95% confidence (rule of three), not 0%`
  } else if (confidence === 0.95 && successes === n) {
    const bound = 1 - ruleOfThree(n)
    result.rule_of_three = { bound: 'lower', value: bound }
    result.note = `${n} of ${n}: the true rate is above ${formatRate(bound)} with 95% confidence (rule of three), not 100%`
  }
  return result
}

/**
 * "Rule of three" (Hanley & Lippman-Hand 1983): after 0 events in n independent trials, the
 * one-sided 95% upper bound on the event rate is about 3/n (exactly 1 − 0.05^(1/n)). Returns 3/n,
 * capped at 1.
 */
export function ruleOfThree(n: number): number {
  if (!(n > 0)) throw new RangeError(`n: must be > 0, got ${n}`)
  return Math.min(1, 3 / n)
}

function formatRate(rate: number): string {
  const pct = rate * 100
  return `${pct >= 10 ? pct.toFixed(0) : pct >= 1 ? pct.toFixed(1) : pct.toPrecision(2)}%`
}
