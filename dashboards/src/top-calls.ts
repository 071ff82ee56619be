/**
 * The most expensive model calls of a range, with what made them expensive (tokens, cache reads)
 * and where to open them (trace and span ids).
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, scope, spanConditions } from './filters'
import { count, decimal, float, isoFromClickHouse, queryRows, spansFinal } from './query'
import { assertRange } from './time'
import type { SpanFilter, TimeRange } from './types'

export interface TopCall {
  trace_id: string
  span_id: string
  name: string
  model: string
  provider: string
  cost_usd: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  duration_ms: number
  /** ISO 8601. */
  start_time: string
}

/** Most calls one request may list. */
export const MAX_TOP_CALLS = 100

const row = z.object({
  trace_id: z.string(),
  span_id: z.string(),
  name: z.string(),
  model: z.string(),
  provider: z.string(),
  cost: decimal,
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  duration_ms: float,
  start: z.string(),
})

export async function getTopCalls(
  storage: Storage,
  projectId: string,
  q: TimeRange & { filter?: SpanFilter; limit?: number },
): Promise<TopCall[]> {
  assertRange(q)
  const limit = q.limit ?? 10
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TOP_CALLS) {
    throw new RangeError(`limit: a whole number from 1 to ${MAX_TOP_CALLS}`)
  }
  const where = scope(projectId, q)
  const filters = spanConditions(q.filter)
  const rows = await queryRows(
    storage,
    `SELECT trace_id, span_id, name, model, provider, toString(cost_usd) AS cost, input_tokens, output_tokens,
        cache_read_tokens, duration_ms, toString(start_time) AS start
      FROM ${spansFinal(storage)}
      WHERE ${and([...where.conditions, ...filters.conditions, 'cost_usd IS NOT NULL'])}
      ORDER BY cost_usd DESC, start_time DESC
      LIMIT {limit:UInt32}`,
    { ...where.params, ...filters.params, limit },
    row,
  )
  return rows.map((r) => ({
    trace_id: r.trace_id,
    span_id: r.span_id,
    name: r.name,
    model: r.model,
    provider: r.provider,
    cost_usd: r.cost ?? 0,
    input_tokens: r.input_tokens,
    output_tokens: r.output_tokens,
    cache_read_tokens: r.cache_read_tokens,
    duration_ms: r.duration_ms ?? 0,
    start_time: new Date(isoFromClickHouse(r.start)).toISOString(),
  }))
}
