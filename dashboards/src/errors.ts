/**
 * Failed calls by error type over a range: how many, in how many traces, which models, when last
 * seen, and one example trace to open. A span without an error type is grouped under its status
 * message's first words (providers' messages start with the status code), else `unknown`.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, scope, spanConditions } from './filters'
import { count, isoFromClickHouse, queryRows, spansFinal } from './query'
import { assertRange } from './time'
import type { SpanFilter, TimeRange } from './types'

export interface ErrorTypeRow {
  error_type: string
  /** Failed calls of this type. */
  calls: number
  traces: number
  /** Up to five models that failed this way, most frequent first. */
  models: string[]
  /** ISO 8601 start of the newest failed call of this type. */
  last_seen: string
  /** The newest failed call's trace, to open. */
  example_trace_id: string
  /** Its status message (first 300 characters). */
  example_message: string
}

/** Error types listed; the rest are summed into `other_calls`. */
export const MAX_ERROR_TYPES = 20

export interface ErrorBreakdown {
  /** Failed calls in the range (all types). */
  calls: number
  types: ErrorTypeRow[]
  /** Failed calls of the types beyond the first MAX_ERROR_TYPES. */
  other_calls: number
}

const row = z.object({
  error_type: z.string(),
  calls: count,
  traces: count,
  models: z.array(z.string()),
  last_seen: z.string(),
  example_trace_id: z.string(),
  example_message: z.string(),
})

export async function getErrorBreakdown(
  storage: Storage,
  projectId: string,
  q: TimeRange & { filter?: SpanFilter },
): Promise<ErrorBreakdown> {
  assertRange(q)
  // A view filtered to calls that did not fail has no failures to show.
  if (q.filter?.status === 'ok') return { calls: 0, types: [], other_calls: 0 }
  const where = scope(projectId, q)
  const filters = spanConditions({ ...q.filter, status: 'error' })
  // Aliases never reuse a column name: ClickHouse would substitute the alias inside other expressions.
  const sql = `SELECT
      if(error_type != '', error_type, if(status_message != '', substringUTF8(status_message, 1, 60), 'unknown')) AS kind_of_error,
      count() AS n,
      uniqExact(trace_id) AS n_traces,
      arrayFilter(m -> m != '', topK(5)(model)) AS top_models,
      max(start_time) AS newest,
      argMax(trace_id, start_time) AS newest_trace,
      substringUTF8(argMax(status_message, start_time), 1, 300) AS newest_message,
      sum(count()) OVER () AS n_calls
    FROM ${spansFinal(storage)}
    WHERE ${and([...where.conditions, ...filters.conditions])}
    GROUP BY kind_of_error
    ORDER BY n DESC, kind_of_error
    LIMIT {max_types:UInt32}`
  const rows = await queryRows(
    storage,
    `SELECT kind_of_error AS error_type, n AS calls, n_traces AS traces, top_models AS models,
        toString(newest) AS last_seen, newest_trace AS example_trace_id, newest_message AS example_message,
        n_calls AS total_calls
      FROM (${sql})`,
    { ...where.params, ...filters.params, max_types: MAX_ERROR_TYPES },
    row.extend({ total_calls: count }),
  )
  // The window sum counts every type's calls, also those beyond the LIMIT.
  const calls = rows[0]?.total_calls ?? 0
  const types = rows.map(({ total_calls: _total, ...r }) => ({
    ...r,
    last_seen: new Date(isoFromClickHouse(r.last_seen)).toISOString(),
  }))
  return { calls, types, other_calls: calls - types.reduce((n, r) => n + r.calls, 0) }
}
