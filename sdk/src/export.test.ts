import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, beforeEach, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import { BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { COMMON, HINDSIGHT } from './attributes'
import { resolveConfig } from './config'
import { readEnv } from './env'
import { refusedPort, type Sink, type SinkRequest, startSink } from './fixtures/otlp-sink'
import { flush, getStats, getTracer, HindsightError, init, shutdown } from './index'
import { ENCODE_TOGETHER, KeepAlive, OtlpSender, SpanQueue, StatsCounter } from './pipeline'
import { InMemorySpanExporter } from './testing'

/** An exporter that answers only when told to, to hold spans "in flight". */
class HeldExporter implements SpanExporter {
  readonly batches: ReadableSpan[][] = []
  readonly #callbacks: ((result: ExportResult) => void)[] = []
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans)
    this.#callbacks.push(done)
  }
  release(code: ExportResultCode): void {
    for (const done of this.#callbacks.splice(0)) done({ code })
  }
  shutdown(): Promise<void> {
    this.release(ExportResultCode.FAILED)
    return Promise.resolve()
  }
}

let sink: Sink
before(async () => {
  sink = await startSink()
})
after(() => sink.close())
beforeEach(() => {
  sink.requests.length = 0
})

describe('OTLP export', () => {
  test('the real OTLP/protobuf exporter posts to /v1/traces with the bearer key', async () => {
    // The host app's own OTLP settings must not leak into Hindsight's exporter.
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-vendor-key=vendor-secret,authorization=Basic vendor'
    process.env.OTEL_TRACES_SAMPLER = 'always_off'
    init({
      endpoint: `${sink.url}/`,
      apiKey: 'secret-key-123',
      serviceName: 'proto-test',
      environment: 'staging',
      release: '2026.07.1',
      scheduledDelayMillis: 60_000,
    })
    getTracer().startSpan('chat proto-model').end()
    await flush()
    assert.equal(
      process.env.OTEL_EXPORTER_OTLP_HEADERS,
      'x-vendor-key=vendor-secret,authorization=Basic vendor',
    )
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS
    delete process.env.OTEL_TRACES_SAMPLER

    assert.equal(sink.requests.length, 1)
    const request = sink.requests[0] as SinkRequest
    assert.equal(request.method, 'POST')
    assert.equal(request.url, '/v1/traces')
    assert.equal(request.headers.authorization, 'Bearer secret-key-123')
    assert.equal(request.headers['content-type'], 'application/x-protobuf')
    assert.equal(request.headers['x-vendor-key'], undefined)
    assert.match(request.headers['user-agent'] ?? '', /hindsight-sdk\//)
    // Protobuf keeps strings as raw UTF-8, so the payload must carry these verbatim.
    for (const text of ['chat proto-model', 'proto-test', 'staging', '2026.07.1', HINDSIGHT.release]) {
      assert.ok(request.body.includes(Buffer.from(text)), `payload should contain ${text}`)
    }
    assert.deepEqual(getStats(), { exported: 1, dropped: 0, failedExports: 0, internalErrors: 0 })
    await shutdown()
  })

  test('without an API key no Authorization header is sent', async () => {
    init({ endpoint: sink.url, scheduledDelayMillis: 60_000 })
    getTracer().startSpan('anonymous').end()
    await flush()
    assert.equal(sink.requests.length, 1)
    assert.equal(sink.requests[0]?.headers.authorization, undefined)
    await shutdown()
  })

  test('a dead endpoint never throws, and shutdown() keeps its deadline', async () => {
    const port = await refusedPort()
    init({
      endpoint: `http://127.0.0.1:${port}`,
      apiKey: 'k',
      exportTimeoutMillis: 300,
      scheduledDelayMillis: 60_000,
    })
    getTracer().startSpan('lost').end()
    await flush()
    const stats = getStats()
    assert.equal(stats.failedExports, 1)
    assert.equal(stats.dropped, 1)
    assert.equal(stats.exported, 0)

    getTracer().startSpan('lost too').end()
    const started = performance.now()
    await shutdown({ timeoutMillis: 400 })
    assert.ok(performance.now() - started < 1500, 'shutdown resolved near its deadline')
    await shutdown()
  })

  test('shutdown() resolves at its deadline even when the exporter never answers', async () => {
    const held = new HeldExporter()
    // Hold the export open: shutdown must not wait for it beyond the deadline.
    held.shutdown = () => new Promise<void>(() => {})
    init({ exporter: held, scheduledDelayMillis: 60_000, exportTimeoutMillis: 1000 })
    getTracer().startSpan('stuck').end()
    const started = performance.now()
    await shutdown({ timeoutMillis: 200 })
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 150 && elapsed < 1000, `took ${elapsed} ms`)
  })
})

describe('stats', () => {
  test('spans beyond maxQueueSize are dropped and counted', async () => {
    const held = new HeldExporter()
    init({ exporter: held, maxQueueSize: 3, maxExportBatchSize: 3, scheduledDelayMillis: 60_000 })
    for (let i = 0; i < 5; i++) getTracer().startSpan(`span ${i}`).end()
    assert.equal(getStats().dropped, 2)
    assert.equal(held.batches.length, 1, 'a full batch is exported at once')
    held.release(ExportResultCode.SUCCESS)
    assert.deepEqual(getStats(), { exported: 3, dropped: 2, failedExports: 0, internalErrors: 0 })
    // Once the batch settled, the queue accepts spans again.
    getTracer().startSpan('after').end()
    const flushed = flush()
    held.release(ExportResultCode.SUCCESS)
    await flushed
    assert.equal(getStats().exported, 4)
  })

  test('ended spans are encoded in groups; one that cannot be encoded is counted and left out', async () => {
    // Spans wait for their group (ENCODE_TOGETHER) or for the batch to be taken; the encoder meets
    // an unreadable span only then, and must not lose the spans around it.
    const stats = new StatsCounter()
    const keepAlive = new KeepAlive()
    const sender = new OtlpSender({
      url: `${sink.url}/v1/traces`,
      headers: {},
      timeoutMillis: 5_000,
      userAgent: 'test',
      keepAlive,
    })
    const queue = new SpanQueue(
      sender,
      {
        maxQueueSize: 2048,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 60_000,
        exportTimeoutMillis: 5_000,
        destination: 'the test sink',
      },
      stats,
      keepAlive,
    )
    const tracer = new BasicTracerProvider().getTracer('groups')
    const warn = console.warn
    const warnings: unknown[] = []
    console.warn = (...args: unknown[]) => warnings.push(args[0])
    try {
      const total = ENCODE_TOGETHER + 72
      for (let i = 0; i < total; i++) {
        const span = tracer.startSpan(`span ${i}`)
        span.end()
        queue.onEnd(span as unknown as ReadableSpan)
        if (i === ENCODE_TOGETHER - 1) {
          assert.equal(queue.pending, ENCODE_TOGETHER, 'the first group, now encoded, is queued')
          const broken = Object.create(span, {
            status: {
              get() {
                throw new Error('unreadable status')
              },
            },
          }) as ReadableSpan
          queue.onEnd(broken)
          assert.equal(stats.dropped, 0, 'waiting in the next group: not encoded, nothing lost yet')
        }
      }
      await queue.forceFlush()
    } finally {
      console.warn = warn
    }
    const names = sink.spans().map((span) => span.name)
    assert.equal(names.length, ENCODE_TOGETHER + 72)
    assert.deepEqual(
      names,
      Array.from({ length: ENCODE_TOGETHER + 72 }, (_, i) => `span ${i}`),
      'every readable span, in the order they ended',
    )
    assert.deepEqual(stats.snapshot(), {
      exported: ENCODE_TOGETHER + 72,
      dropped: 1,
      failedExports: 0,
      internalErrors: 1,
    })
    assert.match(String(warnings[0]), /could not be serialized \(unreadable status\)/)
    await queue.shutdown()
  })

  test('a failed export counts its spans as dropped', async () => {
    const failing: SpanExporter = {
      export: (_spans, done) =>
        done({ code: ExportResultCode.FAILED, error: new Error('collector said no') }),
      shutdown: () => Promise.resolve(),
    }
    init({ exporter: failing, scheduledDelayMillis: 60_000 })
    getTracer().startSpan('a').end()
    getTracer().startSpan('b').end()
    await flush()
    assert.deepEqual(getStats(), { exported: 0, dropped: 2, failedExports: 1, internalErrors: 0 })
  })

  test('re-init shuts the previous instance down; its late spans are dropped, not sent', async () => {
    const first = init({ exporter: new InMemorySpanExporter(), scheduledDelayMillis: 60_000 })
    const tracer = first.getTracer()
    init({ exporter: new InMemorySpanExporter(), scheduledDelayMillis: 60_000 })
    await first.shutdown()
    tracer.startSpan('late').end()
    assert.equal(first.getStats().dropped, 1)
  })
})

describe('short-lived processes', () => {
  const script = fileURLToPath(new URL('./fixtures/short-script.ts', import.meta.url))
  const run = (endpoint: string, mode: string) =>
    new Promise<{ ms: number; stats: unknown }>((resolve, reject) => {
      const started = performance.now()
      execFile(
        process.execPath,
        ['--import', 'tsx', script, endpoint, mode],
        { timeout: 15_000 },
        (error, stdout) => {
          if (error) reject(error)
          else resolve({ ms: performance.now() - started, stats: JSON.parse(stdout) })
        },
      )
    })

  test('pending spans are flushed when the event loop empties, without an explicit flush()', async () => {
    const { stats } = await run(sink.url, 'flush-on-exit')
    assert.deepEqual(stats, { exported: 1, dropped: 0, failedExports: 0, internalErrors: 0 })
    assert.equal(sink.requests.length, 1)
    assert.equal(sink.requests[0]?.headers.authorization, 'Bearer child-key')
    assert.ok(sink.requests[0]?.body.includes(Buffer.from('span from flush-on-exit')))
  })

  test('with a dead collector the process still exits promptly after shutdown()', async () => {
    const port = await refusedPort()
    const { ms, stats } = await run(`http://127.0.0.1:${port}`, 'shutdown')
    assert.deepEqual(stats, { exported: 0, dropped: 1, failedExports: 1, internalErrors: 0 })
    assert.ok(ms < 5000, `the child took ${ms} ms`)
  })
})

describe('configuration', () => {
  test('invalid options throw a HindsightError that names the problem and hides the key', () => {
    let caught: unknown
    try {
      init({ endpoint: 'ftp://collector', apiKey: 'do-not-print-me' })
    } catch (error) {
      caught = error
    }
    assert.ok(HindsightError.isInstance(caught))
    assert.equal(caught.code, 'invalid_config')
    assert.equal(caught.retryable, false)
    assert.match(caught.message, /endpoint/)
    assert.ok(!caught.message.includes('do-not-print-me'))
    assert.throws(() => init({ maxQueueSize: 10, maxExportBatchSize: 20 }), /maxExportBatchSize/)
    assert.throws(() => init({ scheduledDelayMillis: -1 }), /scheduledDelayMillis/)
    assert.throws(() => init({ endpoint: 'http://user:pass@collector' }), /credentials/)
  })

  test('environment variables fill in what options leave out; options win', () => {
    const env = readEnv({
      HINDSIGHT_ENDPOINT: 'https://collector.example:4318/',
      HINDSIGHT_API_KEY: 'env-key',
      OTEL_SERVICE_NAME: 'env-service',
      HINDSIGHT_CAPTURE_CONTENT: 'false',
      HINDSIGHT_ENABLED: 'maybe',
    })
    const fromEnv = resolveConfig({}, env)
    assert.equal(fromEnv.tracesUrl, 'https://collector.example:4318/v1/traces')
    assert.equal(fromEnv.apiKey, 'env-key')
    assert.equal(fromEnv.serviceName, 'env-service')
    assert.equal(fromEnv.captureContent, false)
    assert.equal(fromEnv.enabled, true, 'an unreadable boolean falls back to the default')
    const fromOptions = resolveConfig(
      { endpoint: 'http://other:1', serviceName: 'opt', captureContent: true },
      env,
    )
    assert.equal(fromOptions.tracesUrl, 'http://other:1/v1/traces')
    assert.equal(fromOptions.serviceName, 'opt')
    assert.equal(fromOptions.captureContent, true)
    const defaults = resolveConfig({}, readEnv({}))
    assert.equal(defaults.tracesUrl, 'http://127.0.0.1:4318/v1/traces')
    assert.equal(defaults.serviceName, 'unknown_service')
    assert.equal(defaults.apiKey, undefined)
  })

  test('enabled: false creates no pipeline and sends nothing', async () => {
    const hindsight = init({ endpoint: sink.url, enabled: false })
    const span = getTracer().startSpan('ignored')
    assert.equal(span.isRecording(), false)
    span.end()
    await flush()
    await hindsight.shutdown()
    assert.equal(sink.requests.length, 0)
  })

  test('resource attributes carry service, environment and release', async () => {
    const exporter = new InMemorySpanExporter()
    init({ exporter, serviceName: 'svc', environment: 'prod', release: 'r42', scheduledDelayMillis: 60_000 })
    getTracer().startSpan('user span').end()
    await flush()
    const [span] = exporter.getFinishedSpans()
    assert.ok(span)
    assert.equal(span.resource.attributes[COMMON.serviceName], 'svc')
    assert.equal(span.resource.attributes[COMMON.deploymentEnvironment], 'prod')
    assert.equal(span.resource.attributes[COMMON.serviceVersion], 'r42')
    assert.equal(span.attributes[HINDSIGHT.release], 'r42')
  })
})
