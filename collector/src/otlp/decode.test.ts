import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CollectorError } from '../errors'
import { otlpJson, otlpProtobuf } from '../testing'
import { decodeOtlpTraces } from './decode'
import { ExportTraceServiceRequest } from './proto'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const SPAN = 'b7ad6b7169203331'
// Beyond 2^53: a float would round these.
const START = '1767225600123456789'
const END = '1767225601987654321'

const request = {
  resource: { 'service.name': 'checkout' },
  scope: { name: 'my-lib', version: '1.2.3' },
  spans: [
    {
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: '53995c3f42cd8ad8',
      name: 'chat gpt-4o',
      startTimeUnixNano: START,
      endTimeUnixNano: END,
      attributes: {
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1200,
        big: 9007199254740993n,
        temperature: 0.5,
        stream: true,
        stops: ['a', 'b'],
      },
      status: { code: 2, message: 'boom' },
    },
  ],
}

for (const encoding of ['protobuf', 'json'] as const) {
  test(`${encoding}: decodes ids, exact 64-bit times, attributes, resource and scope`, () => {
    const body =
      encoding === 'protobuf' ? otlpProtobuf(request) : Buffer.from(JSON.stringify(otlpJson(request)))
    const [span, ...rest] = decodeOtlpTraces(body, encoding)
    assert.equal(rest.length, 0)
    assert.ok(span)
    assert.equal(span.traceId, TRACE)
    assert.equal(span.spanId, SPAN)
    assert.equal(span.parentSpanId, '53995c3f42cd8ad8')
    assert.equal(span.name, 'chat gpt-4o')
    assert.equal(span.kind, 3)
    assert.equal(span.startTimeUnixNano, BigInt(START))
    assert.equal(span.endTimeUnixNano, BigInt(END))
    assert.equal(span.attributes.get('gen_ai.request.model'), 'gpt-4o')
    assert.equal(span.attributes.get('gen_ai.usage.input_tokens'), 1200n)
    assert.equal(span.attributes.get('big'), 9007199254740993n)
    assert.equal(span.attributes.get('temperature'), 0.5)
    assert.equal(span.attributes.get('stream'), true)
    assert.deepEqual(span.attributes.get('stops'), ['a', 'b'])
    assert.deepEqual(span.status, { code: 2, message: 'boom' })
    assert.equal(span.resource.attributes.get('service.name'), 'checkout')
    assert.deepEqual(
      { name: span.scope.name, version: span.scope.version },
      { name: 'my-lib', version: '1.2.3' },
    )
  })
}

test('json: int64 as numbers, enum names, kvlist and bytes values, uppercase hex ids', () => {
  const body = {
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE.toUpperCase(),
                spanId: SPAN,
                name: 'x',
                kind: 'SPAN_KIND_SERVER',
                startTimeUnixNano: 1767225600000000000,
                endTimeUnixNano: '1767225600500000000',
                attributes: [
                  {
                    key: 'obj',
                    value: {
                      kvlistValue: {
                        values: [
                          { key: 'n', value: { intValue: 7 } },
                          { key: '__proto__', value: { stringValue: 'safe' } },
                        ],
                      },
                    },
                  },
                  { key: 'raw', value: { bytesValue: Buffer.from('hi').toString('base64') } },
                  { key: 'empty', value: {} },
                ],
                status: { code: 'STATUS_CODE_ERROR' },
              },
            ],
          },
        ],
      },
    ],
  }
  const [span] = decodeOtlpTraces(Buffer.from(JSON.stringify(body)), 'json')
  assert.ok(span)
  assert.equal(span.traceId, TRACE)
  assert.equal(span.kind, 2)
  assert.equal(span.status.code, 2)
  assert.equal(span.startTimeUnixNano, 1767225600000000000n)
  const obj = span.attributes.get('obj')
  assert.ok(obj instanceof Map)
  assert.equal(obj.get('n'), 7n)
  assert.equal(obj.get('__proto__'), 'safe')
  assert.deepEqual(span.attributes.get('raw'), new Uint8Array(Buffer.from('hi')))
  assert.equal(span.attributes.get('empty'), null)
})

test('an empty request decodes to no spans', () => {
  assert.deepEqual(decodeOtlpTraces(Buffer.from('{}'), 'json'), [])
  assert.deepEqual(decodeOtlpTraces(Buffer.alloc(0), 'protobuf'), [])
})

function malformed(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(CollectorError.isInstance(error), 'a CollectorError')
    assert.equal(error.code, 'malformed_request')
    assert.equal(error.status, 400)
    assert.match(error.message, pattern)
    return true
  })
}

test('malformed protobuf is a 400 naming the problem', () => {
  // Field 1, length-delimited, claiming far more bytes than present.
  malformed(
    () => decodeOtlpTraces(Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x01]), 'protobuf'),
    /not a valid protobuf ExportTraceServiceRequest/,
  )
  // A valid message followed by garbage with an invalid wire type.
  const valid = Buffer.from(
    ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({})).finish(),
  )
  malformed(() => decodeOtlpTraces(Buffer.concat([valid, Buffer.from([0x0f, 0x0f])]), 'protobuf'), /protobuf/)
})

test('malformed JSON is a 400 naming the problem and where', () => {
  malformed(() => decodeOtlpTraces(Buffer.from('{"resourceSpans": ['), 'json'), /not valid JSON/)
  malformed(() => decodeOtlpTraces(Buffer.from('[1,2]'), 'json'), /must be a JSON object/)
  const wrongType = { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 42 }] }] }] }
  malformed(
    () => decodeOtlpTraces(Buffer.from(JSON.stringify(wrongType)), 'json'),
    /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name/,
  )
  const badTime = { resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 'yesterday' }] }] }] }
  malformed(() => decodeOtlpTraces(Buffer.from(JSON.stringify(badTime)), 'json'), /startTimeUnixNano/)
})
