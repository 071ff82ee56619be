import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import OpenAI, { APIError, RateLimitError } from 'openai'
import { Stream } from 'openai/core/streaming'
import { COMMON, CONTENT_ATTRIBUTES, GEN_AI, HINDSIGHT } from './attributes'
import { getTracer, wrapOpenAI } from './index'
import {
  type FakeOpenAI,
  type FakeReply,
  type InMemoryHindsight,
  initInMemory,
  startFakeOpenAI,
} from './testing'

let fake: FakeOpenAI
let nextReply: FakeReply = {}
let memory: InMemoryHindsight

before(async () => {
  fake = await startFakeOpenAI({ reply: () => nextReply })
})
after(() => fake.close())
beforeEach(() => {
  nextReply = {}
  memory = initInMemory({ release: 'v1.2.3', serviceName: 'sdk-tests' })
})

function client(): OpenAI {
  return wrapOpenAI(new OpenAI({ apiKey: 'test', baseURL: fake.baseURL, maxRetries: 0 }))
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

function lastRequest(): Record<string, unknown> {
  const request = fake.requests.at(-1)
  assert.ok(request)
  return request
}

describe('non-streaming chat completions', () => {
  test('records request, response, tokens and content, and returns the response unchanged', async () => {
    nextReply = {
      content: 'Paris is the capital of France.',
      model: 'gpt-test-2026-01-01',
      id: 'chatcmpl-abc',
      usage: { prompt_tokens: 120, completion_tokens: 30, cached_tokens: 64, reasoning_tokens: 10 },
    }
    const response = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the capital of France?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"France"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'France: capital Paris' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'lookup', description: 'Looks things up', parameters: { type: 'object' } },
        },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 256,
      frequency_penalty: 0.1,
      presence_penalty: 0.3,
      stop: 'END',
      seed: 7,
    })

    assert.equal(response.choices[0]?.message.content, 'Paris is the capital of France.')
    assert.equal(response.id, 'chatcmpl-abc')

    const span = onlyChatSpan()
    assert.equal(span.name, 'chat gpt-test')
    assert.equal(span.kind, SpanKind.CLIENT)
    assert.equal(span.status.code, SpanStatusCode.UNSET)
    const a = span.attributes
    assert.equal(a[GEN_AI.operationName], 'chat')
    assert.equal(a[GEN_AI.providerName], 'openai')
    assert.equal(a[GEN_AI.requestModel], 'gpt-test')
    assert.equal(a[GEN_AI.requestTemperature], 0.2)
    assert.equal(a[GEN_AI.requestTopP], 0.9)
    assert.equal(a[GEN_AI.requestMaxTokens], 256)
    assert.equal(a[GEN_AI.requestFrequencyPenalty], 0.1)
    assert.equal(a[GEN_AI.requestPresencePenalty], 0.3)
    assert.deepEqual(a[GEN_AI.requestStopSequences], ['END'])
    assert.equal(a[GEN_AI.requestSeed], 7)
    assert.equal(a[GEN_AI.requestStream], false)
    assert.equal(a[GEN_AI.responseId], 'chatcmpl-abc')
    assert.equal(a[GEN_AI.responseModel], 'gpt-test-2026-01-01')
    assert.deepEqual(a[GEN_AI.responseFinishReasons], ['stop'])
    assert.equal(a[GEN_AI.usageInputTokens], 120)
    assert.equal(a[GEN_AI.usageOutputTokens], 30)
    assert.equal(a[GEN_AI.usageCacheReadInputTokens], 64)
    assert.equal(a[GEN_AI.usageReasoningOutputTokens], 10)
    assert.equal(a[HINDSIGHT.release], 'v1.2.3')
    assert.equal(span.resource.attributes[COMMON.serviceName], 'sdk-tests')
    assert.equal(span.resource.attributes[COMMON.serviceVersion], 'v1.2.3')

    assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [{ type: 'text', content: 'Be brief.' }])
    assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
      { role: 'user', parts: [{ type: 'text', content: 'What is the capital of France?' }] },
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: { q: 'France' } }],
      },
      {
        role: 'tool',
        parts: [{ type: 'tool_call_response', id: 'call_1', response: 'France: capital Paris' }],
      },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'Paris is the capital of France.' }],
        finish_reason: 'stop',
      },
    ])
    assert.deepEqual(jsonAttribute(span, GEN_AI.toolDefinitions), [
      { type: 'function', name: 'lookup', description: 'Looks things up', parameters: { type: 'object' } },
    ])
  })

  test('keeps APIPromise helpers: withResponse() and asResponse() still work', async () => {
    const openai = client()
    const { data, response, request_id } = await openai.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    assert.equal(response.status, 200)
    assert.match(request_id ?? '', /^req_fake_/)
    assert.equal(data.choices[0]?.message.content, 'Hello from the fake OpenAI server.')
    assert.equal(onlyChatSpan().attributes[GEN_AI.usageInputTokens], 12)

    // The wrapper must not read the body behind the caller's back.
    const raw = await openai.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'raw' }] })
      .asResponse()
    const body = (await raw.json()) as { object: string }
    assert.equal(body.object, 'chat.completion')
  })

  test('helpers built on create (parse) are traced too', async () => {
    const parsed = await client().chat.completions.parse({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'parse me' }],
    })
    assert.equal(parsed.choices[0]?.message.content, 'Hello from the fake OpenAI server.')
    assert.equal(onlyChatSpan().attributes[GEN_AI.requestModel], 'gpt-test')
  })

  test('wrapping twice makes one span per call', async () => {
    const openai = wrapOpenAI(client())
    await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'once' }] })
    onlyChatSpan()
  })
})

describe('streaming chat completions', () => {
  test('measures time to first chunk, accumulates content and reads usage from the final chunk', async () => {
    nextReply = {
      content: 'Streaming works fine.',
      firstChunkDelayMs: 60,
      usage: { prompt_tokens: 40, completion_tokens: 6, cached_tokens: 32, reasoning_tokens: 2 },
    }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    assert.ok(stream instanceof Stream, 'the caller still gets an openai Stream')
    assert.ok(stream.controller instanceof AbortController)
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    assert.equal(text, 'Streaming works fine.')

    const span = onlyChatSpan()
    const a = span.attributes
    const ttft = a[GEN_AI.responseTimeToFirstChunk]
    assert.equal(typeof ttft, 'number')
    assert.ok((ttft as number) >= 0.05, `ttft ${String(ttft)} should include the 60 ms delay`)
    assert.ok((ttft as number) < 5)
    assert.equal(a[GEN_AI.requestStream], true)
    assert.equal(a[GEN_AI.usageInputTokens], 40)
    assert.equal(a[GEN_AI.usageOutputTokens], 6)
    assert.equal(a[GEN_AI.usageCacheReadInputTokens], 32)
    assert.equal(a[GEN_AI.usageReasoningOutputTokens], 2)
    assert.deepEqual(a[GEN_AI.responseFinishReasons], ['stop'])
    assert.equal(a[GEN_AI.responseId], `chatcmpl-fake-${fake.requests.length - 1}`)
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [{ type: 'text', content: 'Streaming works fine.' }],
        finish_reason: 'stop',
      },
    ])
  })

  test('does not force include_usage: without it there are no token counts', async () => {
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'no usage' }],
      stream: true,
    })
    for await (const _ of stream) {
      // drain
    }
    assert.equal(lastRequest().stream_options, undefined)
    const a = onlyChatSpan().attributes
    assert.equal(a[GEN_AI.usageInputTokens], undefined)
    assert.equal(a[GEN_AI.usageOutputTokens], undefined)
    assert.deepEqual(a[GEN_AI.responseFinishReasons], ['stop'])
  })

  test('assembles tool calls from their deltas', async () => {
    nextReply = {
      toolCalls: [
        { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
        { id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
      ],
      chunkSize: 5,
    }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather and time in Paris?' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
      ],
      stream: true,
      stream_options: { include_usage: true },
    })
    let argumentDeltas = 0
    for await (const chunk of stream) argumentDeltas += chunk.choices[0]?.delta.tool_calls?.length ?? 0
    assert.ok(argumentDeltas > 4, 'the arguments really arrived in pieces')

    const span = onlyChatSpan()
    assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['tool_calls'])
    assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
      {
        role: 'assistant',
        parts: [
          { type: 'tool_call', id: 'call_a', name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } },
          { type: 'tool_call', id: 'call_b', name: 'get_time', arguments: { tz: 'Europe/Paris' } },
        ],
        finish_reason: 'tool_calls',
      },
    ])
    const tools = jsonAttribute(span, GEN_AI.toolDefinitions) as { name: string }[]
    assert.deepEqual(
      tools.map((tool) => tool.name),
      ['get_weather', 'get_time'],
    )
  })

  test('the chat.completions.stream() helper is traced through create()', async () => {
    nextReply = { content: 'helper text' }
    const runner = client().chat.completions.stream({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'helper' }],
      stream_options: { include_usage: true },
    })
    const final = await runner.finalChatCompletion()
    assert.equal(final.choices[0]?.message.content, 'helper text')
    const span = onlyChatSpan()
    assert.equal(span.attributes[GEN_AI.requestStream], true)
    assert.equal(span.attributes[GEN_AI.usageOutputTokens], 8)
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, 'helper text')
  })

  test('breaking out early ends the span with what was seen', async () => {
    nextReply = {
      content: 'one two three four five six seven eight nine ten',
      chunkSize: 4,
      chunkDelayMs: 15,
    }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'long answer' }],
      stream: true,
    })
    let received = ''
    let chunks = 0
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content ?? ''
      chunks += 1
      if (chunks === 3) break
    }
    // Read right after `break`, long before the rest of the stream would have arrived.
    const span = onlyChatSpan()
    assert.equal(span.ended, true)
    assert.equal(span.status.code, SpanStatusCode.UNSET)
    assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], undefined)
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, received)
    assert.ok(received.length < 20)
  })

  test('an aborted stream ends the span with what was seen', async () => {
    nextReply = { content: 'abcdefghijklmnopqrstuvwxyz', chunkSize: 2, chunkDelayMs: 10 }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'abort me' }],
      stream: true,
    })
    let chunks = 0
    for await (const _ of stream) {
      chunks += 1
      if (chunks === 4) stream.controller.abort()
    }
    const span = onlyChatSpan()
    assert.equal(span.ended, true)
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.ok((output[0]?.parts[0]?.content.length ?? 0) >= 4)
  })

  test('an error mid-stream is recorded and re-thrown to the caller', async () => {
    nextReply = { content: 'partial answer that never finishes', chunkSize: 5, failAfterChunks: 3 }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'fail midway' }],
      stream: true,
    })
    let seen = ''
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen += chunk.choices[0]?.delta.content ?? ''
      })(),
      (error: unknown) => error instanceof APIError && /mid-stream failure/.test(error.message),
    )
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.attributes[COMMON.errorType], 'APIError')
    const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, seen)
  })

  test('a dropped connection mid-stream ends the span as an error', async () => {
    nextReply = {
      content: 'this connection will be cut',
      chunkSize: 5,
      failAfterChunks: 2,
      failMode: 'destroy',
    }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'cut' }],
      stream: true,
    })
    await assert.rejects(async () => {
      for await (const _ of stream) {
        // drain until the cut
      }
    })
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.ok(typeof span.attributes[COMMON.errorType] === 'string')
  })

  test('tee() branches share one span', async () => {
    nextReply = { content: 'shared stream' }
    const stream = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'tee' }],
      stream: true,
    })
    const [left, right] = stream.tee()
    const read = async (branch: typeof left) => {
      let text = ''
      for await (const chunk of branch) text += chunk.choices[0]?.delta.content ?? ''
      return text
    }
    assert.deepEqual(await Promise.all([read(left), read(right)]), ['shared stream', 'shared stream'])
    const output = jsonAttribute(onlyChatSpan(), GEN_AI.outputMessages) as { parts: { content: string }[] }[]
    assert.equal(output[0]?.parts[0]?.content, 'shared stream')
  })
})

describe('errors', () => {
  test('an HTTP 429 is recorded and the RateLimitError reaches the caller', async () => {
    nextReply = { error: { status: 429, message: 'Slow down' } }
    const error = await client()
      .chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'too fast' }] })
      .then(
        () => assert.fail('should have thrown'),
        (caught: unknown) => caught,
      )
    assert.ok(error instanceof RateLimitError)
    assert.equal(error.status, 429)
    const span = onlyChatSpan()
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.status.message, error.message)
    assert.equal(span.attributes[COMMON.errorType], 'RateLimitError')
    const exception = span.events.find((event) => event.name === 'exception')
    assert.equal(exception?.attributes?.['exception.message'], error.message)
  })

  test('the exact error object is re-thrown, for promises and synchronous throws', async () => {
    const boom = new TypeError('boom')
    const rejecting = wrapOpenAI({
      chat: { completions: { create: (_body: unknown) => Promise.reject(boom) } },
    })
    await assert.rejects(
      rejecting.chat.completions.create({ model: 'm' }),
      (caught: unknown) => caught === boom,
    )
    const throwing = wrapOpenAI({
      chat: {
        completions: {
          create: (_body: unknown): never => {
            throw boom
          },
        },
      },
    })
    assert.throws(
      () => throwing.chat.completions.create({ model: 'm' }),
      (caught: unknown) => caught === boom,
    )
    const spans = memory.chatSpans()
    assert.equal(spans.length, 2)
    for (const span of spans) {
      assert.equal(span.status.code, SpanStatusCode.ERROR)
      assert.equal(span.attributes[COMMON.errorType], 'TypeError')
    }
  })
})

describe('configuration', () => {
  test('captureContent: false writes no content attribute at all', async () => {
    memory = initInMemory({ captureContent: false })
    const openai = client()
    await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'secret system prompt' },
        { role: 'user', content: 'secret question' },
      ],
      tools: [{ type: 'function', function: { name: 'secret_tool' } }],
    })
    const stream = await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'secret streamed question' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    for await (const _ of stream) {
      // drain
    }
    const spans = memory.chatSpans()
    assert.equal(spans.length, 2)
    for (const span of spans) {
      for (const key of CONTENT_ATTRIBUTES) assert.equal(span.attributes[key], undefined, key)
      assert.ok(!JSON.stringify(span.attributes).includes('secret'))
      assert.equal(span.attributes[GEN_AI.usageInputTokens], 12)
    }
  })

  test('enabled: false calls through without spans', async () => {
    memory = initInMemory({ enabled: false })
    const response = await client().chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'untraced' }],
    })
    assert.equal(response.choices[0]?.message.content, 'Hello from the fake OpenAI server.')
    assert.equal(memory.spans().length, 0)
  })

  test('a client wrapped before init() is traced by the instance init() made last', async () => {
    const openai = client()
    const second = initInMemory()
    await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
    assert.equal(memory.spans().length, 0)
    assert.equal(second.chatSpans().length, 1)
  })
})

describe('context', () => {
  test('the chat span nests under the active span', async () => {
    const openai = client()
    await getTracer().startActiveSpan('answer-question', async (parent) => {
      await openai.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'nested' }],
      })
      parent.end()
    })
    const chat = onlyChatSpan()
    const parent = memory.spans().find((span) => span.name === 'answer-question')
    assert.ok(parent)
    assert.equal(chat.spanContext().traceId, parent.spanContext().traceId)
    assert.equal(chat.parentSpanContext?.spanId, parent.spanContext().spanId)
    assert.equal(parent.attributes[HINDSIGHT.release], 'v1.2.3')
  })

  test("it also nests under a span of the host app's own tracer provider", async () => {
    const hostTracer = new BasicTracerProvider().getTracer('host-app')
    const openai = client()
    await hostTracer.startActiveSpan('host-request', async (hostSpan) => {
      await openai.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'host' }],
      })
      hostSpan.end()
      assert.equal(onlyChatSpan().parentSpanContext?.spanId, hostSpan.spanContext().spanId)
    })
  })
})
