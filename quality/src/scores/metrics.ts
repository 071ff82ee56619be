/**
 * Mean score per metrics group, so quality sits beside cost and latency in `/metrics`.
 *
 * A score belongs to its trace: it counts in every group (model, provider, release, name) that
 * one of the trace's matching spans falls in, once per group, in the bucket of the trace's first
 * matching span. Span-level scores count for their whole trace too. Only `ok` numeric and boolean
 * scores are averaged (booleans as 0/1, so the mean is a pass rate); failed evaluations and
 * categorical scores are not.
 */
import type { Storage } from '@hindsight/collector/storage'
import { groupExpression, type MetricsQuery, type MetricsRow, spanConditions } from '@hindsight/dashboards'
import { z } from 'zod'
import { chDateTime, count, final, float, queryRows } from '../db'
import { invalid } from '../errors'
import { scoreName } from './normalize'

// Spans are stored with DateTime64(6); bind with microseconds.
const SPAN_TIME = "DateTime64(6, 'UTC')"

export interface ScoreMeanRow {
  group?: string
  bucket?: string
  score_mean: number | null
  /** Scores averaged. */
  score_n: number
  /** Standard error of the mean (sample SD / √n); null below 2 scores. */
  score_stderr: number | null
}

export type ScoreMeansQuery = MetricsQuery & { score: string }

function microText(date: Date): string {
  return `${chDateTime(date)}000`
}

export async function getScoreMeans(
  storage: Storage,
  projectId: string,
  q: ScoreMeansQuery,
): Promise<ScoreMeanRow[]> {
  const { score, ...rest } = q
  const rows = await meanRows(storage, projectId, rest, [scoreName(score, 'score')])
  return rows.map(({ name: _name, rate: _rate, value_min: _min, value_max: _max, ...row }) => row)
}

/** One score name's mean in one group and bucket. */
export interface ScoreNameMeanRow extends ScoreMeanRow {
  name: string
  /** Every averaged score was boolean: the mean is a pass rate (a Wilson interval fits it). */
  rate: boolean
  /** The smallest and largest value averaged (a mean's interval cannot leave them). */
  value_min: number | null
  value_max: number | null
}

export type ScoreMeansByNameQuery = MetricsQuery & {
  /** Only these names. @default every name with an averageable score */
  names?: string[]
  /** With `groupBy`: only these groups (e.g. the ones a limited metrics query kept). */
  groupValues?: string[]
}

/**
 * {@link getScoreMeans} for every score name at once (one query): a row per group, bucket and
 * name, by name within a group. Without `groupBy` it lists the names scored on the range's traces
 * with their counts — what a score picker offers.
 */
export async function getScoreMeansByName(
  storage: Storage,
  projectId: string,
  q: ScoreMeansByNameQuery,
): Promise<ScoreNameMeanRow[]> {
  const { names, groupValues, ...rest } = q
  const checked = names?.map((n, i) => scoreName(n, `names.${i}`))
  if (checked && checked.length === 0) return []
  if (groupValues && groupValues.length === 0) return []
  return meanRows(storage, projectId, rest, checked ?? null, groupValues ?? null)
}

async function meanRows(
  storage: Storage,
  projectId: string,
  q: MetricsQuery,
  names: string[] | null,
  groupValues: string[] | null = null,
): Promise<ScoreNameMeanRow[]> {
  if (!(q.from.getTime() < q.to.getTime())) throw invalid('from: must be before to')
  const interval = q.intervalSeconds
  if (interval !== undefined && (!Number.isInteger(interval) || interval < 1)) {
    throw invalid('interval: a whole number of seconds')
  }
  const filters = spanConditions(q.filter)
  const grouping = groupExpression(q)
  const group = grouping ? grouping.sql : "''"
  const keys = [
    ...(q.groupBy ? ['group_value'] : []),
    ...(interval !== undefined ? ['bucket_s'] : []),
    'score_name',
  ]
  const sql = `
    WITH matched AS (
      SELECT trace_id, ${group} AS group_value, min(start_time) AS first_start
      FROM ${final(storage, 'spans')}
      WHERE project_id = {projectId:String}
        AND start_time >= {from:${SPAN_TIME}} AND start_time < {to:${SPAN_TIME}}
        ${filters.conditions.map((c) => `AND ${c}`).join(' ')}
        ${grouping && groupValues ? `AND ${grouping.sql} IN {group_values:Array(String)}` : ''}
      GROUP BY trace_id, group_value
    ),
    s AS (
      SELECT trace_id, name, value, data_type
      FROM ${final(storage, 'scores')}
      WHERE project_id = {projectId:String} AND status = 'ok'
        ${names ? 'AND name IN {names:Array(String)}' : ''}
        AND data_type IN ('numeric', 'boolean')
    )
    SELECT
      ${q.groupBy ? 'matched.group_value AS group_value,' : ''}
      ${interval !== undefined ? 'intDiv(toUnixTimestamp(matched.first_start), {interval:UInt32}) * {interval:UInt32} AS bucket_s,' : ''}
      toString(s.name) AS score_name,
      avg(s.value) AS mean,
      count() AS n,
      countIf(s.data_type = 'boolean') AS n_boolean,
      min(s.value) AS value_min,
      max(s.value) AS value_max,
      stddevSamp(s.value) AS sd
    FROM matched INNER JOIN s ON s.trace_id = matched.trace_id
    GROUP BY ${keys.join(', ')}
    ORDER BY ${keys.join(', ')}`
  const rows = await queryRows(
    storage,
    sql,
    {
      projectId,
      from: microText(q.from),
      to: microText(q.to),
      ...(names ? { names } : {}),
      ...(interval !== undefined ? { interval } : {}),
      ...filters.params,
      ...grouping?.params,
      ...(grouping && groupValues ? { group_values: groupValues } : {}),
    },
    z.object({
      group_value: z.string().optional(),
      bucket_s: count.optional(),
      score_name: z.string(),
      mean: float,
      n: count,
      n_boolean: count,
      value_min: float,
      value_max: float,
      sd: float,
    }),
  )
  return rows.map((r) => ({
    ...(q.groupBy ? { group: r.group_value ?? '' } : {}),
    ...(r.bucket_s !== undefined ? { bucket: new Date(r.bucket_s * 1000).toISOString() } : {}),
    name: r.score_name,
    rate: r.n_boolean === r.n,
    value_min: r.value_min,
    value_max: r.value_max,
    score_mean: r.mean,
    score_n: r.n,
    score_stderr: r.n >= 2 && r.sd !== null ? r.sd / Math.sqrt(r.n) : null,
  }))
}

/** Adds `score_mean`, `score_n` and `score_stderr` to metrics rows, matched by group and bucket. */
export function joinScoreMeans<R extends Pick<MetricsRow, 'group' | 'bucket'>>(
  rows: R[],
  means: ScoreMeanRow[],
): (R & Omit<ScoreMeanRow, 'group' | 'bucket'>)[] {
  const key = (r: { group?: string; bucket?: string }) => `${r.group ?? ''}\u0000${r.bucket ?? ''}`
  const byKey = new Map(means.map((m) => [key(m), m]))
  return rows.map((row) => {
    const m = byKey.get(key(row))
    return {
      ...row,
      score_mean: m?.score_mean ?? null,
      score_n: m?.score_n ?? 0,
      score_stderr: m?.score_stderr ?? null,
    }
  })
}

/** One score name's histogram over the range's matching traces (numeric scores only). */
export interface ScoreDistribution {
  name: string
  /** Scores counted. */
  n: number
  min: number
  max: number
  /**
   * `bins` equal-width bins from min to max (the last one closed); one bin when min = max; one bin
   * per value (`from` = `to`) for whole-number scores spanning no more values than `bins`.
   */
  bins: Array<{ from: number; to: number; count: number }>
}

/** Bins a distribution may ask for. */
export const MAX_DISTRIBUTION_BINS = 50

/**
 * Histograms of the named numeric scores on the traces matching the range and filter (a trace's
 * scores count once): how the values spread, which a mean hides (a judge giving 0s and 1s and one
 * giving 0.5s can share a mean). Boolean scores are left out: their distribution is their pass rate.
 */
export async function getScoreDistributions(
  storage: Storage,
  projectId: string,
  q: MetricsQuery & { names: string[]; bins?: number },
): Promise<ScoreDistribution[]> {
  if (!(q.from.getTime() < q.to.getTime())) throw invalid('from: must be before to')
  const bins = q.bins ?? 10
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_DISTRIBUTION_BINS) {
    throw invalid(`bins: a whole number from 1 to ${MAX_DISTRIBUTION_BINS}`)
  }
  const names = q.names.map((n, i) => scoreName(n, `names.${i}`))
  if (names.length === 0) return []
  const filters = spanConditions(q.filter)
  const rows = await queryRows(
    storage,
    `WITH matched AS (
        SELECT DISTINCT trace_id
        FROM ${final(storage, 'spans')}
        WHERE project_id = {projectId:String}
          AND start_time >= {from:${SPAN_TIME}} AND start_time < {to:${SPAN_TIME}}
          ${filters.conditions.map((c) => `AND ${c}`).join(' ')}
      ),
      s AS (
        SELECT toString(name) AS score_name, value AS v,
          min(value) OVER (PARTITION BY name) AS lo, max(value) OVER (PARTITION BY name) AS hi,
          max(value != floor(value)) OVER (PARTITION BY name) AS fractional
        FROM ${final(storage, 'scores')}
        WHERE project_id = {projectId:String} AND status = 'ok' AND data_type = 'numeric'
          AND name IN {names:Array(String)}
          AND trace_id IN (SELECT trace_id FROM matched)
      )
      , k AS (
        -- Whole-number scores (a 1–5 scale) get one bin per value when that is no more than asked.
        SELECT *, if(hi = lo, 1, if(fractional = 0 AND hi - lo + 1 <= {bins:UInt32}, toUInt32(hi - lo + 1), {bins:UInt32})) AS n_bins
        FROM s
      )
      SELECT score_name, any(lo) AS range_lo, any(hi) AS range_hi, any(n_bins) AS bins_used,
        least(toUInt32(floor((v - lo) / if(hi = lo, 1, hi - lo) * n_bins)), n_bins - 1) AS bin,
        count() AS n
      FROM k
      GROUP BY score_name, bin
      ORDER BY score_name, bin`,
    {
      projectId,
      from: microText(q.from),
      to: microText(q.to),
      names,
      bins,
      ...filters.params,
    },
    z.object({
      score_name: z.string(),
      range_lo: z.number(),
      range_hi: z.number(),
      bins_used: count,
      bin: count,
      n: count,
    }),
  )
  const out = new Map<string, ScoreDistribution>()
  for (const r of rows) {
    let d = out.get(r.score_name)
    if (!d) {
      const k = r.bins_used
      const whole = k > 1 && k === r.range_hi - r.range_lo + 1 && Number.isInteger(r.range_lo)
      // The same edges the engine binned with: lo + i·(hi − lo)/k, the last one closed at max.
      const edge = (i: number) => (i >= k ? r.range_hi : r.range_lo + (i * (r.range_hi - r.range_lo)) / k)
      d = {
        name: r.score_name,
        n: 0,
        min: r.range_lo,
        max: r.range_hi,
        bins: Array.from({ length: k }, (_, i) =>
          // One whole value per bin: the bin is that value.
          whole
            ? { from: r.range_lo + i, to: r.range_lo + i, count: 0 }
            : { from: edge(i), to: edge(i + 1), count: 0 },
        ),
      }
      out.set(r.score_name, d)
    }
    const bin = d.bins[r.bin]
    if (bin) bin.count += r.n
    d.n += r.n
  }
  return names.flatMap((n) => {
    const d = out.get(n)
    return d ? [d] : []
  })
}
