import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import OpenAI from 'openai'
import { decodeMetrics, type Sink, startSink } from './fixtures/otlp-sink'
import {
  DURATION_BUCKETS,
  flush,
  GEN_AI_METRICS,
  init,
  observe,
  shutdown,
  TOKEN_BUCKETS,
  wrapOpenAI,
} from './index'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

let fake: FakeOpenAI
let sink: Sink
let openai: OpenAI

before(async () => {
  fake = await startFakeOpenAI({
    reply: (body) =>
      body.model === 'broken-model'
        ? { error: { status: 500, message: 'upstream failed' } }
        : {
            content: 'Hello there, friend.',
            usage: { prompt_tokens: 30, completion_tokens: 5 },
            firstChunkDelayMs: 15,
          },
  })
  openai = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key', maxRetries: 0 }))
  sink = await startSink()
})
after(async () => {
  await fake.close()
  await sink.close()
})
beforeEach(async () => {
  await shutdown()
  sink.requests.length = 0
})

async function traffic(): Promise<void> {
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'stream please' }],
    stream: true,
    stream_options: { include_usage: true },
  })
  for await (const _chunk of stream) {
    // drain
  }
  await openai.chat.completions
    .create({ model: 'broken-model', messages: [{ role: 'user', content: 'fail' }] })
    .catch(() => undefined)
  // Not a model call: no metric point.
  observe('lookup', () => 1, { kind: 'tool' })
}

describe('GenAI client metrics', () => {
  test('metrics: true sends the three histograms with the conventions bucket boundaries to /v1/metrics', async () => {
    init({ endpoint: sink.url, apiKey: 'metrics-key', metrics: true, scheduledDelayMillis: 60_000 })
    await traffic()
    await flush()

    const requests = sink.requests.filter((r) => r.url === '/v1/metrics')
    assert.equal(requests.length, 1)
    const request = requests[0]
    assert.ok(request)
    assert.equal(request.headers.authorization, 'Bearer metrics-key')
    assert.equal(request.headers['content-type'], 'application/x-protobuf')
    const metrics = decodeMetrics(request.body)
    const metric = (name: string) => {
      const found = metrics.find((m) => m.name === name)
      assert.ok(found, `${name} was sent`)
      return found
    }

    const duration = metric(GEN_AI_METRICS.operationDuration)
    assert.equal(duration.unit, 's')
    assert.equal(duration.temporality, 1, 'delta temporality')
    const ok = duration.points.find((p) => p.attributes['error.type'] === undefined)
    const failed = duration.points.find((p) => p.attributes['error.type'] !== undefined)
    assert.ok(ok && failed)
    assert.deepEqual(ok.explicitBounds, DURATION_BUCKETS)
    assert.equal(ok.bucketCounts.length, DURATION_BUCKETS.length + 1)
    assert.equal(ok.count, 2)
    assert.ok(ok.sum > 0.015 && ok.sum < 5, `two calls of at least 15 ms each, got ${ok.sum} s`)
    assert.deepEqual(ok.attributes, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
    })
    assert.equal(failed.count, 1)
    assert.equal(failed.attributes['error.type'], 'InternalServerError')
    assert.equal(failed.attributes['gen_ai.request.model'], 'broken-model')

    const tokens = metric(GEN_AI_METRICS.tokenUsage)
    assert.equal(tokens.unit, '{token}')
    const input = tokens.points.find((p) => p.attributes['gen_ai.token.type'] === 'input')
    const output = tokens.points.find((p) => p.attributes['gen_ai.token.type'] === 'output')
    assert.ok(input && output)
    assert.deepEqual(input.explicitBounds, TOKEN_BUCKETS)
    assert.equal(input.count, 2)
    assert.equal(input.sum, 60)
    assert.equal(output.sum, 10)
    // 30 input tokens fall in the (16, 64] bucket.
    assert.equal(input.bucketCounts[TOKEN_BUCKETS.indexOf(64)], 2)

    const firstChunk = metric(GEN_AI_METRICS.timeToFirstChunk)
    assert.equal(firstChunk.points.length, 1)
    assert.equal(firstChunk.points[0]?.count, 1, 'streamed calls only')
    assert.deepEqual(firstChunk.points[0]?.explicitBounds, DURATION_BUCKETS)
    assert.ok((firstChunk.points[0]?.sum ?? 0) >= 0.01)

    // Delta: a second flush without traffic sends nothing new.
    sink.requests.length = 0
    await flush()
    assert.equal(sink.requests.filter((r) => r.url === '/v1/metrics').length, 0)
  })

  test('metrics are off by default', async () => {
    init({ endpoint: sink.url, scheduledDelayMillis: 60_000 })
    await traffic()
    await flush()
    assert.ok(sink.requests.some((r) => r.url === '/v1/traces'))
    assert.equal(sink.requests.filter((r) => r.url === '/v1/metrics').length, 0)
  })
})
