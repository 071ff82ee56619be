// The schema-specific protobuf reader (wire.ts, behind decodeOtlpRequest) against protobufjs
// decoding the full opentelemetry-proto schema: the same spans for generated requests with every
// value type, nesting, events, links and unknown fields; robust on damaged bytes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import protobuf from 'protobufjs'
import { CollectorError } from '../errors'
import { decodeOtlpRequest } from './decode'
import { ExportTraceServiceRequest } from './proto'
import type { AttributeValue, OtlpSpan } from './types'

// --- reference: protobufjs message objects converted to OtlpSpan --------------------------------

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

function int64(value: PbInt64 | undefined, unsigned: boolean): bigint {
  if (value === undefined || value === null) return 0n
  if (typeof value === 'number') return BigInt(Math.trunc(value))
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)
  return unsigned ? bits : BigInt.asIntN(64, bits)
}
const hex = (b: Uint8Array | undefined) => (b && b.length > 0 ? Buffer.from(b).toString('hex') : '')
function value(v: PbAnyValue | null | undefined): AttributeValue {
  if (!v) return null
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? ''
    case 'boolValue':
      return v.boolValue ?? false
    case 'intValue':
      return int64(v.intValue, false)
    case 'doubleValue':
      return v.doubleValue ?? 0
    case 'bytesValue':
      return v.bytesValue ?? new Uint8Array()
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(value)
    case 'kvlistValue':
      return attributes(v.kvlistValue?.values)
    default:
      return null
  }
}
function attributes(list: PbKeyValue[] | undefined): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>()
  for (const kv of list ?? []) out.set(kv.key ?? '', value(kv.value))
  return out
}
function reference(body: Buffer): OtlpSpan[] {
  const request = ExportTraceServiceRequest.decode(body) as unknown as PbRequest
  const spans: OtlpSpan[] = []
  for (const rs of request.resourceSpans ?? []) {
    const resource = { attributes: attributes(rs.resource?.attributes) }
    for (const ss of rs.scopeSpans ?? []) {
      const scope = {
        name: ss.scope?.name ?? '',
        version: ss.scope?.version ?? '',
        attributes: attributes(ss.scope?.attributes),
      }
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: s.traceState ?? '',
          name: s.name ?? '',
          kind: s.kind ?? 0,
          startTimeUnixNano: int64(s.startTimeUnixNano, true),
          endTimeUnixNano: int64(s.endTimeUnixNano, true),
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e) => ({
            timeUnixNano: int64(e.timeUnixNano, true),
            name: e.name ?? '',
            attributes: attributes(e.attributes),
          })),
          links: (s.links ?? []).map((l) => ({
            traceId: hex(l.traceId),
            spanId: hex(l.spanId),
            traceState: l.traceState ?? '',
            attributes: attributes(l.attributes),
          })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope,
        })
      }
    }
  }
  return spans
}

/** Uint8Array views and Buffers compare by content. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v]
  if (v instanceof Map) return [...v].map(([k, x]) => [k, plain(x)])
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

// --- generated requests (protobufjs object form) --------------------------------------------------

type Json = Record<string, unknown>
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }))
const bytes = (n: number) =>
  fc.oneof(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ maxLength: 3 }))
const long = (min: bigint, max: bigint) => fc.bigInt({ min, max }).map((b) => b.toString())
const anyValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text.map((s): Json => ({ stringValue: s })),
    fc.boolean().map((b): Json => ({ boolValue: b })),
    long(-(2n ** 63n), 2n ** 63n - 1n).map((i): Json => ({ intValue: i })),
    fc.double().map((d): Json => ({ doubleValue: d })),
    fc.uint8Array({ maxLength: 8 }).map((b): Json => ({ bytesValue: b })),
    fc.array(tie('value'), { maxLength: 3 }).map((values): Json => ({ arrayValue: { values } })),
    fc
      .array(fc.record({ key: text, value: tie('value') }), { maxLength: 3 })
      .map((values): Json => ({ kvlistValue: { values } })),
    fc.constant({}),
  ),
})).value
const keyValues = fc.array(fc.oneof(fc.record({ key: text, value: anyValue }), fc.record({ key: text })), {
  maxLength: 5,
})
const span = fc.record(
  {
    traceId: bytes(16),
    spanId: bytes(8),
    parentSpanId: bytes(8),
    traceState: text,
    name: text,
    kind: fc.integer({ min: -3, max: 9 }),
    startTimeUnixNano: long(0n, 2n ** 64n - 1n),
    endTimeUnixNano: long(0n, 2n ** 64n - 1n),
    attributes: keyValues,
    droppedAttributesCount: fc.nat(),
    events: fc.array(
      fc.record({ timeUnixNano: long(0n, 2n ** 64n - 1n), name: text, attributes: keyValues }),
      {
        maxLength: 2,
      },
    ),
    links: fc.array(
      fc.record({ traceId: bytes(16), spanId: bytes(8), traceState: text, attributes: keyValues }),
      {
        maxLength: 2,
      },
    ),
    status: fc.record({ code: fc.integer({ min: 0, max: 2 }), message: text }),
    flags: fc.nat(),
  },
  { requiredKeys: [] },
)
const request = fc.record({
  resourceSpans: fc.array(
    fc.record(
      {
        resource: fc.record({ attributes: keyValues }),
        schemaUrl: text,
        scopeSpans: fc.array(
          fc.record(
            {
              scope: fc.record({ name: text, version: text, attributes: keyValues }, { requiredKeys: [] }),
              spans: fc.array(span, { maxLength: 4 }),
              schemaUrl: text,
            },
            { requiredKeys: ['spans'] },
          ),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: ['scopeSpans'] },
    ),
    { maxLength: 2 },
  ),
})
const encode = (r: Json) =>
  Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(r)).finish())

test('generated requests decode to exactly what protobufjs decodes', () => {
  fc.assert(
    fc.property(request, (r) => {
      const body = encode(r)
      const { spans, rejections } = decodeOtlpRequest(body, 'protobuf')
      assert.deepEqual(rejections, [])
      assert.deepEqual(plain(spans), plain(reference(body)))
    }),
    { numRuns: 400 },
  )
})

/** A span's bytes with extra fields appended: unknown numbers and a known number with the wrong wire type. */
function withUnknownFields(spanBytes: Uint8Array): Buffer {
  const extra = protobuf.Writer.create()
    .uint32((99 << 3) | 0)
    .uint64(12345)
    .uint32((98 << 3) | 2)
    .string('unknown')
    .uint32((97 << 3) | 5)
    .fixed32(7)
    .uint32((96 << 3) | 1)
    .fixed64(8)
    .uint32((95 << 3) | 3) // a group with a field inside
    .uint32((1 << 3) | 0)
    .uint32(1)
    .uint32((95 << 3) | 4)
    .uint32((5 << 3) | 0) // name (a string) sent as a varint: skipped, the earlier name stays
    .uint32(3)
    .finish()
  return Buffer.concat([spanBytes, extra])
}

test('unknown fields, groups and unexpected wire types are skipped', () => {
  const Span = ExportTraceServiceRequest.root.lookupType('opentelemetry.proto.trace.v1.Span')
  const spanBytes = Span.encode(
    Span.fromObject({
      traceId: Buffer.alloc(16, 1),
      spanId: Buffer.alloc(8, 2),
      name: 'kept',
      attributes: [{ key: 'a', value: { intValue: 5 } }],
    }),
  ).finish()
  const extended = withUnknownFields(spanBytes)
  const scopeSpans = protobuf.Writer.create().uint32(0x12).bytes(extended).finish()
  const resourceSpans = protobuf.Writer.create().uint32(0x12).bytes(scopeSpans).finish()
  const body = Buffer.from(protobuf.Writer.create().uint32(0x0a).bytes(resourceSpans).finish())
  const { spans, rejections } = decodeOtlpRequest(body, 'protobuf')
  assert.deepEqual(rejections, [])
  assert.equal(spans.length, 1)
  assert.equal(spans[0]?.name, 'kept')
  assert.equal(spans[0]?.traceId, '01'.repeat(16))
  assert.equal(spans[0]?.attributes.get('a'), 5n)
})

test('values nested deeper than 32 refuse the span (or, in the resource, the request)', () => {
  let deep: Json = { stringValue: 'x' }
  for (let i = 0; i < 40; i++) deep = { arrayValue: { values: [deep] } }
  const spanWith = (attributes: Json[]) => ({
    traceId: Buffer.alloc(16, 1),
    spanId: Buffer.alloc(8, 2),
    attributes,
  })
  const body = encode({
    resourceSpans: [{ scopeSpans: [{ spans: [spanWith([{ key: 'deep', value: deep }]), spanWith([])] }] }],
  })
  const { spans, rejections } = decodeOtlpRequest(body, 'protobuf')
  assert.equal(spans.length, 1)
  assert.equal(rejections.length, 1)
  assert.match(
    rejections[0]?.message ?? '',
    /spans\[0\] is not a valid protobuf Span: .*nested deeper than 32/,
  )
  const inResource = encode({
    resourceSpans: [{ resource: { attributes: [{ key: 'deep', value: deep }] }, scopeSpans: [] }],
  })
  assert.throws(
    () => decodeOtlpRequest(inResource, 'protobuf'),
    (e: unknown) =>
      CollectorError.isInstance(e) && e.code === 'malformed_request' && /nested deeper/.test(e.message),
  )
})

test('damaged bytes never throw anything but a request refusal, and spans that decode are whole', () => {
  fc.assert(
    fc.property(
      request,
      fc.array(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(),
      (r, flips, cut) => {
        const body = encode(r)
        if (body.length === 0) return
        for (const f of flips) body[f.at % body.length] = (body[f.at % body.length] as number) ^ (1 << f.bit)
        const damaged = body.subarray(0, body.length - (cut % Math.min(body.length, 8)))
        try {
          const { spans } = decodeOtlpRequest(damaged, 'protobuf')
          for (const s of spans) {
            assert.equal(typeof s.traceId, 'string')
            assert.equal(typeof s.startTimeUnixNano, 'bigint')
            assert.ok(s.attributes instanceof Map)
          }
        } catch (error) {
          assert.ok(CollectorError.isInstance(error), `a CollectorError, got ${String(error)}`)
          assert.equal(error.code, 'malformed_request')
        }
      },
    ),
    { numRuns: 1000 },
  )
})

test('repeated strings decode to the same text each time; invalid UTF-8 is flagged every time', () => {
  const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } })
  const span = (i: number) => ({
    traceId: Buffer.alloc(16, i + 1),
    spanId: Buffer.alloc(8, i + 1),
    name: 'chat gpt-4o',
    attributes: [
      attribute('gen_ai.request.model', 'gpt-4o'),
      attribute('BADKEY-X', 'BADVAL-X'),
      attribute(`unique.${i}`, `value ${i}`),
    ],
  })
  const body = Buffer.from(
    ExportTraceServiceRequest.encode(
      ExportTraceServiceRequest.fromObject({
        resourceSpans: [{ scopeSpans: [{ spans: [0, 1, 2].map(span) }] }],
      }),
    ).finish(),
  )
  // Invalid UTF-8 in the key of the first span only, then in the value of the third only.
  const keys = [...body.toString('latin1').matchAll(/BADKEY-X/g)].map((m) => m.index)
  const values = [...body.toString('latin1').matchAll(/BADVAL-X/g)].map((m) => m.index)
  body[(keys[0] as number) + 7] = 0xff
  body[(values[2] as number) + 7] = 0xc3
  const { spans, rejections } = decodeOtlpRequest(body, 'protobuf')
  assert.equal(rejections.length, 0)
  const [first, second, third] = spans
  assert.ok(first && second && third)
  assert.equal(first.attributes.get('hindsight.invalid_utf8'), true)
  assert.equal(first.attributes.get('BADKEY-\uFFFD'), 'BADVAL-X')
  assert.equal(second.attributes.get('hindsight.invalid_utf8'), undefined)
  assert.equal(second.attributes.get('BADKEY-X'), 'BADVAL-X')
  assert.equal(third.attributes.get('hindsight.invalid_utf8'), true)
  assert.equal(third.attributes.get('BADKEY-X'), 'BADVAL-\uFFFD')
  for (const [i, s] of spans.entries()) {
    assert.equal(s.name, 'chat gpt-4o')
    assert.equal(s.attributes.get('gen_ai.request.model'), 'gpt-4o')
    assert.equal(s.attributes.get(`unique.${i}`), `value ${i}`)
  }
})
