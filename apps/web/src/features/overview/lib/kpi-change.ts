/**
 * The change line under a headline number. Totals (calls, cost, tokens) compare with any previous
 * period; a rate, a percentile or a per-call figure over a handful of previous calls would be
 * noise read as a trend ("+137% p95" over three calls), so below {@link MIN_COMPARABLE_CALLS}
 * previous calls those tiles say how few calls there were instead of a change.
 */
import { type Change, formatChange } from '../../../lib/format'

/** Previous calls a rate, percentile or per-call figure needs before its change is shown. */
export const MIN_COMPARABLE_CALLS = 30

export interface KpiChange extends Change {
  /** The whole line, e.g. "+12% vs previous 7d" or "only 3 calls in previous 7d". */
  text: string
}

export function kpiChange(
  current: number | null,
  previous: number | null,
  options: {
    perCall: boolean
    previousCalls: number
    periodLabel: string
    /** What the basis counts, e.g. "streamed call". @default 'call' */
    noun?: string
  },
): KpiChange {
  const { perCall, previousCalls, periodLabel, noun = 'call' } = options
  if (perCall && previousCalls > 0 && previousCalls < MIN_COMPARABLE_CALLS && current != null) {
    const calls = previousCalls === 1 ? `1 ${noun}` : `${previousCalls} ${noun}s`
    return { label: '', direction: 'none', text: `only ${calls} in previous ${periodLabel}` }
  }
  const change = formatChange(current, previous)
  return { ...change, text: change.label ? `${change.label} vs previous ${periodLabel}` : '' }
}
