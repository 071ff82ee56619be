import { z } from 'zod'
import { CollectorError } from '../errors'
import { ExportTraceServiceRequest } from './proto'
import type { AttributeValue, OtlpEvent, OtlpLink, OtlpResource, OtlpScope, OtlpSpan } from './types'

/** Wire encodings of OTLP/HTTP. */
export type OtlpEncoding = 'protobuf' | 'json'

/**
 * Decode an OTLP/HTTP `ExportTraceServiceRequest` body into plain spans, each carrying its
 * resource and scope. Throws a `CollectorError('malformed_request')` naming what is wrong when the
 * body is not a valid request; per-span content (ids, timestamps) is checked later, so one bad
 * span does not fail the batch.
 */
export function decodeOtlpTraces(body: Buffer, contentType: OtlpEncoding): OtlpSpan[] {
  return contentType === 'protobuf' ? decodeProtobuf(body) : decodeJson(body)
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
interface PbRequest {
  resourceSpans?: {
    resource?: { attributes?: PbKeyValue[] } | null
    scopeSpans?: {
      scope?: { name?: string; version?: string; attributes?: PbKeyValue[] } | null
      spans?: PbSpan[]
    }[]
  }[]
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

function decodeProtobuf(body: Buffer): OtlpSpan[] {
  let request: PbRequest
  try {
    request = ExportTraceServiceRequest.decode(body) as unknown as PbRequest
  } catch (error) {
    throw new CollectorError(
      'malformed_request',
      `body is not a valid protobuf ExportTraceServiceRequest: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  const spans: OtlpSpan[] = []
  for (const rs of request.resourceSpans ?? []) {
    const resource: OtlpResource = { attributes: pbAttributes(rs.resource?.attributes) }
    for (const ss of rs.scopeSpans ?? []) {
      const scope: OtlpScope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: pbAttributes(ss.scope?.attributes),
      }
      for (const span of ss.spans ?? []) {
        spans.push({
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
        })
      }
    }
  }
  return spans
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
              spans: z.array(spanSchema).nullish(),
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

function decodeJson(body: Buffer): OtlpSpan[] {
  let raw: unknown
  try {
    raw = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new CollectorError(
      'malformed_request',
      `body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CollectorError('malformed_request', 'body must be a JSON object (an ExportTraceServiceRequest)')
  }
  const parsed = requestSchema.safeParse(raw)
  if (!parsed.success) {
    throw new CollectorError(
      'malformed_request',
      `invalid OTLP/JSON ExportTraceServiceRequest at ${describeIssue(parsed.error)}`,
    )
  }
  const spans: OtlpSpan[] = []
  for (const rs of parsed.data.resourceSpans ?? []) {
    const resource: OtlpResource = { attributes: jsonAttributes(rs.resource?.attributes) }
    for (const ss of rs.scopeSpans ?? []) {
      const scope: OtlpScope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: jsonAttributes(ss.scope?.attributes),
      }
      for (const span of ss.spans ?? []) {
        spans.push({
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
        })
      }
    }
  }
  return spans
}
