import type { TimeRange } from './types'

/** Bucket widths a chart may use, in seconds: 1 minute, 5 minutes, 1 hour, 1 day. */
const STEPS = [60, 300, 3600, 86_400] as const
const MAX_POINTS = 200

/**
 * The smallest sensible bucket that keeps a chart at ≤ ~200 points: minutes for short ranges,
 * hours up to about a week, days beyond (DASHBOARD-UX.md, "bucket size follows the range").
 */
export function chooseInterval(range: TimeRange): number {
  const seconds = Math.max(0, (range.to.getTime() - range.from.getTime()) / 1000)
  for (const step of STEPS) {
    if (seconds / step <= MAX_POINTS) return step
  }
  return STEPS[STEPS.length - 1] ?? 86_400
}

/** Bad input to the read model is a RangeError, so API layers can answer 400 instead of 500. */
export function assertRange(range: TimeRange): void {
  const from = range.from.getTime()
  const to = range.to.getTime()
  if (Number.isNaN(from)) throw new RangeError('from: not a valid date')
  if (Number.isNaN(to)) throw new RangeError('to: not a valid date')
  if (from >= to) throw new RangeError('from: must be before to')
  // DateTime64 holds 1900..2299; outside it ClickHouse would fail with an opaque error.
  if (range.from.getUTCFullYear() < 1900) throw new RangeError('from: must be in 1900 or later')
  if (range.to.getUTCFullYear() > 2299) throw new RangeError('to: must be before 2300')
}

/** The period of the same length that ends where `range` starts. */
export function previousRange(range: TimeRange): TimeRange {
  const length = range.to.getTime() - range.from.getTime()
  return { from: new Date(range.from.getTime() - length), to: range.from }
}
