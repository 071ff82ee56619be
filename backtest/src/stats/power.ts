import { normalQuantile } from './distributions'

export interface PowerOptions {
  /** Two-sided significance level. @default 0.05 */
  alpha?: number
  /** @default 0.8 */
  power?: number
}

/** z₁₋α/₂ + z_power: 2.8016 for α = 0.05 and 80% power. */
export function powerMultiplier(options: PowerOptions = {}): number {
  const alpha = options.alpha ?? 0.05
  const power = options.power ?? 0.8
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha: must be in (0, 1), got ${alpha}`)
  if (!(power > 0 && power < 1)) throw new RangeError(`power: must be in (0, 1), got ${power}`)
  return normalQuantile(1 - alpha / 2) + normalQuantile(power)
}

/**
 * Minimum detectable effect: the smallest true difference a two-sided test at level α detects
 * with the given power, for an estimate with standard error `se` (normal approximation:
 * MDE = (z₁₋α/₂ + z_power) · SE). Use the paired or cluster-robust SE of the design at hand.
 */
export function minimumDetectableEffect(se: number, options: PowerOptions = {}): number {
  if (!(se >= 0)) return Number.NaN
  return powerMultiplier(options) * se
}

/**
 * Items needed for an observed `effect` to reach significance with the given power, when `n`
 * items gave standard error `se` (SE shrinks as 1/√n): n · ((z₁₋α/₂ + z_power) · SE / |effect|)².
 * Infinity for a zero effect; NaN when the SE is unknown.
 */
export function samplesNeeded(n: number, se: number, effect: number, options: PowerOptions = {}): number {
  if (!(se >= 0) || !(n > 0) || Number.isNaN(effect)) return Number.NaN
  if (effect === 0) return Number.POSITIVE_INFINITY
  return Math.ceil(n * ((powerMultiplier(options) * se) / Math.abs(effect)) ** 2)
}

/**
 * Minimum detectable difference between two proportions around `p` with n items per arm:
 * unpaired, MDE = (z₁₋α/₂ + z_power) · √(2p(1 − p)/n). A paired design with discordance rate
 * `discordance` (share of items where the arms disagree) uses √(discordance / n) instead.
 */
export function mdeForProportion(
  p: number,
  n: number,
  options: PowerOptions & { discordance?: number } = {},
): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p: must be in [0, 1], got ${p}`)
  if (!(n > 0)) return Number.NaN
  const se =
    options.discordance === undefined ? Math.sqrt((2 * p * (1 - p)) / n) : Math.sqrt(options.discordance / n)
  return minimumDetectableEffect(se, options)
}
