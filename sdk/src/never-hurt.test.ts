/**
 * "Never hurt the host": whatever the collector does (down, hanging, slow, 429/503 with
 * Retry-After), LLM calls run at full speed, memory is bounded, losses are counted and reported
 * once, retries honour Retry-After, nothing rejects unhandled, and nothing keeps the process alive.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, afterEach, before, describe, mock, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { refusedPort, type Sink, type SinkBehaviour, startSink } from './fixtures/otlp-sink'
import { flush, getStats, getTracer, init, shutdown, wrapOpenAI } from './index'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

let fake: FakeOpenAI
const sinks: Sink[] = []
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

before(async () => {
  process.on('unhandledRejection', onUnhandled)
  fake = await startFakeOpenAI({ reply: { content: 'Fast answer.' } })
})
after(async () => {
  await shutdown({ timeoutMillis: 200 })
  await Promise.all(sinks.map((sink) => sink.close()))
  await fake.close()
  process.off('unhandledRejection', onUnhandled)
  assert.deepEqual(unhandled, [], 'no unhandled rejection in the whole file')
})
afterEach(async () => {
  await shutdown({ timeoutMillis: 200 })
  mock.restoreAll()
})

async function sink(behaviour: (index: number) => SinkBehaviour): Promise<Sink> {
  const started = await startSink(behaviour)
  sinks.push(started)
  return started
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

async function timed(client: OpenAI, i: number): Promise<number> {
  const started = performance.now()
  await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `call ${i}` }],
  })
  return performance.now() - started
}

/** Bare and wrapped calls alternate, so load from elsewhere on the machine hits both alike. */
async function latencies(
  bare: OpenAI,
  wrapped: OpenAI,
  count: number,
): Promise<{ bare: number[]; wrapped: number[] }> {
  const out = { bare: [] as number[], wrapped: [] as number[] }
  for (let i = 0; i < count; i++) {
    out.bare.push(await timed(bare, i))
    out.wrapped.push(await timed(wrapped, i))
  }
  return out
}

const quietWarn = () => mock.method(console, 'warn', () => {})

describe('LLM calls run at full speed whatever the collector does', () => {
  const behaviours: [string, SinkBehaviour][] = [
    ['hangs', { kind: 'hang' }],
    ['answers after 10 s', { kind: 'ok', delayMs: 10_000 }],
    ['answers 503 with Retry-After: 1', { kind: 'status', status: 503, retryAfter: '1' }],
    ['answers 429 with Retry-After: 2', { kind: 'status', status: 429, retryAfter: '2' }],
  ]
  for (const [label, behaviour] of behaviours) {
    test(`collector ${label}`, async () => {
      quietWarn()
      const collector = await sink(() => behaviour)
      const bare = new OpenAI({ baseURL: fake.baseURL, apiKey: 'k', maxRetries: 0 })
      const wrapped = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'k', maxRetries: 0 }))
      init({
        endpoint: collector.url,
        scheduledDelayMillis: 5,
        maxExportBatchSize: 8,
        exportTimeoutMillis: 4000,
      })
      await latencies(bare, wrapped, 5) // warm-up
      const measured = await latencies(bare, wrapped, 60)
      const bareMs = median(measured.bare)
      const wrappedMs = median(measured.wrapped)
      assert.ok(collector.requests.length >= 1, 'exports were attempted while the calls ran')
      // A small factor: the wrapper's own work (span, content capture) is part of the wrapped time,
      // and a shared CI machine adds noise; a call that waited on the collector would take seconds.
      assert.ok(
        wrappedMs < bareMs * 3 + 3,
        `wrapped median ${wrappedMs.toFixed(2)} ms vs bare ${bareMs.toFixed(2)} ms`,
      )
      console.log(
        `# collector ${label}: bare ${bareMs.toFixed(2)} ms, wrapped ${wrappedMs.toFixed(2)} ms per call`,
      )
      // shutdown() keeps its deadline although the collector misbehaves.
      const started = performance.now()
      await shutdown({ timeoutMillis: 300 })
      assert.ok(performance.now() - started < 1000)
    })
  }
})

describe('bounded queue', () => {
  test('spans beyond the queue are dropped, counted, and reported by a single console.warn', async () => {
    const warn = quietWarn()
    const collector = await sink(() => ({ kind: 'hang' }))
    init({ endpoint: collector.url, maxQueueSize: 10, maxExportBatchSize: 5, scheduledDelayMillis: 60_000 })
    for (let i = 0; i < 50; i++) getTracer().startSpan(`span ${i}`).end()
    // 5 + 5 are taken (one batch in flight, one waiting); the queue counts both.
    assert.equal(getStats().dropped, 40)
    for (let i = 0; i < 20; i++) getTracer().startSpan(`more ${i}`).end()
    assert.equal(getStats().dropped, 60)
    assert.equal(warn.mock.callCount(), 1)
    const message = String(warn.mock.calls[0]?.arguments[0])
    assert.match(
      message,
      /@hindsight\/sdk: dropped 1 span\(s\): the export queue is full \(maxQueueSize 10\)/,
    )
    assert.ok(!message.includes('child-key'))
  })
})

describe('retries', () => {
  test('Retry-After is honoured before the retry, which then succeeds', async () => {
    const collector = await sink((index) =>
      index === 0 ? { kind: 'status', status: 503, retryAfter: '1' } : { kind: 'ok' },
    )
    init({ endpoint: collector.url, scheduledDelayMillis: 60_000, exportTimeoutMillis: 5000 })
    getTracer().startSpan('retried').end()
    await flush()
    assert.equal(collector.requests.length, 2)
    const [first, second] = collector.requests
    const gap = (second?.at ?? 0) - (first?.at ?? 0)
    assert.ok(gap >= 950 && gap < 3000, `retried after ${gap.toFixed(0)} ms`)
    assert.deepEqual(getStats(), { exported: 1, dropped: 0, failedExports: 0, internalErrors: 0 })
  })

  test('without Retry-After: exponential backoff with jitter', async () => {
    const collector = await sink((index) => (index < 2 ? { kind: 'status', status: 502 } : { kind: 'ok' }))
    init({ endpoint: collector.url, scheduledDelayMillis: 60_000, exportTimeoutMillis: 5000 })
    getTracer().startSpan('retried').end()
    await flush()
    const at = collector.requests.map((r) => r.at)
    assert.equal(at.length, 3)
    const firstGap = (at[1] ?? 0) - (at[0] ?? 0)
    const secondGap = (at[2] ?? 0) - (at[1] ?? 0)
    assert.ok(firstGap >= 380 && firstGap < 1400, `first backoff ${firstGap.toFixed(0)} ms`)
    assert.ok(secondGap >= 780 && secondGap < 2400, `second backoff ${secondGap.toFixed(0)} ms`)
    assert.equal(getStats().exported, 1)
  })

  test('a Retry-After beyond the export deadline: give up now, and send nothing until that time', async () => {
    quietWarn()
    const collector = await sink(() => ({ kind: 'status', status: 429, retryAfter: '30' }))
    init({ endpoint: collector.url, scheduledDelayMillis: 60_000, exportTimeoutMillis: 2000 })
    getTracer().startSpan('first').end()
    const started = performance.now()
    await flush()
    assert.ok(performance.now() - started < 500, 'no waiting past the deadline')
    getTracer().startSpan('second').end()
    await flush()
    assert.equal(collector.requests.length, 1, 'the collector was left alone during its Retry-After')
    assert.deepEqual(getStats(), { exported: 0, dropped: 2, failedExports: 2, internalErrors: 0 })
  })

  test('non-retryable answers (401) fail at once; the warning names the cause, never the key', async () => {
    const warn = quietWarn()
    const collector = await sink(() => ({ kind: 'status', status: 401 }))
    init({ endpoint: collector.url, apiKey: 'secret-key-1', scheduledDelayMillis: 60_000 })
    getTracer().startSpan('rejected').end()
    await flush()
    assert.equal(collector.requests.length, 1)
    assert.equal(warn.mock.callCount(), 1)
    const message = String(warn.mock.calls[0]?.arguments[0])
    assert.match(message, /rejected the API key \(HTTP 401\)/)
    assert.ok(!message.includes('secret-key-1'))
  })
})

describe('flush() and shutdown()', () => {
  test('flush() exports everything queued, in batches', async () => {
    const collector = await sink(() => ({ kind: 'ok' }))
    init({ endpoint: collector.url, scheduledDelayMillis: 60_000, maxExportBatchSize: 2 })
    for (let i = 0; i < 5; i++) getTracer().startSpan(`queued ${i}`).end()
    assert.equal(collector.requests.length, 0)
    await flush()
    assert.deepEqual(
      collector
        .spans()
        .map((s) => s.name)
        .sort(),
      ['queued 0', 'queued 1', 'queued 2', 'queued 3', 'queued 4'],
    )
    assert.equal(getStats().exported, 5)
  })

  test('shutdown() flushes what is queued, and keeps its deadline when the collector hangs', async () => {
    const healthy = await sink(() => ({ kind: 'ok' }))
    init({ endpoint: healthy.url, scheduledDelayMillis: 60_000 })
    getTracer().startSpan('last words').end()
    await shutdown()
    assert.deepEqual(
      healthy.spans().map((s) => s.name),
      ['last words'],
    )

    quietWarn()
    const hanging = await sink(() => ({ kind: 'hang' }))
    init({ endpoint: hanging.url, scheduledDelayMillis: 60_000, exportTimeoutMillis: 10_000 })
    getTracer().startSpan('stuck').end()
    const started = performance.now()
    await shutdown({ timeoutMillis: 400 })
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 350 && elapsed < 2000, `shutdown took ${elapsed.toFixed(0)} ms`)
  })
})

describe('a process that never calls flush() or shutdown()', () => {
  const script = fileURLToPath(new URL('./fixtures/exit-script.ts', import.meta.url))
  const run = (endpoint: string) =>
    new Promise<{ stats: ReturnType<typeof getStats>; lingeredMs: number; callMs: number; totalMs: number }>(
      (resolve, reject) => {
        const started = performance.now()
        execFile(
          process.execPath,
          ['--import', 'tsx', script, endpoint, fake.baseURL],
          { timeout: 20_000 },
          (error, stdout, stderr) => {
            if (error) {
              reject(new Error(`${error.message}\n${stderr}`))
              return
            }
            const result = { ...JSON.parse(stdout), totalMs: performance.now() - started }
            console.log(
              `# child: call ${result.callMs.toFixed(0)} ms, lived ${result.lingeredMs.toFixed(0)} ms after it, ${result.totalMs.toFixed(0)} ms in all`,
            )
            resolve(result)
          },
        )
      },
    )

  test('with a healthy collector its span is delivered on exit, promptly', async () => {
    const collector = await sink(() => ({ kind: 'ok' }))
    const child = await run(collector.url)
    assert.deepEqual(child.stats, { exported: 1, dropped: 0, failedExports: 0, internalErrors: 0 })
    assert.equal(collector.spans()[0]?.name, 'chat gpt-4o-mini')
    assert.equal(collector.requests[0]?.headers.authorization, 'Bearer child-key')
    // Well under the 2 s the exit flush may take: it did not wait for a deadline.
    assert.ok(child.lingeredMs < 1500, `lingered ${child.lingeredMs.toFixed(0)} ms`)
  })

  for (const [label, behaviour] of [
    ['hangs', { kind: 'hang' }],
    ['answers after 10 s', { kind: 'ok', delayMs: 10_000 }],
  ] as [string, SinkBehaviour][]) {
    test(`with a collector that ${label} it still exits within the 2 s exit-flush limit`, async () => {
      const collector = await sink(() => behaviour)
      const child = await run(collector.url)
      assert.equal(collector.requests.length, 1, 'the exit flush tried once')
      assert.ok(child.lingeredMs >= 1900, 'the exit flush waited for the collector, up to its limit')
      assert.ok(child.lingeredMs < 3500, `lingered ${child.lingeredMs.toFixed(0)} ms`)
      assert.equal(child.stats.exported, 0)
    })
  }

  test('with no collector at all it exits promptly', async () => {
    const port = await refusedPort()
    const child = await run(`http://127.0.0.1:${port}`)
    assert.ok(child.lingeredMs < 3500, `lingered ${child.lingeredMs.toFixed(0)} ms`)
    assert.equal(child.stats.exported, 0)
  })
})
