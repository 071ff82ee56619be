import type { TraceFilter } from './types'

const COLUMNS = ['name', 'route', 'model', 'release', 'kind'] as const

/**
 * The SQL condition a span must meet for a {@link TraceFilter} (each given field: any of its
 * values), with its bound parameters prefixed by `prefix`. 'true' when the filter is empty.
 */
export function spanFilterSql(
  filter: TraceFilter,
  prefix = 'f',
): { sql: string; params: Record<string, unknown> } {
  const conditions: string[] = []
  const params: Record<string, unknown> = {}
  for (const column of COLUMNS) {
    const values = filter[column]
    if (!values || values.length === 0) continue
    const param = `${prefix}_${column}`
    conditions.push(`${column} IN {${param}:Array(String)}`)
    params[param] = values
  }
  return { sql: conditions.length > 0 ? conditions.join(' AND ') : 'true', params }
}

/** Spans the quality layer writes itself (judge calls) never count as production traffic. */
export const NOT_EVALUATOR_SPAN = "service_name != 'hindsight-evaluator'"
