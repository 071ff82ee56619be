import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import protobuf from 'protobufjs'
import { GEN_AI, INGEST_LIMITS } from '../conventions'
import { otlpRoot } from '../otlp/proto'
import { type RunningCollector, startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'
import { nanos, newSpanId, newTraceId, otlpJson, otlpProtobuf, type TestSpan } from '../testing'

const KEY = 'hs_test_bad_input_key_0123456789'
let dir: string
let storage: Storage
let projectId: string
let collector: RunningCollector

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-bad-input-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_bad_input_test' })
  await migrate(storage)
  const projects = new ProjectRepository(storage)
  projectId = (await projects.ensure('BadInput', KEY)).project.id
  collector = await startCollector({
    storage,
    projects,
    port: 0,
    grpcPort: false,
    batchMaxDelayMs: 20,
    limits: { maxSpansPerRequest: 100 },
    onError: () => {},
  })
})

after(async () => {
  await collector.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const auth = { authorization: `Bearer ${KEY}` }

async function post(body: Buffer | string, contentType: string): Promise<{ status: number; body: string }> {
  const reply = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { ...auth, 'content-type': contentType },
    body,
  })
  return { status: reply.status, body: Buffer.from(await reply.arrayBuffer()).toString('latin1') }
}

async function stored(
  traceId: string,
): Promise<Array<{ span_id: string; name: string; attributes: Record<string, string> }>> {
  await collector.flush()
  const result = await storage.client.query({
    query: `SELECT span_id, name, attributes FROM ${storage.database}.spans FINAL
            WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY span_id`,
    query_params: { p: projectId, t: traceId },
    format: 'JSONEachRow',
  })
  return result.json()
}

function span(traceId: string, over: Partial<TestSpan> = {}): TestSpan {
  const start = Date.now() - 1000
  return {
    traceId,
    spanId: newSpanId(),
    name: 'chat',
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(start + 100),
    attributes: { [GEN_AI.operationName]: 'chat', [GEN_AI.requestModel]: 'gpt-4o' },
    ...over,
  }
}

test('more spans than the per-request limit: 413 naming the limit', async () => {
  const traceId = newTraceId()
  const spans = Array.from({ length: 101 }, () => span(traceId))
  const reply = await post(otlpProtobuf({ spans }), 'application/x-protobuf')
  assert.equal(reply.status, 413)
  assert.match(reply.body, /101 spans; at most 100 per request/)
  const json = await post(JSON.stringify(otlpJson({ spans })), 'application/json')
  assert.equal(json.status, 413)
  assert.match(JSON.parse(json.body).message, /export smaller batches/)
  assert.equal((await stored(traceId)).length, 0)
})

test('invalid UTF-8 in a protobuf string: decoded with U+FFFD and flagged; the other span is untouched', async () => {
  const traceId = newTraceId()
  const bad = span(traceId, { name: 'MARKERabc' })
  const good = span(traceId, { name: 'clean' })
  const body = otlpProtobuf({ spans: [bad, good] })
  const at = body.indexOf('MARKERabc')
  body[at + 6] = 0xff
  const reply = await post(body, 'application/x-protobuf')
  assert.equal(reply.status, 200)
  const rows = await stored(traceId)
  const flagged = rows.find((r) => r.span_id === bad.spanId)
  const clean = rows.find((r) => r.span_id === good.spanId)
  assert.equal(flagged?.name, 'MARKER\ufffdbc')
  assert.equal(flagged?.attributes[INGEST_LIMITS.invalidUtf8], 'true')
  assert.equal(clean?.name, 'clean')
  assert.equal(clean?.attributes[INGEST_LIMITS.invalidUtf8], undefined)
})

test('invalid UTF-8 in a JSON body: the affected span is flagged', async () => {
  const traceId = newTraceId()
  const bad = span(traceId, { name: 'JSONMARK' })
  const good = span(traceId, { name: 'fine' })
  const body = Buffer.from(JSON.stringify(otlpJson({ spans: [bad, good] })))
  body[body.indexOf('JSONMARK') + 4] = 0xc3 // a lead byte followed by ASCII: invalid
  const reply = await post(body, 'application/json')
  assert.equal(reply.status, 200, reply.body)
  const rows = await stored(traceId)
  assert.equal(rows.find((r) => r.span_id === bad.spanId)?.attributes[INGEST_LIMITS.invalidUtf8], 'true')
  assert.equal(rows.find((r) => r.span_id === good.spanId)?.attributes[INGEST_LIMITS.invalidUtf8], undefined)
})

test('JSON spans with wrong types are refused one by one, naming the field; the rest is stored', async () => {
  const traceId = newTraceId()
  const good = span(traceId)
  const request = otlpJson({ spans: [good] }) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }>
  }
  const spans = request.resourceSpans[0]?.scopeSpans[0]?.spans
  assert.ok(spans)
  spans.push(42, { ...(spans[0] as object), spanId: newSpanId(), startTimeUnixNano: { when: 'now' } })
  spans.push({
    ...(spans[0] as object),
    spanId: newSpanId(),
    attributes: [{ key: 'k', value: { intValue: 'x' } }],
  })
  const reply = await post(JSON.stringify(request), 'application/json')
  assert.equal(reply.status, 200)
  const partial = JSON.parse(reply.body).partialSuccess as { rejectedSpans: string; errorMessage: string }
  assert.equal(partial.rejectedSpans, '3')
  assert.match(partial.errorMessage, /malformed_span x3/)
  assert.match(partial.errorMessage, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]/)
  assert.deepEqual(
    (await stored(traceId)).map((r) => r.span_id),
    [good.spanId],
  )
  const envelope = await post('{"resourceSpans":[{"resource":{"attributes":7}}]}', 'application/json')
  assert.equal(envelope.status, 400)
  assert.match(JSON.parse(envelope.body).message, /resourceSpans\[0\]\.resource\.attributes/)
})

test('a protobuf span with broken bytes is refused alone', async () => {
  const traceId = newTraceId()
  const good = span(traceId)
  const Span = otlpRoot.lookupType('opentelemetry.proto.trace.v1.Span')
  const goodBytes = Span.encode(
    Span.fromObject({
      traceId: Buffer.from(traceId, 'hex'),
      spanId: Buffer.from(good.spanId ?? '', 'hex'),
      name: 'good',
      startTimeUnixNano: good.startTimeUnixNano,
      endTimeUnixNano: good.endTimeUnixNano,
    }),
  ).finish()
  const broken = Buffer.from([0x0a, 0x10, 0x01, 0x02]) // trace_id claims 16 bytes, has 2
  const scopeSpans = protobuf.Writer.create()
    .uint32(0x12)
    .bytes(goodBytes)
    .uint32(0x12)
    .bytes(broken)
    .finish()
  const resourceSpans = protobuf.Writer.create().uint32(0x12).bytes(scopeSpans).finish()
  const request = Buffer.from(protobuf.Writer.create().uint32(0x0a).bytes(resourceSpans).finish())
  const reply = await post(request, 'application/x-protobuf')
  assert.equal(reply.status, 200)
  const rows = await stored(traceId)
  assert.deepEqual(
    rows.map((r) => r.name),
    ['good'],
  )
  assert.ok((collector.stats().rejections.malformed_span ?? 0) >= 1)
})

test('attribute count and value length limits are applied and recorded on the stored span', async () => {
  const traceId = newTraceId()
  const attributes: Record<string, string | number> = { [GEN_AI.requestModel]: 'gpt-4o' }
  for (let i = 0; i < 300; i++) attributes[`app.k${String(i).padStart(3, '0')}`] = i
  attributes['app.blob'] = 'b'.repeat(70_000)
  const s = span(traceId, { attributes })
  const reply = await post(otlpProtobuf({ spans: [s] }), 'application/x-protobuf')
  assert.equal(reply.status, 200)
  const [row] = await stored(traceId)
  assert.ok(row)
  assert.equal(row.attributes[INGEST_LIMITS.droppedAttributes], '46')
  assert.equal(row.attributes['app.k000'], '0')
  assert.equal(row.attributes['app.blob'], undefined, 'beyond the first 256 attributes')
})

test('a long value is truncated with a marker and its length is kept', async () => {
  const traceId = newTraceId()
  const s = span(traceId, { attributes: { 'app.blob': 'b'.repeat(70_000), [GEN_AI.requestModel]: 'gpt-4o' } })
  const reply = await post(otlpProtobuf({ spans: [s] }), 'application/x-protobuf')
  assert.equal(reply.status, 200)
  const [row] = await stored(traceId)
  assert.equal(row?.attributes['app.blob'], `${'b'.repeat(65_536)}…[truncated 4464 chars]`)
  assert.equal(row?.attributes['hindsight.truncated.app.blob'], '70000')
})

test('missing ids and timestamps far in the past or future are refused per span with their reason', async () => {
  const traceId = newTraceId()
  const now = Date.now()
  const good = span(traceId)
  const spans: TestSpan[] = [
    good,
    { ...good, spanId: '' },
    { ...good, spanId: newSpanId(), traceId: '' },
    { ...good, spanId: newSpanId(), startTimeUnixNano: '0', endTimeUnixNano: '0' },
    { ...good, spanId: newSpanId(), endTimeUnixNano: nanos(now + 30 * 86_400_000) },
  ]
  const reply = await post(JSON.stringify(otlpJson({ spans })), 'application/json')
  assert.equal(reply.status, 200)
  const partial = JSON.parse(reply.body).partialSuccess as { rejectedSpans: string; errorMessage: string }
  assert.equal(partial.rejectedSpans, '4')
  for (const reason of ['invalid_span_id', 'invalid_trace_id', 'start_too_old', 'end_in_future']) {
    assert.match(partial.errorMessage, new RegExp(reason))
  }
  assert.deepEqual(
    (await stored(traceId)).map((r) => r.span_id),
    [good.spanId],
  )
})
