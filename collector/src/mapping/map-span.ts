import type { SpanRow } from '../canonical'
import {
  COMMON,
  EVENTS,
  GEN_AI,
  HINDSIGHT,
  OTLP_EXTRA,
  SPAN_KINDS,
  type SpanKind,
  type SpanStatus,
  TRACELOOP,
} from '../conventions'
import type { Attributes, AttributeValue, OtlpSpan } from '../otlp/types'
import { OTLP_SPAN_KINDS, OTLP_STATUS_ERROR, OTLP_STATUS_OK } from '../otlp/types'
import { priceSpan } from '../pricing/price-span'
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table'
import { msToDateTime3, nanosToDateTime64 } from '../time'
import {
  attributeCount,
  attributeNumber,
  attributesToJson,
  attributeText,
  stringifyAttribute,
  toJsonValue,
} from './attribute-values'
import { normalizeTokens } from './tokens'

export interface MapSpanOptions {
  /** Project the span belongs to (from the API key). */
  projectId: string
  /** Clock for `ingested_at`, in ms since the epoch. @default Date.now() */
  now?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
}

/** `gen_ai.operation.name` (or OpenLLMetry's `llm.request.type`) → canonical kind. */
const OPERATION_KINDS: Readonly<Record<string, SpanKind>> = {
  chat: 'llm',
  text_completion: 'llm',
  generate_content: 'llm',
  completion: 'llm',
  embeddings: 'embedding',
  embedding: 'embedding',
  execute_tool: 'tool',
  invoke_agent: 'agent',
  create_agent: 'agent',
  retrieval: 'retrieval',
  invoke_workflow: 'chain',
}

const KIND_SET: ReadonlySet<string> = new Set(SPAN_KINDS)
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** `gen_ai.prompt.<index>.<field>`: groups are the index and the field path. */
const INDEXED_PROMPT = new RegExp(`^${escapeRegExp(TRACELOOP.indexedPromptPrefix)}(\\d+)\\.(.+)$`)
const INDEXED_COMPLETION = new RegExp(`^${escapeRegExp(TRACELOOP.indexedCompletionPrefix)}(\\d+)\\.(.+)$`)

/**
 * Reads span attributes by key and remembers which were mapped to a column, so that everything
 * else ends up in `attributes`. For aliases (current and older names) the first present key wins;
 * an alias with a different value is not consumed and stays visible.
 */
class AttributeReader {
  private readonly used = new Set<string>()

  constructor(private readonly attributes: Attributes) {}

  /** First present value among `keys`, consuming every alias that carries the same value. */
  take(...keys: string[]): AttributeValue | undefined {
    let found: AttributeValue | undefined
    let foundText: string | undefined
    for (const key of keys) {
      const value = this.attributes.get(key)
      if (value === undefined || value === null || value === '') continue
      if (found === undefined) {
        found = value
        this.used.add(key)
        continue
      }
      foundText ??= stringifyAttribute(found)
      if (stringifyAttribute(value) === foundText) this.used.add(key)
    }
    return found
  }

  text(...keys: string[]): string {
    return attributeText(this.take(...keys)).trim()
  }

  release(...keys: string[]): void {
    for (const key of keys) this.used.delete(key)
  }

  /** Consume the keys matching `pattern` and return them with their match groups. */
  takeMatching(pattern: RegExp): Array<{ match: RegExpExecArray; value: AttributeValue }> {
    const out: Array<{ match: RegExpExecArray; value: AttributeValue }> = []
    for (const [key, value] of this.attributes) {
      const match = pattern.exec(key)
      if (!match) continue
      this.used.add(key)
      out.push({ match, value })
    }
    return out
  }

  rest(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [key, value] of this.attributes) {
      if (!this.used.has(key)) defineKey(out, key, stringifyAttribute(value))
    }
    return out
  }
}

function defineKey(target: Record<string, string>, key: string, value: string): void {
  // Plain assignment to `__proto__` would replace the prototype; define it as an ordinary key.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

function allAttributes(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of attributes) defineKey(out, key, stringifyAttribute(value))
  return out
}

/** Content attributes hold JSON strings per the convention; structured values are serialized. */
function contentText(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(toJsonValue(value))
}

/** OpenLLMetry's indexed `gen_ai.prompt.N.<field>` attributes → a JSON array of message objects. */
function assembleIndexed(entries: Array<{ match: RegExpExecArray; value: AttributeValue }>): string {
  if (entries.length === 0) return ''
  const messages = new Map<number, Record<string, unknown>>()
  for (const { match, value } of entries) {
    const index = Number(match[1])
    const field = match[2] ?? ''
    let message = messages.get(index)
    if (!message) {
      message = {}
      messages.set(index, message)
    }
    Object.defineProperty(message, field, { value: toJsonValue(value), enumerable: true, writable: true })
  }
  return JSON.stringify([...messages.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m))
}

function deriveKind(
  override: string,
  operation: string,
  requestType: string,
  model: string,
  hasUsage: boolean,
): SpanKind {
  if (KIND_SET.has(override)) return override as SpanKind
  const fromOperation = OPERATION_KINDS[operation] ?? OPERATION_KINDS[requestType]
  if (fromOperation) return fromOperation
  // A span that reports a model and token usage is a model call even when the instrumentation
  // leaves out the operation name (e.g. the AI SDK's inner `do*` spans with older gen_ai names).
  if (model && hasUsage) return 'llm'
  return 'unknown'
}

function statusOf(code: number): SpanStatus {
  if (code === OTLP_STATUS_ERROR) return 'error'
  if (code === OTLP_STATUS_OK) return 'ok'
  return 'unset'
}

/**
 * Map one decoded OTLP span to the canonical row: GenAI convention names (current and older),
 * normalized tokens, derived kind, status, content, resource fields, and the price. Every
 * attribute not mapped to a column is kept, stringified, in `attributes`.
 */
export function mapSpan(span: OtlpSpan, options: MapSpanOptions): SpanRow {
  const a = new AttributeReader(span.attributes)
  const resource = span.resource.attributes

  const operation = a.text(GEN_AI.operationName)
  const provider = a.text(GEN_AI.providerName, GEN_AI.system)
  const requestModel = a.text(GEN_AI.requestModel)
  const responseModel = a.text(GEN_AI.responseModel)
  const model = responseModel || requestModel

  const inputKeys = [GEN_AI.usageInputTokens, GEN_AI.usagePromptTokens]
  const outputKeys = [GEN_AI.usageOutputTokens, GEN_AI.usageCompletionTokens]
  const usage = normalizeTokens({
    input: attributeCount(a.take(...inputKeys)),
    output: attributeCount(a.take(...outputKeys)),
    cacheRead: attributeCount(a.take(GEN_AI.usageCacheReadInputTokens, GEN_AI.usageCacheReadInputTokensOld)),
    cacheWrite: attributeCount(
      a.take(
        GEN_AI.usageCacheCreationInputTokens,
        GEN_AI.usageCacheWriteInputTokens,
        GEN_AI.usageCacheCreationInputTokensOld,
      ),
    ),
    reasoning: attributeCount(a.take(GEN_AI.usageReasoningOutputTokens)),
  })
  // A corrected count keeps the sender's original attribute beside the canonical column.
  if (usage.adjustments.includes('input_excluded_cache')) a.release(...inputKeys)
  if (usage.adjustments.includes('output_excluded_reasoning')) a.release(...outputKeys)

  const override = a.text(HINDSIGHT.spanKind)
  const requestType = attributeText(span.attributes.get(TRACELOOP.requestType))
  const kind = deriveKind(override, operation, requestType, model, usage.input + usage.output > 0)
  if (!KIND_SET.has(override)) a.release(HINDSIGHT.spanKind)

  const ttftSeconds = attributeNumber(a.take(GEN_AI.responseTimeToFirstChunk))
  const status = statusOf(span.status.code)
  let errorType = a.text(COMMON.errorType)
  if (!errorType && status === 'error') {
    const exception = span.events.find((e) => e.name === EVENTS.exception)
    errorType = attributeText(exception?.attributes.get(COMMON.exceptionType))
  }

  let input = contentText(a.take(GEN_AI.inputMessages))
  if (!input) input = contentText(a.take(GEN_AI.prompt))
  if (!input) input = assembleIndexed(a.takeMatching(INDEXED_PROMPT))
  let output = contentText(a.take(GEN_AI.outputMessages))
  if (!output) output = contentText(a.take(GEN_AI.completion))
  if (!output) output = assembleIndexed(a.takeMatching(INDEXED_COMPLETION))

  const release = a.text(HINDSIGHT.release) || attributeText(resource.get(COMMON.serviceVersion))
  const route = a.text(HINDSIGHT.route)
  const userId = a.text(COMMON.userId)
  const sessionId = a.text(COMMON.sessionId, GEN_AI.conversationId)

  const attributes = a.rest()
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

  const startTime = nanosToDateTime64(span.startTimeUnixNano)
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
    operation,
    provider,
    model,
    request_model: requestModel,
    input_tokens: usage.input,
    output_tokens: usage.output,
    cache_read_tokens: usage.cacheRead,
    cache_write_tokens: usage.cacheWrite,
    reasoning_tokens: usage.reasoning,
    cost_usd: null,
    price_version: '',
    pricing_note: '',
    start_time: startTime,
    end_time: nanosToDateTime64(span.endTimeUnixNano),
    duration_ms: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
    // Rounded to microseconds so 0.35 s reads as 350 ms, not 350.00000000000006.
    ttft_ms: ttftSeconds === undefined ? null : Math.round(ttftSeconds * 1e6) / 1e3,
    status,
    status_message: span.status.message,
    error_type: errorType,
    user_id: userId,
    session_id: sessionId,
    input,
    output,
    attributes,
    resource_attributes: allAttributes(resource),
    scope_name: span.scope.name,
    ingested_at: msToDateTime3(options.now ?? Date.now()),
  }
  Object.assign(row, priceSpan(row, options.priceTable ?? PRICE_TABLE))
  return row
}
