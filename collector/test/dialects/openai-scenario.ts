/**
 * One conversation driven through the real `openai` package (loaded with `require`, the CommonJS
 * build, so `require`-hooking instrumentations patch it) against the local fake: a tool call, the
 * answer after the tool result (plain and streamed), and an embedding.
 */
import { createRequire } from 'node:module'
import { after, before } from 'node:test'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type { SpanRow } from '../../src/canonical'
import { type FakeOpenAI, type FakeReply, type JsonRecord, startFakeOpenAI } from '../fake-openai'
import { type Capture, startCapture } from './harness'

type OpenAIModule = typeof import('openai')

export const MODEL = 'gpt-4o-mini'
export const EMBEDDING_MODEL = 'text-embedding-3-small'
export const SYSTEM = 'Be brief.'
export const QUESTION = 'Weather in Paris?'
export const ANSWER = 'Sunny in Paris.'
export const TOOL_ARGUMENTS = '{"city":"Paris"}'
export const TOOL_RESULT = 'sunny, 24°C'
/** The tool-call turn: no cache. gpt-4o-mini: 100 × $0.15 + 20 × $0.60 per 1M = $0.000027. */
export const TOOL_TURN_USAGE = { prompt_tokens: 100, completion_tokens: 20 }
/**
 * The answer turn, OpenAI semantics (cached ⊂ prompt, reasoning ⊂ completion). gpt-4o-mini:
 * (2006 − 1920) × 0.15 + 1920 × 0.075 + 300 × 0.60 = 336.9 per 1M → $0.000336900.
 */
export const ANSWER_USAGE = {
  prompt_tokens: 2006,
  completion_tokens: 300,
  cached_tokens: 1920,
  reasoning_tokens: 256,
}
/** Streams wait this long before the first chunk. */
export const FIRST_CHUNK_DELAY_MS = 40

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

/** Tool call when the last message is the user's question, the answer otherwise. */
export function replyFor(body: JsonRecord): FakeReply {
  const messages = Array.isArray(body.messages) ? body.messages : []
  const last = messages[messages.length - 1] as JsonRecord | undefined
  if (last?.role === 'user' && Array.isArray(body.tools)) {
    return {
      toolCalls: [{ id: 'call_weather_1', name: 'weather', arguments: TOOL_ARGUMENTS }],
      usage: TOOL_TURN_USAGE,
    }
  }
  return { content: ANSWER, usage: ANSWER_USAGE, firstChunkDelayMs: FIRST_CHUNK_DELAY_MS }
}

export function startFake(): Promise<FakeOpenAI> {
  return startFakeOpenAI({ reply: (body) => replyFor(body) })
}

/** The `openai` package through `require` (after the instrumentation was registered). */
export function loadOpenAI(): OpenAIModule {
  return createRequire(import.meta.url)('openai') as OpenAIModule
}

export async function runConversation(openai: OpenAIModule, baseURL: string): Promise<void> {
  const client = new openai.OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 })
  const question = [
    { role: 'system' as const, content: SYSTEM },
    { role: 'user' as const, content: QUESTION },
  ]
  const first = await client.chat.completions.create({
    model: MODEL,
    messages: question,
    tools: [WEATHER_TOOL],
    temperature: 0.2,
  })
  const call = first.choices[0]?.message.tool_calls?.[0]
  if (call?.type !== 'function') throw new Error('the fake did not call the tool')
  const withResult = [
    ...question,
    {
      role: 'assistant' as const,
      content: null,
      tool_calls: [{ id: call.id, type: 'function' as const, function: call.function }],
    },
    { role: 'tool' as const, tool_call_id: call.id, content: TOOL_RESULT },
  ]
  await client.chat.completions.create({ model: MODEL, messages: withResult, temperature: 0.2 })
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: withResult,
    stream: true,
    stream_options: { include_usage: true },
  })
  for await (const _chunk of stream) {
    // drain
  }
  await client.embeddings.create({ model: EMBEDDING_MODEL, input: ['hello world'] })
}

/** What a test file captured; the arrays are filled by its `before` hook. */
export interface Captured {
  rows: SpanRow[]
  spans: ReadableSpan[]
}

/**
 * Registers the file's hooks. Before: a capture and the fake are started, `run` instruments the
 * capture's provider and drives its calls against the fake's `baseURL`, and the rows and finished
 * spans are collected. After: the fake and the capture are closed.
 */
export function captureScenario(run: (capture: Capture, baseURL: string) => Promise<void>): Captured {
  const captured: Captured = { rows: [], spans: [] }
  let capture: Capture | undefined
  let fake: FakeOpenAI | undefined
  before(async () => {
    capture = startCapture()
    fake = await startFake()
    await run(capture, fake.baseURL)
    captured.rows.push(...capture.rows())
    captured.spans.push(...capture.finished())
  })
  after(async () => {
    await fake?.close()
    await capture?.shutdown()
  })
  return captured
}
