/**
 * Number and time formatting shared by every page. Every figure carries its unit
 * (DASHBOARD-UX.md, "Conventions"); missing values render as an em dash, never as 0.
 */

const DASH = '—'

/** Dollars with adaptive decimals: 6 under $0.01, 4 under $1, 2 above. */
export function formatUsd(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH
  const abs = Math.abs(value)
  if (abs === 0) return '$0.00'
  const decimals = abs < 0.01 ? 6 : abs < 1 ? 4 : 2
  const text = abs.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  })
  return `${value < 0 ? '-' : ''}$${text}`
}

/** Dollars on a chart axis: three significant digits are enough to read a scale. */
export function formatUsdTick(value: number): string {
  if (!Number.isFinite(value)) return ''
  if (value === 0) return '$0'
  return `${value < 0 ? '-' : ''}$${Number(Math.abs(value).toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 12 })}`
}

/** Token counts as plain, K or M. */
export function formatTokens(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH
  return compact(value)
}

/** A plain count (calls, spans) with K/M suffixes above 10,000. */
export function formatCount(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH
  if (Math.abs(value) < 10_000) return Math.round(value).toLocaleString('en-US')
  return compact(value)
}

/** Three significant digits with K/M/B, the unit chosen after rounding (999,950 is "1M"). */
const COMPACT = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 })

function compact(value: number): string {
  return Math.abs(value) < 999.5 ? String(Math.round(value)) : COMPACT.format(value)
}

/** A latency for tiles and charts: ms under a second, s (2 decimals) above. */
export function formatMs(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return DASH
  if (value === 0) return '0 ms'
  if (Math.abs(value) < 1000) return `${Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value)} ms`
  return `${(value / 1000).toFixed(2)} s`
}

/** A duration for tables: seconds with 3 decimals. */
export function formatSeconds(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return DASH
  return `${(ms / 1000).toFixed(3)} s`
}

/** A ratio (0..1) as a percentage. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return DASH
  const pct = ratio * 100
  if (pct === 0) return '0%'
  if (Math.abs(pct) < 0.1) return '<0.1%'
  return `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`
}

export interface Change {
  /** Text to show: "+12%", "−3.4%", "×63", "new", "0%" or '' when nothing to compare. */
  label: string
  direction: 'up' | 'down' | 'flat' | 'new' | 'none'
}

/**
 * Change of `current` against the previous period of the same length. A zero previous value
 * reads "new" rather than "+∞%" (DASHBOARD-UX.md, "What every page does" 2), and a rise of ten
 * times or more reads as a factor ("×63", not "+6200%"): a previous period with little data makes
 * percentages that nobody can read at a glance.
 */
export function formatChange(current: number | null, previous: number | null): Change {
  if (current == null) return { label: '', direction: 'none' }
  if (previous == null || previous === 0) {
    if (current === 0) return { label: '0%', direction: 'flat' }
    return { label: 'new', direction: 'new' }
  }
  const pct = ((current - previous) / Math.abs(previous)) * 100
  if (previous > 0 && current >= previous * 10) {
    const factor = current / previous
    return {
      label: `×${factor < 100 ? factor.toFixed(1).replace(/\.0$/, '') : Math.round(factor)}`,
      direction: 'up',
    }
  }
  if (Math.abs(pct) < 0.05) return { label: '0%', direction: 'flat' }
  const abs = Math.abs(pct)
  const text = abs < 10 ? abs.toFixed(1) : abs.toFixed(0)
  return pct > 0 ? { label: `+${text}%`, direction: 'up' } : { label: `−${text}%`, direction: 'down' }
}

export type TimeZoneMode = 'utc' | 'local'

/**
 * Canonical span timestamps are 'YYYY-MM-DD hh:mm:ss.ffffff' in UTC; ISO strings also parse.
 * Returns epoch milliseconds with the microseconds kept as a fraction (waterfalls need them).
 */
export function parseTimestamp(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  )
  if (!m) return Date.parse(text)
  const base = Date.parse(`${m[1]}T${m[2]}${m[4] ?? 'Z'}`)
  const fraction = m[3] ? Number(`0.${m[3]}`) * 1000 : 0
  return base + fraction
}

/** Date and time to the second, in UTC or the browser's zone. */
export function formatDateTime(epochMs: number, tz: TimeZoneMode): string {
  if (!Number.isFinite(epochMs)) return DASH
  const d = new Date(epochMs)
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz === 'utc' ? 'UTC' : undefined,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(d)
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`
}

/** An axis tick for a bucket: time of day for short ranges, date for long ones. */
export function formatBucketTick(epochMs: number, intervalSeconds: number, tz: TimeZoneMode): string {
  const d = new Date(epochMs)
  const timeZone = tz === 'utc' ? 'UTC' : undefined
  if (intervalSeconds >= 86_400) {
    return new Intl.DateTimeFormat('en-US', { timeZone, month: 'short', day: 'numeric' }).format(d)
  }
  if (intervalSeconds >= 3600) {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(d)
  }
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d)
}

/** The zone label shown beside the time picker. */
export function timeZoneLabel(tz: TimeZoneMode): string {
  if (tz === 'utc') return 'UTC'
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone
  return name ? `Local (${name})` : 'Local'
}
