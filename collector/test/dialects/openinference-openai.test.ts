// Dialect: OpenInference, as produced by @arizeai/openinference-instrumentation-openai patching the
// real `openai` package against a local fake, through the OTLP protobuf wire format.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { SpanRow } from '../../src/canonical'
import { durationMs } from './harness'
import {
  ANSWER,
  ANSWER_USAGE,
  captureScenario,
  EMBEDDING_MODEL,
  loadOpenAI,
  MODEL,
  QUESTION,
  runConversation,
  SYSTEM,
  TOOL_RESULT,
  TOOL_TURN_USAGE,
} from './openai-scenario'

const { rows, spans } = captureScenario(async (capture, baseURL) => {
  const instrumentation = new OpenAIInstrumentation()
  instrumentation.setTracerProvider(capture.provider)
  await runConversation(loadOpenAI(), baseURL)
})

test('kinds from openinference.span.kind; model from llm.model_name; provider from llm.system', () => {
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.operation, r.provider, r.model]),
    [
      ['OpenAI Chat Completions', 'llm', 'chat', 'openai', MODEL],
      ['OpenAI Chat Completions', 'llm', 'chat', 'openai', MODEL],
      ['OpenAI Chat Completions', 'llm', 'chat', 'openai', MODEL],
      ['OpenAI Embeddings', 'embedding', 'embeddings', 'openai', EMBEDDING_MODEL],
    ],
  )
  for (const [index, row] of rows.entries()) {
    assert.equal(row.attributes['hindsight.dialect'], 'openinference')
    assert.equal(row.attributes['openinference.span.kind'], undefined, 'consumed into kind')
    assert.equal(row.attributes['llm.system'], undefined, 'consumed into provider')
    assert.equal(row.duration_ms, durationMs(spans[index] as ReadableSpan))
    assert.equal(row.ttft_ms, null)
  }
})

test('llm.token_count.* with cache read and reasoning details; cost counts the cache once', () => {
  const [toolTurn, answer] = rows as [SpanRow, SpanRow]
  assert.deepEqual(
    [toolTurn.input_tokens, toolTurn.output_tokens, toolTurn.cache_read_tokens, toolTurn.reasoning_tokens],
    [TOOL_TURN_USAGE.prompt_tokens, TOOL_TURN_USAGE.completion_tokens, 0, 0],
  )
  assert.equal(toolTurn.cost_usd, '0.000027000')
  assert.deepEqual(
    [
      answer.input_tokens,
      answer.output_tokens,
      answer.cache_read_tokens,
      answer.cache_write_tokens,
      answer.reasoning_tokens,
    ],
    [2006, 300, 1920, 0, 256],
  )
  assert.equal(ANSWER_USAGE.cached_tokens, answer.cache_read_tokens)
  // (2006 − 1920) × 0.15 + 1920 × 0.075 + 300 × 0.60 = 336.9 per 1M
  assert.equal(answer.cost_usd, '0.000336900')
  assert.equal(answer.attributes['llm.token_count.total'], '2306', 'the total stays an attribute')
  assert.equal(answer.attributes['llm.token_count.prompt'], undefined)
})

test('flattened llm.input_messages / llm.output_messages become GenAI parts, tool calls included', () => {
  const [toolTurn, answer] = rows as [SpanRow, SpanRow]
  assert.deepEqual(JSON.parse(toolTurn.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
  ])
  assert.deepEqual(JSON.parse(toolTurn.output), [
    {
      role: 'assistant',
      parts: [{ type: 'tool_call', id: 'call_weather_1', name: 'weather', arguments: { city: 'Paris' } }],
    },
  ])
  assert.deepEqual(JSON.parse(answer.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
    {
      role: 'assistant',
      parts: [{ type: 'tool_call', id: 'call_weather_1', name: 'weather', arguments: { city: 'Paris' } }],
    },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_weather_1', response: TOOL_RESULT }] },
  ])
  assert.deepEqual(JSON.parse(answer.output), [
    { role: 'assistant', parts: [{ type: 'text', content: ANSWER }] },
  ])
  // The raw request and the parameters are not columns: kept as attributes.
  assert.match(answer.attributes['input.value'] ?? '', /"tool_call_id":"call_weather_1"/)
  assert.equal(answer.attributes['llm.invocation_parameters'], `{"model":"${MODEL}","temperature":0.2}`)
  assert.equal(
    Object.keys(answer.attributes).some((k) => k.startsWith('llm.input_messages.')),
    false,
    'flattened messages are consumed into input',
  )
})

test('spans without token counts (a stream, an embedding) are unpriced with a reason', () => {
  const streamed = rows[2] as SpanRow
  assert.equal(streamed.cost_usd, null)
  assert.equal(streamed.pricing_note, 'no token usage')
  assert.deepEqual(JSON.parse(streamed.output), [
    { role: 'assistant', parts: [{ type: 'text', content: ANSWER }] },
  ])
  const embedding = rows[3] as SpanRow
  assert.equal(embedding.cost_usd, null)
  assert.equal(embedding.pricing_note, 'no token usage')
  assert.equal(embedding.input, '["hello world"]', 'input.value')
})
