// Dialect: OpenTelemetry GenAI conventions, as produced by @opentelemetry/instrumentation-openai
// patching the real `openai` package against a local fake, through the OTLP protobuf wire format.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { metrics } from '@opentelemetry/api'
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { SpanRow } from '../../src/canonical'
import { durationMs } from './harness'
import {
  ANSWER_USAGE,
  captureScenario,
  EMBEDDING_MODEL,
  loadOpenAI,
  MODEL,
  runConversation,
  TOOL_TURN_USAGE,
} from './openai-scenario'

const { rows, spans } = captureScenario(async (capture, baseURL) => {
  const instrumentation = new OpenAIInstrumentation({ captureMessageContent: true })
  instrumentation.setTracerProvider(capture.provider)
  instrumentation.setMeterProvider(metrics.getMeterProvider())
  await runConversation(loadOpenAI(), baseURL)
})

test('four spans, one per call, all read as the OTel GenAI dialect', () => {
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.operation]),
    [
      [`chat ${MODEL}`, 'llm', 'chat'],
      [`chat ${MODEL}`, 'llm', 'chat'],
      [`chat ${MODEL}`, 'llm', 'chat'],
      [`embeddings ${EMBEDDING_MODEL}`, 'embedding', 'embeddings'],
    ],
  )
  for (const row of rows) {
    assert.equal(row.attributes['hindsight.dialect'], 'otel_genai')
    assert.equal(row.scope_name, '@opentelemetry/instrumentation-openai')
    assert.equal(row.provider, 'openai', 'from gen_ai.system')
    assert.equal(row.attributes['gen_ai.system'], undefined, 'consumed into the provider column')
    assert.equal(row.attributes['server.address'], '127.0.0.1', 'unknown attributes are kept')
  }
})

test('chat: model, tokens and cost exactly as reported (this package reports no cache or reasoning)', () => {
  const [toolTurn, answer, streamed] = rows as [SpanRow, SpanRow, SpanRow]
  assert.equal(toolTurn.model, MODEL)
  assert.equal(toolTurn.request_model, MODEL)
  assert.deepEqual(
    [toolTurn.input_tokens, toolTurn.output_tokens, toolTurn.cache_read_tokens, toolTurn.reasoning_tokens],
    [TOOL_TURN_USAGE.prompt_tokens, TOOL_TURN_USAGE.completion_tokens, 0, 0],
  )
  assert.equal(toolTurn.cost_usd, '0.000027000') // 100 × 0.15 + 20 × 0.60 per 1M
  assert.equal(toolTurn.attributes['gen_ai.response.finish_reasons'], '["tool_calls"]')
  assert.equal(toolTurn.attributes['gen_ai.request.temperature'], '0.2')
  for (const row of [answer, streamed]) {
    assert.deepEqual(
      [row.input_tokens, row.output_tokens, row.cache_read_tokens, row.reasoning_tokens],
      [ANSWER_USAGE.prompt_tokens, ANSWER_USAGE.completion_tokens, 0, 0],
    )
    // Without the cached-token count the whole prompt is priced as uncached: 2006 × 0.15 + 300 × 0.60.
    assert.equal(row.cost_usd, '0.000480900')
    assert.equal(row.price_version !== '', true)
    assert.equal(row.pricing_note, '')
  }
})

test('duration is the span duration to the microsecond; no time to first token is reported', () => {
  for (const [index, row] of rows.entries()) {
    assert.equal(row.duration_ms, durationMs(spans[index] as ReadableSpan))
    assert.equal(row.ttft_ms, null)
    assert.ok(row.duration_ms > 0)
  }
})

test('content: this instrumentation emits messages as log records, not span attributes', () => {
  for (const row of rows) {
    assert.equal(row.input, '')
    assert.equal(row.output, '')
  }
})

test('embeddings: input tokens and the embedding price', () => {
  const embedding = rows[3] as SpanRow
  assert.equal(embedding.model, EMBEDDING_MODEL)
  assert.equal(embedding.input_tokens, 2) // the fake counts words: "hello world"
  assert.equal(embedding.output_tokens, 0)
  assert.equal(embedding.cost_usd, '0.000000040') // 2 × $0.02 per 1M
})
