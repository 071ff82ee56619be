import { clickHouseTime, TIME_PARAM } from './query'
import type { GroupBy, SpanFilter, TimeRange } from './types'

/** Kinds that count as model calls: what "calls", token and cost totals are about. */
export const MODEL_KINDS = ['llm', 'embedding'] as const

export interface SqlParts {
  conditions: string[]
  params: Record<string, unknown>
}

/** `project_id` and the half-open time range on `start_time`; every span query starts here. */
export function scope(projectId: string, range: TimeRange): SqlParts {
  return {
    conditions: [
      'project_id = {projectId:String}',
      `start_time >= {from:${TIME_PARAM}}`,
      `start_time < {to:${TIME_PARAM}}`,
    ],
    params: { projectId, from: clickHouseTime(range.from), to: clickHouseTime(range.to) },
  }
}

function nonEmpty(values: string[] | undefined): values is string[] {
  return values !== undefined && values.length > 0
}

/**
 * The model, provider, release, route and name filters, in that order, each condition passed through
 * `wrap` (identity for a span, "any span matches" for a trace). Column names are constants; the
 * values are bound.
 */
function fieldConditions(filter: SpanFilter | undefined, wrap: (condition: string) => string): SqlParts {
  const conditions: string[] = []
  const params: Record<string, unknown> = {}
  for (const column of ['model', 'provider', 'release', 'route'] as const) {
    const values = filter?.[column]
    if (nonEmpty(values)) {
      conditions.push(wrap(`${column} IN {f_${column}:Array(String)}`))
      params[`f_${column}`] = values
    }
  }
  if (filter?.name !== undefined && filter.name !== '') {
    conditions.push(wrap('name = {f_name:String}'))
    params.f_name = filter.name
  }
  return { conditions, params }
}

/**
 * Span-level conditions: each filter applies to the span itself. Used by metrics, where a row
 * is an aggregate of matching spans. `status: 'ok'` means "not an error" (unset counts as ok).
 */
export function spanConditions(filter: SpanFilter | undefined): SqlParts {
  const { conditions, params } = fieldConditions(filter, (condition) => condition)
  if (filter?.status === 'error') conditions.push("status = 'error'")
  if (filter?.status === 'ok') conditions.push("status != 'error'")
  const kinds = filter?.kind ?? [...MODEL_KINDS]
  if (kinds !== 'all') {
    conditions.push('kind IN {f_kind:Array(String)}')
    params.f_kind = kinds
  }
  return { conditions, params }
}

/**
 * Trace-level conditions for a `GROUP BY trace_id ... HAVING`: each filter matches when ANY span
 * of the trace matches it, so a filter on a child span's model finds the trace. Status is the
 * trace's status: 'error' when any span failed, 'ok' when none did. `kind` restricts nothing
 * unless given explicitly (a trace is more than its model calls).
 */
export function traceConditions(filter: SpanFilter | undefined): SqlParts {
  const { conditions, params } = fieldConditions(filter, (condition) => `countIf(${condition}) > 0`)
  if (filter?.status === 'error') conditions.push("countIf(status = 'error') > 0")
  if (filter?.status === 'ok') conditions.push("countIf(status = 'error') = 0")
  if (Array.isArray(filter?.kind) && filter.kind.length > 0) {
    conditions.push('countIf(kind IN {f_kind:Array(String)}) > 0')
    params.f_kind = filter.kind
  }
  return { conditions, params }
}

/** Joins conditions with AND; `1` when there are none, so callers can always write `WHERE`. */
export function and(conditions: string[]): string {
  return conditions.length === 0 ? '1' : conditions.join(' AND ')
}

/** Group-by keys map to fixed column names; nothing user-supplied reaches the SQL text. */
const GROUP_COLUMNS: Record<Exclude<GroupBy, 'attribute'>, string> = {
  model: 'model',
  provider: 'provider',
  release: 'release',
  route: 'route',
  name: 'name',
  environment: 'environment',
  service: 'service_name',
  user: 'user_id',
}

/** Longest attribute key `groupBy: 'attribute'` accepts. */
export const MAX_GROUP_KEY_LENGTH = 200

/**
 * The SQL expression a group-by reads, or null without one. An attribute key is bound as a
 * parameter (`attributes[{group_key:String}]`); a missing or over-long key is a RangeError.
 */
export function groupExpression(q: {
  groupBy?: GroupBy
  groupKey?: string
}): (SqlParts & { sql: string }) | null {
  if (!q.groupBy) return null
  if (q.groupBy === 'attribute') {
    const key = q.groupKey?.trim() ?? ''
    if (key === '' || key.length > MAX_GROUP_KEY_LENGTH) {
      throw new RangeError(`groupKey: the attribute key to group by, 1 to ${MAX_GROUP_KEY_LENGTH} characters`)
    }
    return { sql: 'attributes[{group_key:String}]', conditions: [], params: { group_key: key } }
  }
  return { sql: GROUP_COLUMNS[q.groupBy], conditions: [], params: {} }
}
