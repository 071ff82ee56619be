import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type Attributes,
  context,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api'
import { TraceState } from '@opentelemetry/core'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { LeanSpan } from './lean-span'
import { encodeTraceRequest, TraceRequestBuilder } from './otlp-encode'

/** The reference: the stock OTel serializer our exporter replaces. */
function reference(spans: ReadableSpan[]): Buffer {
  const bytes = ProtobufTraceSerializer.serializeRequest(spans)
  assert.ok(bytes)
  return Buffer.from(bytes)
}

function assertSameBytes(spans: ReadableSpan[]): void {
  const ours = Buffer.from(encodeTraceRequest(spans))
  const theirs = reference(spans)
  assert.equal(ours.length, theirs.length, 'same length')
  assert.ok(ours.equals(theirs), 'identical OTLP bytes')
  // The queue's span-by-span encoding (chunks sent in order) gives the same request.
  const builder = new TraceRequestBuilder()
  for (const s of spans) builder.add(s)
  assert.equal(builder.count, spans.length)
  const request = builder.finish()
  const built = Buffer.concat(request.chunks)
  assert.equal(request.byteLength, built.length, 'declared length')
  assert.ok(built.equals(theirs), 'identical OTLP bytes, encoded span by span')
  request.release()
  assert.equal(builder.count, 0, 'the builder starts over')
}

const resource = resourceFromAttributes({ 'service.name': 'svc', 'service.version': '1.2.3', n: 3 })
const scope = { name: '@hindsight/sdk', version: '0.1.0' }

function span(overrides: Partial<ReadableSpan> & { traceFlags?: number } = {}): ReadableSpan {
  const traceFlags = overrides.traceFlags ?? TraceFlags.SAMPLED
  const base: ReadableSpan = {
    name: 'chat gpt-4o',
    kind: SpanKind.CLIENT,
    spanContext: () => ({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags,
    }),
    parentSpanContext: undefined,
    // 64-bit nanosecond times (the high word is non-zero), one with a carry.
    startTime: [1_767_225_600, 999_999_999] as HrTime,
    endTime: [1_767_225_601, 123_456_789] as HrTime,
    status: { code: SpanStatusCode.UNSET },
    attributes: {},
    links: [],
    events: [],
    duration: [1, 123_456_790],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
  return { ...base, ...overrides }
}

const long = 'lorem ipsum '.repeat(2000)
const attributes: Attributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.temperature': 0.2,
  'gen_ai.request.max_tokens': 200,
  'gen_ai.usage.input_tokens': 0,
  negative: -42,
  big: 2 ** 40 + 7,
  bigNegative: -(2 ** 40),
  huge: 2 ** 70,
  nan: Number.NaN,
  flag: true,
  off: false,
  empty: '',
  unicode: 'héllo wörld — 日本語 🙂',
  shortUnicode: 'é',
  medium: 'x'.repeat(130),
  mediumUnicode: 'ü'.repeat(100),
  'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: long }] }]),
  strings: ['stop', 'length'],
  numbers: [1, 2.5, -3],
  bools: [true, false],
  sparse: ['a', null, 'b'] as string[],
  [`k${'e'.repeat(200)}y`]: 'long key',
}

describe('encodeTraceRequest', () => {
  test('writes exactly the bytes of the OTel protobuf serializer for spans with every field', () => {
    const full = span({
      attributes,
      parentSpanContext: {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: '00f067aa0ba902b7',
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      },
      status: { code: SpanStatusCode.ERROR, message: 'Rate limit — retry later' },
      events: [
        {
          name: 'exception',
          time: [1_767_225_600, 500] as HrTime,
          attributes: { 'exception.type': 'RateLimitError', 'exception.message': long },
        },
        { name: 'no attributes', time: [1_767_225_600, 600] as HrTime, droppedAttributesCount: 2 },
      ],
      links: [
        {
          context: {
            traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
            spanId: '00f067aa0ba902b8',
            traceFlags: TraceFlags.NONE,
            isRemote: true,
            traceState: new TraceState('vendor=value,other=x'),
          },
          attributes: { reason: 'retry' },
          droppedAttributesCount: 1,
        },
        {
          context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4737', spanId: '00f067aa0ba902b9', traceFlags: 1 },
        },
      ],
      droppedAttributesCount: 3,
      droppedEventsCount: 4,
      droppedLinksCount: 5,
    })
    assertSameBytes([full])
    assertSameBytes([full, span(), span({ kind: SpanKind.INTERNAL, name: 'tool lookup' })])
  })

  test('covers trace state, unsampled flags, local parents, bytes and key/value list values', () => {
    const other = span({
      spanContext: () => ({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203332',
        traceFlags: TraceFlags.NONE,
        traceState: new TraceState('a=b'),
      }),
      parentSpanContext: {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
      },
      kind: SpanKind.SERVER,
      attributes: {
        bytes: new Uint8Array([0, 1, 2, 255]) as unknown as string,
        nested: { a: 'b', n: 1, list: ['x'] } as unknown as string,
      },
    })
    assertSameBytes([other])
  })

  test('groups spans by resource and scope like the serializer, with schema URLs and scope attributes', () => {
    const second = resourceFromAttributes(
      { 'service.name': 'host' },
      { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
    )
    const hostScope = {
      name: 'host-instrumentation',
      version: '',
      schemaUrl: 'https://example.com/schema',
      attributes: { 'scope.attr': 'v' },
    } as ReadableSpan['instrumentationScope']
    const spans = [
      span(),
      span({ resource: second }),
      span({ instrumentationScope: hostScope }),
      span({ resource: second, instrumentationScope: hostScope, name: 'é'.repeat(300) }),
      span({ name: 'last' }),
    ]
    assertSameBytes(spans)
    // Cached resource and scope encodings are reused, not stale.
    assertSameBytes(spans.slice().reverse())
  })

  test('length prefixes of every size: tiny spans, values around 127 and 16383 bytes, multi-byte text', () => {
    const sizes = [0, 1, 100, 115, 120, 125, 126, 127, 128, 129, 200, 16_360, 16_370, 16_383, 16_384, 16_400]
    const spans = sizes.flatMap((n) => [
      span({ name: 'x', attributes: {} }),
      span({ name: 'x', attributes: { k: 'a'.repeat(n) } }),
      span({ name: 'x', attributes: { k: 'é'.repeat(Math.ceil(n / 2)), n } }),
      span({
        name: 'é'.repeat(n % 300),
        attributes: { [`k${'y'.repeat(n % 200)}`]: ['a', 'b'.repeat(n % 150)] },
      }),
    ])
    assertSameBytes(spans)
    for (const one of spans) assertSameBytes([one])
  })

  test('encodes many large spans (buffer growth) identically', () => {
    const spans = Array.from({ length: 300 }, (_, i) =>
      span({ attributes: { ...attributes, i, 'gen_ai.output.messages': `${long}${i}` } }),
    )
    assertSameBytes(spans)
    assertSameBytes([])
  })

  test('matches for spans made by the real SDK', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({
      resource,
      sampler: new AlwaysOnSampler(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const tracer = provider.getTracer('@hindsight/sdk', '0.1.0')
    const parent = tracer.startSpan('agent')
    parent.setAttributes(attributes)
    parent.addEvent('event', { k: 'v' })
    parent.recordException(new Error('boom'))
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' })
    parent.end()
    const child = tracer.startSpan('child', {
      kind: SpanKind.CLIENT,
      links: [{ context: parent.spanContext() }],
    })
    child.end()
    await provider.forceFlush()
    const spans = exporter.getFinishedSpans()
    assert.equal(spans.length, 2)
    assertSameBytes(spans)
    await provider.shutdown()
  })

  test('lean spans are encoded from their attribute lists, in the order their attributes object lists', () => {
    const ended: ReadableSpan[] = []
    const processor = {
      onStart: () => {},
      onEnd: (s: ReadableSpan) => ended.push(s),
      forceFlush: async () => {},
      shutdown: async () => {},
    }
    const leanScope = { resource, instrumentationScope: scope, processor }
    const plain = new LeanSpan(leanScope, 'chat gpt-4o', SpanKind.CLIENT, context.active())
    plain.setAttribute('k.dup', 'first')
    plain.setAttributes(attributes)
    plain.setAttribute('k.dup', 'overwritten, in place')
    const indexed = new LeanSpan(leanScope, 'chat gpt-4o', SpanKind.CLIENT, context.active())
    indexed.setAttributes({ b: 1, '7': 'index keys come first in an object', a: 'x', '01': 'not an index' })
    plain.end()
    indexed.end()
    const lean = plain as LeanSpan
    assert.ok(lean.attributeKeys, 'nothing read the object yet: the lists are used')
    assert.equal(indexed.attributeKeys, undefined, 'an index key: the object order is used')
    // Ours first (from the lists), then the reference, which reads each span's attributes object.
    const ours = Buffer.from(encodeTraceRequest(ended))
    assert.ok(ours.equals(reference(ended)), 'identical OTLP bytes')
    assert.equal(lean.attributeKeys, undefined, 'once handed out, the object is what is encoded')
    assert.equal(plain.attributes['k.dup'], 'overwritten, in place')
    assert.equal(Object.keys(plain.attributes)[0], 'k.dup')
    assert.equal(plain.attributes, plain.attributes, 'the same object after the end')
    assertSameBytes(ended)
  })

  test('matches for the lean call spans, which behave like the stock span', () => {
    const ended: ReadableSpan[] = []
    const started: string[] = []
    const processor = {
      onStart: (s: LeanSpan) => started.push(s.name),
      onEnd: (s: ReadableSpan) => ended.push(s),
      forceFlush: async () => {},
      shutdown: async () => {},
    }
    const leanScope = { resource, instrumentationScope: scope, processor }
    const parent = new LeanSpan(leanScope, 'agent', SpanKind.INTERNAL, context.active())
    const child = new LeanSpan(
      leanScope,
      'chat gpt-4o',
      SpanKind.CLIENT,
      trace.setSpan(context.active(), parent),
    )
    assert.deepEqual(started, ['agent', 'chat gpt-4o'])
    assert.equal(child.spanContext().traceId, parent.spanContext().traceId, 'same trace')
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId)
    assert.match(child.spanContext().spanId, /^[0-9a-f]{16}$/)
    assert.notEqual(child.spanContext().spanId, parent.spanContext().spanId)
    child.setAttributes(attributes)
    child.setAttribute('bad', { nested: true } as never)
    for (let i = 0; i < 200; i++) child.setAttribute(`extra.${i}`, i)
    assert.equal(Object.keys(child.attributes).length, 128, 'attribute count limit as the stock span')
    assert.ok(child.droppedAttributesCount > 0)
    child.recordException(new TypeError('boom'))
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' })
    child.setStatus({ code: SpanStatusCode.UNSET })
    child.end()
    child.end()
    child.setAttribute('after.end', 1)
    parent.end([parent.startTime[0] + 1, 5])
    assert.equal(ended.length, 2, 'ends once')
    assert.equal(child.attributes['after.end'], undefined)
    assert.equal(child.status.code, SpanStatusCode.ERROR)
    assert.equal(child.events[0]?.name, 'exception')
    assert.equal(child.events[0]?.attributes?.['exception.type'], 'TypeError')
    assert.ok(child.ended && !child.isRecording())
    assert.ok(child.duration[0] >= 0 && child.duration[1] >= 0)
    assert.equal(parent.endTime[1], 5)
    assertSameBytes(ended)
  })

  test('lean span ids stay valid and distinct across refills of the random pool', () => {
    const processor = {
      onStart: () => {},
      onEnd: () => {},
      forceFlush: async () => {},
      shutdown: async () => {},
    }
    const leanScope = { resource, instrumentationScope: scope, processor }
    const ids = new Set<string>()
    // 24 random bytes per root span, 4096 in the pool: 1000 spans refill it several times.
    for (let i = 0; i < 1000; i++) {
      const { traceId, spanId } = new LeanSpan(leanScope, 'chat', SpanKind.CLIENT, ROOT_CONTEXT).spanContext()
      assert.match(traceId, /^[0-9a-f]{32}$/)
      assert.match(spanId, /^[0-9a-f]{16}$/)
      assert.ok(trace.isSpanContextValid({ traceId, spanId, traceFlags: 1 }))
      ids.add(traceId)
      ids.add(spanId)
    }
    assert.equal(ids.size, 2000, 'no id repeats')
  })
})
