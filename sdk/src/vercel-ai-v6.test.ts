/**
 * The Vercel AI SDK v6 path: `experimental_telemetry: { isEnabled: true, tracer: getTracer() }`,
 * driven through the real `ai` v6 and `@ai-sdk/openai` v3 packages against the fake OpenAI server,
 * exported over real OTLP to a local sink.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createOpenAI } from 'ai-sdk-openai-v3'
import { generateText, streamText } from 'ai-v6'
import { COMMON, GEN_AI } from './attributes'
import { decodeMetrics, type Sink, startSink } from './fixtures/otlp-sink'
import { flush, GEN_AI_METRICS, getTracer, init, observe, shutdown, withAttributes } from './index'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

let fake: FakeOpenAI
let sink: Sink

before(async () => {
  fake = await startFakeOpenAI({
    reply: { content: 'Hello from the model.', usage: { prompt_tokens: 21, completion_tokens: 6 } },
  })
  sink = await startSink()
})
after(async () => {
  await shutdown()
  await fake.close()
  await sink.close()
})

test('AI SDK v6 spans reach Hindsight under the active trace, with trace attributes, usage counted once', async () => {
  init({ endpoint: sink.url, apiKey: 'k', metrics: true, scheduledDelayMillis: 60_000 })
  const openai = createOpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' })
  const telemetry = { isEnabled: true, tracer: getTracer() }

  await withAttributes({ userId: 'user-9', sessionId: 'conv-3' }, () =>
    observe(
      'assistant',
      async () => {
        const generated = await generateText({
          model: openai.chat('gpt-4o-mini'),
          prompt: 'Say hello',
          experimental_telemetry: telemetry,
        })
        assert.equal(generated.text, 'Hello from the model.')
        const streamed = streamText({
          model: openai.chat('gpt-4o-mini'),
          prompt: 'Stream hello',
          experimental_telemetry: telemetry,
        })
        assert.equal(await streamed.text, 'Hello from the model.')
      },
      { kind: 'agent' },
    ),
  )
  // streamText ends its outer span a few microtasks after the text resolved (after onFinish).
  await new Promise((resolve) => setTimeout(resolve, 50))
  await flush()

  const spans = sink.spans()
  const named = (name: string) => {
    const span = spans.find((s) => s.name === name)
    assert.ok(span, `${name} was exported (got ${spans.map((s) => s.name).join(', ')})`)
    return span
  }
  const agent = named('invoke_agent assistant')
  const outer = named('ai.generateText')
  const inner = named('ai.generateText.doGenerate')
  const streamOuter = named('ai.streamText')
  const streamInner = named('ai.streamText.doStream')
  for (const span of [outer, inner, streamOuter, streamInner]) {
    assert.equal(span.traceId, agent.traceId, `${span.name} is in the agent's trace`)
    assert.equal(span.scope, '@hindsight/sdk')
    assert.equal(span.attributes[COMMON.userId], 'user-9')
    assert.equal(span.attributes[COMMON.sessionId], 'conv-3')
    assert.equal(span.attributes['ai.model.id'], 'gpt-4o-mini')
  }
  assert.equal(outer.parentSpanId, agent.spanId)
  assert.equal(inner.parentSpanId, outer.spanId)
  assert.equal(streamInner.parentSpanId, streamOuter.spanId)
  assert.equal(inner.attributes['ai.usage.inputTokens'], 21)
  assert.equal(inner.attributes[GEN_AI.usageInputTokens], 21)
  assert.equal(outer.attributes['ai.usage.inputTokens'], 21, 'the outer span repeats the usage')
  assert.equal(typeof streamInner.attributes['ai.response.msToFirstChunk'], 'number')
  assert.match(String(inner.attributes['ai.prompt.messages']), /Say hello/)

  // The SDK's own metrics count the inner model calls only: 2 calls, 42 input tokens, not 84.
  const metrics = sink.requests.filter((r) => r.url === '/v1/metrics').flatMap((r) => decodeMetrics(r.body))
  const tokens = metrics.find((m) => m.name === GEN_AI_METRICS.tokenUsage)
  const input = tokens?.points.find((p) => p.attributes['gen_ai.token.type'] === 'input')
  assert.equal(input?.count, 2)
  assert.equal(input?.sum, 42)
  const firstChunk = metrics.find((m) => m.name === GEN_AI_METRICS.timeToFirstChunk)
  assert.equal(firstChunk?.points[0]?.count, 1, 'only the streamed call has a time to first chunk')
})
