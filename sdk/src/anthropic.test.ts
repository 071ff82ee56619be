import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import Anthropic, { AnthropicError, APIError, OverloadedError, RateLimitError } from '@anthropic-ai/sdk'
import { Stream } from '@anthropic-ai/sdk/core/streaming'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { COMMON, CONTENT_ATTRIBUTES, GEN_AI, HINDSIGHT } from './attributes'
import { getTracer, wrapAnthropic } from './index'
import {
  type FakeAnthropic,
  type FakeAnthropicReply,
  type InMemoryHindsight,
  initInMemory,
  startFakeAnthropic,
} from './testing'

let fake: FakeAnthropic
let nextReply: FakeAnthropicReply = {}
let memory: InMemoryHindsight

before(async () => {
  fake = await startFakeAnthropic({ reply: () => nextReply })
})
after(() => fake.close())
beforeEach(() => {
  nextReply = {}
  memory = initInMemory({ release: 'v9', serviceName: 'anthropic-tests' })
})

function client(): Anthropic {
  return wrapAnthropic(new Anthropic({ apiKey: 'test', baseURL: fake.baseURL, maxRetries: 0 }))
}

function onlyChatSpan(): ReadableSpan {
  const spans = memory.chatSpans()
  assert.equal(spans.length, 1, `expected one chat span, got ${spans.map((s) => s.name).join(', ')}`)
  return spans[0] as ReadableSpan
}

function jsonAttribute(span: ReadableSpan, key: string): unknown {
  const value = span.attributes[key]
  assert.equal(typeof value, 'string', `${key} should be a JSON string`)
  return JSON.parse(value as string)
}

/** The prompt-caching case of the brief: 100 uncached + 1000 read + 500 written (200 for 5 min, 300 for 1 h). */
const CACHED_USAGE = {
  input_tokens: 100,
  output_tokens: 50,
  cache_read_input_tokens: 1000,
  cache_creation_input_tokens: 500,
  ephemeral_5m_input_tokens: 200,
  ephemeral_1h_input_tokens: 300,
}

/** The exact token attributes of {@link CACHED_USAGE}: input includes the cache tokens, once. */
function assertCachedUsage(span: ReadableSpan): void {
  const a = span.attributes
  assert.equal(a[GEN_AI.usageInputTokens], 1600)
  assert.equal(a[GEN_AI.usageOutputTokens], 50)
  assert.equal(a[GEN_AI.usageCacheReadInputTokens], 1000)
  assert.equal(a[GEN_AI.usageCacheCreationInputTokens], 500)
  assert.equal(a[HINDSIGHT.usageCacheCreation1hInputTokens], 300)
}

const SAMPLING: Record<string, number> = { temperature: 0.4, top_p: 0.9, top_k: 40 }

const TOOLS = [
  {
    name: 'get_weather',
    description: 'Current weather',
    input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
  },
]

describe('messages.create', () => {
  test('records request, response, normalized cache usage and content; returns the message unchanged', async () => {
    nextReply = {
      content: 'It is sunny in Paris.',
      model: 'claude-test-20260101',
      id: 'msg_abc',
      usage: CACHED_USAGE,
    }
    const message = await client().messages.create({
      model: 'claude-test',
      max_tokens: 1024,
      system: 'You are a weather bot.',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny, 21°C' },
            { type: 'text', text: 'Thanks, summarize.' },
          ],
        },
      ],
      tools: TOOLS,
      // Sampling parameters older SDK majors type (1.x no longer does); still recorded when sent.
      ...SAMPLING,
      stop_sequences: ['END'],
    })
    assert.equal(message.id, 'msg_abc')
    assert.deepEqual(message.content, [{ type: 'text', text: 'It is sunny in Paris.' }])
    assert.equal(message.usage.input_tokens, 100, "the caller's usage object is not rewritten")

    const span = onlyChatSpan()
    assert.equal(span.name, 'chat claude-test')
    assert.equal(span.kind, SpanKind.CLIENT)
    assert.equal(span.status.code, SpanStatusCode.UNSET)
    const a = span.attributes
    assert.equal(a[GEN_AI.operationName], 'chat')
    assert.equal(a[GEN_AI.providerName], 'anthropic')
    assert.equal(a[GEN_AI.requestModel], 'claude-test')
    assert.equal(a[GEN_AI.requestMaxTokens], 1024)
    assert.equal(a[GEN_AI.requestTemperature], 0.4)
    assert.equal(a[GEN_AI.requestTopP], 0.9)
    assert.equal(a[GEN_AI.requestTopK], 40)
    assert.deepEqual(a[GEN_AI.requestStopSequences], ['END'])
    assert.equal(a[GEN_AI.requestStream], false)
    assert.equal(a[GEN_AI.responseId], 'msg_abc')
    assert.equal(a[GEN_AI.responseModel], 'claude-test-20260101')
    assert.deepEqual(a[GEN_AI.responseFinishReasons], ['end_turn'])
    assertCachedUsage(span)
    assert.equal(a[HINDSIGHT.release], 'v9')

    assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [
      { type: 'text', content: 'You are a weather bot.' },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
      { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'Let me check.' },
          { type: 'tool_call', id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } },
        ],
      },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'toolu_1', response: 'sunny, 21°C' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Thanks, summarize.' }] },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'It is sunny in Paris.' }],
        finish_reason: 'end_turn',
      },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.toolDefinitions), [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Current weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ])
  })

  test('tool use in the output, a system prompt as cached blocks, no cache usage reported', async () => {
    nextReply = { toolUses: [{ id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } }] }
    await client().messages.create({
      model: 'claude-test',
      max_tokens: 256,
      system: [
        { type: 'text', text: 'Rule one.' },
        { type: 'text', text: 'Long shared context.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: TOOLS,
    })
    const span = onlyChatSpan()
    assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['tool_use'])
    assert.equal(span.attributes[GEN_AI.usageInputTokens], 12)
    assert.equal(span.attributes[GEN_AI.usageCacheReadInputTokens], undefined)
    assert.equal(span.attributes[GEN_AI.usageCacheCreationInputTokens], undefined)
    assert.equal(span.attributes[HINDSIGHT.usageCacheCreation1hInputTokens], undefined)
    assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [
      { type: 'text', content: 'Rule one.' },
      { type: 'text', content: 'Long shared context.' },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'toolu_9', name: 'get_weather', arguments: { city: 'Oslo' } }],
        finish_reason: 'tool_use',
      },
    ])
  })

  test('withResponse() and asResponse() still work, and helpers such as beta.messages are traced', async () => {
    const anthropic = client()
    const { data, response } = await anthropic.messages
      .create({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    assert.equal(response.status, 200)
    assert.equal(data.type, 'message')
    assert.equal(typeof onlyChatSpan().attributes[GEN_AI.usageInputTokens], 'number')
    memory.reset()

    // A raw asResponse() leaves the body to the caller: the span ends without it.
    const raw = await anthropic.messages
      .create({ model: 'claude-raw', max_tokens: 64, messages: [{ role: 'user', content: 'raw' }] })
      .asResponse()
    const rawSpan = onlyChatSpan()
    assert.equal(rawSpan.attributes[GEN_AI.requestModel], 'claude-raw')
    assert.equal(rawSpan.attributes[GEN_AI.outputMessages], undefined)
    assert.equal(((await raw.json()) as { type: string }).type, 'message')
    memory.reset()

    await anthropic.beta.messages.create({
      model: 'claude-beta',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'beta' }],
    })
    assert.equal(onlyChatSpan().name, 'chat claude-beta')
  })
})

describe('streaming', () => {
  test('stream: true — time to first delta, text, and cache usage normalized once', async () => {
    nextReply = { content: 'Streaming from Claude.', firstChunkDelayMs: 80, usage: CACHED_USAGE }
    const stream = await client().messages.create({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
    })
    assert.ok(stream instanceof Stream, 'the caller still gets the Anthropic Stream')
    const types: string[] = []
    let text = ''
    for await (const event of stream) {
      types.push(event.type)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text
    }
    assert.equal(text, 'Streaming from Claude.')
    assert.equal(types[0], 'message_start')
    assert.equal(types.at(-1), 'message_stop')

    const span = onlyChatSpan()
    const ttft = span.attributes[GEN_AI.responseTimeToFirstChunk]
    assert.equal(typeof ttft, 'number')
    // message_start came before the delay: the time is measured to the first content delta.
    assert.ok(
      (ttft as number) >= 0.07,
      `ttft ${String(ttft)} should include the 80 ms before the first delta`,
    )
    assert.equal(span.attributes[GEN_AI.requestStream], true)
    assert.equal(span.attributes[GEN_AI.responseId], `msg_fake_${fake.requests.length - 1}`)
    assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['end_turn'])
    // output_tokens: the final count of message_delta (50), not message_start's placeholder (1).
    assertCachedUsage(span)
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'Streaming from Claude.' }],
        finish_reason: 'end_turn',
      },
    ])
  })

  test('message_delta repeating every total (newer API) is merged, not added: input is still 1600', async () => {
    nextReply = { usage: CACHED_USAGE, messageDeltaUsage: 'full' }
    const stream = await client().messages.create({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'totals twice' }],
      stream: true,
    })
    let deltaUsage: unknown
    for await (const event of stream) if (event.type === 'message_delta') deltaUsage = event.usage
    assert.equal((deltaUsage as { cache_read_input_tokens: number }).cache_read_input_tokens, 1000)
    assertCachedUsage(onlyChatSpan())
  })

  test('messages.stream(): events, finalMessage(), tool input from input_json_delta, thinking', async () => {
    nextReply = {
      thinking: 'Need the weather tool.',
      content: 'Checking.',
      toolUses: [{ id: 'toolu_s', name: 'get_weather', input: { city: 'Lyon', days: 2 } }],
      chunkSize: 3,
      usage: CACHED_USAGE,
    }
    const runner = client().messages.stream({
      model: 'claude-test',
      max_tokens: 512,
      system: 'Use tools.',
      messages: [{ role: 'user', content: 'Weather in Lyon for 2 days?' }],
      tools: TOOLS,
    })
    let text = ''
    let jsonPieces = 0
    runner.on('text', (delta) => {
      text += delta
    })
    runner.on('streamEvent', (event) => {
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') jsonPieces += 1
    })
    const final = await runner.finalMessage()
    assert.equal(text, 'Checking.')
    assert.ok(jsonPieces > 3, 'the tool input really arrived in pieces')
    const toolUse = final.content.find((block) => block.type === 'tool_use')
    assert.deepEqual(toolUse?.type === 'tool_use' ? toolUse.input : undefined, { city: 'Lyon', days: 2 })

    const span = onlyChatSpan()
    assert.equal(span.attributes[GEN_AI.requestStream], true)
    assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['tool_use'])
    assertCachedUsage(span)
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [
          { type: 'reasoning', content: 'Need the weather tool.' },
          { type: 'text', content: 'Checking.' },
          { type: 'tool_call', id: 'toolu_s', name: 'get_weather', arguments: { city: 'Lyon', days: 2 } },
        ],
        finish_reason: 'tool_use',
      },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [
      { type: 'text', content: 'Use tools.' },
    ])
  })

  test('a stream left early keeps what was seen: input tokens yes, no placeholder output count', async () => {
    nextReply = { content: 'one two three four five six', chunkSize: 3, chunkDelayMs: 5 }
    const stream = await client().messages.create({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'long' }],
      stream: true,
    })
    let text = ''
    let deltas = 0
    for await (const event of stream) {
      if (event.type !== 'content_block_delta' || event.delta.type !== 'text_delta') continue
      text += event.delta.text
      deltas += 1
      if (deltas === 2) break
    }
    const span = onlyChatSpan()
    assert.equal(span.ended, true)
    assert.equal(span.status.code, SpanStatusCode.UNSET)
    assert.equal(span.attributes[GEN_AI.usageInputTokens], 12)
    assert.equal(span.attributes[GEN_AI.usageOutputTokens], undefined)
    assert.equal(span.attributes[GEN_AI.responseFinishReasons], undefined)
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, text)
    assert.equal(text, 'one tw')
  })

  test('an aborted messages.stream() ends the span with what was seen', async () => {
    nextReply = { content: 'abcdefghijklmnopqrstuvwxyz', chunkSize: 2, chunkDelayMs: 5 }
    const runner = client().messages.stream({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'abort' }],
    })
    let deltas = 0
    runner.on('text', () => {
      deltas += 1
      if (deltas === 3) runner.abort()
    })
    await assert.rejects(runner.finalMessage())
    const span = onlyChatSpan()
    assert.equal(span.ended, true)
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.ok((output[0]?.parts[0]?.content.length ?? 0) >= 6)
  })

  test('an error event mid-stream is recorded with its Anthropic type and re-thrown', async () => {
    nextReply = { content: 'partial answer that fails', chunkSize: 4, failAfterChunks: 6 }
    const stream = await client().messages.create({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'fail' }],
      stream: true,
    })
    let text = ''
    let thrown: unknown
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
          text += event.delta.text
      }
    } catch (error) {
      thrown = error
    }
    assert.ok(thrown instanceof APIError)
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.status.message, thrown.message)
    assert.equal(span.attributes[COMMON.errorType], 'overloaded_error')
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, text)
    assert.ok(text.length > 0)
  })

  test('a dropped connection mid-stream ends the span as an error', async () => {
    nextReply = { content: 'this will be cut', chunkSize: 2, failAfterChunks: 5, failMode: 'destroy' }
    const runner = client().messages.stream({
      model: 'claude-test',
      max_tokens: 512,
      messages: [{ role: 'user', content: 'cut' }],
    })
    await assert.rejects(runner.finalMessage())
    assert.equal(onlyChatSpan().status.code, SpanStatusCode.ERROR)
  })
})

describe('errors', () => {
  test('HTTP errors reach the caller as the same object, and are recorded', async () => {
    nextReply = { error: { status: 429, message: 'Slow down' } }
    const anthropic = client()
    const rateLimited = await anthropic.messages
      .create({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'fast' }] })
      .then(
        () => assert.fail('should have thrown'),
        (caught: unknown) => caught,
      )
    assert.ok(rateLimited instanceof RateLimitError)
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.status.message, rateLimited.message)
    assert.equal(span.attributes[COMMON.errorType], 'RateLimitError')
    const exception = span.events.find((event) => event.name === 'exception')
    assert.equal(exception?.attributes?.['exception.message'], rateLimited.message)
    memory.reset()

    nextReply = { error: { status: 529, message: 'Overloaded' } }
    const overloaded = await anthropic.messages
      .create({
        model: 'claude-test',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'busy' }],
        stream: true,
      })
      .then(
        () => assert.fail('should have thrown'),
        (caught: unknown) => caught,
      )
    assert.ok(overloaded instanceof OverloadedError)
    assert.equal(onlyChatSpan().attributes[COMMON.errorType], 'OverloadedError')
  })

  test('a synchronous throw from the client (non-streaming call too long) is re-thrown as it was', () => {
    let thrown: unknown
    assert.throws(
      () =>
        client().messages.create({
          model: 'claude-test',
          max_tokens: 500_000,
          messages: [{ role: 'user', content: 'write a book' }],
        }),
      (error: unknown) => {
        thrown = error
        return error instanceof AnthropicError && /Streaming is required/.test(error.message)
      },
    )
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.status.message, (thrown as Error).message)
    assert.equal(span.attributes[COMMON.errorType], 'AnthropicError')
    assert.equal(fake.requests.filter((r) => r.max_tokens === 500_000).length, 0, 'nothing was sent')
  })
})

describe('configuration and context', () => {
  test('captureContent: false writes no content, but keeps the usage', async () => {
    memory = initInMemory({ captureContent: false })
    nextReply = { usage: CACHED_USAGE }
    const anthropic = client()
    await anthropic.messages.create({
      model: 'claude-test',
      max_tokens: 64,
      system: 'secret system prompt',
      messages: [{ role: 'user', content: 'secret question' }],
      tools: [{ name: 'secret_tool', input_schema: { type: 'object' } }],
    })
    await anthropic.messages
      .stream({
        model: 'claude-test',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'secret stream' }],
      })
      .finalMessage()
    const spans = memory.chatSpans()
    assert.equal(spans.length, 2)
    for (const span of spans) {
      for (const key of CONTENT_ATTRIBUTES) assert.equal(span.attributes[key], undefined, key)
      assert.ok(!JSON.stringify(span.attributes).includes('secret'))
      assertCachedUsage(span)
    }
  })

  test('enabled: false calls straight through; wrapping twice makes one span; copies are traced', async () => {
    memory = initInMemory({ enabled: false })
    const message = await client().messages.create({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'untraced' }],
    })
    assert.equal(message.content[0]?.type, 'text')
    assert.equal(memory.spans().length, 0)

    memory = initInMemory()
    const twice = wrapAnthropic(client())
    await twice.messages.create({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'x' }],
    })
    onlyChatSpan()
    memory.reset()

    const copy = client().withOptions({ timeout: 5000 })
    await copy.messages.create({
      model: 'claude-copy',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'y' }],
    })
    assert.equal(onlyChatSpan().name, 'chat claude-copy', 'a withOptions() copy is traced too')
  })

  test('the span nests under the active span, for create and for the stream helper', async () => {
    const anthropic = client()
    await getTracer().startActiveSpan('agent-turn', async (parent) => {
      await anthropic.messages.create({
        model: 'claude-test',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'a' }],
      })
      await anthropic.messages
        .stream({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'b' }] })
        .finalMessage()
      parent.end()
    })
    const parent = memory.spans().find((span) => span.name === 'agent-turn')
    assert.ok(parent)
    const chats = memory.chatSpans()
    assert.equal(chats.length, 2)
    for (const chat of chats) assert.equal(chat.parentSpanContext?.spanId, parent.spanContext().spanId)
  })
})
