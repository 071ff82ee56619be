import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, before, beforeEach, describe, test } from 'node:test'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import type OpenAI from 'openai'
import { COMMON, CONTENT_ATTRIBUTES, GEN_AI, HINDSIGHT, OPENAI } from '../attributes'
import { getTracer, wrapOpenAI } from '../index'
import { requestIsObservable } from '../shared/request-observers'
import {
  type FakeOpenAI,
  type FakeReply,
  type InMemoryHindsight,
  initInMemory,
  startFakeOpenAI,
} from '../testing'

/**
 * The wrapper's test matrix, run once per supported openai major (see `openai*.test.ts`) through
 * the real client package against the fake server. Types are those of the newest major; the older
 * majors accept the same calls.
 */

type ErrorClass = abstract new (...args: never[]) => Error

/** One openai major under test. */
export interface OpenAIKit {
  /** e.g. `openai v6`. */
  label: string
  OpenAI: new (options: { apiKey: string; baseURL: string; maxRetries: number }) => OpenAI
  APIError: ErrorClass
  RateLimitError: ErrorClass
  InternalServerError: ErrorClass
  /** The client's `Stream` class (`openai/core/streaming`). */
  Stream: abstract new (
    ...args: never[]
  ) => object
  /**
   * Whether the client throws on an SSE `event: error` in a Responses stream. openai v7 does;
   * v5 and v6 yield it as an `{ type: 'error' }` item and end the stream normally.
   */
  errorEventThrows: boolean
}

export function describeOpenAIWrapper(kit: OpenAIKit): void {
  describe(kit.label, () => {
    const { APIError, RateLimitError, InternalServerError, Stream } = kit
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
      return wrapOpenAI(new kit.OpenAI({ apiKey: 'test', baseURL: fake.baseURL, maxRetries: 0 }))
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

        assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [
          { type: 'text', content: 'Be brief.' },
        ])
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
          {
            type: 'function',
            name: 'lookup',
            description: 'Looks things up',
            parameters: { type: 'object' },
          },
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

        // The wrapper must not read the body behind the caller's back; the call's span still ends
        // (when the response arrives), with what the request said and nothing from the body.
        memory.reset()
        const raw = await openai.chat.completions
          .create({ model: 'gpt-raw', messages: [{ role: 'user', content: 'raw' }] })
          .asResponse()
        const span = onlyChatSpan()
        assert.equal(span.attributes[GEN_AI.requestModel], 'gpt-raw')
        assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
          { role: 'user', parts: [{ type: 'text', content: 'raw' }] },
        ])
        assert.equal(span.attributes[GEN_AI.responseId], undefined)
        assert.equal(span.attributes[GEN_AI.outputMessages], undefined)
        assert.equal(span.status.code, SpanStatusCode.UNSET)
        assert.equal(raw.bodyUsed, false)
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

      test('a withOptions() copy of a wrapped client is traced too', async () => {
        const copy = client().withOptions({ timeout: 5000 })
        await copy.chat.completions.create({
          model: 'gpt-copy',
          messages: [{ role: 'user', content: 'copy' }],
        })
        assert.equal(onlyChatSpan().name, 'chat gpt-copy')
      })

      test('wrapping twice makes one span per call', async () => {
        const openai = wrapOpenAI(client())
        await openai.chat.completions.create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'once' }],
        })
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
              {
                type: 'tool_call',
                id: 'call_a',
                name: 'get_weather',
                arguments: { city: 'Paris', unit: 'c' },
              },
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
        const output = jsonAttribute(onlyChatSpan(), GEN_AI.outputMessages) as {
          parts: { content: string }[]
        }[]
        assert.equal(output[0]?.parts[0]?.content, 'shared stream')
      })
    })

    describe('responses', () => {
      function responsesSpan(): ReadableSpan {
        const span = onlyChatSpan()
        assert.equal(span.attributes[OPENAI.apiType], 'responses')
        return span
      }

      test('non-streaming: request, usage with cached and reasoning tokens, input items and output', async () => {
        nextReply = {
          content: 'Paris.',
          reasoning: 'The user asks for a capital.',
          model: 'gpt-test-2026-01-01',
          id: 'resp_abc',
          usage: { prompt_tokens: 100, completion_tokens: 40, cached_tokens: 60, reasoning_tokens: 12 },
        }
        const response = await client().responses.create({
          model: 'gpt-test',
          instructions: 'Be brief.',
          input: [
            { role: 'developer', content: 'Answer in one word.' },
            { role: 'user', content: [{ type: 'input_text', text: 'Capital of France?' }] },
            { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"France"}' },
            { type: 'function_call_output', call_id: 'call_1', output: 'France: capital Paris' },
          ],
          tools: [
            {
              type: 'function',
              name: 'lookup',
              description: 'Looks things up',
              parameters: { type: 'object' },
              strict: false,
            },
            { type: 'web_search' },
          ],
          temperature: 0.3,
          top_p: 0.8,
          max_output_tokens: 200,
          conversation: 'conv_123',
        })
        assert.equal(response.output_text, 'Paris.', "the client's own output_text helper still works")
        assert.equal(response.id, 'resp_abc')

        const span = responsesSpan()
        assert.equal(span.name, 'chat gpt-test')
        assert.equal(span.kind, SpanKind.CLIENT)
        assert.equal(span.status.code, SpanStatusCode.UNSET)
        const a = span.attributes
        assert.equal(a[GEN_AI.operationName], 'chat')
        assert.equal(a[GEN_AI.providerName], 'openai')
        assert.equal(a[GEN_AI.requestModel], 'gpt-test')
        assert.equal(a[GEN_AI.requestTemperature], 0.3)
        assert.equal(a[GEN_AI.requestTopP], 0.8)
        assert.equal(a[GEN_AI.requestMaxTokens], 200)
        assert.equal(a[GEN_AI.requestStream], false)
        assert.equal(a[GEN_AI.conversationId], 'conv_123')
        assert.equal(a[GEN_AI.responseId], 'resp_abc')
        assert.equal(a[GEN_AI.responseModel], 'gpt-test-2026-01-01')
        assert.deepEqual(a[GEN_AI.responseFinishReasons], ['stop'])
        assert.equal(a[GEN_AI.usageInputTokens], 100)
        assert.equal(a[GEN_AI.usageOutputTokens], 40)
        assert.equal(a[GEN_AI.usageCacheReadInputTokens], 60)
        assert.equal(a[GEN_AI.usageReasoningOutputTokens], 12)
        assert.equal(a[GEN_AI.responseTimeToFirstChunk], undefined)

        assert.deepEqual(jsonAttribute(span, GEN_AI.systemInstructions), [
          { type: 'text', content: 'Be brief.' },
          { type: 'text', content: 'Answer in one word.' },
        ])
        assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
          { role: 'user', parts: [{ type: 'text', content: 'Capital of France?' }] },
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
            parts: [
              { type: 'reasoning', content: 'The user asks for a capital.' },
              { type: 'text', content: 'Paris.' },
            ],
            finish_reason: 'stop',
          },
        ])
        assert.deepEqual(jsonAttribute(span, GEN_AI.toolDefinitions), [
          {
            type: 'function',
            name: 'lookup',
            description: 'Looks things up',
            parameters: { type: 'object' },
          },
          { type: 'web_search', name: 'web_search' },
        ])
      })

      test('non-streaming function calls are the output, with finish reason tool_call', async () => {
        nextReply = {
          toolCalls: [
            { id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { id: 'call_t', name: 'get_time', arguments: '{"tz":"CET"}' },
          ],
        }
        const response = await client().responses.create({ model: 'gpt-test', input: 'Weather and time?' })
        assert.equal(response.output.length, 2)
        const span = responsesSpan()
        assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['tool_call'])
        assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
          { role: 'user', parts: [{ type: 'text', content: 'Weather and time?' }] },
        ])
        assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
          {
            role: 'assistant',
            parts: [
              { type: 'tool_call', id: 'call_w', name: 'get_weather', arguments: { city: 'Paris' } },
              { type: 'tool_call', id: 'call_t', name: 'get_time', arguments: { tz: 'CET' } },
            ],
            finish_reason: 'tool_call',
          },
        ])
      })

      test('streaming: time to first delta, text from deltas, usage from response.completed', async () => {
        nextReply = {
          content: 'Streaming responses work.',
          firstChunkDelayMs: 80,
          usage: { prompt_tokens: 50, completion_tokens: 9, cached_tokens: 32, reasoning_tokens: 3 },
        }
        const stream = await client().responses.create({
          model: 'gpt-test',
          input: 'stream it',
          stream: true,
        })
        assert.ok(stream instanceof Stream, 'the caller still gets an openai Stream')
        const types: string[] = []
        let text = ''
        for await (const event of stream) {
          types.push(event.type)
          if (event.type === 'response.output_text.delta') text += event.delta
        }
        assert.equal(text, 'Streaming responses work.')
        assert.equal(types[0], 'response.created')
        assert.equal(types.at(-1), 'response.completed')

        const span = responsesSpan()
        const a = span.attributes
        const ttft = a[GEN_AI.responseTimeToFirstChunk]
        assert.equal(typeof ttft, 'number')
        // response.created came before the delay: the time is measured to the first delta.
        assert.ok(
          (ttft as number) >= 0.07,
          `ttft ${String(ttft)} should include the 80 ms before the first delta`,
        )
        assert.equal(a[GEN_AI.requestStream], true)
        assert.equal(a[GEN_AI.responseId], `resp_fake_${fake.requests.length - 1}`)
        assert.equal(a[GEN_AI.usageInputTokens], 50)
        assert.equal(a[GEN_AI.usageOutputTokens], 9)
        assert.equal(a[GEN_AI.usageCacheReadInputTokens], 32)
        assert.equal(a[GEN_AI.usageReasoningOutputTokens], 3)
        assert.deepEqual(a[GEN_AI.responseFinishReasons], ['stop'])
        assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
          {
            role: 'assistant',
            parts: [{ type: 'text', content: 'Streaming responses work.' }],
            finish_reason: 'stop',
          },
        ])
      })

      test('streaming function-call argument deltas are assembled', async () => {
        nextReply = {
          toolCalls: [{ id: 'call_s', name: 'search', arguments: '{"query":"hindsight","limit":3}' }],
          chunkSize: 3,
        }
        const stream = await client().responses.create({
          model: 'gpt-test',
          input: 'search please',
          tools: [{ type: 'function', name: 'search', parameters: { type: 'object' }, strict: false }],
          stream: true,
        })
        let argumentDeltas = 0
        for await (const event of stream) {
          if (event.type === 'response.function_call_arguments.delta') argumentDeltas += 1
        }
        assert.ok(argumentDeltas > 5, 'the arguments really arrived in pieces')
        const span = responsesSpan()
        assert.deepEqual(span.attributes[GEN_AI.responseFinishReasons], ['tool_call'])
        assert.deepEqual(jsonAttribute(span, GEN_AI.outputMessages), [
          {
            role: 'assistant',
            parts: [
              {
                type: 'tool_call',
                id: 'call_s',
                name: 'search',
                arguments: { query: 'hindsight', limit: 3 },
              },
            ],
            finish_reason: 'tool_call',
          },
        ])
      })

      test('the responses.stream() helper is traced through create()', async () => {
        nextReply = { content: 'helper output', usage: { prompt_tokens: 21, completion_tokens: 4 } }
        const runner = client().responses.stream({ model: 'gpt-test', input: 'use the helper' })
        let deltas = ''
        runner.on('response.output_text.delta', (event) => {
          deltas += event.delta
        })
        const final = await runner.finalResponse()
        // (v5's helper does not fill `output_text`; the output items are there in every major.)
        const message = final.output.find((item) => item.type === 'message')
        const part = message?.type === 'message' ? message.content[0] : undefined
        assert.equal(part?.type === 'output_text' ? part.text : undefined, 'helper output')
        assert.equal(deltas, 'helper output')
        const span = responsesSpan()
        assert.equal(span.attributes[GEN_AI.requestStream], true)
        assert.equal(span.attributes[GEN_AI.usageInputTokens], 21)
        assert.equal(span.attributes[GEN_AI.usageOutputTokens], 4)
      })

      test('a stream left early keeps the text seen and has no usage (it only comes with the last event)', async () => {
        nextReply = { content: 'one two three four five six seven', chunkSize: 3, chunkDelayMs: 5 }
        const stream = await client().responses.create({ model: 'gpt-test', input: 'long', stream: true })
        let text = ''
        let deltas = 0
        for await (const event of stream) {
          if (event.type !== 'response.output_text.delta') continue
          text += event.delta
          deltas += 1
          if (deltas === 3) break
        }
        const span = responsesSpan()
        assert.equal(span.ended, true)
        assert.equal(span.status.code, SpanStatusCode.UNSET)
        assert.equal(span.attributes[GEN_AI.usageInputTokens], undefined)
        assert.equal(span.attributes[GEN_AI.responseFinishReasons], undefined)
        assert.equal(span.attributes[GEN_AI.responseId], `resp_fake_${fake.requests.length - 1}`)
        const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
        assert.equal(output[0]?.parts[0]?.content, text)
        assert.equal(text, 'one two t')
      })

      test('an aborted stream ends the span with what was seen', async () => {
        nextReply = { content: 'abcdefghijklmnopqrstuvwxyz', chunkSize: 2, chunkDelayMs: 5 }
        const stream = await client().responses.create({ model: 'gpt-test', input: 'abort', stream: true })
        let deltas = 0
        for await (const event of stream) {
          if (event.type === 'response.output_text.delta') deltas += 1
          if (deltas === 2) stream.controller.abort()
        }
        const span = responsesSpan()
        assert.equal(span.ended, true)
        const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
        assert.ok((output[0]?.parts[0]?.content.length ?? 0) >= 4)
        assert.equal(span.attributes[GEN_AI.usageOutputTokens], undefined)
      })

      test('an error event mid-stream marks the span as failed, whether the client throws it or yields it', async () => {
        nextReply = { content: 'partial answer that fails', chunkSize: 4, failAfterChunks: 7 }
        const stream = await client().responses.create({ model: 'gpt-test', input: 'fail', stream: true })
        let text = ''
        let thrown: unknown
        let errorItem: unknown
        try {
          for await (const event of stream) {
            if (event.type === 'response.output_text.delta') text += event.delta
            if ((event.type as string) === 'error') errorItem = event
          }
        } catch (error) {
          thrown = error
        }
        const span = responsesSpan()
        assert.equal(span.status.code, SpanStatusCode.ERROR)
        assert.ok(text.length > 0)
        const output = jsonAttribute(span, GEN_AI.outputMessages) as { parts: { content: string }[] }[]
        assert.equal(output[0]?.parts[0]?.content, text)
        if (kit.errorEventThrows) {
          assert.ok(thrown instanceof APIError, 'this client throws the error event')
          assert.equal(span.status.message, thrown.message)
        } else {
          assert.equal(thrown, undefined, 'this client yields the error event instead of throwing')
          assert.ok(errorItem)
          assert.equal(span.status.message, 'Fake mid-stream failure')
        }
        assert.equal(span.attributes[COMMON.errorType], 'server_error', 'the same error.type in every major')
      })

      test('a dropped connection mid-stream ends the span as an error', async () => {
        nextReply = { content: 'this will be cut', chunkSize: 2, failAfterChunks: 6, failMode: 'destroy' }
        const stream = await client().responses.create({ model: 'gpt-test', input: 'cut', stream: true })
        await assert.rejects(async () => {
          for await (const _ of stream) {
            // drain until the cut
          }
        })
        assert.equal(responsesSpan().status.code, SpanStatusCode.ERROR)
      })

      test('incomplete and failed responses', async () => {
        nextReply = { content: 'cut short', status: 'incomplete' }
        await client().responses.create({ model: 'gpt-test', input: 'long essay', max_output_tokens: 3 })
        const incomplete = responsesSpan()
        assert.deepEqual(incomplete.attributes[GEN_AI.responseFinishReasons], ['length'])
        assert.equal(incomplete.status.code, SpanStatusCode.UNSET)
        memory.reset()

        nextReply = { content: 'never mind', status: 'failed' }
        const stream = await client().responses.create({ model: 'gpt-test', input: 'fail', stream: true })
        for await (const _ of stream) {
          // drain: the failure arrives as response.failed
        }
        const failed = responsesSpan()
        assert.equal(failed.status.code, SpanStatusCode.ERROR)
        assert.equal(failed.attributes[COMMON.errorType], 'server_error')
        assert.deepEqual(failed.attributes[GEN_AI.responseFinishReasons], ['error'])
        assert.equal(failed.attributes[GEN_AI.usageInputTokens], 12)
      })

      test('an HTTP error is recorded and the same error reaches the caller', async () => {
        nextReply = { error: { status: 429, message: 'Slow down' } }
        const error = await client()
          .responses.create({ model: 'gpt-test', input: 'too fast' })
          .then(
            () => assert.fail('should have thrown'),
            (caught: unknown) => caught,
          )
        assert.ok(error instanceof RateLimitError)
        const span = responsesSpan()
        assert.equal(span.status.code, SpanStatusCode.ERROR)
        assert.equal(span.attributes[COMMON.errorType], 'RateLimitError')
        assert.equal(span.status.message, error.message)
      })
    })

    describe('embeddings', () => {
      function embeddingsSpan(): ReadableSpan {
        const spans = memory.spans().filter((span) => span.name.startsWith('embeddings'))
        assert.equal(spans.length, 1, `expected one embeddings span, got ${memory.spans().length} spans`)
        return spans[0] as ReadableSpan
      }

      test('records an embeddings span with the input token count; vectors reach the caller decoded', async () => {
        nextReply = { usage: { prompt_tokens: 17 }, model: 'text-embedding-3-small-v1' }
        const response = await client().embeddings.create({
          model: 'text-embedding-3-small',
          input: ['first text', 'second text'],
        })
        // The client asked for base64 on its own and decoded it: the wrapper saw and changed nothing.
        assert.equal(lastRequest().encoding_format, 'base64')
        assert.equal(response.data.length, 2)
        assert.equal(response.data[0]?.embedding.length, 8)
        assert.ok(Math.abs((response.data[1]?.embedding[0] ?? 0) - 0.02) < 1e-6)

        const span = embeddingsSpan()
        assert.equal(span.name, 'embeddings text-embedding-3-small')
        assert.equal(span.kind, SpanKind.CLIENT)
        const a = span.attributes
        assert.equal(a[GEN_AI.operationName], 'embeddings')
        assert.equal(a[GEN_AI.providerName], 'openai')
        assert.equal(a[GEN_AI.requestModel], 'text-embedding-3-small')
        assert.equal(a[GEN_AI.responseModel], 'text-embedding-3-small-v1')
        assert.equal(a[GEN_AI.usageInputTokens], 17)
        assert.equal(a[GEN_AI.usageOutputTokens], undefined)
        assert.equal(a[GEN_AI.embeddingsDimensionCount], 8)
        assert.equal(a[GEN_AI.requestEncodingFormats], undefined, 'the caller did not choose a format')
        assert.deepEqual(jsonAttribute(span, GEN_AI.inputMessages), [
          {
            role: 'user',
            parts: [
              { type: 'text', content: 'first text' },
              { type: 'text', content: 'second text' },
            ],
          },
        ])
        assert.equal(memory.chatSpans().length, 0)
      })

      test('an explicit format and dimension count are recorded as requested', async () => {
        await client().embeddings.create({
          model: 'text-embedding-3-large',
          input: 'one text',
          encoding_format: 'float',
          dimensions: 16,
        })
        const a = embeddingsSpan().attributes
        assert.deepEqual(a[GEN_AI.requestEncodingFormats], ['float'])
        assert.equal(a[GEN_AI.embeddingsDimensionCount], 16)
        assert.equal(a[GEN_AI.usageInputTokens], 12)
      })

      test('token-id inputs have no text content; errors are recorded and re-thrown', async () => {
        await client().embeddings.create({ model: 'text-embedding-3-small', input: [101, 102, 103] })
        assert.equal(embeddingsSpan().attributes[GEN_AI.inputMessages], undefined)
        memory.reset()

        nextReply = { error: { status: 500, message: 'Embedding backend down' } }
        const error = await client()
          .embeddings.create({ model: 'text-embedding-3-small', input: 'x' })
          .then(
            () => assert.fail('should have thrown'),
            (caught: unknown) => caught,
          )
        assert.ok(error instanceof InternalServerError)
        const span = embeddingsSpan()
        assert.equal(span.status.code, SpanStatusCode.ERROR)
        assert.equal(span.attributes[COMMON.errorType], 'InternalServerError')
      })

      test('captureContent: false leaves the inputs out of Responses and Embeddings spans', async () => {
        memory = initInMemory({ captureContent: false })
        const openai = client()
        await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'secret text' })
        await openai.responses.create({
          model: 'gpt-test',
          instructions: 'secret rules',
          input: 'secret question',
        })
        const stream = await openai.responses.create({
          model: 'gpt-test',
          input: 'secret stream',
          stream: true,
        })
        for await (const _ of stream) {
          // drain
        }
        const spans = memory.spans()
        assert.equal(spans.length, 3)
        for (const span of spans) {
          for (const key of CONTENT_ATTRIBUTES) assert.equal(span.attributes[key], undefined, key)
          assert.ok(!JSON.stringify(span.attributes).includes('secret'))
          assert.equal(span.attributes[GEN_AI.usageInputTokens], 12)
        }
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
        assert.equal(Reflect.get(error, 'status'), 429)
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
        await openai.chat.completions.create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'x' }],
        })
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

      test('the request runs in the span context of the call, without the span itself', async () => {
        let seen: { traceId: string; spanId: string; recording: boolean } | undefined
        const observingFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
          const active = trace.getSpan(context.active())
          if (active) {
            const { traceId, spanId } = active.spanContext()
            seen = { traceId, spanId, recording: active.isRecording() }
          }
          return fetch(input, init)
        }
        const Client = kit.OpenAI as unknown as new (options: {
          apiKey: string
          baseURL: string
          maxRetries: number
          fetch: typeof observingFetch
        }) => OpenAI
        const openai = wrapOpenAI(
          new Client({ apiKey: 'test', baseURL: fake.baseURL, maxRetries: 0, fetch: observingFetch }),
        )
        await openai.chat.completions.create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'ctx' }],
        })
        const chat = onlyChatSpan()
        // What an HTTP instrumentation would parent its span on: the call's ids.
        assert.deepEqual(seen, {
          traceId: chat.spanContext().traceId,
          spanId: chat.spanContext().spanId,
          recording: false,
        })
      })

      test("an HTTP instrumentation of Node's fetch (undici's diagnostics channel) sees the call's ids", async () => {
        let seen: { traceId: string; spanId: string } | undefined
        const onRequest = (): void => {
          const active = trace.getSpan(context.active())
          if (active) seen = { traceId: active.spanContext().traceId, spanId: active.spanContext().spanId }
        }
        diagnostics.subscribe('undici:request:create', onRequest)
        try {
          await client().chat.completions.create({
            model: 'gpt-test',
            messages: [{ role: 'user', content: 'dc' }],
          })
        } finally {
          diagnostics.unsubscribe('undici:request:create', onRequest)
        }
        const chat = onlyChatSpan()
        assert.deepEqual(seen, { traceId: chat.spanContext().traceId, spanId: chat.spanContext().spanId })
      })

      test('with nothing watching the request, the call is traced all the same', async () => {
        const openai = client()
        assert.equal(requestIsObservable(openai.chat.completions, undefined), false)
        await getTracer().startActiveSpan('outer', async (outer) => {
          await openai.chat.completions.create({
            model: 'gpt-test',
            messages: [{ role: 'user', content: 'quiet' }],
          })
          outer.end()
          assert.equal(onlyChatSpan().parentSpanContext?.spanId, outer.spanContext().spanId)
        })
        // The caller's context is untouched after the call.
        assert.equal(trace.getSpan(context.active()), undefined)
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
  })
}
