/**
 * Test helpers: OTLP requests built with protobufjs from the collector's own proto, and in
 * OTLP/JSON, and canonical rows. Used by the collector's tests and exported as
 * `@hindsight/collector/testing` (the one canonical-row builder the other packages' tests extend);
 * not exported from the package index, never used at runtime.
 */
import { randomBytes } from 'node:crypto'
import type { SpanRow } from './canonical'
import { ExportTraceServiceRequest } from './otlp/proto'
import type { Storage } from './storage/client'

export type TestAttribute = string | number | boolean | bigint | string[]

export interface TestSpan {
  traceId?: string
  spanId?: string
  parentSpanId?: string
  name?: string
  /** OTLP SpanKind number. @default 3 (client) */
  kind?: number
  /** Nanoseconds since the epoch, as a decimal string (exact). */
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes?: Record<string, TestAttribute>
  status?: { code: number; message?: string }
}

export interface TestRequest {
  resource?: Record<string, TestAttribute>
  scope?: { name: string; version?: string }
  spans: TestSpan[]
}

export const newTraceId = (): string => randomBytes(16).toString('hex')
export const newSpanId = (): string => randomBytes(8).toString('hex')

/** Nanoseconds as a decimal string for `ms` since the epoch plus extra nanoseconds. */
export function nanos(ms: number, extraNanos = 0): string {
  return (BigInt(ms) * 1_000_000n + BigInt(extraNanos)).toString()
}

function anyValueJson(value: TestAttribute): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  if (typeof value === 'bigint') return { intValue: value.toString() }
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValueJson) } }
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value }
}

function keyValues(attributes: Record<string, TestAttribute> | undefined) {
  return Object.entries(attributes ?? {}).map(([key, value]) => ({ key, value: anyValueJson(value) }))
}

/** The request as an OTLP/JSON object (hex ids, int64 as strings). */
export function otlpJson(request: TestRequest): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(request.resource) },
        scopeSpans: [
          {
            scope: request.scope ?? { name: 'test-scope' },
            spans: request.spans.map((s) => ({
              traceId: s.traceId ?? newTraceId(),
              spanId: s.spanId ?? newSpanId(),
              parentSpanId: s.parentSpanId ?? '',
              name: s.name ?? 'span',
              kind: s.kind ?? 3,
              startTimeUnixNano: s.startTimeUnixNano,
              endTimeUnixNano: s.endTimeUnixNano,
              attributes: keyValues(s.attributes),
              status: s.status ?? { code: 0 },
            })),
          },
        ],
      },
    ],
  }
}

/** The same request encoded as protobuf by protobufjs (ids as bytes, fixed64 times). */
export function otlpProtobuf(request: TestRequest): Buffer {
  const json = otlpJson(request)
  const hexToBytes = (hex: unknown) => Buffer.from(String(hex ?? ''), 'hex')
  const resourceSpans = (json.resourceSpans as Array<Record<string, unknown>>).map((rs) => ({
    ...rs,
    scopeSpans: (rs.scopeSpans as Array<Record<string, unknown>>).map((ss) => ({
      ...ss,
      spans: (ss.spans as Array<Record<string, unknown>>).map((s) => ({
        ...s,
        traceId: hexToBytes(s.traceId),
        spanId: hexToBytes(s.spanId),
        parentSpanId: hexToBytes(s.parentSpanId),
      })),
    })),
  }))
  const message = ExportTraceServiceRequest.fromObject({ resourceSpans })
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish())
}

/**
 * Fault injection in front of the real engine: while `isDown()` is true, inserts (`exec`) fail like
 * a lost connection (ECONNREFUSED); queries (key lookups) keep working. The native connection is
 * hidden so the writer takes the client path the fault sits on.
 */
export function flakyStorage<S extends Pick<Storage, 'client'>>(storage: S, isDown: () => boolean): S {
  const client = new Proxy(storage.client, {
    get(target, prop, receiver) {
      if (prop === 'connection') return undefined
      if (prop === 'exec') {
        return (params: Parameters<typeof target.exec>[0]) =>
          isDown()
            ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
            : target.exec(params)
      }
      return Reflect.get(target, prop, receiver)
    },
  })
  return { ...storage, client }
}

let rowSequence = 0

/** A canonical row with unique ids, for writer tests; every field can be overridden. */
export function testRow(over: Partial<SpanRow> = {}): SpanRow {
  rowSequence += 1
  const n = rowSequence
  return {
    project_id: 'test-project',
    trace_id: n.toString(16).padStart(32, '0'),
    span_id: n.toString(16).padStart(16, '0'),
    parent_span_id: '',
    name: `span ${n}`,
    kind: 'llm',
    service_name: 'svc',
    environment: 'test',
    release: '',
    route: '',
    operation: 'chat',
    provider: 'openai',
    model: 'gpt-4o',
    request_model: 'gpt-4o',
    input_tokens: 10,
    output_tokens: 5,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: '0.000075000',
    price_version: 'test',
    pricing_note: '',
    start_time: '2026-05-28 20:26:40.123456',
    end_time: '2026-05-28 20:26:41.623456',
    duration_ms: 1500,
    ttft_ms: null,
    status: 'ok',
    status_message: '',
    error_type: '',
    user_id: '',
    session_id: '',
    input: '',
    output: '',
    attributes: { 'app.k': 'v' },
    resource_attributes: {},
    scope_name: 'test',
    ingested_at: '2026-05-28 20:27:00.000',
    ...over,
  }
}
