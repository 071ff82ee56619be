/**
 * The Anthropic SDK warns on every `messages.create` of a deprecated model (`claude-sonnet-4-5`
 * is one): a replay shows that warning once per model, and leaves every other warning alone.
 * Real `@anthropic-ai/sdk` client (wrapped by the SDK) against the local fake Messages server.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type FakeAnthropic, startFakeAnthropic } from '@hindsight/sdk/testing'
import { candidateSchema } from '../candidate'
import { createCandidateClient } from './client'
import type { RecordedCall } from './request'

let fake: FakeAnthropic
before(async () => {
  fake = await startFakeAnthropic({ reply: { content: 'ok' } })
})
after(async () => {
  await fake.close()
})

const call = (k: number): RecordedCall => ({
  trace_id: `t${k}`,
  span_id: `s${k}`,
  start_ms: 0,
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
  system: '',
  tools: '',
  parameters: {},
  stream: k % 2 === 1,
  duration_ms: 100,
  ttft_ms: null,
  output_tokens: 1,
  output_chars: 2,
  cost_usd: null,
})

test('a deprecated Anthropic model warns once per replay process, not per call; other warnings pass', async () => {
  const client = createCandidateClient(
    candidateSchema.parse({
      provider: 'anthropic',
      api: 'anthropic',
      model: 'claude-sonnet-4-5',
      base_url: fake.baseURL,
    }),
    { apiKey: 'k' },
  )
  const original = console.warn
  const seen: string[] = []
  console.warn = (...args: unknown[]) => {
    seen.push(String(args[0]))
  }
  try {
    for (let k = 0; k < 4; k++) {
      const answer = await client.send(call(k))
      assert.equal(answer.text, 'ok')
      console.warn(`the user's own warning ${k}`)
    }
  } finally {
    console.warn = original
  }
  const deprecation = seen.filter((line) => line.includes("'claude-sonnet-4-5' is deprecated"))
  assert.equal(deprecation.length, 1, seen.join('\n'))
  assert.deepEqual(
    seen.filter((line) => line.startsWith("the user's own")),
    [0, 1, 2, 3].map((k) => `the user's own warning ${k}`),
  )
  assert.equal(fake.requests.length, 4)
})
