import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, beforeEach, describe, test } from 'node:test'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { resolveConfig } from './config'
import { getTracer, init, shutdown } from './hindsight'
import { score } from './score'

interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

/** A stand-in for the REST API: records requests; `plan` answers them in order (then 201). */
let received: Received[] = []
let plan: ((res: ServerResponse) => void)[] = []
const server = createServer((req, res) => {
  let text = ''
  req.setEncoding('utf8')
  req.on('data', (chunk: string) => {
    text += chunk
  })
  req.on('end', () => {
    received.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: JSON.parse(text),
    })
    const answer = plan.shift()
    if (answer) return answer(res)
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ data: [] }))
  })
})
let apiUrl = ''
const KEY = 'hs_score_test_key_0123456789'
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  init({
    apiKey: KEY,
    apiUrl,
    serviceName: 'score-test',
    spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()),
  })
})

after(async () => {
  await shutdown()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  received = []
  plan = []
})

describe('score()', () => {
  test('posts the score with the project key to the REST API', async () => {
    const result = await score({
      traceId: TRACE.toUpperCase(),
      name: 'helpfulness',
      value: 0.8,
      comment: 'good',
    })
    assert.equal(result.ok, true)
    assert.equal(received.length, 1)
    const [request] = received
    assert.equal(request?.method, 'POST')
    assert.equal(request?.path, '/api/public/v1/scores')
    assert.equal(request?.headers.authorization, `Bearer ${KEY}`)
    assert.match(String(request?.headers['user-agent']), /^hindsight-sdk\//)
    const { id, ...rest } = request?.body ?? {}
    assert.ok(result.ok && result.id === id)
    assert.deepEqual(rest, {
      traceId: TRACE,
      name: 'helpfulness',
      value: 0.8,
      comment: 'good',
      source: 'sdk',
    })
  })

  test('traceId defaults to the active span; spanId and dataType pass through', async () => {
    let expected = ''
    await getTracer().startActiveSpan('answer', async (span) => {
      expected = span.spanContext().traceId
      const result = await score({
        name: 'thumbs',
        value: true,
        spanId: span.spanContext().spanId,
        dataType: 'boolean',
      })
      assert.equal(result.ok, true)
      span.end()
    })
    assert.match(expected, /^[0-9a-f]{32}$/)
    assert.equal(received[0]?.body.traceId, expected)
    assert.equal(received[0]?.body.dataType, 'boolean')
    assert.match(String(received[0]?.body.spanId), /^[0-9a-f]{16}$/)
  })

  test('retries 503 and network-level failures with the same id, honouring Retry-After', async () => {
    plan = [json(503, { error: { message: 'busy' } }, { 'retry-after': '0' }), json(429, {})]
    const result = await score({ traceId: TRACE, name: 'n', value: 1 })
    assert.equal(result.ok, true)
    assert.equal(received.length, 3)
    assert.equal(new Set(received.map((r) => r.body.id)).size, 1, 'one id across attempts')
  })

  test('gives up after maxAttempts and resolves with the last error', async () => {
    plan = Array.from({ length: 5 }, () => json(500, { error: { code: 'internal_error', message: 'boom' } }))
    const started = Date.now()
    const result = await score({ traceId: TRACE, name: 'n', value: 1 }, { maxAttempts: 2 })
    assert.deepEqual(result, { ok: false, error: 'HTTP 500: boom (after 2 attempts)' })
    assert.equal(received.length, 2)
    assert.ok(Date.now() - started < 2000)
  })

  test('a 400 is not retried and its message is returned', async () => {
    plan = [json(400, { error: { code: 'bad_request', message: 'score.value: 7 is above the maximum 5' } })]
    const result = await score({ traceId: TRACE, name: 'stars', value: 7 })
    assert.deepEqual(result, { ok: false, error: 'HTTP 400: score.value: 7 is above the maximum 5' })
    assert.equal(received.length, 1)
  })

  test('a timeout counts as a failed attempt', async () => {
    plan = [() => {}, json(201, { data: [] })] // the first request is never answered
    const result = await score({ traceId: TRACE, name: 'n', value: 1 }, { timeoutMillis: 100 })
    assert.equal(result.ok, true)
    assert.equal(received.length, 2)
  })

  test('bad input and a missing trace resolve to errors without a request; nothing throws', async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: 'n', value: 1 }, /^no traceId/],
      [{ traceId: 'abc', name: 'n', value: 1 }, /^traceId: /],
      [{ traceId: TRACE, spanId: 'x', name: 'n', value: 1 }, /^spanId: /],
      [{ traceId: TRACE, name: '', value: 1 }, /^name: /],
      [{ traceId: TRACE, name: 'n', value: Number.NaN }, /^value: /],
      [{ traceId: TRACE, name: 'n', value: { nested: true } }, /^value: /],
      [null, /options object/],
    ]
    for (const [options, error] of cases) {
      // Deliberately wrong input, as an untyped caller could pass it.
      const result = await score(options as Parameters<typeof score>[0])
      assert.equal(result.ok, false, JSON.stringify(options))
      assert.match(result.ok ? '' : result.error, error)
    }
    assert.equal(received.length, 0)
  })

  test('an unreachable API resolves to an error quickly', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    init({
      apiKey: KEY,
      apiUrl: `http://127.0.0.1:${port}`,
      spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()),
    })
    try {
      const result = await score({ traceId: TRACE, name: 'n', value: 1 }, { maxAttempts: 2 })
      assert.equal(result.ok, false)
      assert.match(
        result.ok ? '' : result.error,
        /^could not reach http:\/\/127\.0\.0\.1:\d+: .*\(after 2 attempts\)$/,
      )
    } finally {
      init({ apiKey: KEY, apiUrl, spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()) })
    }
  })

  test('disabled SDK: no request', async () => {
    init({ enabled: false, apiUrl })
    try {
      const result = await score({ traceId: TRACE, name: 'n', value: 1 })
      assert.equal(result.ok, false)
      assert.equal(received.length, 0)
    } finally {
      init({ apiKey: KEY, apiUrl, spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()) })
    }
  })
})

describe('apiUrl', () => {
  test('defaults to the endpoint host on port 3000; HINDSIGHT_API_URL and the option override it', () => {
    assert.equal(
      resolveConfig({ endpoint: 'http://collector.internal:4318' }, {}).apiUrl,
      'http://collector.internal:3000',
    )
    assert.equal(resolveConfig({}, {}).apiUrl, 'http://127.0.0.1:3000')
    assert.equal(resolveConfig({}, { apiUrl: 'https://hs.example.com/' }).apiUrl, 'https://hs.example.com')
    assert.equal(
      resolveConfig({ apiUrl: 'http://127.0.0.1:9000' }, { apiUrl: 'https://hs.example.com' }).apiUrl,
      'http://127.0.0.1:9000',
    )
    assert.throws(() => resolveConfig({ apiUrl: 'ftp://x' }, {}), /apiUrl must be an http\(s\) URL/)
  })
})
