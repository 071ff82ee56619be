/**
 * Multi-window, multi-burn-rate alerting (the Google SRE workbook's recipe). The burn rate of a
 * window is its bad-event share divided by the error budget (1 = spending the budget exactly
 * as fast as the period allows). An alert fires only when a long window AND its short window
 * both burn above the factor: the long one proves it is significant, the short one that it is
 * still happening — so a single spike does not page, and a recovered incident resolves fast.
 */

/** Events of one bucket (e.g. a minute): how many, how many bad. */
export interface EventBucket {
  /** Start of the bucket, ms since the epoch. */
  start: number
  total: number
  bad: number
}

export interface BurnWindowRule {
  severity: 'fast' | 'slow'
  longMs: number
  shortMs: number
  /** Both windows must burn faster than this. */
  factor: number
}

/** Fast burn: 1 h and 5 min over 14.4× (2% of a 30-day budget in an hour); slow: 6 h and 30 min over 6×. */
export const DEFAULT_BURN_RULES: readonly BurnWindowRule[] = [
  { severity: 'fast', longMs: 60 * 60_000, shortMs: 5 * 60_000, factor: 14.4 },
  { severity: 'slow', longMs: 6 * 60 * 60_000, shortMs: 30 * 60_000, factor: 6 },
]

export interface WindowBurn {
  severity: 'fast' | 'slow'
  long: number | null
  short: number | null
  factor: number
  firing: boolean
}

export interface BurnEvaluation {
  /** The most severe firing window rule, or null. */
  severity: 'fast' | 'slow' | null
  windows: WindowBurn[]
}

/** The burn rate of the buckets in [now − windowMs, now); null without events. */
export function burnRate(
  buckets: readonly EventBucket[],
  nowMs: number,
  windowMs: number,
  budget: number,
): number | null {
  let total = 0
  let bad = 0
  for (const b of buckets) {
    if (b.start >= nowMs - windowMs && b.start < nowMs) {
      total += b.total
      bad += b.bad
    }
  }
  if (total === 0) return null
  if (budget <= 0) return bad > 0 ? Number.POSITIVE_INFINITY : 0
  return bad / total / budget
}

/**
 * Which window rules fire at `nowMs`. `minEvents`: a long window with fewer events never fires
 * (one bad call out of two is not a trend).
 */
export function evaluateBurn(
  buckets: readonly EventBucket[],
  nowMs: number,
  budget: number,
  rules: readonly BurnWindowRule[] = DEFAULT_BURN_RULES,
  minEvents = 10,
): BurnEvaluation {
  const windows = rules.map((rule): WindowBurn => {
    const long = burnRate(buckets, nowMs, rule.longMs, budget)
    const short = burnRate(buckets, nowMs, rule.shortMs, budget)
    const events = buckets
      .filter((b) => b.start >= nowMs - rule.longMs && b.start < nowMs)
      .reduce((n, b) => n + b.total, 0)
    const firing =
      events >= minEvents && long !== null && short !== null && long > rule.factor && short > rule.factor
    return { severity: rule.severity, long, short, factor: rule.factor, firing }
  })
  const fired = windows.find((w) => w.firing && w.severity === 'fast') ?? windows.find((w) => w.firing)
  return { severity: fired?.severity ?? null, windows }
}

export type AlertTransition =
  | { action: 'fire'; severity: 'fast' | 'slow' }
  | { action: 'resolve' }
  | { action: 'none' }

/**
 * De-duplication: one open alert per objective. A breach opens it (one notification); while it
 * stays open, nothing is sent again, even when the burn changes severity; once no window rule
 * fires any more, it resolves (one resolved notification).
 */
export function nextTransition(open: boolean, evaluation: BurnEvaluation): AlertTransition {
  if (!open && evaluation.severity) return { action: 'fire', severity: evaluation.severity }
  if (open && !evaluation.severity) return { action: 'resolve' }
  return { action: 'none' }
}
