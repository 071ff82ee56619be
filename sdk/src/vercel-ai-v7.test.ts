/**
 * The Vercel AI SDK v7 path: `registerTelemetry(new OpenTelemetry({ tracer: getTracer() }))` from
 * `@ai-sdk/otel`, driven through the real `ai` v7 and `@ai-sdk/openai` v4 packages against the fake
 * OpenAI server, exported over real OTLP to a local sink. `ai` v7 needs Node 22 or newer.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { COMMON, GEN_AI } from './attributes'
import { type Sink, startSink } from './fixtures/otlp-sink'
import { flush, getTracer, init, observe, shutdown, withAttributes } from './index'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

const major = Number(process.versions.node.split('.')[0])
const skip =
  major < 22 ? `ai v7 and @ai-sdk/otel need Node >= 22 (this is Node ${process.versions.node})` : false

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

test('AI SDK v7 GenAI spans reach Hindsight under the active trace, with trace attributes', {
  skip,
}, async () => {
  // Imported here so that older Node only skips this test instead of failing to load the file.
  const { generateText, registerTelemetry, streamText } = await import('ai')
  const { OpenTelemetry } = await import('@ai-sdk/otel')
  const { createOpenAI } = await import('@ai-sdk/openai')

  // Registered once, before init(): getTracer() follows whichever instance init() makes.
  registerTelemetry(new OpenTelemetry({ tracer: getTracer() }))
  init({ endpoint: sink.url, apiKey: 'k', scheduledDelayMillis: 60_000 })
  const openai = createOpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' })

  await withAttributes({ userId: 'user-9', tags: ['v7'] }, () =>
    observe(
      'assistant',
      async () => {
        const generated = await generateText({ model: openai.chat('gpt-4o-mini'), prompt: 'Say hello' })
        assert.equal(generated.text, 'Hello from the model.')
        const streamed = streamText({ model: openai.chat('gpt-4o-mini'), prompt: 'Stream hello' })
        assert.equal(await streamed.text, 'Hello from the model.')
      },
      { kind: 'agent' },
    ),
  )
  await new Promise((resolve) => setTimeout(resolve, 50))
  await flush()

  const spans = sink.spans()
  const agent = spans.find((s) => s.name === 'invoke_agent assistant')
  assert.ok(agent)
  const aiAgents = spans.filter((s) => s.name === 'invoke_agent gpt-4o-mini')
  const chats = spans.filter((s) => s.name === 'chat gpt-4o-mini')
  assert.equal(aiAgents.length, 2, `got ${spans.map((s) => s.name).join(', ')}`)
  assert.equal(chats.length, 2)
  for (const span of [...aiAgents, ...chats]) {
    assert.equal(span.traceId, agent.traceId)
    assert.equal(span.attributes[COMMON.userId], 'user-9')
    assert.equal(span.attributes['hindsight.tags'], '["v7"]')
  }
  for (const span of aiAgents) assert.equal(span.parentSpanId, agent.spanId)
  for (const chat of chats) {
    assert.equal(chat.attributes[GEN_AI.operationName], 'chat')
    assert.equal(chat.attributes[GEN_AI.usageInputTokens], 21)
    assert.match(String(chat.attributes[GEN_AI.inputMessages]), /hello/)
  }
})
