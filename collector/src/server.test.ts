import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { SpanKind } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { GEN_AI, HINDSIGHT } from './conventions'
import { ExportTraceServiceResponse, RpcStatus } from './otlp/proto'
import { type RunningCollector, startCollector } from './server'
import { createStorage, migrate, ProjectRepository, type Storage } from './storage'
import {
  flakyStorage,
  nanos,
  newSpanId,
  newTraceId,
  otlpJson,
  otlpProtobuf,
  type TestRequest,
} from './testing'

const KEY = 'hs_test_collector_key_0123456789'
const MAX_BODY = 64 * 1024
let dir: string
let storage: Storage
let projects: ProjectRepository
let projectId: string
let collector: RunningCollector

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-collector-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_collector_test' })
  await migrate(storage)
  projects = new ProjectRepository(storage)
  projectId = (await projects.ensure('Acme', KEY)).project.id
  collector = await startCollector({
    storage,
    projects,
    port: 0,
    batchMaxDelayMs: 20,
    maxBodyBytes: MAX_BODY,
  })
})

after(async () => {
  await collector.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** A raw HTTP request (node:http, so early answers to large bodies are still read). */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Reply> {
  const url = new URL(path, collector.url)
  return new Promise((resolve, reject) => {
    let answered = false
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
      res.on('error', reject)
    })
    req.on('error', (error) => {
      if (!answered) reject(error)
    })
    req.end(options.body)
  })
}

const auth = { authorization: `Bearer ${KEY}` }
const protobufHeaders = { ...auth, 'content-type': 'application/x-protobuf' }
const jsonHeaders = { ...auth, 'content-type': 'application/json' }

async function rowsFor(traceId: string): Promise<Array<Record<string, unknown>>> {
  await collector.flush()
  const result = await storage.client.query({
    query: `SELECT trace_id, span_id, parent_span_id, name, kind, provider, model, request_model, input_tokens,
              output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, toString(cost_usd) AS cost_usd,
              price_version, pricing_note, toString(start_time) AS start_time, duration_ms, ttft_ms, status,
              service_name, release, input, output, attributes
            FROM ${storage.database}.spans FINAL
            WHERE project_id = {p:String} AND trace_id = {t:String} ORDER BY span_id`,
    query_params: { p: projectId, t: traceId },
    format: 'JSONEachRow',
  })
  return result.json<Record<string, unknown>>()
}

function chatRequest(traceId: string, spanId = newSpanId(), startMs = Date.now() - 2000): TestRequest {
  return {
    resource: { 'service.name': 'support-bot', 'service.version': '1.4.0' },
    spans: [
      {
        traceId,
        spanId,
        name: 'chat gpt-4o',
        startTimeUnixNano: nanos(startMs, 123_456),
        endTimeUnixNano: nanos(startMs + 1500, 123_456),
        attributes: {
          [GEN_AI.operationName]: 'chat',
          [GEN_AI.providerName]: 'openai',
          [GEN_AI.requestModel]: 'gpt-4o',
          [GEN_AI.responseModel]: 'gpt-4o-2024-08-06',
          [GEN_AI.usageInputTokens]: 1200,
          [GEN_AI.usageCacheReadInputTokens]: 1000,
          [GEN_AI.usageOutputTokens]: 300,
          [GEN_AI.responseTimeToFirstChunk]: 0.25,
          [GEN_AI.inputMessages]: '[{"role":"user","parts":[{"type":"text","content":"refund?"}]}]',
          'app.ticket': 'T-1',
        },
      },
    ],
  }
}

// gpt-4o list price: $2.50 input, $1.25 cached input, $10 output per 1M tokens.
// 1200 input of which 1000 cached, 300 output: 200×2.50 + 1000×1.25 + 300×10 = 4750 / 1M = $0.00475
const CHAT_COST = (200 * 2.5 + 1000 * 1.25 + 300 * 10) / 1e6

test('protobuf (protobufjs-built): stored with model, provider, tokens and cost to the cent', async () => {
  const traceId = newTraceId()
  const reply = await send('/v1/traces', {
    headers: protobufHeaders,
    body: otlpProtobuf(chatRequest(traceId)),
  })
  assert.equal(reply.status, 200)
  assert.equal(reply.headers['content-type'], 'application/x-protobuf')
  assert.deepEqual(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(reply.body)), {})
  const [row, ...more] = await rowsFor(traceId)
  assert.equal(more.length, 0)
  assert.ok(row)
  assert.equal(row.kind, 'llm')
  assert.equal(row.provider, 'openai')
  assert.equal(row.model, 'gpt-4o-2024-08-06')
  assert.equal(row.request_model, 'gpt-4o')
  assert.deepEqual(
    [row.input_tokens, row.output_tokens, row.cache_read_tokens].map(Number),
    [1200, 300, 1000],
  )
  assert.equal(Number(row.cost_usd).toFixed(2), CHAT_COST.toFixed(2))
  assert.equal(row.cost_usd, '0.00475')
  assert.equal(row.ttft_ms, 250)
  assert.equal(row.duration_ms, 1500)
  assert.match(String(row.start_time), /\.\d{3}123$/, 'microseconds from the nanosecond timestamp')
  assert.equal(row.service_name, 'support-bot')
  assert.equal(row.release, '1.4.0')
  assert.match(String(row.input), /refund\?/)
  assert.equal((row.attributes as Record<string, string>)['app.ticket'], 'T-1')
})

test('official @opentelemetry/exporter-trace-otlp-proto (gzip) with GenAI attributes is stored and priced', async () => {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] })
  const tracer = provider.getTracer('official-exporter-test')
  const span = tracer.startSpan('chat claude-sonnet-4-5', {
    kind: SpanKind.CLIENT,
    attributes: {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'anthropic',
      [GEN_AI.requestModel]: 'claude-sonnet-4-5',
      [GEN_AI.responseModel]: 'claude-sonnet-4-5-20250929',
      [GEN_AI.usageInputTokens]: 5000,
      [GEN_AI.usageCacheReadInputTokens]: 3000,
      [GEN_AI.usageCacheCreationInputTokens]: 1000,
      [GEN_AI.usageOutputTokens]: 800,
      [GEN_AI.responseFinishReasons]: ['end_turn'],
      [HINDSIGHT.release]: 'v7',
    },
  })
  span.end()
  const [finished] = memory.getFinishedSpans()
  assert.ok(finished)
  type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>
  const exporter = new OTLPTraceExporter({
    url: `${collector.url}/v1/traces`,
    headers: { 'x-hindsight-api-key': KEY },
    compression: 'gzip' as ExporterConfig['compression'],
  })
  const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
    exporter.export([finished], resolve),
  )
  assert.equal(result.code, 0, `export failed: ${result.error?.message}`)
  await exporter.shutdown()

  const [row] = await rowsFor(finished.spanContext().traceId)
  assert.ok(row)
  assert.equal(row.span_id, finished.spanContext().spanId)
  assert.equal(row.provider, 'anthropic')
  assert.equal(row.model, 'claude-sonnet-4-5-20250929')
  assert.deepEqual(
    [row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens].map(Number),
    [5000, 800, 3000, 1000],
  )
  // claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write (5 min), $15 output per 1M.
  // uncached 5000 − 3000 − 1000 = 1000: 1000×3 + 3000×0.30 + 1000×3.75 + 800×15 = 19,650 / 1M = $0.01965
  const expected = (1000 * 3 + 3000 * 0.3 + 1000 * 3.75 + 800 * 15) / 1e6
  assert.equal(Number(row.cost_usd).toFixed(2), expected.toFixed(2))
  assert.equal(row.cost_usd, '0.01965')
  assert.equal(row.release, 'v7')
  assert.equal((row.attributes as Record<string, string>)[GEN_AI.responseFinishReasons], '["end_turn"]')
  await provider.shutdown()
})

test('JSON request, plain and gzip, answers {} in JSON', async () => {
  for (const gzip of [false, true]) {
    const traceId = newTraceId()
    const json = Buffer.from(JSON.stringify(otlpJson(chatRequest(traceId))))
    const reply = await send('/v1/traces', {
      headers: { ...jsonHeaders, ...(gzip && { 'content-encoding': 'gzip' }) },
      body: gzip ? gzipSync(json) : json,
    })
    assert.equal(reply.status, 200, reply.body.toString())
    assert.equal(reply.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(reply.body.toString()), {})
    const [row] = await rowsFor(traceId)
    assert.equal(row?.model, 'gpt-4o-2024-08-06')
    assert.equal(row?.cost_usd, '0.00475')
  }
})

test('gzip protobuf is accepted', async () => {
  const traceId = newTraceId()
  const reply = await send('/v1/traces', {
    headers: { ...protobufHeaders, 'content-encoding': 'gzip' },
    body: gzipSync(otlpProtobuf(chatRequest(traceId))),
  })
  assert.equal(reply.status, 200)
  assert.equal((await rowsFor(traceId)).length, 1)
})

test('partial success: a span with bad ids and spans with absurd timestamps are rejected, the good one stored', async () => {
  const traceId = newTraceId()
  const now = Date.now()
  const good = chatRequest(traceId).spans[0]
  assert.ok(good)
  const request: TestRequest = {
    spans: [
      good,
      { ...good, traceId: 'abc123', spanId: newSpanId() },
      { ...good, spanId: '0000000000000000' },
      {
        ...good,
        spanId: newSpanId(),
        startTimeUnixNano: nanos(Date.UTC(1990, 0, 1)),
        endTimeUnixNano: nanos(Date.UTC(1990, 0, 1)),
      },
      {
        ...good,
        spanId: newSpanId(),
        startTimeUnixNano: nanos(now + 3 * 86_400_000),
        endTimeUnixNano: nanos(now + 3 * 86_400_000),
      },
      { ...good, spanId: newSpanId(), startTimeUnixNano: nanos(now), endTimeUnixNano: nanos(now - 1000) },
    ],
  }
  const before = collector.stats()
  const reply = await send('/v1/traces', { headers: jsonHeaders, body: JSON.stringify(otlpJson(request)) })
  assert.equal(reply.status, 200)
  const body = JSON.parse(reply.body.toString()) as {
    partialSuccess: { rejectedSpans: string; errorMessage: string }
  }
  assert.equal(body.partialSuccess.rejectedSpans, '5')
  for (const reason of [
    'invalid_trace_id',
    'invalid_span_id',
    'start_too_old',
    'start_in_future',
    'end_before_start',
  ]) {
    assert.match(body.partialSuccess.errorMessage, new RegExp(reason))
  }
  const rows = await rowsFor(traceId)
  assert.equal(rows.length, 1)
  assert.equal(rows[0]?.span_id, good.spanId)
  const after = collector.stats()
  assert.equal(after.rejected_spans - before.rejected_spans, 5)
  assert.equal(after.accepted_spans - before.accepted_spans, 1)
  assert.equal((after.rejections.invalid_trace_id ?? 0) - (before.rejections.invalid_trace_id ?? 0), 1)

  // The same in protobuf: the response is a protobuf ExportTraceServiceResponse.
  const pbTrace = newTraceId()
  const pbGood = chatRequest(pbTrace).spans[0]
  assert.ok(pbGood)
  const pbReply = await send('/v1/traces', {
    headers: protobufHeaders,
    body: otlpProtobuf({ spans: [pbGood, { ...pbGood, spanId: 'ffff' }] }),
  })
  assert.equal(pbReply.status, 200)
  const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(pbReply.body), {
    longs: String,
  }) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } }
  assert.equal(decoded.partialSuccess?.rejectedSpans, '1')
  assert.match(decoded.partialSuccess?.errorMessage ?? '', /invalid_span_id/)
  assert.equal((await rowsFor(pbTrace)).length, 1)
})

test('re-sending the same span stores one row', async () => {
  const traceId = newTraceId()
  const spanId = newSpanId()
  const startMs = Date.now() - 5000
  for (let i = 0; i < 2; i++) {
    const reply = await send('/v1/traces', {
      headers: protobufHeaders,
      body: otlpProtobuf(chatRequest(traceId, spanId, startMs)),
    })
    assert.equal(reply.status, 200)
    await collector.flush()
  }
  const result = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.spans FINAL WHERE project_id = {p:String} AND trace_id = {t:String}`,
    query_params: { p: projectId, t: traceId },
    format: 'JSONEachRow',
  })
  assert.equal(Number((await result.json<{ n: string }>())[0]?.n), 1)
})

function rpcStatus(reply: Reply): { code: number; message: string } {
  if (String(reply.headers['content-type']).includes('protobuf')) {
    return RpcStatus.toObject(RpcStatus.decode(reply.body)) as { code: number; message: string }
  }
  return JSON.parse(reply.body.toString()) as { code: number; message: string }
}

test('400: malformed protobuf (protobuf Status) and malformed JSON (JSON status)', async () => {
  const pb = await send('/v1/traces', {
    headers: protobufHeaders,
    body: Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x01]),
  })
  assert.equal(pb.status, 400)
  assert.equal(pb.headers['content-type'], 'application/x-protobuf')
  const pbStatus = rpcStatus(pb)
  assert.equal(pbStatus.code, 3)
  assert.match(pbStatus.message, /protobuf/)

  const json = await send('/v1/traces', { headers: jsonHeaders, body: '{"resourceSpans": [' })
  assert.equal(json.status, 400)
  assert.equal(json.headers['content-type'], 'application/json')
  const jsonStatus = rpcStatus(json)
  assert.equal(jsonStatus.code, 3)
  assert.match(jsonStatus.message, /not valid JSON/)

  const badGzip = await send('/v1/traces', {
    headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
    body: 'definitely not gzip',
  })
  assert.equal(badGzip.status, 400)
  assert.match(rpcStatus(badGzip).message, /gzip/)
})

test('401: missing key, wrong key; the x-hindsight-api-key header works too', async () => {
  const body = JSON.stringify(otlpJson(chatRequest(newTraceId())))
  const missing = await send('/v1/traces', { headers: { 'content-type': 'application/json' }, body })
  assert.equal(missing.status, 401)
  assert.equal(rpcStatus(missing).code, 16)
  assert.match(rpcStatus(missing).message, /missing API key/)
  const wrong = await send('/v1/traces', {
    headers: { 'content-type': 'application/json', authorization: 'Bearer hs_wrong_key' },
    body,
  })
  assert.equal(wrong.status, 401)
  assert.match(rpcStatus(wrong).message, /invalid API key/)
  const header = await send('/v1/traces', {
    headers: { 'content-type': 'application/json', 'x-hindsight-api-key': KEY },
    body,
  })
  assert.equal(header.status, 200)
})

test('413: body over the limit, and a gzip body that inflates over it', async () => {
  const big = await send('/v1/traces', { headers: protobufHeaders, body: Buffer.alloc(MAX_BODY + 1, 1) })
  assert.equal(big.status, 413)
  assert.match(rpcStatus(big).message, /larger than the limit/)
  const bomb = gzipSync(Buffer.alloc(MAX_BODY * 4, 0x20))
  assert.ok(bomb.length < MAX_BODY)
  const inflated = await send('/v1/traces', {
    headers: { ...jsonHeaders, 'content-encoding': 'gzip' },
    body: bomb,
  })
  assert.equal(inflated.status, 413)
  assert.match(rpcStatus(inflated).message, /decompressed body/)
})

test('415: unknown content type lists the accepted ones; unknown encoding too', async () => {
  const reply = await send('/v1/traces', { headers: { ...auth, 'content-type': 'text/plain' }, body: 'hi' })
  assert.equal(reply.status, 415)
  const message = rpcStatus(reply).message
  assert.match(message, /application\/x-protobuf/)
  assert.match(message, /application\/json/)
  const encoding = await send('/v1/traces', {
    headers: { ...jsonHeaders, 'content-encoding': 'br' },
    body: '{}',
  })
  assert.equal(encoding.status, 415)
  assert.match(rpcStatus(encoding).message, /gzip/)
})

test('404 for other paths, 405 for other methods', async () => {
  const notFound = await send('/v1/metrics', { headers: jsonHeaders, body: '{}' })
  assert.equal(notFound.status, 404)
  assert.match(rpcStatus(notFound).message, /\/v1\/traces/)
  const method = await send('/v1/traces', { method: 'GET', headers: auth })
  assert.equal(method.status, 405)
  assert.equal(method.headers.allow, 'POST')
})

test('garbage never crashes the collector', async () => {
  const bodies: Array<[string, Buffer]> = [
    ['application/x-protobuf', Buffer.from('\u0000\u0001\u0002garbage\uffff')],
    ['application/json', Buffer.from('null')],
    [
      'application/json',
      Buffer.from(
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"arrayValue":{"values":[' +
          '{"arrayValue":{"values":['.repeat(200) +
          ']}}'.repeat(200) +
          ']}}}]}]}]}]}',
      ),
    ],
    ['application/json; charset=utf-8', Buffer.from('{"resourceSpans":"nope"}')],
    ['application/x-protobuf', Buffer.from([0x0a, 0x02, 0x12, 0x00, 0x0a])],
  ]
  for (const [type, body] of bodies) {
    const reply = await send('/v1/traces', { headers: { ...auth, 'content-type': type }, body })
    assert.ok(
      reply.status === 400 || reply.status === 200,
      `${type}: ${reply.status} ${reply.body.toString()}`,
    )
  }
  const ok = await send('/v1/traces', {
    headers: protobufHeaders,
    body: otlpProtobuf(chatRequest(newTraceId())),
  })
  assert.equal(ok.status, 200)
})

test('429 with Retry-After when pending rows exceed the bound; close() flushes what was accepted', async () => {
  const small = await startCollector({
    storage,
    projects,
    port: 0,
    maxPendingRows: 1,
    batchMaxDelayMs: 60_000,
  })
  const traceId = newTraceId()
  const first = otlpProtobuf(chatRequest(traceId))
  const url = new URL('/v1/traces', small.url)
  const post = (body: Buffer) => fetch(url, { method: 'POST', headers: protobufHeaders, body })
  assert.equal((await post(first)).status, 200, 'an empty writer admits the request')
  const refused = await post(otlpProtobuf(chatRequest(newTraceId())))
  assert.equal(refused.status, 429)
  assert.equal(refused.headers.get('retry-after'), '1')
  assert.equal(small.stats().pending_rows, 1)
  assert.equal(small.stats().rejections.request_too_many_requests, 1)
  // Refused before its body is read, a large request is still read to the end and answered on a
  // connection that stays open: the client's write does not fail before it sees the Retry-After.
  const big = await new Promise<{ status: number; connection: string | undefined; writeError: boolean }>(
    (resolve, reject) => {
      let writeError = false
      const req = httpRequest(url, {
        method: 'POST',
        headers: { ...protobufHeaders, 'content-length': String(4 * 2 ** 20) },
      })
      req.on('error', (error) => {
        writeError = true
        reject(error)
      })
      req.on('response', (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, writeError }),
        )
      })
      req.end(Buffer.alloc(4 * 2 ** 20))
    },
  )
  assert.deepEqual(big, { status: 429, connection: 'keep-alive', writeError: false })
  assert.equal(small.stats().rejections.request_too_many_requests, 2)
  await small.close()
  assert.equal(small.stats().inserted_rows, 1)
  assert.equal((await rowsFor(traceId)).length, 1)
  await assert.rejects(post(first), 'a closed collector accepts no connections')
})

test('a client that aborts mid-body does not disturb the collector', async () => {
  await new Promise<void>((resolve) => {
    const req = httpRequest(new URL('/v1/traces', collector.url), {
      method: 'POST',
      headers: { ...protobufHeaders, 'content-length': '5000' },
    })
    req.on('error', () => resolve())
    req.write(Buffer.alloc(100, 1))
    setTimeout(() => {
      req.destroy()
      resolve()
    }, 50)
  })
  const ok = await send('/v1/traces', {
    headers: protobufHeaders,
    body: otlpProtobuf(chatRequest(newTraceId())),
  })
  assert.equal(ok.status, 200)
})

test('503 with Retry-After while storage is failing; accepted rows are stored once it recovers', async () => {
  let storageDown = true
  const flaky = await startCollector({
    // Inserts fail like a lost connection, in front of the real engine.
    storage: flakyStorage(storage, () => storageDown),
    projects,
    port: 0,
    batchMaxDelayMs: 10,
  })
  try {
    await failAndRecover(flaky)
  } finally {
    storageDown = false
    await flaky.close()
  }

  async function failAndRecover(flaky: RunningCollector) {
    const url = new URL('/v1/traces', flaky.url)
    const post = (traceId: string) =>
      fetch(url, { method: 'POST', headers: protobufHeaders, body: otlpProtobuf(chatRequest(traceId)) })
    const firstTrace = newTraceId()
    assert.equal((await post(firstTrace)).status, 200, 'accepted before the first insert fails')
    let refused: Response | undefined
    for (let i = 0; i < 100 && !refused; i++) {
      await new Promise((r) => setTimeout(r, 20))
      const reply = await post(newTraceId())
      if (reply.status === 503) refused = reply
    }
    assert.ok(refused, 'the collector answers 503 while inserts fail')
    assert.equal(refused.headers.get('retry-after'), '5')
    const status = RpcStatus.toObject(RpcStatus.decode(Buffer.from(await refused.arrayBuffer())))
    assert.equal(status.code, 14)
    storageDown = false
    await flaky.flush()
    assert.equal((await rowsFor(firstTrace)).length, 1)
    const later = newTraceId()
    assert.equal((await post(later)).status, 200)
    await flaky.flush()
    assert.equal((await rowsFor(later)).length, 1)
    assert.equal(flaky.stats().pending_rows, 0)
  }
})

test('stats count accepted, rejected and inserted spans', async () => {
  await collector.flush()
  const stats = collector.stats()
  assert.ok(stats.accepted_spans >= 8)
  assert.equal(stats.pending_rows, 0)
  assert.equal(stats.inserted_rows, stats.accepted_spans)
  assert.ok((stats.rejections.request_unauthorized ?? 0) >= 2)
  assert.ok((stats.rejections.request_payload_too_large ?? 0) >= 2)
  assert.ok((stats.rejections.request_malformed_request ?? 0) >= 3)
})
