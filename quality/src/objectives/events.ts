/**
 * The good/bad events of an objective per time bucket, read from spans (calls, traces) or scores
 * of the traces its filter matches, and the per-bucket measure the dashboard shows.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { chDateTime, count, final, float, queryRows, TIME_PARAM } from '../db'
import { NOT_EVALUATOR_SPAN, spanFilterSql } from '../online/filter'
import type { EventBucket } from './burn'
import type { Objective } from './types'

export interface ObjectiveBucket extends EventBucket {
  /** The measure of the bucket: latency percentile (ms), mean cost (USD) or mean score; null without events. */
  value: number | null
}

const row = z.object({ bucket: z.string(), total: count, bad: count, value: float })

/** The error budget: the share of bad events the objective allows. */
export function budgetOf(o: Objective, booleanScore = false): number {
  if (o.kind === 'latency') return 1 - (o.percentile ?? 95) / 100
  if (o.kind === 'min_mean_score' && booleanScore) return Math.max(0, 1 - o.threshold)
  return 1 - (o.target ?? (o.kind === 'min_mean_score' ? 0.9 : 0.99))
}

export async function objectiveBuckets(
  storage: Storage,
  projectId: string,
  o: Objective,
  from: Date,
  to: Date,
  intervalSeconds: number,
): Promise<{ buckets: ObjectiveBucket[]; booleanScore: boolean }> {
  const filter = spanFilterSql(o.filter)
  // Calls: model calls unless the filter names kinds.
  const callKinds = o.filter.kind && o.filter.kind.length > 0 ? 'true' : "kind IN ('llm', 'embedding')"
  const params = {
    ...filter.params,
    projectId,
    from: chDateTime(from),
    to: chDateTime(to),
    interval: intervalSeconds,
    threshold: o.threshold,
    q: (o.percentile ?? 95) / 100,
    scoreName: o.score_name ?? '',
  }
  const spanScope = `project_id = {projectId:String} AND start_time >= {from:${TIME_PARAM}} AND start_time < {to:${TIME_PARAM}}
    AND ${NOT_EVALUATOR_SPAN} AND ${filter.sql}`
  const bucketOf = (column: string) =>
    `toString(toStartOfInterval(${column}, toIntervalSecond({interval:UInt32}), 'UTC'))`
  let sql: string
  switch (o.kind) {
    case 'latency':
      sql = `SELECT ${bucketOf('start_time')} AS bucket, count() AS total,
          countIf(duration_ms > {threshold:Float64}) AS bad, quantile({q:Float64})(duration_ms) AS value
        FROM ${final(storage, 'spans')} WHERE ${spanScope} AND ${callKinds} GROUP BY bucket ORDER BY bucket`
      break
    case 'cost_per_call':
      sql = `SELECT ${bucketOf('start_time')} AS bucket, count() AS total,
          countIf(toFloat64(cost_usd) > {threshold:Float64}) AS bad, avg(toFloat64(cost_usd)) AS value
        FROM ${final(storage, 'spans')} WHERE ${spanScope} AND ${callKinds} AND cost_usd IS NOT NULL
        GROUP BY bucket ORDER BY bucket`
      break
    case 'cost_per_trace':
      sql = `SELECT ${bucketOf('first')} AS bucket, count() AS total,
          countIf(cost > {threshold:Float64}) AS bad, avg(cost) AS value
        FROM (SELECT trace_id, min(start_time) AS first, sum(toFloat64(ifNull(cost_usd, 0))) AS cost
              FROM ${final(storage, 'spans')} WHERE ${spanScope} GROUP BY trace_id)
        GROUP BY bucket ORDER BY bucket`
      break
    case 'min_mean_score':
      sql = `SELECT ${bucketOf('created_at')} AS bucket, count() AS total,
          countIf(value < {threshold:Float64}) AS bad, avg(value) AS value, max(data_type = 'boolean') AS boolean_score
        FROM ${final(storage, 'scores')}
        WHERE project_id = {projectId:String} AND name = {scoreName:String} AND status = 'ok'
          AND data_type IN ('numeric', 'boolean')
          AND created_at >= {from:${TIME_PARAM}} AND created_at < {to:${TIME_PARAM}}
          AND trace_id IN (SELECT DISTINCT trace_id FROM ${final(storage, 'spans')}
            WHERE project_id = {projectId:String} AND ${NOT_EVALUATOR_SPAN} AND ${filter.sql}
              AND start_time >= {from:${TIME_PARAM}} - INTERVAL 1 DAY AND start_time < {to:${TIME_PARAM}})
        GROUP BY bucket ORDER BY bucket`
      break
  }
  const rows = await queryRows(storage, sql, params, row.extend({ boolean_score: count.optional() }))
  return {
    buckets: rows.map((r) => ({
      start: new Date(`${r.bucket.replace(' ', 'T')}Z`).getTime(),
      total: r.total,
      bad: r.bad,
      value: r.value,
    })),
    booleanScore: rows.some((r) => r.boolean_score === 1),
  }
}
