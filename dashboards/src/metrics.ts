import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, groupExpression, MODEL_KINDS, scope, spanConditions } from './filters'
import {
  clickHouseTime,
  count,
  decimal,
  float,
  quantileTriple,
  queryRows,
  spansFinal,
  TIME_PARAM,
} from './query'
import { assertRange, previousRange } from './time'
import type { Kpis, MetricsQuery, MetricsRow, Overview, SpanFilter, TimeRange } from './types'

/** A safety net for direct callers; the REST API applies its own, tighter cap. */
const MAX_BUCKETS = 10_000

// Aggregates shared by metric rows and KPIs. Cost stays Decimal until toString(). Aliases never
// reuse a column name: ClickHouse would substitute the alias inside other aggregates.
const AGGREGATES = `
  count() AS calls,
  countIf(status = 'error') AS errors,
  sum(input_tokens) AS sum_input_tokens,
  sum(output_tokens) AS sum_output_tokens,
  sum(cache_read_tokens) AS sum_cache_read_tokens,
  sum(cache_write_tokens) AS sum_cache_write_tokens,
  sum(reasoning_tokens) AS sum_reasoning_tokens,
  toString(sum(cost_usd)) AS cost_total,
  countIf(cost_usd IS NOT NULL) AS priced_calls,
  countIf(cost_usd IS NULL AND kind IN {model_kinds:Array(String)}) AS unpriced_calls,
  countIf(cost_usd IS NULL AND kind IN {model_kinds:Array(String)} AND status = 'error'
    AND input_tokens = 0 AND output_tokens = 0) AS unpriced_failed_calls,
  quantiles(0.5, 0.95, 0.99)(duration_ms) AS latency,
  quantile(0.5)(ttft_ms) AS ttft_p50,
  countIf(ttft_ms IS NOT NULL) AS ttft_calls`

const aggregateRow = z.object({
  calls: count,
  errors: count,
  sum_input_tokens: count,
  sum_output_tokens: count,
  sum_cache_read_tokens: count,
  sum_cache_write_tokens: count,
  sum_reasoning_tokens: count,
  cost_total: decimal,
  priced_calls: count,
  unpriced_calls: count,
  unpriced_failed_calls: count,
  latency: quantileTriple,
  ttft_p50: float,
  ttft_calls: count,
})

type AggregateRow = z.output<typeof aggregateRow>

/** A sum over no priced row is NULL in ClickHouse already; keep that explicit. */
function costOf(row: AggregateRow): number | null {
  return row.priced_calls > 0 ? row.cost_total : null
}

function validateInterval(q: MetricsQuery): number | undefined {
  const interval = q.intervalSeconds
  if (interval === undefined) return undefined
  if (!Number.isInteger(interval) || interval < 1 || interval > 366 * 86_400) {
    throw new RangeError('intervalSeconds: must be a whole number of seconds between 1 and 31622400')
  }
  const buckets = Math.ceil((q.to.getTime() - q.from.getTime()) / 1000 / interval)
  if (buckets > MAX_BUCKETS) {
    throw new RangeError(`intervalSeconds: ${buckets} buckets over this range, at most ${MAX_BUCKETS}`)
  }
  return interval
}

/** Most groups one grouped request may ask for with `limit`. */
export const MAX_GROUP_LIMIT = 10_000

function validateLimit(q: MetricsQuery, interval: number | undefined): number | undefined {
  if (q.limit === undefined) return undefined
  if (!q.groupBy || interval !== undefined) {
    throw new RangeError('limit: only for a grouped query without interval')
  }
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_GROUP_LIMIT) {
    throw new RangeError(`limit: a whole number from 1 to ${MAX_GROUP_LIMIT}`)
  }
  return q.limit
}

/**
 * How many distinct groups a grouped query has (what a `limit`ed one leaves out is this minus its
 * rows). Counts groups of matching model calls, like `getMetrics`.
 */
export async function countGroups(storage: Storage, projectId: string, q: MetricsQuery): Promise<number> {
  assertRange(q)
  const group = groupExpression(q)
  if (!group) throw new RangeError('groupBy: countGroups needs a groupBy')
  const where = scope(projectId, q)
  const filters = spanConditions(q.filter)
  const [row] = await queryRows(
    storage,
    `SELECT uniqExact(${group.sql}) AS n FROM ${spansFinal(storage)}
      WHERE ${and([...where.conditions, ...filters.conditions])}`,
    { ...where.params, ...filters.params, ...group.params },
    z.object({ n: count }),
  )
  return row?.n ?? 0
}

/**
 * Aggregated call metrics, optionally grouped and bucketed. Rows exist only where there were
 * calls: missing buckets are not filled with zeros, so charts can show the gap.
 */
export async function getMetrics(
  storage: Storage,
  projectId: string,
  q: MetricsQuery,
): Promise<MetricsRow[]> {
  assertRange(q)
  const interval = validateInterval(q)
  const where = scope(projectId, q)
  const filters = spanConditions(q.filter)
  const keys: string[] = []
  const select: string[] = []
  const params: Record<string, unknown> = {
    ...where.params,
    ...filters.params,
    model_kinds: [...MODEL_KINDS],
  }
  const group = groupExpression(q)
  if (group) {
    select.push(`${group.sql} AS group_value`)
    keys.push('group_value')
    Object.assign(params, group.params)
  }
  if (interval !== undefined) {
    select.push('intDiv(toUnixTimestamp(start_time), {interval:UInt32}) * {interval:UInt32} AS bucket_s')
    keys.push('bucket_s')
    params.interval = interval
  }
  const limit = validateLimit(q, interval)
  const order = [
    ...(interval !== undefined ? ['bucket_s'] : []),
    // With a limit, the most expensive groups are the ones kept.
    ...(limit !== undefined ? ['sum(cost_usd) DESC NULLS LAST'] : []),
    'calls DESC',
    ...(q.groupBy ? ['group_value'] : []),
  ]
  if (limit !== undefined) params.limit = limit
  const sql = `SELECT ${[...select, AGGREGATES].join(', ')}
    FROM ${spansFinal(storage)}
    WHERE ${and([...where.conditions, ...filters.conditions])}
    ${keys.length > 0 ? `GROUP BY ${keys.join(', ')}` : ''}
    ${keys.length === 0 ? 'HAVING calls > 0' : ''}
    ORDER BY ${order.join(', ')}
    ${limit !== undefined ? 'LIMIT {limit:UInt32}' : ''}`
  const row = aggregateRow.extend({
    group_value: z.string().optional(),
    bucket_s: count.optional(),
  })
  const rows = await queryRows(storage, sql, params, row)
  return rows.map((r) => ({
    ...(q.groupBy ? { group: r.group_value ?? '' } : {}),
    ...(r.bucket_s !== undefined ? { bucket: new Date(r.bucket_s * 1000).toISOString() } : {}),
    calls: r.calls,
    errors: r.errors,
    input_tokens: r.sum_input_tokens,
    output_tokens: r.sum_output_tokens,
    cache_read_tokens: r.sum_cache_read_tokens,
    cache_write_tokens: r.sum_cache_write_tokens,
    reasoning_tokens: r.sum_reasoning_tokens,
    cost_usd: costOf(r),
    unpriced_calls: r.unpriced_calls,
    unpriced_failed_calls: r.unpriced_failed_calls,
    p50_ms: r.latency.p50,
    p95_ms: r.latency.p95,
    p99_ms: r.latency.p99,
    ttft_p50_ms: r.ttft_p50,
  }))
}

const EMPTY_KPIS: Kpis = {
  calls: 0,
  errors: 0,
  error_rate: null,
  cost_usd: null,
  unpriced_calls: 0,
  unpriced_failed_calls: 0,
  input_tokens: 0,
  output_tokens: 0,
  total_tokens: 0,
  cost_per_call: null,
  priced_calls: 0,
  ttft_calls: 0,
  p50_ms: null,
  p95_ms: null,
  ttft_p50_ms: null,
}

function toKpis(r: AggregateRow): Kpis {
  const cost = costOf(r)
  return {
    calls: r.calls,
    errors: r.errors,
    error_rate: r.calls > 0 ? r.errors / r.calls : null,
    cost_usd: cost,
    unpriced_calls: r.unpriced_calls,
    unpriced_failed_calls: r.unpriced_failed_calls,
    input_tokens: r.sum_input_tokens,
    output_tokens: r.sum_output_tokens,
    total_tokens: r.sum_input_tokens + r.sum_output_tokens,
    // Over priced calls only: dividing by unpriced calls too would understate the price.
    cost_per_call: cost !== null && r.priced_calls > 0 ? cost / r.priced_calls : null,
    priced_calls: r.priced_calls,
    ttft_calls: r.ttft_calls,
    p50_ms: r.latency.p50,
    p95_ms: r.latency.p95,
    ttft_p50_ms: r.ttft_p50,
  }
}

/**
 * Headline numbers for `range` and for the previous period of the same length, in one scan
 * over both periods.
 */
export async function getOverview(
  storage: Storage,
  projectId: string,
  range: TimeRange,
  filter?: SpanFilter,
): Promise<Overview> {
  assertRange(range)
  const both = { from: previousRange(range).from, to: range.to }
  const where = scope(projectId, both)
  const filters = spanConditions(filter)
  const sql = `SELECT start_time >= {current_from:${TIME_PARAM}} AS is_current, ${AGGREGATES}
    FROM ${spansFinal(storage)}
    WHERE ${and([...where.conditions, ...filters.conditions])}
    GROUP BY is_current`
  const rows = await queryRows(
    storage,
    sql,
    {
      ...where.params,
      ...filters.params,
      model_kinds: [...MODEL_KINDS],
      current_from: clickHouseTime(range.from),
    },
    aggregateRow.extend({ is_current: z.union([z.number(), z.boolean()]).transform(Boolean) }),
  )
  const current = rows.find((r) => r.is_current)
  const previous = rows.find((r) => !r.is_current)
  return {
    current: current ? toKpis(current) : { ...EMPTY_KPIS },
    previous: previous ? toKpis(previous) : { ...EMPTY_KPIS },
  }
}
