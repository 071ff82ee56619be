import { isUtf8 } from 'node:buffer'
import { z } from 'zod'
import { INGEST_LIMITS } from '../conventions'
import { CollectorError } from '../errors'
import type { SpanRejection } from '../validate'
import type { AttributeValue, OtlpEvent, OtlpLink, OtlpResource, OtlpScope, OtlpSpan } from './types'
import { MAX_VALUE_DEPTH, readAttribute, readSpan, WireReader, WireStrings } from './wire'

/** Wire encodings of OTLP/HTTP. */
export type OtlpEncoding = 'protobuf' | 'json'

export interface DecodeOptions {
  /** Spans accepted in one request; more → `CollectorError('payload_too_large')`. @default unlimited */
  maxSpans?: number
}

/** A decoded request: the spans, and the spans that could not be decoded, with why. */
export interface DecodedRequest {
  spans: OtlpSpan[]
  /** One per span refused while decoding (`malformed_span`); the other spans are unaffected. */
  rejections: SpanRejection[]
}

/**
 * Decode an OTLP `ExportTraceServiceRequest` (protobuf or OTLP/JSON) into plain spans, each
 * carrying its resource and scope. The envelope is decoded first and each span on its own, so a
 * span with wrong types or broken bytes is refused alone (`malformed_span`) and the rest of the
 * batch is kept. Text that is not valid UTF-8 is decoded with U+FFFD replacements and the span
 * flagged with `hindsight.invalid_utf8`. Throws `CollectorError('malformed_request')` naming the
 * problem when the envelope itself is not a valid request, and `payload_too_large` when it holds
 * more than `maxSpans` spans. Span content (ids, timestamps) is validated later. Protobuf spans
 * are decoded when `spans` or `rejections` is first read (or one by one by
 * `ProtobufRequest.forEach`), from `body`, which must not change until then.
 */
export function decodeOtlpRequest(
  body: Buffer,
  encoding: OtlpEncoding,
  options: DecodeOptions = {},
): DecodedRequest {
  const maxSpans = options.maxSpans ?? Number.POSITIVE_INFINITY
  return encoding === 'protobuf' ? decodeProtobuf(body, maxSpans) : decodeJson(body, maxSpans)
}

/**
 * Decode a request into its spans, refusing the whole request (`malformed_request`) when any
 * span cannot be decoded. `decodeOtlpRequest` keeps the other spans instead.
 */
export function decodeOtlpTraces(body: Buffer, contentType: OtlpEncoding): OtlpSpan[] {
  const { spans, rejections } = decodeOtlpRequest(body, contentType)
  const [first] = rejections
  if (first) throw new CollectorError('malformed_request', first.message)
  return spans
}

function tooManySpans(count: number, max: number): CollectorError {
  return new CollectorError(
    'payload_too_large',
    `request holds ${count} spans; at most ${max} per request are accepted: export smaller batches`,
  )
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The span's attributes with `hindsight.invalid_utf8` set. */
function flagInvalidText(span: OtlpSpan): OtlpSpan {
  const attributes = new Map(span.attributes)
  attributes.set(INGEST_LIMITS.invalidUtf8, true)
  return { ...span, attributes }
}

// ---------------------------------------------------------------------------------------------
// Protobuf, read with the schema-specific reader in `wire.ts` (no protobufjs message objects).
// The envelope is read first and each span on its own, so a span with broken bytes is refused
// alone; the span count is known (and checked against the limit) before any span is decoded.
const MAX_DEPTH = MAX_VALUE_DEPTH

const tagOf = (field: number, wireType: number) => field * 8 + wireType
const LEN = 2
// collector.trace.v1.ExportTraceServiceRequest, trace.v1.ResourceSpans / ScopeSpans,
// resource.v1.Resource, common.v1.InstrumentationScope
const REQUEST_RESOURCE_SPANS = tagOf(1, LEN)
const RESOURCE_SPANS_RESOURCE = tagOf(1, LEN)
const RESOURCE_SPANS_SCOPE_SPANS = tagOf(2, LEN)
const RESOURCE_ATTRIBUTES = tagOf(1, LEN)
const SCOPE_SPANS_SCOPE = tagOf(1, LEN)
const SCOPE_SPANS_SPANS = tagOf(2, LEN)
const SCOPE_NAME = tagOf(1, LEN)
const SCOPE_VERSION = tagOf(2, LEN)
const SCOPE_ATTRIBUTES = tagOf(3, LEN)

interface EnvelopeScopeSpans {
  scope: OtlpScope
  /** Start and end offsets of each span's bytes in the body. */
  spans: number[]
}
interface EnvelopeResourceSpans {
  resource: OtlpResource
  scopeSpans: EnvelopeScopeSpans[]
}

function readResource(r: WireReader): OtlpResource {
  const start = r.span()
  const outer = r.enter(start)
  const attributes = new Map<string, AttributeValue>()
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === RESOURCE_ATTRIBUTES) readAttribute(r, attributes)
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { attributes }
}

function readScope(r: WireReader): OtlpScope {
  const start = r.span()
  const outer = r.enter(start)
  let name = ''
  let version = ''
  const attributes = new Map<string, AttributeValue>()
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === SCOPE_NAME) name = r.string()
    else if (tag === SCOPE_VERSION) version = r.string()
    else if (tag === SCOPE_ATTRIBUTES) readAttribute(r, attributes)
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { name, version, attributes }
}

function readScopeSpans(r: WireReader): EnvelopeScopeSpans {
  const start = r.span()
  const outer = r.enter(start)
  let scope: OtlpScope = { name: '', version: '', attributes: new Map() }
  const spans: number[] = []
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === SCOPE_SPANS_SCOPE) scope = readScope(r)
    else if (tag === SCOPE_SPANS_SPANS) {
      const at = r.span()
      spans.push(at, r.pos)
    } else r.skip(tag & 7)
  }
  r.leave(outer)
  return { scope, spans }
}

function readResourceSpans(r: WireReader): EnvelopeResourceSpans {
  const start = r.span()
  const outer = r.enter(start)
  let resource: OtlpResource = { attributes: new Map() }
  const scopeSpans: EnvelopeScopeSpans[] = []
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === RESOURCE_SPANS_RESOURCE) resource = readResource(r)
    else if (tag === RESOURCE_SPANS_SCOPE_SPANS) scopeSpans.push(readScopeSpans(r))
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { resource, scopeSpans }
}

function decodeProtobuf(body: Buffer, maxSpans: number): DecodedRequest {
  const envelope = new WireReader(body)
  const request: EnvelopeResourceSpans[] = []
  try {
    for (let tag = envelope.tag(); tag !== 0; tag = envelope.tag()) {
      if (tag === REQUEST_RESOURCE_SPANS) request.push(readResourceSpans(envelope))
      else envelope.skip(tag & 7)
    }
  } catch (error) {
    // Values nested too deeply in a resource or scope: the request's own problem, said as such.
    if (CollectorError.isInstance(error)) throw error
    throw new CollectorError(
      'malformed_request',
      `body is not a valid protobuf ExportTraceServiceRequest: ${errorText(error)}`,
    )
  }
  const decoded = new ProtobufRequest(body, request, envelope.invalidUtf8)
  if (decoded.spanCount > maxSpans) throw tooManySpans(decoded.spanCount, maxSpans)
  return decoded
}

/**
 * A protobuf request whose envelope is read (the span count checked) and whose spans are decoded
 * when asked for: all at once through `spans` / `rejections`, or one at a time through `forEach`,
 * which keeps none of them (the ingest path: each span's objects die young instead of living as
 * long as the whole request, which is most of the garbage collector's work under load).
 */
export class ProtobufRequest implements DecodedRequest {
  private decoded: { spans: OtlpSpan[]; rejections: SpanRejection[] } | null = null
  private visitedRejections: SpanRejection[] | null = null
  /** Spans in the request, the ones that will not decode included. */
  readonly spanCount: number

  constructor(
    /** The request body (the spans' bytes). */
    readonly body: Buffer,
    private readonly envelope: EnvelopeResourceSpans[],
    private readonly envelopeRepaired: boolean,
  ) {
    let count = 0
    for (const rs of envelope) for (const ss of rs.scopeSpans) count += ss.spans.length / 2
    this.spanCount = count
  }

  get spans(): OtlpSpan[] {
    return this.decodeAll().spans
  }

  get rejections(): SpanRejection[] {
    return this.visitedRejections ?? this.decodeAll().rejections
  }

  /**
   * Decode each span in order and hand it to `visit`, without keeping it; spans that cannot be
   * decoded become `rejections` (the same ones `rejections` lists afterwards).
   */
  forEach(visit: (span: OtlpSpan, wire: WireStrings | null) => void): void {
    if (this.decoded) {
      for (const span of this.decoded.spans) visit(span, null)
      return
    }
    this.visitedRejections = this.read(visit, new WireStrings(this.body))
  }

  private decodeAll(): { spans: OtlpSpan[]; rejections: SpanRejection[] } {
    if (!this.decoded) {
      const spans: OtlpSpan[] = []
      const rejections = this.read((span) => spans.push(span), null)
      this.decoded = { spans, rejections }
    }
    return this.decoded
  }

  /**
   * Decode every span and hand it to `visit`. With `wire`, the span's long strings are recorded
   * in it (cleared before each span): valid only during that span's `visit`.
   */
  private read(
    visit: (span: OtlpSpan, wire: WireStrings | null) => void,
    wire: WireStrings | null,
  ): SpanRejection[] {
    const body = this.body
    const rejections: SpanRejection[] = []
    for (let r = 0; r < this.envelope.length; r++) {
      const rs = this.envelope[r] as EnvelopeResourceSpans
      for (let s = 0; s < rs.scopeSpans.length; s++) {
        const ss = rs.scopeSpans[s] as EnvelopeScopeSpans
        for (let i = 0; i < ss.spans.length; i += 2) {
          const reader = new WireReader(body, ss.spans[i] ?? 0, ss.spans[i + 1] ?? 0)
          if (wire) {
            wire.clear()
            reader.wireStrings = wire
          }
          let span: OtlpSpan
          try {
            span = readSpan(reader, rs.resource, ss.scope)
          } catch (error) {
            rejections.push({
              reason: 'malformed_span',
              message: `resourceSpans[${r}].scopeSpans[${s}].spans[${i / 2}] is not a valid protobuf Span: ${errorText(error)}`,
            })
            continue
          }
          visit(reader.invalidUtf8 || this.envelopeRepaired ? flagInvalidText(span) : span, wire)
        }
      }
    }
    return rejections
  }
}

// ---------------------------------------------------------------------------------------------
// JSON (OTLP/JSON: the proto3 JSON mapping with hex ids and integer enums). `null` means "unset"
// in proto3 JSON, so every field is nullish.

const uint64 = z.union([
  z.string().regex(/^\d{1,20}$/, 'expected an unsigned 64-bit integer string'),
  z.number().nonnegative().refine(Number.isInteger, 'expected an integer'),
])
const int64 = z.union([
  z.string().regex(/^-?\d{1,19}$/, 'expected a 64-bit integer string'),
  z.number().refine(Number.isInteger, 'expected an integer'),
])
const double = z.union([
  z.number(),
  z.enum(['NaN', 'Infinity', '-Infinity']),
  z.string().regex(/^-?[\d.eE+-]+$/),
])
const enumValue = z.union([z.number().int(), z.string()])
const str = z.string().nullish()

interface JsonAnyValue {
  stringValue?: string | null | undefined
  boolValue?: boolean | null | undefined
  intValue?: string | number | null | undefined
  doubleValue?: string | number | null | undefined
  arrayValue?: { values?: JsonAnyValue[] | null | undefined } | null | undefined
  kvlistValue?: { values?: JsonKeyValue[] | null | undefined } | null | undefined
  bytesValue?: string | null | undefined
}
interface JsonKeyValue {
  key?: string | null | undefined
  value?: JsonAnyValue | null | undefined
}

const anyValueSchema: z.ZodType<JsonAnyValue> = z.lazy(() =>
  z.object({
    stringValue: str,
    boolValue: z.boolean().nullish(),
    intValue: int64.nullish(),
    doubleValue: double.nullish(),
    arrayValue: z.object({ values: z.array(anyValueSchema).nullish() }).nullish(),
    kvlistValue: z.object({ values: z.array(keyValueSchema).nullish() }).nullish(),
    bytesValue: z.base64().nullish(),
  }),
)
const keyValueSchema: z.ZodType<JsonKeyValue> = z.lazy(() =>
  z.object({ key: str, value: anyValueSchema.nullish() }),
)
const attributesSchema = z.array(keyValueSchema).nullish()

const spanSchema = z.object({
  traceId: str,
  spanId: str,
  parentSpanId: str,
  traceState: str,
  name: str,
  kind: enumValue.nullish(),
  startTimeUnixNano: uint64.nullish(),
  endTimeUnixNano: uint64.nullish(),
  attributes: attributesSchema,
  events: z
    .array(z.object({ timeUnixNano: uint64.nullish(), name: str, attributes: attributesSchema }))
    .nullish(),
  links: z
    .array(z.object({ traceId: str, spanId: str, traceState: str, attributes: attributesSchema }))
    .nullish(),
  status: z.object({ code: enumValue.nullish(), message: str }).nullish(),
})

const requestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: attributesSchema }).nullish(),
        scopeSpans: z
          .array(
            z.object({
              scope: z.object({ name: str, version: str, attributes: attributesSchema }).nullish(),
              // Each span is checked on its own (see decodeJson), so one bad span is refused alone.
              spans: z.array(z.unknown()).nullish(),
            }),
          )
          .nullish(),
      }),
    )
    .nullish(),
})

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
}
const STATUS_CODE_NAMES: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
}

// Enums are integers per OTLP/JSON; the proto3 mapping's names are accepted too (some SDKs send them).
function enumNumber(value: number | string | null | undefined, names: Record<string, number>): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'number') return value
  return names[value] ?? 0
}

function jsonValue(value: JsonAnyValue | null | undefined, depth: number): AttributeValue {
  if (!value) return null
  if (depth > MAX_DEPTH)
    throw new CollectorError('malformed_request', `attribute values nested deeper than ${MAX_DEPTH}`)
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue
  if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue
  if (value.intValue !== undefined && value.intValue !== null) return BigInt(value.intValue)
  if (value.doubleValue !== undefined && value.doubleValue !== null) return Number(value.doubleValue)
  if (value.arrayValue) return (value.arrayValue.values ?? []).map((v) => jsonValue(v, depth + 1))
  if (value.kvlistValue) return jsonAttributes(value.kvlistValue.values, depth + 1)
  if (value.bytesValue !== undefined && value.bytesValue !== null) {
    return new Uint8Array(Buffer.from(value.bytesValue, 'base64'))
  }
  return null
}

function jsonAttributes(list: JsonKeyValue[] | null | undefined, depth = 0): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>()
  if (!list) return out
  for (const kv of list) out.set(kv.key ?? '', jsonValue(kv.value, depth))
  return out
}

function toBigInt(value: string | number | null | undefined): bigint {
  return value === null || value === undefined ? 0n : BigInt(value)
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (!issue) return 'invalid request'
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
  return `${path ? `${path.replace(/^\./, '')}: ` : ''}${issue.message}`
}

type JsonSpan = z.infer<typeof spanSchema>

/** Parse with a schema; deep nesting that exhausts the stack is reported like any other issue. */
function safeParse<T>(schema: z.ZodType<T>, value: unknown): { data: T } | { issue: string } {
  try {
    const parsed = schema.safeParse(value)
    return parsed.success ? { data: parsed.data } : { issue: describeIssue(parsed.error) }
  } catch (error) {
    return { issue: `could not be checked: ${errorText(error)}` }
  }
}

function decodeJson(body: Buffer, maxSpans: number): DecodedRequest {
  // Invalid UTF-8 decodes to U+FFFD; spans whose text then holds one are flagged (see below).
  const invalidUtf8 = !isUtf8(body)
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new CollectorError('malformed_request', `body is not valid JSON: ${errorText(error)}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CollectorError('malformed_request', 'body must be a JSON object (an ExportTraceServiceRequest)')
  }
  const parsed = safeParse(requestSchema, raw)
  if ('issue' in parsed) {
    throw new CollectorError(
      'malformed_request',
      `invalid OTLP/JSON ExportTraceServiceRequest at ${parsed.issue}`,
    )
  }
  const resourceSpans = parsed.data.resourceSpans ?? []
  let count = 0
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans ?? []) count += ss.spans?.length ?? 0
  if (count > maxSpans) throw tooManySpans(count, maxSpans)

  const spans: OtlpSpan[] = []
  const rejections: SpanRejection[] = []
  resourceSpans.forEach((rs, r) => {
    const resource: OtlpResource = { attributes: jsonAttributes(rs.resource?.attributes) }
    ;(rs.scopeSpans ?? []).forEach((ss, s) => {
      const scope: OtlpScope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: jsonAttributes(ss.scope?.attributes),
      }
      ;(ss.spans ?? []).forEach((rawSpan, i) => {
        const where = `resourceSpans[${r}].scopeSpans[${s}].spans[${i}]`
        const checked = safeParse(spanSchema, rawSpan)
        if ('issue' in checked) {
          rejections.push({ reason: 'malformed_span', message: `${where}.${checked.issue}` })
          return
        }
        try {
          const span = jsonSpan(checked.data, resource, scope)
          spans.push(invalidUtf8 && hasReplacementChar(span) ? flagInvalidText(span) : span)
        } catch (error) {
          rejections.push({ reason: 'malformed_span', message: `${where}: ${errorText(error)}` })
        }
      })
    })
  })
  return { spans, rejections }
}

function jsonSpan(span: JsonSpan, resource: OtlpResource, scope: OtlpScope): OtlpSpan {
  return {
    traceId: (span.traceId ?? '').toLowerCase(),
    spanId: (span.spanId ?? '').toLowerCase(),
    parentSpanId: (span.parentSpanId ?? '').toLowerCase(),
    traceState: span.traceState ?? '',
    name: span.name ?? '',
    kind: enumNumber(span.kind, SPAN_KIND_NAMES),
    startTimeUnixNano: toBigInt(span.startTimeUnixNano),
    endTimeUnixNano: toBigInt(span.endTimeUnixNano),
    attributes: jsonAttributes(span.attributes),
    events: (span.events ?? []).map(
      (e): OtlpEvent => ({
        timeUnixNano: toBigInt(e.timeUnixNano),
        name: e.name ?? '',
        attributes: jsonAttributes(e.attributes),
      }),
    ),
    links: (span.links ?? []).map(
      (l): OtlpLink => ({
        traceId: (l.traceId ?? '').toLowerCase(),
        spanId: (l.spanId ?? '').toLowerCase(),
        traceState: l.traceState ?? '',
        attributes: jsonAttributes(l.attributes),
      }),
    ),
    status: {
      code: enumNumber(span.status?.code, STATUS_CODE_NAMES),
      message: span.status?.message ?? '',
    },
    resource,
    scope,
  }
}

const REPLACEMENT = '\uFFFD'

function valueHasReplacement(value: AttributeValue): boolean {
  if (typeof value === 'string') return value.includes(REPLACEMENT)
  if (Array.isArray(value)) return value.some(valueHasReplacement)
  if (value instanceof Map) return attributesHaveReplacement(value)
  return false
}

function attributesHaveReplacement(attributes: ReadonlyMap<string, AttributeValue>): boolean {
  for (const [key, value] of attributes) {
    if (key.includes(REPLACEMENT) || valueHasReplacement(value)) return true
  }
  return false
}

/** True when any text of the span (or its resource and scope) holds U+FFFD. */
function hasReplacementChar(span: OtlpSpan): boolean {
  return (
    span.name.includes(REPLACEMENT) ||
    span.status.message.includes(REPLACEMENT) ||
    span.traceState.includes(REPLACEMENT) ||
    span.scope.name.includes(REPLACEMENT) ||
    span.scope.version.includes(REPLACEMENT) ||
    attributesHaveReplacement(span.attributes) ||
    attributesHaveReplacement(span.resource.attributes) ||
    span.events.some((e) => e.name.includes(REPLACEMENT) || attributesHaveReplacement(e.attributes)) ||
    span.links.some((l) => attributesHaveReplacement(l.attributes))
  )
}
