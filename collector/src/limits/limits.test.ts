import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GEN_AI, INGEST_LIMITS } from '../conventions'
import type { AttributeValue, OtlpSpan } from '../otlp/types'
import { DEFAULT_LIMITS, limitSpan, resolveLimits, truncateText } from './limits'

function span(attributes: Array<[string, AttributeValue]>, over: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    parentSpanId: '',
    traceState: '',
    name: 'chat',
    kind: 3,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    attributes: new Map(attributes),
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource: { attributes: new Map() },
    scope: { name: 's', version: '', attributes: new Map() },
    ...over,
  }
}

const limits = resolveLimits()

test('defaults: 10,000 spans, 256 attributes, 64 KiB values, 1 MiB content', () => {
  assert.deepEqual(DEFAULT_LIMITS, {
    maxSpansPerRequest: 10_000,
    maxAttributesPerSpan: 256,
    maxValueLength: 65_536,
    maxContentValueLength: 1_048_576,
    maxKeyLength: 1024,
  })
  assert.equal(resolveLimits({ maxAttributesPerSpan: 0 }).maxAttributesPerSpan, 1)
})

test('a span within the limits is returned as is (no copy)', () => {
  const s = span([
    ['a', 'x'.repeat(1000)],
    [GEN_AI.inputMessages, 'y'.repeat(200_000)],
  ])
  assert.equal(limitSpan(s, limits), s)
})

test('beyond 256 attributes the mapper namespaces are kept first; the dropped count is recorded', () => {
  const attributes: Array<[string, AttributeValue]> = []
  for (let i = 0; i < 300; i++) attributes.push([`app.field_${i}`, i])
  attributes.push([GEN_AI.requestModel, 'gpt-4o'], [GEN_AI.usageInputTokens, 10n])
  const limited = limitSpan(span(attributes), limits)
  assert.equal(limited.attributes.get(GEN_AI.requestModel), 'gpt-4o')
  assert.equal(limited.attributes.get(GEN_AI.usageInputTokens), 10n)
  assert.equal(limited.attributes.get(INGEST_LIMITS.droppedAttributes), 46n)
  // 256 kept plus the marker.
  assert.equal(limited.attributes.size, 257)
  assert.equal(limited.attributes.get('app.field_0'), 0, 'the first ones in arrival order fill the rest')
  assert.equal(limited.attributes.has('app.field_254'), false)
})

test('long values are truncated with a marker and their original length; content may be longer', () => {
  const long = 'x'.repeat(70_000)
  const content = 'm'.repeat(500_000)
  const hugeContent = 'c'.repeat(1_100_000)
  const limited = limitSpan(
    span([
      ['app.blob', long],
      [GEN_AI.inputMessages, content],
      [GEN_AI.outputMessages, hugeContent],
      ['gen_ai.prompt.0.content', hugeContent],
    ]),
    limits,
  )
  const blob = limited.attributes.get('app.blob')
  assert.equal(blob, `${'x'.repeat(65_536)}…[truncated 4464 chars]`)
  assert.equal(limited.attributes.get('hindsight.truncated.app.blob'), 70_000n)
  assert.equal(limited.attributes.get(GEN_AI.inputMessages), content, '500k chars of content are kept')
  assert.equal(
    limited.attributes.get(GEN_AI.outputMessages),
    `${'c'.repeat(1_048_576)}…[truncated 51424 chars]`,
  )
  assert.equal(limited.attributes.get(`hindsight.truncated.${GEN_AI.outputMessages}`), 1_100_000n)
  assert.equal(limited.attributes.get('hindsight.truncated.gen_ai.prompt.0.content'), 1_100_000n)
})

test('truncation never splits a surrogate pair', () => {
  const text = `${'a'.repeat(9)}😀tail`
  assert.equal(truncateText(text, 10), `${'a'.repeat(9)}…[truncated 6 chars]`)
})

test('lone surrogates (from JSON escapes) become U+FFFD and flag the span; names and nested values too', () => {
  const limited = limitSpan(
    span(
      [
        ['app.text', 'bad \ud800 text'],
        ['app.list', ['ok', 'x\udfff']],
      ],
      { name: 'n\ud800' },
    ),
    limits,
  )
  assert.equal(limited.attributes.get('app.text'), 'bad \ufffd text')
  assert.deepEqual(limited.attributes.get('app.list'), ['ok', 'x\ufffd'])
  assert.equal(limited.name, 'n\ufffd')
  assert.equal(limited.attributes.get(INGEST_LIMITS.invalidUtf8), true)
})

test('events, links and the resource are limited too; a resource is limited once per request', () => {
  const resource = { attributes: new Map<string, AttributeValue>([['service.name', 'x'.repeat(70_000)]]) }
  const s = span([], {
    resource,
    events: [{ name: 'e', timeUnixNano: 1n, attributes: new Map([['big', 'y'.repeat(70_000)]]) }],
    links: [{ traceId: 'a', spanId: 'b', traceState: '', attributes: new Map([['k', 'z'.repeat(70_000)]]) }],
  })
  const cache = new WeakMap()
  const first = limitSpan(s, limits, cache)
  const second = limitSpan({ ...s, spanId: 'c'.repeat(16) }, limits, cache)
  assert.equal(first.resource, second.resource, 'one limited resource shared by its spans')
  assert.equal(
    String(first.resource.attributes.get('service.name')).length,
    65_536 + '…[truncated 4464 chars]'.length,
  )
  assert.match(String(first.events[0]?.attributes.get('big')), /…\[truncated 4464 chars\]$/)
  assert.match(String(first.links[0]?.attributes.get('k')), /…\[truncated 4464 chars\]$/)
  assert.equal(s.events[0]?.attributes.get('big'), 'y'.repeat(70_000), 'the input is not modified')
})
