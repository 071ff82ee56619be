/**
 * Pure helpers that turn the report JSON into what the page shows: formatted cells and the points
 * of the intelligence–cost–latency chart. Kept apart from React so they are unit-tested.
 */
import type { BacktestReport, MetricRow } from '@hindsight/backtest'

/** A metric value in its unit: $ with enough digits for per-call costs, ms, or a percentage. */
export function formatMetric(value: number | null, unit: MetricRow['unit']): string {
  if (value === null || Number.isNaN(value)) return '—'
  switch (unit) {
    case 'usd': {
      const abs = Math.abs(value)
      const digits = abs === 0 ? 2 : abs >= 1 ? 2 : Math.min(8, 2 - Math.floor(Math.log10(abs)) + 1)
      return `${value < 0 ? '−' : ''}$${abs.toFixed(digits)}`
    }
    case 'ms':
      return `${value < 0 ? '−' : ''}${Math.abs(value) >= 100 ? Math.abs(value).toFixed(0) : Math.abs(value).toFixed(1)} ms`
    case 'rate':
      return `${(value * 100).toFixed(1)}%`
    default:
      return value.toFixed(3)
  }
}

export function formatInterval(lo: number | null, hi: number | null, unit: MetricRow['unit']): string {
  if (lo === null || hi === null) return '—'
  return `${formatMetric(lo, unit)} … ${formatMetric(hi, unit)}`
}

export function formatRatio(m: Pick<MetricRow, 'ratio' | 'ratio_ci_low' | 'ratio_ci_high'>): string {
  if (m.ratio === null) return '—'
  const r = `× ${m.ratio.toFixed(3)}`
  return m.ratio_ci_low === null || m.ratio_ci_high === null
    ? r
    : `${r} (${m.ratio_ci_low.toFixed(3)}–${m.ratio_ci_high.toFixed(3)})`
}

export function formatP(p: number | null): string {
  if (p === null || Number.isNaN(p)) return '—'
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4)
}

export interface TrianglePoint {
  arm: 'baseline' | 'candidate'
  /** Cost per call, USD. */
  cost: number
  /** Latency p95, ms. */
  latency: number
  /** Interval half-widths for error bars [below, above]. */
  costError: [number, number]
  latencyError: [number, number]
  /** Quality score, or null when not measured. */
  quality: number | null
}

/**
 * The two arms on the cost × latency plane (quality as a label: a what-if does not measure it).
 * Null when either metric is missing. Only the candidate carries interval bars (the baseline is
 * the recorded traffic the candidate is compared with).
 */
export function trianglePoints(report: BacktestReport): TrianglePoint[] | null {
  const cost = report.metrics.find((m) => m.name === 'cost_per_call_usd')
  const latency = report.metrics.find((m) => m.name === 'latency_p95_ms')
  // The triangle's primary score (objectives.quality_score, else the first evaluator's) when there is one.
  const primary = report.triangle?.quality_score
  const quality =
    report.metrics.find((m) => m.name === 'quality' && primary != null && m.score === primary) ??
    report.metrics.find((m) => m.name === 'quality')
  if (!cost || !latency) return null
  if (
    cost.baseline === null ||
    cost.candidate === null ||
    latency.baseline === null ||
    latency.candidate === null
  )
    return null
  const err = (value: number, lo: number | null, hi: number | null): [number, number] => [
    lo === null ? 0 : Math.max(0, value - lo),
    hi === null ? 0 : Math.max(0, hi - value),
  ]
  return [
    {
      arm: 'baseline',
      cost: cost.baseline,
      latency: latency.baseline,
      costError: [0, 0],
      latencyError: [0, 0],
      quality: quality?.baseline ?? null,
    },
    {
      arm: 'candidate',
      cost: cost.candidate,
      latency: latency.candidate,
      costError: err(cost.candidate, cost.candidate_ci_low, cost.candidate_ci_high),
      latencyError: err(latency.candidate, latency.candidate_ci_low, latency.candidate_ci_high),
      quality: quality?.candidate ?? null,
    },
  ]
}

export interface AbArmRow {
  arm: 'baseline' | 'candidate'
  value: string
  traces: number
  calls: number
  /** "first → last call" in UTC, or "—" for an empty arm. */
  range: string
  cost: string
  errors: number
  models: string
}

function minute(iso: string | null): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')}` : '—'
}

/** The two arms of a live A/B report as table rows (null for other modes). */
export function abArms(report: BacktestReport): AbArmRow[] | null {
  const ab = report.ab
  if (!ab) return null
  return (['baseline', 'candidate'] as const).map((arm) => {
    const a = ab[arm]
    return {
      arm,
      value: a.value,
      traces: a.traces,
      calls: a.calls,
      range: a.first_call ? `${minute(a.first_call)} → ${minute(a.last_call)} UTC` : '—',
      cost: a.cost_usd,
      errors: a.error_calls,
      models: a.models.map((m) => `${m.model} (${m.calls})`).join(', ') || '—',
    }
  })
}

/** An objective check as the page words it: "max_quality_regression (exact_match) ≥ −0.05". */
export function checkLabel(ch: BacktestReport['verdict']['checks'][number]): string {
  return `${ch.objective}${ch.score ? ` (${ch.score})` : ''} ${ch.comparator} ${ch.threshold}`
}

export interface QualityViewRow {
  score: string
  evaluator: string
  baseline: string
  candidate: string
  delta: string
  interval: string
  /** "wins / ties / losses", or "—" (live A/B: unpaired). */
  winTieLoss: string
  /** "McNemar p = 0.0412", or "—". */
  test: string
  /** Calls scored in both arms, and how many failed per arm. */
  paired: string
  note: string | null
}

/** The report's quality rows (one per evaluator), with the evaluation summary when there is one. */
export function qualityView(report: BacktestReport): QualityViewRow[] {
  const evaluators = new Map((report.quality?.evaluators ?? []).map((e) => [e.name, e]))
  return report.metrics
    .filter((m) => m.name === 'quality' && m.score !== undefined)
    .map((m) => {
      const e = evaluators.get(m.score ?? '')
      const w = m.win_tie_loss
      return {
        score: m.score ?? '',
        evaluator: e
          ? `${e.data_type}, ${e.better} is better${e.origin === 'rule' ? ', online rule' : ''}`
          : m.better === 'lower'
            ? 'lower is better'
            : 'higher is better',
        baseline: formatMetric(m.baseline, m.unit),
        candidate: formatMetric(m.candidate, m.unit),
        delta: formatMetric(m.delta, m.unit),
        interval: formatInterval(m.ci_low, m.ci_high, m.unit),
        winTieLoss: w ? `${w.wins} / ${w.ties} / ${w.losses}` : '—',
        test: m.test ? `${m.test.name} p = ${formatP(m.test.p_value)}` : '—',
        paired: e
          ? `${e.paired}${e.failed.baseline + e.failed.candidate > 0 ? ` (failed: ${e.failed.baseline} baseline, ${e.failed.candidate} candidate)` : ''}`
          : String(m.n),
        note: m.candidate === null ? m.note : null,
      }
    })
}

export interface TriangleRow {
  arm: 'baseline' | 'candidate'
  quality: string
  cost: string
  latencyP50: string
  latencyP95: string
}

/** The intelligence–cost–latency triangle as two table rows (candidate values with their intervals). */
export function triangleRows(report: BacktestReport): { score: string | null; rows: TriangleRow[] } | null {
  const t = report.triangle
  if (!t) return null
  const unit = t.quality_unit ?? 'score'
  const withCi = (value: string, ci: [number, number] | null, u: MetricRow['unit']) =>
    ci ? `${value} (${formatInterval(ci[0], ci[1], u)})` : value
  const row = (arm: 'baseline' | 'candidate'): TriangleRow => {
    const a = t[arm]
    return {
      arm,
      quality: withCi(formatMetric(a.quality, unit), arm === 'candidate' ? a.quality_ci : null, unit),
      cost: withCi(formatMetric(a.cost_per_call_usd, 'usd'), arm === 'candidate' ? a.cost_ci : null, 'usd'),
      latencyP50: formatMetric(a.latency_p50_ms, 'ms'),
      latencyP95: withCi(
        formatMetric(a.latency_p95_ms, 'ms'),
        arm === 'candidate' ? a.latency_p95_ci : null,
        'ms',
      ),
    }
  }
  return { score: t.quality_score, rows: [row('baseline'), row('candidate')] }
}
