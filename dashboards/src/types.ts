/**
 * The read model's public types: what the web app (tRPC), the public REST API and the back-test
 * engine get from `@hindsight/dashboards`. Field names mirror the public REST contract
 * (snake_case) so every consumer sees the same names.
 */
import type { SpanRow } from '@hindsight/collector/canonical'

/**
 * What metrics can be grouped by: a span column, or (`attribute`) the value of one span attribute
 * key given as `groupKey` (e.g. `hindsight.metadata.customer` for `withAttributes({ metadata })`).
 */
export type GroupBy =
  | 'model'
  | 'provider'
  | 'release'
  | 'route'
  | 'name'
  | 'environment'
  | 'service'
  | 'user'
  | 'attribute'

/** Filters that mean the same on every panel and endpoint. Empty/undefined means "any". */
export interface SpanFilter {
  model?: string[]
  provider?: string[]
  release?: string[]
  route?: string[]
  /** Exact span name (for traces: the root span's or any span's name, see listTraces). */
  name?: string
  status?: 'ok' | 'error'
  /**
   * Which spans count as "calls" in metrics. @default ['llm', 'embedding'] (model calls);
   * 'all' counts every span.
   */
  kind?: string[] | 'all'
}

export interface TimeRange {
  from: Date
  to: Date
}

export interface MetricsQuery extends TimeRange {
  groupBy?: GroupBy
  /** With `groupBy: 'attribute'`: the attribute key (1–200 characters). */
  groupKey?: string
  /** Grouped, without interval: only the `limit` most expensive groups (then most calls). */
  limit?: number
  /** Bucket width in seconds; when set, rows carry `bucket`. */
  intervalSeconds?: number
  filter?: SpanFilter
}

export interface MetricsRow {
  /** Group value ('' for spans without one); absent when no groupBy. */
  group?: string
  /** ISO 8601 start of the bucket; absent when no interval. */
  bucket?: string
  calls: number
  errors: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  reasoning_tokens: number
  /** Sum over priced calls, in USD; null when no call in the row could be priced. */
  cost_usd: number | null
  /** Model calls (llm, embedding) in the row that have no price (the "partial cost" warning). */
  unpriced_calls: number
  /**
   * Of `unpriced_calls`, the failed ones that reported no token usage (a rejected or timed-out
   * request): providers bill nothing for these, so they do not make the cost a lower bound.
   */
  unpriced_failed_calls: number
  p50_ms: number | null
  p95_ms: number | null
  p99_ms: number | null
  ttft_p50_ms: number | null
}

export interface Kpis {
  calls: number
  errors: number
  /** errors / calls, null when there are no calls. */
  error_rate: number | null
  cost_usd: number | null
  unpriced_calls: number
  /** See {@link MetricsRow.unpriced_failed_calls}. */
  unpriced_failed_calls: number
  input_tokens: number
  output_tokens: number
  /** input + output (input already includes cached tokens, output reasoning tokens). */
  total_tokens: number
  /** cost_usd / priced calls, so unpriced calls do not dilute it; null when nothing is priced. */
  cost_per_call: number | null
  /** Calls with a price: what `cost_per_call` averages over. */
  priced_calls: number
  /** Calls that recorded a time to first token (streamed): what `ttft_p50_ms` is over. */
  ttft_calls: number
  p50_ms: number | null
  p95_ms: number | null
  ttft_p50_ms: number | null
}

export interface Overview {
  current: Kpis
  /** The previous period of the same length, for change figures. */
  previous: Kpis
}

export interface TraceListQuery extends TimeRange {
  filter?: SpanFilter
  /** @default 50, at most 500 */
  limit?: number
  /** Opaque cursor from a previous page's `next_cursor`. */
  cursor?: string
}

/**
 * One trace in a list. Token, call and cost totals cover model calls (llm and embedding spans)
 * only, since agent/chain spans may repeat their children's usage; `duration_ms` is the envelope
 * from the first span's start to the last span's end; `start_time` is ISO 8601 UTC.
 */
export interface TraceSummary {
  trace_id: string
  /** Root span's name (or the earliest span's when the root is missing). */
  name: string
  start_time: string
  duration_ms: number
  span_count: number
  llm_calls: number
  input_tokens: number
  output_tokens: number
  cost_usd: number | null
  status: 'ok' | 'error'
  models: string[]
  release: string
  service_name: string
}

export interface TracePage {
  items: TraceSummary[]
  next_cursor: string | null
}

/**
 * A span as the public API returns it: the canonical row without `project_id`, with `cost_usd` as
 * a number and `start_time`, `end_time` and `ingested_at` as ISO 8601 UTC strings
 * ('2025-01-31T12:00:00.123456Z').
 */
export type PublicSpan = Omit<SpanRow, 'project_id' | 'cost_usd'> & { cost_usd: number | null }

export interface TraceDetail {
  trace_id: string
  name: string
  start_time: string
  duration_ms: number
  input_tokens: number
  output_tokens: number
  cost_usd: number | null
  spans: PublicSpan[]
}

export interface FilterValues {
  models: string[]
  providers: string[]
  releases: string[]
  names: string[]
}
