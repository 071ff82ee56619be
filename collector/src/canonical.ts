import type { SpanKind, SpanStatus } from './conventions'

/**
 * One span as stored in ClickHouse (`spans` table) and returned by the public API.
 * Field names are the public contract (ARCHITECTURE.md, "Runtime contract"): snake_case.
 *
 * Token semantics are normalized once, at ingest: `input_tokens` includes cache reads and
 * cache writes (the GenAI convention), `output_tokens` includes reasoning tokens.
 */
export interface SpanRow {
  project_id: string
  /** 32 lowercase hex chars. */
  trace_id: string
  /** 16 lowercase hex chars. */
  span_id: string
  /** 16 lowercase hex chars, or '' for a root span. */
  parent_span_id: string
  name: string
  kind: SpanKind
  service_name: string
  environment: string
  release: string
  route: string
  /** `gen_ai.operation.name`, '' when not a GenAI span. */
  operation: string
  provider: string
  /** Response model when known, else request model. */
  model: string
  request_model: string
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  reasoning_tokens: number
  /** Decimal string with up to 9 decimals; null when the span could not be priced. */
  cost_usd: string | null
  /** Price table version used, '' when unpriced. */
  price_version: string
  /** Why a span is unpriced ('' when priced or not an LLM span). */
  pricing_note: string
  /** 'YYYY-MM-DD hh:mm:ss.ffffff' in UTC (ClickHouse DateTime64(6) text form). */
  start_time: string
  end_time: string
  duration_ms: number
  ttft_ms: number | null
  status: SpanStatus
  status_message: string
  error_type: string
  user_id: string
  session_id: string
  /** Input content (JSON string of messages) or '' when not captured. */
  input: string
  output: string
  /** Every span attribute not mapped to a column, stringified. Never dropped. */
  attributes: Record<string, string>
  resource_attributes: Record<string, string>
  /** Instrumentation scope name (e.g. '@hindsight/sdk'). */
  scope_name: string
  /** 'YYYY-MM-DD hh:mm:ss.fff' UTC; the newest ingest wins on de-duplication. */
  ingested_at: string
}
