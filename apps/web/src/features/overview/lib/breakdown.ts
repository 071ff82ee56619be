/**
 * The overview's breakdown tables (by model, by release): per row the call metrics (calls, errors,
 * tokens, cost, latency p50/p95) and the mean of every score name beside them, so cost, latency and
 * quality sit on one line. Pure: the tRPC router feeds it `getMetrics` rows and the quality
 * package's `getScoreMeansByName` rows (the same read path as `GET /metrics?score=`).
 */
import type { MetricsRow } from '@hindsight/dashboards'
import type { ScoreNameMeanRow } from '@hindsight/quality'

export const BREAKDOWN_DIMENSIONS = [
  'model',
  'route',
  'release',
  'provider',
  'environment',
  'service',
  'user',
  'attribute',
] as const
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number]
/** The dimensions the "Breakdown by" panel offers (model, route and release have their own tables). */
export const EXTRA_DIMENSIONS = ['provider', 'environment', 'service', 'user', 'attribute'] as const
export type ExtraDimension = (typeof EXTRA_DIMENSIONS)[number]

/** Rows a breakdown lists; the rest are counted in `more_rows` (a breakdown by user can be long). */
export const MAX_BREAKDOWN_ROWS = 50

/** Score columns shown before anyone picks: the most frequent names. */
export const DEFAULT_SCORE_COLUMNS = 3

export interface ScoreCell {
  mean: number | null
  n: number
  /** Standard error of the mean; null below 2 scores. */
  stderr: number | null
}

export type BreakdownRow = Omit<MetricsRow, 'group' | 'bucket'> & {
  /** The model or release ('' for calls without one). */
  key: string
  /** errors / calls. */
  error_rate: number | null
  /** Mean of each score name on this row's traces; a name without scores here is absent. */
  scores: Record<string, ScoreCell>
}

export interface ScoreName {
  name: string
  /** Scores of this name on the range's matching traces. */
  n: number
}

export interface Breakdown {
  dimension: BreakdownDimension
  /** With `attribute`: the attribute key grouped by. */
  groupKey?: string
  /** Rows beyond the first MAX_BREAKDOWN_ROWS, not listed. */
  more_rows: number
  /** Most expensive first, then most calls. */
  rows: BreakdownRow[]
  /** Every averaged score name in the range, most scored first (empty unless asked for). */
  scoreNames: ScoreName[]
}

export function buildBreakdown(
  dimension: BreakdownDimension,
  metrics: MetricsRow[],
  means: ScoreNameMeanRow[],
  names: ScoreNameMeanRow[],
  groupKey?: string,
  /** Groups in all, when `metrics` holds only the first ones. @default metrics.length */
  totalGroups?: number,
): Breakdown {
  const byGroup = new Map<string, Record<string, ScoreCell>>()
  for (const m of means) {
    const key = m.group ?? ''
    const cells = byGroup.get(key) ?? {}
    cells[m.name] = { mean: m.score_mean, n: m.score_n, stderr: m.score_stderr }
    byGroup.set(key, cells)
  }
  const rows = metrics
    .map(({ group, bucket: _bucket, ...row }) => ({
      ...row,
      key: group ?? '',
      error_rate: row.calls > 0 ? row.errors / row.calls : null,
      scores: byGroup.get(group ?? '') ?? {},
    }))
    .sort((a, b) => (b.cost_usd ?? 0) - (a.cost_usd ?? 0) || b.calls - a.calls || a.key.localeCompare(b.key))
  const scoreNames = names
    .map((n) => ({ name: n.name, n: n.score_n }))
    .sort((a, b) => b.n - a.n || a.name.localeCompare(b.name))
  return {
    dimension,
    ...(groupKey ? { groupKey } : {}),
    rows: rows.slice(0, MAX_BREAKDOWN_ROWS),
    more_rows: Math.max(0, (totalGroups ?? rows.length) - Math.min(rows.length, MAX_BREAKDOWN_ROWS)),
    scoreNames,
  }
}

/**
 * The score columns to show: the picked names that still exist (in the order of `scoreNames`), or
 * the {@link DEFAULT_SCORE_COLUMNS} most frequent when nothing is picked.
 */
export function scoreColumns(scoreNames: ScoreName[], picked: readonly string[] | null): string[] {
  if (picked === null) return scoreNames.slice(0, DEFAULT_SCORE_COLUMNS).map((s) => s.name)
  const wanted = new Set(picked)
  return scoreNames.filter((s) => wanted.has(s.name)).map((s) => s.name)
}

/** A mean score for a table cell: two decimals (three below 0.1), '—' without scores. */
export function formatScoreMean(mean: number | null | undefined): string {
  if (mean == null || !Number.isFinite(mean)) return '—'
  return Math.abs(mean) < 0.1 && mean !== 0 ? mean.toFixed(3) : mean.toFixed(2)
}
