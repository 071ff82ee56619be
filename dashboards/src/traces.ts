import { SPAN_KINDS, SPAN_STATUSES } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, MODEL_KINDS, scope, traceConditions } from './filters'
import { chTime, count, decimal, float, queryRows, spansFinal } from './query'
import { assertRange } from './time'
import type { PublicSpan, TraceDetail, TraceListQuery, TracePage, TraceSummary } from './types'

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 500

interface Cursor {
  /** Trace start in microseconds since the epoch: full DateTime64(6) precision, so ties are exact. */
  startUs: string
  traceId: string
}

const cursorShape = z.object({
  t: z.string().regex(/^\d{1,19}$/),
  id: z.string().min(1).max(128),
})

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.startUs, id: cursor.traceId })).toString('base64url')
}

function decodeCursor(text: string): Cursor {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw new RangeError('cursor: not a cursor returned by this API')
  }
  const parsed = cursorShape.safeParse(decoded)
  if (!parsed.success) throw new RangeError('cursor: not a cursor returned by this API')
  return { startUs: parsed.data.t, traceId: parsed.data.id }
}

function validateLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RangeError(`limit: must be a whole number between 1 and ${MAX_LIMIT}`)
  }
  return limit
}

// Per-trace aggregates. The root is the span without a parent, else the earliest span: ordering
// by (has_parent, start_time) puts it first. Totals cover model calls only, because agent and
// chain spans may repeat their children's usage. Aliases never reuse a column name, since
// ClickHouse would substitute the alias inside the other aggregates.
const TRACE_AGGREGATES = `
  argMin(name, (parent_span_id != '', start_time, span_id)) AS t_name,
  toString(min(start_time)) AS t_start,
  toUnixTimestamp64Micro(min(start_time)) AS t_start_us,
  (toUnixTimestamp64Micro(max(end_time)) - toUnixTimestamp64Micro(min(start_time))) / 1000 AS t_duration_ms,
  count() AS t_span_count,
  countIf(kind IN {model_kinds:Array(String)}) AS t_llm_calls,
  sumIf(input_tokens, kind IN {model_kinds:Array(String)}) AS t_input_tokens,
  sumIf(output_tokens, kind IN {model_kinds:Array(String)}) AS t_output_tokens,
  toString(sumIf(cost_usd, kind IN {model_kinds:Array(String)})) AS t_cost,
  countIf(cost_usd IS NOT NULL AND kind IN {model_kinds:Array(String)}) AS t_priced,
  if(countIf(status = 'error') > 0, 'error', 'ok') AS t_status`

const traceAggregateRow = z.object({
  trace_id: z.string(),
  t_name: z.string(),
  t_start: chTime,
  t_start_us: z.union([z.number(), z.string()]).transform(String),
  t_duration_ms: float,
  t_span_count: count,
  t_llm_calls: count,
  t_input_tokens: count,
  t_output_tokens: count,
  t_cost: decimal,
  t_priced: count,
  t_status: z.enum(['ok', 'error']),
})

const summaryRow = traceAggregateRow.extend({
  t_models: z.array(z.string()),
  t_release: z.string(),
  t_service: z.string(),
})

/**
 * Traces with at least one span in the range, newest first. Filters match when ANY span of the
 * trace matches (a child span's model finds its trace). Keyset-paged on (start, trace_id), so
 * pages never repeat or skip a trace while the data is unchanged.
 */
export async function listTraces(storage: Storage, projectId: string, q: TraceListQuery): Promise<TracePage> {
  assertRange(q)
  const limit = validateLimit(q.limit)
  const cursor = q.cursor ? decodeCursor(q.cursor) : null
  const where = scope(projectId, q)
  const having = traceConditions(q.filter)
  const params: Record<string, unknown> = {
    ...where.params,
    ...having.params,
    model_kinds: [...MODEL_KINDS],
    limit: limit + 1,
  }
  const havingConditions = [...having.conditions]
  if (cursor) {
    havingConditions.push('(t_start_us, trace_id) < ({c_start:Int64}, {c_trace:String})')
    params.c_start = cursor.startUs
    params.c_trace = cursor.traceId
  }
  const sql = `SELECT trace_id, ${TRACE_AGGREGATES},
      arraySort(groupUniqArrayIf(model, model != '')) AS t_models,
      argMinIf(release, (parent_span_id != '', start_time), release != '') AS t_release,
      argMinIf(service_name, (parent_span_id != '', start_time), service_name != '') AS t_service
    FROM ${spansFinal(storage)}
    WHERE ${and(where.conditions)}
    GROUP BY trace_id
    HAVING ${and(havingConditions)}
    ORDER BY t_start_us DESC, trace_id DESC
    LIMIT {limit:UInt32}`
  const rows = await queryRows(storage, sql, params, summaryRow)
  const page = rows.slice(0, limit)
  const items = page.map(
    (r): TraceSummary => ({
      trace_id: r.trace_id,
      name: r.t_name,
      start_time: r.t_start,
      duration_ms: r.t_duration_ms ?? 0,
      span_count: r.t_span_count,
      llm_calls: r.t_llm_calls,
      input_tokens: r.t_input_tokens,
      output_tokens: r.t_output_tokens,
      cost_usd: r.t_priced > 0 ? r.t_cost : null,
      status: r.t_status,
      models: r.t_models,
      release: r.t_release,
      service_name: r.t_service,
    }),
  )
  const last = page[page.length - 1]
  const next_cursor =
    rows.length > limit && last ? encodeCursor({ startUs: last.t_start_us, traceId: last.trace_id }) : null
  return { items, next_cursor }
}

const stringMap = z.record(z.string(), z.string())

const spanRow = z.object({
  trace_id: z.string(),
  span_id: z.string(),
  parent_span_id: z.string(),
  name: z.string(),
  kind: z.enum(SPAN_KINDS).catch('unknown'),
  service_name: z.string(),
  environment: z.string(),
  release: z.string(),
  route: z.string(),
  operation: z.string(),
  provider: z.string(),
  model: z.string(),
  request_model: z.string(),
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_write_tokens: count,
  reasoning_tokens: count,
  cost_usd: decimal,
  price_version: z.string(),
  pricing_note: z.string(),
  start_time: chTime,
  end_time: chTime,
  duration_ms: z.number(),
  ttft_ms: z.number().nullable(),
  status: z.enum(SPAN_STATUSES).catch('unset'),
  status_message: z.string(),
  error_type: z.string(),
  user_id: z.string(),
  session_id: z.string(),
  input: z.string(),
  output: z.string(),
  attributes: stringMap,
  resource_attributes: stringMap,
  scope_name: z.string(),
  ingested_at: chTime,
})

const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, name, kind, service_name, environment, release,
  route, operation, provider, model, request_model, input_tokens, output_tokens, cache_read_tokens,
  cache_write_tokens, reasoning_tokens, toString(cost_usd) AS cost_usd, price_version, pricing_note,
  toString(start_time) AS start_time, toString(end_time) AS end_time, duration_ms, ttft_ms, status,
  status_message, error_type, user_id, session_id, input, output, attributes, resource_attributes,
  scope_name, toString(ingested_at) AS ingested_at`

/**
 * One trace with all its spans ordered by start time, or null when the project has no span
 * with that trace id. Not limited to a time range: the trace_id skip index finds it.
 */
export async function getTrace(
  storage: Storage,
  projectId: string,
  traceId: string,
): Promise<TraceDetail | null> {
  const params = { projectId, traceId, model_kinds: [...MODEL_KINDS] }
  const filter = 'project_id = {projectId:String} AND trace_id = {traceId:String}'
  const [summaries, spans] = await Promise.all([
    queryRows(
      storage,
      `SELECT trace_id, ${TRACE_AGGREGATES} FROM ${spansFinal(storage)} WHERE ${filter} GROUP BY trace_id`,
      params,
      traceAggregateRow,
    ),
    queryRows(
      storage,
      `SELECT ${SPAN_COLUMNS} FROM ${spansFinal(storage)} WHERE ${filter} ORDER BY start_time, span_id`,
      params,
      spanRow,
    ),
  ])
  const summary = summaries[0]
  if (!summary || spans.length === 0) return null
  return {
    trace_id: summary.trace_id,
    name: summary.t_name,
    start_time: summary.t_start,
    duration_ms: summary.t_duration_ms ?? 0,
    input_tokens: summary.t_input_tokens,
    output_tokens: summary.t_output_tokens,
    cost_usd: summary.t_priced > 0 ? summary.t_cost : null,
    spans: spans satisfies PublicSpan[],
  }
}
