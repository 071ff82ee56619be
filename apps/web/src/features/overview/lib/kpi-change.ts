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
    periodLabel: string
    /**
     * For a rate, percentile or per-call figure: the calls it was computed over in the previous
     * period. Absent for totals, which compare with any previous period.
     */
    previousBasis?: number
    /** What the basis counts, e.g. "streamed call". @default 'call' */
    noun?: string
  },
): KpiChange {
  const { previousBasis, periodLabel, noun = 'call' } = options
  if (
    previousBasis !== undefined &&
    previousBasis > 0 &&
    previousBasis < MIN_COMPARABLE_CALLS &&
    current != null
  ) {
    const calls = previousBasis === 1 ? `1 ${noun}` : `${previousBasis} ${noun}s`
    return { label: '', direction: 'none', text: `only ${calls} in previous ${periodLabel}` }
  }
  const change = formatChange(current, previous)
  return { ...change, text: change.label ? `${change.label} vs previous ${periodLabel}` : '' }
}
