import { isUtf8 } from 'node:buffer'
import protobuf from 'protobufjs'
import { z } from 'zod'
import { INGEST_LIMITS } from '../conventions'
import { CollectorError } from '../errors'
import type { SpanRejection } from '../validate'
import { OTLP_PROTO_SOURCES, otlpRoot } from './proto'
import type { AttributeValue, OtlpEvent, OtlpLink, OtlpResource, OtlpScope, OtlpSpan } from './types'

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
 * more than `maxSpans` spans. Span content (ids, timestamps) is validated later.
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
// Protobuf. protobufjs enforces the wire schema; the interfaces below describe what its decoder
// returns (unset scalars read as defaults from the prototype, oneof members via `value`).

// protobufjs returns 64-bit fields as long.js `Long` objects (two 32-bit halves).
type PbInt64 = { low: number; high: number; unsigned: boolean } | number

interface PbAnyValue {
  value?: string
  stringValue?: string
  boolValue?: boolean
  intValue?: PbInt64
  doubleValue?: number
  arrayValue?: { values?: PbAnyValue[] } | null
  kvlistValue?: { values?: PbKeyValue[] } | null
  bytesValue?: Uint8Array
}
interface PbKeyValue {
  key?: string
  value?: PbAnyValue | null
}
interface PbSpan {
  traceId?: Uint8Array
  spanId?: Uint8Array
  parentSpanId?: Uint8Array
  traceState?: string
  name?: string
  kind?: number
  startTimeUnixNano?: PbInt64
  endTimeUnixNano?: PbInt64
  attributes?: PbKeyValue[]
  events?: { timeUnixNano?: PbInt64; name?: string; attributes?: PbKeyValue[] }[]
  links?: { traceId?: Uint8Array; spanId?: Uint8Array; traceState?: string; attributes?: PbKeyValue[] }[]
  status?: { code?: number; message?: string } | null
}
const MAX_DEPTH = 32

function pbInt64(value: PbInt64 | undefined, unsigned: boolean): bigint {
  if (value === undefined || value === null) return 0n
  if (typeof value === 'number') return BigInt(Math.trunc(value))
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)
  return unsigned ? bits : BigInt.asIntN(64, bits)
}

function hex(bytes: Uint8Array | undefined): string {
  if (!bytes || bytes.length === 0) return ''
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

function pbValue(value: PbAnyValue | null | undefined, depth: number): AttributeValue {
  if (!value) return null
  if (depth > MAX_DEPTH)
    throw new CollectorError('malformed_request', `attribute values nested deeper than ${MAX_DEPTH}`)
  switch (value.value) {
    case 'stringValue':
      return value.stringValue ?? ''
    case 'boolValue':
      return value.boolValue ?? false
    case 'intValue':
      return pbInt64(value.intValue, false)
    case 'doubleValue':
      return value.doubleValue ?? 0
    case 'bytesValue':
      return value.bytesValue ?? new Uint8Array()
    case 'arrayValue':
      return (value.arrayValue?.values ?? []).map((v) => pbValue(v, depth + 1))
    case 'kvlistValue':
      return pbAttributes(value.kvlistValue?.values, depth + 1)
    default:
      return null
  }
}

function pbAttributes(list: PbKeyValue[] | undefined, depth = 0): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>()
  if (!list) return out
  for (const kv of list) out.set(kv.key ?? '', pbValue(kv.value, depth))
  return out
}

/*
 * The envelope is decoded with a variant of the schema whose `ScopeSpans.spans` are `bytes`
 * (the same wire format as an embedded message): spans can then be counted before any is
 * decoded, and each is decoded on its own so a broken one is refused alone.
 */
const LAZY_PROTO = `
syntax = "proto3";
package hindsight.lazy;

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated bytes spans = 2;
}
`

function buildLazyRoot(): protobuf.Root {
  const root = new protobuf.Root()
  for (const file of [
    'opentelemetry/proto/common/v1/common.proto',
    'opentelemetry/proto/resource/v1/resource.proto',
  ]) {
    const source = OTLP_PROTO_SOURCES[file]
    if (source) protobuf.parse(source, root, { keepCase: false })
  }
  protobuf.parse(LAZY_PROTO, root, { keepCase: false })
  root.resolveAll()
  return root
}

const LazyRequest = buildLazyRoot().lookupType('hindsight.lazy.ExportTraceServiceRequest')
const SpanType = otlpRoot.lookupType('opentelemetry.proto.trace.v1.Span')

interface PbLazyRequest {
  resourceSpans?: {
    resource?: { attributes?: PbKeyValue[] } | null
    scopeSpans?: {
      scope?: { name?: string; version?: string; attributes?: PbKeyValue[] } | null
      spans?: Uint8Array[]
    }[]
  }[]
}

/**
 * Decode with protobuf's UTF-8 check (proto3 strings must be UTF-8); when that fails, decode
 * again replacing invalid sequences with U+FFFD. `repaired` tells which one succeeded.
 */
function decodeTolerant<T>(type: protobuf.Type, bytes: Uint8Array): { message: T; repaired: boolean } {
  try {
    return { message: type.decode(bytes) as unknown as T, repaired: false }
  } catch (strictError) {
    const reader = protobuf.Reader.create(bytes)
    // Buffer-backed readers decode strings with replacement characters; use that for every string.
    Object.assign(reader, { stringVerify: reader.string })
    try {
      return { message: type.decode(reader) as unknown as T, repaired: true }
    } catch {
      throw strictError
    }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function decodeProtobuf(body: Buffer, maxSpans: number): DecodedRequest {
  let request: PbLazyRequest
  let envelopeRepaired: boolean
  try {
    const decoded = decodeTolerant<PbLazyRequest>(LazyRequest, body)
    request = decoded.message
    envelopeRepaired = decoded.repaired
  } catch (error) {
    throw new CollectorError(
      'malformed_request',
      `body is not a valid protobuf ExportTraceServiceRequest: ${errorText(error)}`,
    )
  }
  let count = 0
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) count += ss.spans?.length ?? 0
  if (count > maxSpans) throw tooManySpans(count, maxSpans)

  const spans: OtlpSpan[] = []
  const rejections: SpanRejection[] = []
  ;(request.resourceSpans ?? []).forEach((rs, r) => {
    const resource: OtlpResource = { attributes: pbAttributes(rs.resource?.attributes) }
    ;(rs.scopeSpans ?? []).forEach((ss, s) => {
      const scope: OtlpScope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: pbAttributes(ss.scope?.attributes),
      }
      ;(ss.spans ?? []).forEach((bytes, i) => {
        try {
          const { message, repaired } = decodeTolerant<PbSpan>(SpanType, asBuffer(bytes))
          const span = pbSpan(message, resource, scope)
          spans.push(repaired || envelopeRepaired ? flagInvalidText(span) : span)
        } catch (error) {
          rejections.push({
            reason: 'malformed_span',
            message: `resourceSpans[${r}].scopeSpans[${s}].spans[${i}] is not a valid protobuf Span: ${errorText(error)}`,
          })
        }
      })
    })
  })
  return { spans, rejections }
}

function pbSpan(span: PbSpan, resource: OtlpResource, scope: OtlpScope): OtlpSpan {
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: hex(span.parentSpanId),
    traceState: span.traceState ?? '',
    name: span.name ?? '',
    kind: span.kind ?? 0,
    startTimeUnixNano: pbInt64(span.startTimeUnixNano, true),
    endTimeUnixNano: pbInt64(span.endTimeUnixNano, true),
    attributes: pbAttributes(span.attributes),
    events: (span.events ?? []).map(
      (e): OtlpEvent => ({
        timeUnixNano: pbInt64(e.timeUnixNano, true),
        name: e.name ?? '',
        attributes: pbAttributes(e.attributes),
      }),
    ),
    links: (span.links ?? []).map(
      (l): OtlpLink => ({
        traceId: hex(l.traceId),
        spanId: hex(l.spanId),
        traceState: l.traceState ?? '',
        attributes: pbAttributes(l.attributes),
      }),
    ),
    status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
    resource,
    scope,
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
