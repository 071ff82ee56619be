import type { SpanRow } from '../canonical'
import {
  COMMON,
  EVENTS,
  HINDSIGHT,
  OTLP_EXTRA,
  SPAN_KINDS,
  type SpanKind,
  type SpanStatus,
} from '../conventions'
import type { Attributes, OtlpSpan } from '../otlp/types'
import { OTLP_SPAN_KINDS, OTLP_STATUS_ERROR, OTLP_STATUS_OK } from '../otlp/types'
import { priceSpanAt, type SpanPrice } from '../pricing/price-span'
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table'
import { dateTimeTextToDate, msToDateTime3, nanosToDateTime64 } from '../time'
import { AttributeReader, allAttributes, defineKey } from './attribute-reader'
import { attributeCount, attributesToJson, attributeText } from './attribute-values'
import { DIALECT_MAPPERS, type DialectFields, detectDialect, MAPPING_PRICING_NOTES } from './dialects'

export { MAPPING_PRICING_NOTES }

import { type NormalizedTokens, normalizeTokens } from './tokens'

export interface MapSpanOptions {
  /** Project the span belongs to (from the API key). */
  projectId: string
  /** Clock for `ingested_at`, in ms since the epoch. @default Date.now() */
  now?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
}

const KIND_SET: ReadonlySet<string> = new Set(SPAN_KINDS)
/** Kinds whose spans are model calls: the only ones priced. */
const MODEL_KINDS: ReadonlySet<SpanKind> = new Set<SpanKind>(['llm', 'embedding'])
/**
 * Kinds whose reported usage totals their children's (an agent run, a chain, the AI SDK's outer
 * `generateText`): their token columns stay zero and the usage stays in `attributes`, so a trace's
 * usage is counted once, on its model calls.
 */
const AGGREGATE_KINDS: ReadonlySet<SpanKind> = new Set<SpanKind>(['agent', 'chain'])

const ZERO_TOKENS: NormalizedTokens = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  reasoning: 0,
  adjustments: [],
}

function statusOf(code: number): SpanStatus {
  if (code === OTLP_STATUS_ERROR) return 'error'
  if (code === OTLP_STATUS_OK) return 'ok'
  return 'unset'
}

/** Token columns from the dialect's reading; the attributes they came from are consumed. */
function tokenColumns(a: AttributeReader, fields: DialectFields, kind: SpanKind): NormalizedTokens {
  const usage = fields.usage
  if (!usage || AGGREGATE_KINDS.has(kind)) return ZERO_TOKENS
  const tokens = normalizeTokens(usage.raw)
  a.consume(usage.keys)
  // A corrected count keeps the sender's original attribute beside the canonical column.
  if (tokens.adjustments.includes('input_excluded_cache')) a.release(...usage.inputKeys)
  if (tokens.adjustments.includes('output_excluded_reasoning')) a.release(...usage.outputKeys)
  return tokens
}

const UNPRICED: SpanPrice = { cost_usd: null, price_version: '', pricing_note: '' }
const NANOS_PER_MS = 1_000_000n
/** Year 10000: up to here `nanosToDateTime64` writes the time itself (4-digit years). */
const MAX_TEXT_NANOS = 253_402_300_800_000_000_000n

/*
 * The spans of a request share their resource and ingest time: both are formatted once. The
 * resource's record is shared by those rows, so it is frozen.
 */
const resourceRecords = new WeakMap<Attributes, Readonly<Record<string, string>>>()
function resourceAttributes(resource: Attributes): Record<string, string> {
  let record = resourceRecords.get(resource)
  if (!record) {
    record = Object.freeze(allAttributes(resource))
    resourceRecords.set(resource, record)
  }
  return record as Record<string, string>
}

let lastIngestMs = Number.NaN
let lastIngestText = ''
function ingestedAt(ms: number): string {
  if (ms !== lastIngestMs) {
    lastIngestText = msToDateTime3(ms)
    lastIngestMs = ms
  }
  return lastIngestText
}

/** True when `note` says the mapping could not price the span (see {@link MAPPING_PRICING_NOTES}). */
export function isMappingPricingNote(note: string): boolean {
  return (
    note === MAPPING_PRICING_NOTES.noModel ||
    note === MAPPING_PRICING_NOTES.noUsage ||
    note.startsWith(MAPPING_PRICING_NOTES.unrecognized)
  )
}

/**
 * Price a model call, or say why it has no price: an unrecognized instrumentation or a missing
 * model or usage is unpriced (null, never $0) with the reason in `pricing_note`.
 */
function price(row: SpanRow, fields: DialectFields, table: PriceTable, startNanos: bigint): SpanPrice {
  if (!MODEL_KINDS.has(row.kind)) return UNPRICED
  if (fields.pricingNote) return { ...UNPRICED, pricing_note: fields.pricingNote }
  if (!row.model) return { ...UNPRICED, pricing_note: MAPPING_PRICING_NOTES.noModel }
  if (!fields.usage) return { ...UNPRICED, pricing_note: MAPPING_PRICING_NOTES.noUsage }
  // The SDK splits Anthropic's 1-hour cache writes out of the cache-write count (priced higher).
  const write1h = attributeCount(row.attributes[HINDSIGHT.usageCacheCreation1hInputTokens])
  const priced = write1h ? { ...row, cache_write_1h_tokens: write1h } : row
  // The start time as `row.start_time` reads (whole ms, UTC), without parsing the text back.
  const startMs =
    startNanos >= 0n && startNanos < MAX_TEXT_NANOS
      ? Number(startNanos / NANOS_PER_MS)
      : dateTimeTextToDate(row.start_time).getTime()
  return priceSpanAt(priced, table, startMs)
}

/**
 * Map one decoded OTLP span to the canonical row. The span's dialect (OTel GenAI, OpenLLMetry,
 * OpenInference, Vercel AI SDK `ai.*` or `@ai-sdk/otel`, `@hindsight/sdk`, unknown) is detected
 * and its mapper reads kind, model, provider, tokens, time to first token and content; the rest is
 * common: ids, times, status, error type, release, environment, user, session, price. Every
 * attribute not mapped to a column is kept, stringified, in `attributes`, with the dialect as
 * `hindsight.dialect`.
 */
export function mapSpan(span: OtlpSpan, options: MapSpanOptions): SpanRow {
  const a = new AttributeReader(span.attributes)
  const resource = span.resource.attributes
  const dialect = detectDialect(span)
  const fields = DIALECT_MAPPERS[dialect](a, span, dialect)

  const override = a.peekText(HINDSIGHT.spanKind)
  const kind: SpanKind = KIND_SET.has(override) ? (override as SpanKind) : fields.kind
  if (kind === override) a.consume([HINDSIGHT.spanKind])
  const usage = tokenColumns(a, fields, kind)

  const status = statusOf(span.status.code)
  let errorType = a.text(COMMON.errorType)
  if (!errorType && status === 'error') {
    const exception = span.events.find((e) => e.name === EVENTS.exception)
    errorType = attributeText(exception?.attributes.get(COMMON.exceptionType))
  }

  const release = a.text(HINDSIGHT.release) || attributeText(resource.get(COMMON.serviceVersion))
  const route = a.text(HINDSIGHT.route)
  const userId = a.text(COMMON.userId, ...fields.userKeys)
  const sessionId = a.text(COMMON.sessionId, ...fields.sessionKeys)

  const attributes = a.rest()
  defineKey(attributes, HINDSIGHT.dialect, dialect)
  const otlpKind = OTLP_SPAN_KINDS[span.kind]
  if (otlpKind && otlpKind !== 'unspecified') defineKey(attributes, OTLP_EXTRA.spanKind, otlpKind)
  if (span.traceState) defineKey(attributes, OTLP_EXTRA.traceState, span.traceState)
  if (span.scope.version) defineKey(attributes, OTLP_EXTRA.scopeVersion, span.scope.version)
  if (span.events.length > 0) {
    const events = span.events.map((e) => ({
      name: e.name,
      time_unix_nano: e.timeUnixNano.toString(),
      attributes: attributesToJson(e.attributes),
    }))
    defineKey(attributes, OTLP_EXTRA.events, JSON.stringify(events))
  }
  if (span.links.length > 0) {
    const links = span.links.map((l) => ({
      trace_id: l.traceId,
      span_id: l.spanId,
      attributes: attributesToJson(l.attributes),
    }))
    defineKey(attributes, OTLP_EXTRA.links, JSON.stringify(links))
  }

  const row: SpanRow = {
    project_id: options.projectId,
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: /^0+$/.test(span.parentSpanId) ? '' : span.parentSpanId,
    name: span.name,
    kind,
    service_name: attributeText(resource.get(COMMON.serviceName)),
    environment:
      attributeText(resource.get(COMMON.deploymentEnvironment)) ||
      attributeText(resource.get(COMMON.deploymentEnvironmentOld)),
    release,
    route,
    operation: fields.operation,
    provider: fields.provider,
    model: fields.model,
    request_model: fields.requestModel,
    input_tokens: usage.input,
    output_tokens: usage.output,
    cache_read_tokens: usage.cacheRead,
    cache_write_tokens: usage.cacheWrite,
    reasoning_tokens: usage.reasoning,
    cost_usd: null,
    price_version: '',
    pricing_note: '',
    start_time: nanosToDateTime64(span.startTimeUnixNano),
    end_time: nanosToDateTime64(span.endTimeUnixNano),
    duration_ms: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
    ttft_ms: fields.ttftMs,
    status,
    status_message: span.status.message,
    error_type: errorType,
    user_id: userId,
    session_id: sessionId,
    input: fields.input,
    output: fields.output,
    attributes,
    resource_attributes: resourceAttributes(resource),
    scope_name: span.scope.name,
    ingested_at: ingestedAt(options.now ?? Date.now()),
  }
  const priced = price(row, fields, options.priceTable ?? PRICE_TABLE, span.startTimeUnixNano)
  row.cost_usd = priced.cost_usd
  row.price_version = priced.price_version
  row.pricing_note = priced.pricing_note
  return row
}
