/**
 * End to end through every real piece: the SDK and the `openai` client → OTLP/HTTP protobuf →
 * the collector → embedded ClickHouse → the public REST API, all started by `startAllInOne`.
 */
import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { COMMON, GEN_AI } from '@hindsight/collector/conventions'
import { flush, getTracer, init, shutdown, wrapOpenAI } from '@hindsight/sdk'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import OpenAI from 'openai'
import { type AllInOne, startAllInOne } from './all-in-one'
import { type SimulatedProvider, startSimulatedProvider } from './demo/simulated-provider'
import { expectedCostUsd, getJson, isRecord, type PriceEntry, tempDataDir, testConfig } from './test-support'

const API_KEY = 'hs_e2e_key_0123456789abcdef'
const dataDir = tempDataDir('e2e')
let app: AllInOne
let provider: SimulatedProvider

/** The collector's price file, read as data: expected costs are computed from it by hand below. */
const collectorSrc = dirname(createRequire(import.meta.url).resolve('@hindsight/collector/conventions'))
const prices = JSON.parse(readFileSync(join(collectorSrc, 'pricing', 'prices.json'), 'utf8')) as {
  entries: PriceEntry[]
}

function priceFor(provider: string, baseModel: string, responseModel: string): PriceEntry {
  const entry = prices.entries.find(
    (e) =>
      e.provider === provider &&
      e.model === baseModel &&
      (e.model === responseModel || new RegExp(`^(?:${e.model_pattern ?? ''})$`).test(responseModel)),
  )
  assert.ok(entry, `no price for ${provider}/${responseModel} in prices.json`)
  return entry
}

before(async () => {
  app = await startAllInOne(
    testConfig(dataDir, {
      HINDSIGHT_INIT_PROJECT: 'E2E',
      HINDSIGHT_INIT_API_KEY: API_KEY,
      CLICKHOUSE_DATABASE: 'hs_cli_e2e',
    }),
    { next: false, log: () => {} },
  )
  provider = await startSimulatedProvider({ errorRate: 0, timeScale: 0.1, seed: 3 })
  init({
    endpoint: app.otlpUrl,
    apiKey: API_KEY,
    serviceName: 'cli-e2e',
    release: 'e2e-1',
    scheduledDelayMillis: 50,
  })
})

after(async () => {
  await shutdown()
  await provider?.close()
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

interface ApiSpan {
  span_id: string
  parent_span_id: string
  name: string
  kind: string
  model: string
  provider: string
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  cost_usd: number | null
  ttft_ms: number | null
  status: string
  attributes: Record<string, string>
}

async function fetchTrace(traceId: string, timeoutMs = 5000): Promise<ApiSpan[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { status, body } = await getJson(app.webUrl, `/traces/${traceId}`, API_KEY)
    if (status === 200 && isRecord(body) && Array.isArray(body.spans)) return body.spans as ApiSpan[]
    assert.equal(status, 404, `unexpected ${status}: ${JSON.stringify(body)}`)
    if (Date.now() > deadline) assert.fail(`trace ${traceId} not returned within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Run `work` under a parent span of the SDK's tracer and return the trace id. */
async function traced(work: () => Promise<void>): Promise<string> {
  return getTracer().startActiveSpan('e2e-request', async (span) => {
    try {
      await work()
    } finally {
      span.end()
    }
    return span.spanContext().traceId
  })
}

const LONG_SYSTEM = 'You answer billing questions for Acme; quote the refund policy exactly. '.repeat(80)

test('SDK + openai, non-streaming: model, tokens (with cached) and cost to the cent via the REST API', async () => {
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: provider.baseURL, maxRetries: 0 }))
  const request = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system' as const, content: LONG_SYSTEM },
      { role: 'user' as const, content: 'Why was I charged twice?' },
    ],
  }
  // Warm the simulated prompt cache until a call reports cached tokens, as the real API does.
  let usage: OpenAI.CompletionUsage | undefined
  let responseModel = ''
  let traceId = ''
  for (let i = 0; i < 10 && !usage?.prompt_tokens_details?.cached_tokens; i++) {
    traceId = await traced(async () => {
      const completion = await openai.chat.completions.create(request)
      usage = completion.usage
      responseModel = completion.model
    })
  }
  assert.ok(usage?.prompt_tokens_details?.cached_tokens, 'the provider reported cached tokens')
  await flush()
  await app.collector.flush()

  const spans = await fetchTrace(traceId)
  assert.equal(spans.length, 2, 'the parent span and the LLM span')
  const llm = spans.find((s) => s.kind === 'llm')
  const parent = spans.find((s) => s.name === 'e2e-request')
  assert.ok(llm && parent)
  assert.equal(llm.parent_span_id, parent.span_id)
  assert.equal(llm.model, responseModel)
  assert.equal(llm.model, 'gpt-4o-mini-2024-07-18')
  assert.equal(llm.provider, 'openai')
  assert.equal(llm.input_tokens, usage.prompt_tokens)
  assert.equal(llm.output_tokens, usage.completion_tokens)
  assert.equal(llm.cache_read_tokens, usage.prompt_tokens_details.cached_tokens)
  const expected = expectedCostUsd(priceFor('openai', 'gpt-4o-mini', responseModel), {
    input: usage.prompt_tokens,
    output: usage.completion_tokens,
    cacheRead: usage.prompt_tokens_details.cached_tokens,
  })
  assert.ok(expected > 0)
  assert.equal(typeof llm.cost_usd, 'number')
  assert.equal(Math.round((llm.cost_usd ?? 0) * 100), Math.round(expected * 100), 'equal to the cent')
  assert.ok(Math.abs((llm.cost_usd ?? 0) - expected) < 1e-9, `${llm.cost_usd} vs ${expected}`)
})

test('SDK + openai, streaming: usage from the last chunk, ttft_ms > 0, cost', async () => {
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: provider.baseURL, maxRetries: 0 }))
  let usage: OpenAI.CompletionUsage | undefined
  let responseModel = ''
  let text = ''
  const traceId = await traced(async () => {
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Write a short answer about refunds.' }],
    })
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      responseModel = chunk.model
      if (chunk.usage) usage = chunk.usage
    }
  })
  assert.match(text, /\[simulated\]/)
  assert.ok(usage)
  await flush()
  await app.collector.flush()

  const llm = (await fetchTrace(traceId)).find((s) => s.kind === 'llm')
  assert.ok(llm)
  assert.equal(llm.model, responseModel)
  assert.equal(llm.input_tokens, usage.prompt_tokens)
  assert.equal(llm.output_tokens, usage.completion_tokens)
  assert.ok(llm.ttft_ms !== null && llm.ttft_ms > 0, `ttft_ms ${llm.ttft_ms}`)
  const expected = expectedCostUsd(priceFor('openai', 'gpt-4o', responseModel), {
    input: usage.prompt_tokens,
    output: usage.completion_tokens,
  })
  assert.ok(Math.abs((llm.cost_usd ?? 0) - expected) < 1e-9, `${llm.cost_usd} vs ${expected}`)
})

test('a span from the official OTLP proto exporter is queryable within 5 s with model, tokens and cost', async () => {
  const exporterProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [COMMON.serviceName]: 'otel-direct' }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({
          url: `${app.otlpUrl}/v1/traces`,
          headers: { Authorization: `Bearer ${API_KEY}` },
        }),
        { scheduledDelayMillis: 20 },
      ),
    ],
  })
  const tokens = { input: 5200, output: 410, cacheRead: 3000, cacheWrite: 1200 }
  const span = exporterProvider.getTracer('e2e').startSpan(
    'chat claude-sonnet-4-5',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [GEN_AI.operationName]: 'chat',
        [GEN_AI.providerName]: 'anthropic',
        [GEN_AI.requestModel]: 'claude-sonnet-4-5',
        [GEN_AI.responseModel]: 'claude-sonnet-4-5',
        [GEN_AI.usageInputTokens]: tokens.input,
        [GEN_AI.usageOutputTokens]: tokens.output,
        [GEN_AI.usageCacheReadInputTokens]: tokens.cacheRead,
        [GEN_AI.usageCacheCreationInputTokens]: tokens.cacheWrite,
      },
    },
    context.active(),
  )
  span.setStatus({ code: SpanStatusCode.OK })
  span.end()
  const traceId = span.spanContext().traceId
  assert.ok(trace.isSpanContextValid(span.spanContext()))
  const sentAt = Date.now()
  await exporterProvider.forceFlush()
  await exporterProvider.shutdown()

  // No collector.flush() here: the collector's own batching must make it visible in time.
  const spans = await fetchTrace(traceId, 5000 - (Date.now() - sentAt))
  const got = spans[0]
  assert.ok(got)
  assert.equal(got.model, 'claude-sonnet-4-5')
  assert.equal(got.provider, 'anthropic')
  assert.equal(got.input_tokens, tokens.input)
  assert.equal(got.output_tokens, tokens.output)
  assert.equal(got.cache_read_tokens, tokens.cacheRead)
  assert.equal(got.cache_write_tokens, tokens.cacheWrite)
  const expected = expectedCostUsd(priceFor('anthropic', 'claude-sonnet-4-5', 'claude-sonnet-4-5'), tokens)
  assert.ok(expected > 0)
  assert.equal(Math.round((got.cost_usd ?? 0) * 100), Math.round(expected * 100), 'equal to the cent')
  assert.ok(Math.abs((got.cost_usd ?? 0) - expected) < 1e-9, `${got.cost_usd} vs ${expected}`)
})

test('requests without the project key are refused by both servers', async () => {
  assert.equal((await getJson(app.webUrl, '/traces', 'hs_wrong_key_000000')).status, 401)
  const response = await fetch(`${app.otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  })
  assert.equal(response.status, 401)
})
