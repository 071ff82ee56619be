// Dialect: Vercel AI SDK v7 with @ai-sdk/otel (GenAI-convention spans: invoke_agent → step →
// chat → execute_tool), produced by the real `ai` and `@ai-sdk/openai` packages against a local
// fake, through the OTLP protobuf wire format. The agent span repeats its chat spans' usage: it
// must be counted once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createOpenAI } from '@ai-sdk/openai'
import { OpenTelemetry } from '@ai-sdk/otel'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { generateText, registerTelemetry, stepCountIs, streamText, tool } from 'ai'
import { z } from 'zod'
import type { SpanRow } from '../../src/canonical'
import { durationMs } from './harness'
import {
  ANSWER,
  ANSWER_USAGE,
  captureScenario,
  FIRST_CHUNK_DELAY_MS,
  MODEL,
  QUESTION,
  SYSTEM,
  TOOL_RESULT,
  TOOL_TURN_USAGE,
} from './openai-scenario'

const { rows, spans } = captureScenario(async (_capture, baseURL) => {
  registerTelemetry(new OpenTelemetry())
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
    telemetry: { functionId: 'weather-answer' },
  })
  const stream = streamText({ model: openai.chat(MODEL), prompt: QUESTION })
  for await (const _part of stream.textStream) {
    // drain
  }
})

const named = (name: string) => rows.filter((r) => r.name === name)

test('invoke_agent → step (chain) → chat (llm) / execute_tool (tool), read as vercel_ai_otel', () => {
  assert.deepEqual(
    rows.map((r) => [r.name, r.kind, r.operation]),
    [
      [`chat ${MODEL}`, 'llm', 'chat'],
      ['execute_tool weather', 'tool', 'execute_tool'],
      ['step 1', 'chain', 'agent_step'],
      [`chat ${MODEL}`, 'llm', 'chat'],
      ['step 2', 'chain', 'agent_step'],
      [`invoke_agent ${MODEL}`, 'agent', 'invoke_agent'],
      [`chat ${MODEL}`, 'llm', 'chat'],
      ['step 1', 'chain', 'agent_step'],
      [`invoke_agent ${MODEL}`, 'agent', 'invoke_agent'],
    ],
  )
  for (const [index, row] of rows.entries()) {
    assert.equal(row.attributes['hindsight.dialect'], 'vercel_ai_otel')
    assert.equal(row.scope_name, 'gen_ai')
    assert.equal(row.duration_ms, durationMs(spans[index] as ReadableSpan))
  }
  const [agent] = named(`invoke_agent ${MODEL}`) as [SpanRow]
  const steps = rows.filter((r) => r.name.startsWith('step ') && r.trace_id === agent.trace_id)
  for (const step of steps) assert.equal(step.parent_span_id, agent.span_id)
  assert.equal(agent.attributes['gen_ai.agent.name'], 'weather-answer')
})

test('usage is counted once: on the chat spans, with cache reads; the agent span keeps its in attributes', () => {
  const [toolTurn, answer, streamed] = named(`chat ${MODEL}`) as [SpanRow, SpanRow, SpanRow]
  assert.equal(toolTurn.provider, 'openai')
  assert.equal(toolTurn.model, MODEL)
  assert.deepEqual(
    [toolTurn.input_tokens, toolTurn.output_tokens, toolTurn.cache_read_tokens],
    [TOOL_TURN_USAGE.prompt_tokens, TOOL_TURN_USAGE.completion_tokens, 0],
  )
  assert.equal(toolTurn.cost_usd, '0.000027000')
  for (const row of [answer, streamed]) {
    assert.deepEqual(
      [row.input_tokens, row.output_tokens, row.cache_read_tokens],
      [ANSWER_USAGE.prompt_tokens, ANSWER_USAGE.completion_tokens, ANSWER_USAGE.cached_tokens],
    )
    assert.equal(row.cost_usd, '0.000336900')
  }
  const [agent] = named(`invoke_agent ${MODEL}`) as [SpanRow]
  assert.deepEqual([agent.input_tokens, agent.output_tokens, agent.cache_read_tokens], [0, 0, 0])
  assert.equal(agent.cost_usd, null)
  assert.equal(
    agent.attributes['gen_ai.usage.input_tokens'],
    String(toolTurn.input_tokens + answer.input_tokens),
  )
  const trace = rows.filter((r) => r.trace_id === agent.trace_id)
  assert.equal(
    trace.reduce((sum, r) => sum + r.input_tokens, 0),
    2106,
  )
})

test('ttft from gen_ai.client.operation.time_to_first_chunk (seconds) on the streamed chat span', () => {
  const streamed = named(`chat ${MODEL}`)[2] as SpanRow
  const span = spans.filter((s) => s.name === `chat ${MODEL}`)[2] as ReadableSpan
  const seconds = span.attributes['gen_ai.client.operation.time_to_first_chunk'] as number
  assert.equal(streamed.ttft_ms, Math.round(seconds * 1e6) / 1e3)
  assert.ok((streamed.ttft_ms ?? 0) >= FIRST_CHUNK_DELAY_MS - 1, `ttft ${streamed.ttft_ms}`)
  assert.ok((streamed.ttft_ms ?? 0) <= streamed.duration_ms)
  assert.equal((named(`chat ${MODEL}`)[0] as SpanRow).ttft_ms, null, 'non-streamed: not reported')
})

test('content: system instructions lead the input as a system message; tool arguments and result', () => {
  const [toolTurn, answer] = named(`chat ${MODEL}`) as [SpanRow, SpanRow]
  assert.deepEqual(JSON.parse(toolTurn.input), [
    { role: 'system', parts: [{ type: 'text', content: SYSTEM }] },
    { role: 'user', parts: [{ type: 'text', content: QUESTION }] },
  ])
  assert.equal(toolTurn.attributes['gen_ai.system_instructions'], undefined, 'merged into input')
  assert.deepEqual(
    (JSON.parse(answer.input) as Array<{ role: string }>).map((m) => m.role),
    ['system', 'user', 'assistant', 'tool'],
  )
  assert.deepEqual(JSON.parse(answer.output), [
    { role: 'assistant', parts: [{ type: 'text', content: ANSWER }], finish_reason: 'stop' },
  ])
  const [agent] = named(`invoke_agent ${MODEL}`) as [SpanRow]
  assert.equal((JSON.parse(agent.input) as Array<{ role: string }>)[0]?.role, 'system')
  const [toolRow] = named('execute_tool weather') as [SpanRow]
  assert.equal(toolRow.input, '{"city":"Paris"}')
  assert.equal(toolRow.output, JSON.stringify(TOOL_RESULT))
  assert.equal(toolRow.attributes['gen_ai.tool.name'], 'weather')
})
