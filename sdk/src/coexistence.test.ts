/**
 * An app that already runs OpenTelemetry (@opentelemetry/sdk-trace-node, registered globally) adds
 * Hindsight as one more span processor. Runs in its own process (node:test isolates files), since
 * it registers a global provider.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ProxyTracerProvider, trace } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import OpenAI from 'openai'
import { COMMON, HINDSIGHT } from './attributes'
import { type Sink, startSink } from './fixtures/otlp-sink'
import {
  flush,
  getStats,
  hindsightSpanProcessor,
  init,
  observe,
  shutdown,
  withAttributes,
  wrapOpenAI,
} from './index'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

let fake: FakeOpenAI
let sink: Sink

before(async () => {
  fake = await startFakeOpenAI({ reply: { content: 'Hi from the model.' } })
  sink = await startSink()
})
after(async () => {
  await fake.close()
  await sink.close()
})

function globalDelegate(): unknown {
  const provider = trace.getTracerProvider()
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider
}

describe('inside an app that runs its own OpenTelemetry', () => {
  test('init() never registers a global tracer provider', async () => {
    const before = globalDelegate()
    const hindsight = init({ endpoint: sink.url, scheduledDelayMillis: 60_000 })
    hindsight.getTracer().startSpan('ours').end()
    assert.equal(globalDelegate(), before, 'the global provider is untouched')
    assert.equal(
      trace.getTracer('host').startSpan('host span').isRecording(),
      false,
      'no global SDK was installed',
    )
    await shutdown()
    sink.requests.length = 0
  })

  test('hindsightSpanProcessor() in the host provider: LLM spans reach our sink with our key, the host keeps all its spans', async () => {
    const hostExporter = new InMemorySpanExporter()
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'host-app' }),
      spanProcessors: [
        new SimpleSpanProcessor(hostExporter),
        hindsightSpanProcessor({ endpoint: sink.url, apiKey: 'hindsight-key', scheduledDelayMillis: 60_000 }),
      ],
    })
    provider.register()
    assert.equal(globalDelegate(), provider, "the host's provider is the only global one")

    const openai = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'k', maxRetries: 0 }))
    const host = trace.getTracer('host-app')
    await host.startActiveSpan('GET /chat', async (server) => {
      await withAttributes({ userId: 'user-1', route: '/chat' }, async () => {
        host.startSpan('db.query').end()
        await observe(
          'answer',
          () =>
            openai.chat.completions.create({
              model: 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'hi' }],
            }),
          { kind: 'agent' },
        )
      })
      server.end()
    })
    await flush()

    // Our sink: only the GenAI spans, with our key, nested in the host's trace.
    const requests = sink.requests.filter((r) => r.url === '/v1/traces')
    assert.ok(requests.length >= 1)
    for (const request of requests) assert.equal(request.headers.authorization, 'Bearer hindsight-key')
    const ours = sink.spans()
    assert.deepEqual(ours.map((s) => s.name).sort(), ['chat gpt-4o-mini', 'invoke_agent answer'])
    const hostSpans = hostExporter.getFinishedSpans()
    const server = hostSpans.find((s) => s.name === 'GET /chat')
    assert.ok(server)
    const agent = ours.find((s) => s.name === 'invoke_agent answer')
    const chat = ours.find((s) => s.name === 'chat gpt-4o-mini')
    assert.ok(agent && chat)
    assert.equal(agent.traceId, server.spanContext().traceId)
    assert.equal(agent.parentSpanId, server.spanContext().spanId)
    assert.equal(chat.parentSpanId, agent.spanId)
    assert.equal(chat.attributes[COMMON.userId], 'user-1', 'trace attributes reach the exported copy')
    assert.equal(chat.attributes[HINDSIGHT.route], '/chat')
    assert.equal(chat.resource['service.name'], 'host-app', "the host's resource applies")
    assert.equal(chat.scope, '@hindsight/sdk')

    // The host's exporter still gets everything, LLM spans included; its own spans are not modified.
    assert.deepEqual(hostSpans.map((s) => s.name).sort(), [
      'GET /chat',
      'chat gpt-4o-mini',
      'db.query',
      'invoke_agent answer',
    ])
    const db = hostSpans.find((s) => s.name === 'db.query')
    assert.equal(
      db?.attributes[COMMON.userId],
      undefined,
      "host spans are not touched by Hindsight's attributes",
    )
    assert.deepEqual(getStats(), { exported: 2, dropped: 0, failedExports: 0, internalErrors: 0 })

    // The host shutting its provider down flushes Hindsight's processor too.
    sink.requests.length = 0
    observe('late step', () => 1)
    await provider.shutdown()
    assert.deepEqual(
      sink.spans().map((s) => s.name),
      ['late step'],
    )
  })
})
