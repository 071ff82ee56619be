import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { after, before, test } from 'node:test'
import OpenAI from 'openai'
import {
  estimatePromptTokens,
  type SimulatedProvider,
  sleep,
  startSimulatedProvider,
} from './simulated-provider'

let provider: SimulatedProvider
let openai: OpenAI

before(async () => {
  provider = await startSimulatedProvider({ errorRate: 0, timeScale: 0.05 })
  openai = new OpenAI({ apiKey: 'sk-simulated', baseURL: provider.baseURL, maxRetries: 0 })
})
after(() => provider.close())

const LONG_SYSTEM = 'Policy: answer politely and cite the refund rules. '.repeat(120)

test('non-streaming: an OpenAI-shaped answer, labelled simulated, with usage from the prompt length', async () => {
  const messages = [{ role: 'user' as const, content: 'Classify: my invoice is wrong' }]
  const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 50 })
  assert.equal(completion.object, 'chat.completion')
  assert.equal(completion.model, 'gpt-4o-mini-2024-07-18')
  assert.match(completion.choices[0]?.message.content ?? '', /^\[simulated\]/)
  assert.equal(completion.usage?.prompt_tokens, estimatePromptTokens({ messages }))
  const out = completion.usage?.completion_tokens ?? 0
  assert.ok(out >= 3 && out <= 50, `completion tokens ${out} within max_tokens`)
  assert.equal(completion.usage?.total_tokens, (completion.usage?.prompt_tokens ?? 0) + out)
})

test('streaming: chunks, then usage when include_usage is set', async () => {
  const started = performance.now()
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Hello' }],
  })
  let text = ''
  let firstChunkAt = 0
  let usage: OpenAI.CompletionUsage | undefined
  let finish: string | null | undefined
  for await (const chunk of stream) {
    if (!firstChunkAt) firstChunkAt = performance.now()
    text += chunk.choices[0]?.delta?.content ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
    if (chunk.usage) usage = chunk.usage
  }
  assert.match(text, /^\[simulated\] /)
  assert.equal(finish, 'stop')
  assert.ok(usage && usage.completion_tokens > 0 && usage.prompt_tokens > 0)
  assert.ok(firstChunkAt - started > 0)
})

test('a repeated long system prompt is served from the prompt cache (in 128-token steps)', async () => {
  const request = {
    model: 'gpt-4.1-mini',
    messages: [
      { role: 'system' as const, content: LONG_SYSTEM },
      { role: 'user' as const, content: 'Where is my order?' },
    ],
  }
  const first = await openai.chat.completions.create(request)
  assert.ok((first.usage?.prompt_tokens ?? 0) >= 1024)
  assert.equal(first.usage?.prompt_tokens_details?.cached_tokens, 0, 'a cold prefix is not cached')
  let cached = 0
  for (let i = 0; i < 8 && cached === 0; i++) {
    cached = (await openai.chat.completions.create(request)).usage?.prompt_tokens_details?.cached_tokens ?? 0
  }
  assert.ok(cached > 0, 'a warm prefix is cached at least sometimes')
  assert.equal(cached % 128, 0)
  assert.ok(cached <= (first.usage?.prompt_tokens ?? 0))
})

test('errors come as OpenAI error responses the client turns into its error classes', async () => {
  const failing = await startSimulatedProvider({ errorRate: 1, timeScale: 0 })
  try {
    const client = new OpenAI({ apiKey: 'sk-simulated', baseURL: failing.baseURL, maxRetries: 0 })
    const statuses = new Set<number>()
    for (let i = 0; i < 12; i++) {
      const error = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
        .then(
          () => null,
          (e: unknown) => e,
        )
      assert.ok(error instanceof OpenAI.APIError, String(error))
      assert.match(error.message, /\[simulated\]/)
      statuses.add(error.status ?? 0)
    }
    assert.deepEqual([...statuses].sort(), [429, 500])
    assert.equal(failing.stats().errors, 12)
  } finally {
    await failing.close()
  }
})

test('malformed requests get a 400 naming the problem', async () => {
  const response = await fetch(`${provider.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
  })
  assert.equal(response.status, 400)
  const body = (await response.json()) as { error: { message: string } }
  assert.match(body.error.message, /messages/)
})

test('waits leave no abort listener behind (a streamed answer waits once per chunk on one signal)', async () => {
  const controller = new AbortController()
  // More waits than Node's listener limit (10), as a long streamed answer makes.
  for (let i = 0; i < 15; i++) await sleep(1, controller.signal)
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  // An abort still ends a wait early, and its listener goes with it.
  const started = performance.now()
  const waiting = sleep(10_000, controller.signal)
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
  controller.abort()
  await waiting
  assert.ok(performance.now() - started < 1000)
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
})
