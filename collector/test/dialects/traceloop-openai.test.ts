// Dialect: OpenLLMetry, as produced by @traceloop/instrumentation-openai (GenAI semconv 1.40 names
// plus Traceloop extras) patching the real `openai` package against a local fake, through the
// OTLP protobuf wire format.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { OpenAIInstrumentation } from '@traceloop/instrumentation-openai'
import type { SpanRow } from '../../src/canonical'
import { durationMs } from './harness'
import {
  ANSWER,
  ANSWER_USAGE,
  captureScenario,
  loadOpenAI,
  MODEL,
  QUESTION,
  runConversation,
  SYSTEM,
  TOOL_RESULT,
  TOOL_TURN_USAGE,
} from './openai-scenario'

const { rows, spans } = captureScenario(async (capture, baseURL) => {
  const instrumentation = new OpenAIInstrumentation({ traceContent: true })
  instrumentation.setTracerProvider(capture.provider)
  await runConversation(loadOpenAI(), baseURL)
})

test('chat spans are read as OpenLLMetry; the embedding call is not instrumented by this package', () => {
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.operation, r.provider, r.model]),
    [
      [`chat ${MODEL}`, 'llm', 'chat', 'openai', MODEL],
      [`chat ${MODEL}`, 'llm', 'chat', 'openai', MODEL],
      [`chat ${MODEL}`, 'llm', 'chat', 'openai', MODEL],
    ],
  )
  for (const [index, row] of rows.entries()) {
    assert.equal(row.attributes['hindsight.dialect'], 'openllmetry')
    assert.equal(row.scope_name, '@traceloop/instrumentation-openai')
    assert.equal(row.duration_ms, durationMs(spans[index] as ReadableSpan))
    assert.equal(row.ttft_ms, null)
  }
})

test('tokens and cost (the package reports neither cached nor reasoning tokens)', () => {
  const [toolTurn, answer] = rows as [SpanRow, SpanRow]
  assert.deepEqual(
    [toolTurn.input_tokens, toolTurn.output_tokens, toolTurn.cache_read_tokens],
    [TOOL_TURN_USAGE.prompt_tokens, TOOL_TURN_USAGE.completion_tokens, 0],
  )
  assert.equal(toolTurn.cost_usd, '0.000027000')
  assert.deepEqual(
    [answer.input_tokens, answer.output_tokens, answer.cache_read_tokens, answer.reasoning_tokens],
    [ANSWER_USAGE.prompt_tokens, ANSWER_USAGE.completion_tokens, 0, 0],
  )
  assert.equal(answer.cost_usd, '0.000480900') // 2006 × 0.15 + 300 × 0.60 per 1M
  assert.equal(answer.attributes['gen_ai.usage.total_tokens'], '2306', 'the total stays an attribute')
})

test('a streamed call without usage is unpriced with a reason, never $0', () => {
  const streamed = rows[2] as SpanRow
  assert.equal(streamed.input_tokens, 0)
  assert.equal(streamed.output_tokens, 0)
  assert.equal(streamed.cost_usd, null)
  assert.equal(streamed.pricing_note, 'no token usage')
  assert.deepEqual(JSON.parse(streamed.output), [
    { role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text', content: ANSWER }] },
  ])
})

test('content: input and output messages in the GenAI parts format, tool call and result included', () => {
  const [toolTurn, answer] = rows as [SpanRow, SpanRow]
  assert.deepEqual(JSON.parse(toolTurn.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
  ])
  const toolOutput = JSON.parse(toolTurn.output)
  assert.equal(toolOutput[0].role, 'assistant')
  assert.equal(toolOutput[0].parts[0].type, 'tool_call')
  assert.equal(toolOutput[0].parts[0].name, 'weather')
  const answerInput = JSON.parse(answer.input) as Array<{
    role: string
    parts: Array<Record<string, unknown>>
  }>
  assert.deepEqual(
    answerInput.map((m) => m.role),
    ['system', 'user', 'assistant', 'tool'],
  )
  assert.equal(answerInput[3]?.parts[0]?.type, 'tool_call_response')
  assert.equal(answerInput[3]?.parts[0]?.response, TOOL_RESULT)
  assert.match(answer.output, /Sunny in Paris/)
  assert.equal(answer.attributes['gen_ai.input.messages'], undefined, 'consumed into input')
  assert.ok(toolTurn.attributes['gen_ai.tool.definitions']?.includes('weather'), 'tool definitions kept')
})
