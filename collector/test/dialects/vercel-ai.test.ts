// Dialect: Vercel AI SDK `ai.*` spans (v6 `experimental_telemetry`), produced by the real `ai`
// package with the real `@ai-sdk/openai` provider against a local fake, through the OTLP protobuf
// wire format. The outer `ai.generateText` span repeats its `doGenerate` children's usage: it must
// be counted once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { createOpenAI } from 'ai-sdk-openai-v3'
import { embed, generateText, stepCountIs, streamText, tool } from 'ai-v6'
import { z } from 'zod'
import type { SpanRow } from '../../src/canonical'
import { durationMs } from './harness'
import {
  ANSWER,
  ANSWER_USAGE,
  captureScenario,
  EMBEDDING_MODEL,
  FIRST_CHUNK_DELAY_MS,
  MODEL,
  QUESTION,
  SYSTEM,
  TOOL_RESULT,
  TOOL_TURN_USAGE,
} from './openai-scenario'

const telemetry = {
  isEnabled: true,
  functionId: 'weather-answer',
  metadata: { userId: 'user-7', sessionId: 'session-9' },
}

const { rows, spans } = captureScenario(async (_capture, baseURL) => {
  const openai = createOpenAI({ apiKey: 'sk-test', baseURL })
  const weather = tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async () => TOOL_RESULT,
  })
  await generateText({
    model: openai.chat(MODEL),
    system: SYSTEM,
    prompt: QUESTION,
    tools: { weather },
    stopWhen: stepCountIs(3),
    experimental_telemetry: telemetry,
  })
  const stream = streamText({
    model: openai.chat(MODEL),
    prompt: QUESTION,
    experimental_telemetry: telemetry,
  })
  for await (const _part of stream.textStream) {
    // drain
  }
  await embed({
    model: openai.embedding(EMBEDDING_MODEL),
    value: 'hello world',
    experimental_telemetry: telemetry,
  })
})

const named = (name: string) => rows.filter((r) => r.name === name)

test('span kinds: outer calls are agent/chain, do* calls are the model calls, tool calls are tools', () => {
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.operation]),
    [
      ['ai.generateText.doGenerate', 'llm', 'chat'],
      ['ai.toolCall', 'tool', 'execute_tool'],
      ['ai.generateText.doGenerate', 'llm', 'chat'],
      ['ai.generateText', 'agent', 'invoke_agent'],
      ['ai.streamText.doStream', 'llm', 'chat'],
      ['ai.streamText', 'agent', 'invoke_agent'],
      ['ai.embed.doEmbed', 'embedding', 'embeddings'],
      ['ai.embed', 'chain', ''],
    ],
  )
  for (const [index, row] of rows.entries()) {
    assert.equal(row.attributes['hindsight.dialect'], 'vercel_ai')
    assert.equal(row.scope_name, 'ai')
    assert.equal(row.duration_ms, durationMs(spans[index] as ReadableSpan))
  }
  const outer = named('ai.generateText')[0] as SpanRow
  for (const inner of [...named('ai.generateText.doGenerate'), ...named('ai.toolCall')]) {
    assert.equal(inner.parent_span_id, outer.span_id, `${inner.name} is a child of ai.generateText`)
    assert.equal(inner.trace_id, outer.trace_id)
  }
})

test('provider ids are normalized (openai.chat → openai); the original is kept', () => {
  for (const row of [...named('ai.generateText.doGenerate'), ...named('ai.streamText.doStream')]) {
    assert.equal(row.provider, 'openai')
    assert.equal(row.attributes['ai.model.provider'], 'openai.chat')
    assert.equal(row.model, MODEL)
    assert.equal(row.request_model, MODEL)
  }
  assert.equal((named('ai.embed.doEmbed')[0] as SpanRow).attributes['ai.model.provider'], 'openai.embedding')
})

test('usage is counted once: on the doGenerate spans, not on the outer span', () => {
  const [toolTurn, answer] = named('ai.generateText.doGenerate') as [SpanRow, SpanRow]
  assert.deepEqual(
    [toolTurn.input_tokens, toolTurn.output_tokens, toolTurn.cache_read_tokens, toolTurn.reasoning_tokens],
    [TOOL_TURN_USAGE.prompt_tokens, TOOL_TURN_USAGE.completion_tokens, 0, 0],
  )
  assert.equal(toolTurn.cost_usd, '0.000027000')
  assert.deepEqual(
    [answer.input_tokens, answer.output_tokens, answer.cache_read_tokens, answer.reasoning_tokens],
    [
      ANSWER_USAGE.prompt_tokens,
      ANSWER_USAGE.completion_tokens,
      ANSWER_USAGE.cached_tokens,
      ANSWER_USAGE.reasoning_tokens,
    ],
  )
  assert.equal(answer.cost_usd, '0.000336900')

  const outer = named('ai.generateText')[0] as SpanRow
  assert.deepEqual([outer.input_tokens, outer.output_tokens, outer.cache_read_tokens], [0, 0, 0])
  assert.equal(outer.cost_usd, null)
  assert.equal(outer.pricing_note, '')
  // Its usage stays visible as attributes, and equals the sum of the model calls.
  assert.equal(outer.attributes['ai.usage.inputTokens'], String(toolTurn.input_tokens + answer.input_tokens))
  assert.equal(
    outer.attributes['ai.usage.outputTokens'],
    String(toolTurn.output_tokens + answer.output_tokens),
  )
  const trace = rows.filter((r) => r.trace_id === outer.trace_id)
  assert.equal(
    trace.reduce((sum, r) => sum + r.input_tokens, 0),
    Number(outer.attributes['ai.usage.inputTokens']),
  )
})

test('streamText: ttft from ai.response.msToFirstChunk (ms), after the fake first-chunk delay', () => {
  const inner = named('ai.streamText.doStream')[0] as SpanRow
  const span = spans.find((s) => s.name === 'ai.streamText.doStream') as ReadableSpan
  const reported = span.attributes['ai.response.msToFirstChunk'] as number
  assert.equal(inner.ttft_ms, Math.round(reported * 1000) / 1000)
  assert.ok((inner.ttft_ms ?? 0) >= FIRST_CHUNK_DELAY_MS - 1, `ttft ${inner.ttft_ms}`)
  assert.ok((inner.ttft_ms ?? 0) <= inner.duration_ms)
  assert.equal(inner.cost_usd, '0.000336900')
  assert.equal((named('ai.streamText')[0] as SpanRow).input_tokens, 0)
  assert.equal(named('ai.streamText')[0]?.ttft_ms, null)
})

test('content: model messages and the prompt become GenAI parts; tool args and result', () => {
  const [toolTurn, answer] = named('ai.generateText.doGenerate') as [SpanRow, SpanRow]
  assert.deepEqual(JSON.parse(toolTurn.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
  ])
  assert.deepEqual(JSON.parse(toolTurn.output), [
    {
      role: 'assistant',
      parts: [{ type: 'tool_call', id: 'call_weather_1', name: 'weather', arguments: { city: 'Paris' } }],
      finish_reason: 'tool_call',
    },
  ])
  const answerInput = JSON.parse(answer.input) as Array<{
    role: string
    parts: Array<Record<string, unknown>>
  }>
  assert.deepEqual(
    answerInput.map((m) => m.role),
    ['system', 'user', 'assistant', 'tool'],
  )
  assert.deepEqual(answerInput[3]?.parts, [
    { type: 'tool_call_response', id: 'call_weather_1', response: TOOL_RESULT },
  ])
  assert.deepEqual(JSON.parse(answer.output), [
    { role: 'assistant', parts: [{ type: 'text', content: ANSWER }], finish_reason: 'stop' },
  ])
  const outer = named('ai.generateText')[0] as SpanRow
  assert.deepEqual(JSON.parse(outer.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
  ])
  assert.match(outer.output, /Sunny in Paris/)
  const toolCall = named('ai.toolCall')[0] as SpanRow
  assert.equal(toolCall.input, '{"city":"Paris"}')
  assert.equal(toolCall.output, JSON.stringify(TOOL_RESULT))
  assert.equal(toolCall.attributes['ai.toolCall.name'], 'weather')
})

test('user and session from the telemetry metadata', () => {
  for (const row of rows) {
    assert.equal(row.user_id, 'user-7', row.name)
    assert.equal(row.session_id, 'session-9', row.name)
  }
})

test('embed: the doEmbed span is the priced embedding call', () => {
  const inner = named('ai.embed.doEmbed')[0] as SpanRow
  assert.equal(inner.model, EMBEDDING_MODEL)
  assert.equal(inner.input_tokens, 2)
  assert.equal(inner.cost_usd, '0.000000040')
  assert.equal(inner.input, '["hello world"]')
  const outer = named('ai.embed')[0] as SpanRow
  assert.equal(outer.input_tokens, 0)
  assert.equal(outer.cost_usd, null)
})
