/**
 * Replay over both wire protocols, end to end: recorded calls in the real embedded engine, a
 * frozen cohort, the real `openai` and `@anthropic-ai/sdk` clients wrapped by the SDK, the SDK's
 * local fake OpenAI and Anthropic servers, and the SDK's in-memory exporter standing in for the
 * collector.
 *
 * Fixture (one project, one day):
 * - a 3-step tool-using agent trace recorded from OpenAI (gpt-4o): step 1 asks, the model calls
 *   `lookup_order`; step 2 carries that call and its recorded output, the model calls `track`;
 *   step 3 carries both and the model answers;
 * - a 2-step agent trace recorded from Anthropic (claude-test-1, as the SDK's wrapAnthropic
 *   stores it: a thinking part, a tool_result as a `tool` message, top_k and max_tokens), streamed;
 * - a single-turn OpenAI call recorded streaming.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import {
  type FakeAnthropic,
  type FakeOpenAI,
  type InMemoryHindsight,
  initInMemory,
  startFakeAnthropic,
  startFakeOpenAI,
} from '@hindsight/sdk/testing'
import { candidateSchema } from '../candidate'
import { type Cohort, createCohort } from '../cohort'
import { replayMetrics } from './report'
import { placeBreakpoints, type RecordedCall, toAnthropicRequest, toChatRequest } from './request'
import { loadReplayCalls, runReplay } from './runner'
import { ReplayCallStore, ReplayCallWriter } from './store'

const P = 'project-wire'
const T0 = new Date('2026-05-04T00:00:00Z')
const MIN = 60_000
const FILTER = { from: T0.toISOString(), to: new Date(T0.getTime() + 24 * 60 * MIN).toISOString() }
const AGENT = hexId(0xa1, 32)
const CLAUDE = hexId(0xa2, 32)
const SINGLE = hexId(0xa3, 32)
const SYSTEM = JSON.stringify([{ type: 'text', content: 'You are the order desk.' }])
const TOOLS = JSON.stringify([
  {
    type: 'function',
    name: 'lookup_order',
    description: 'Finds an order',
    parameters: { type: 'object', properties: { id: { type: 'number' } } },
  },
  { type: 'function', name: 'track', parameters: { type: 'object', properties: { t: { type: 'string' } } } },
])

const user = { role: 'user', parts: [{ type: 'text', content: 'Where is order 42?' }] }
const call1 = {
  role: 'assistant',
  parts: [{ type: 'tool_call', id: 'c1', name: 'lookup_order', arguments: { id: 42 } }],
}
const result1 = { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: 'shipped, T-77' }] }
const call2 = {
  role: 'assistant',
  parts: [{ type: 'tool_call', id: 'c2', name: 'track', arguments: { t: 'T-77' } }],
}
const result2 = {
  role: 'tool',
  parts: [{ type: 'tool_call_response', id: 'c2', response: 'arrives Monday' }],
}
const toolOut = (id: string, name: string, args: unknown) =>
  JSON.stringify([{ role: 'assistant', parts: [{ type: 'tool_call', id, name, arguments: args }] }])

function fixture(): SpanRow[] {
  const base = {
    project_id: P,
    input_tokens: 300,
    output_tokens: 20,
    cost_usd: '0.001000000',
    ttft_ms: null,
  }
  const openai = {
    ...base,
    trace_id: AGENT,
    provider: 'openai',
    model: 'gpt-4o',
    attributes: {
      'gen_ai.system_instructions': SYSTEM,
      'gen_ai.tool.definitions': TOOLS,
      'gen_ai.request.temperature': '1.5',
    },
  }
  const claude = {
    ...base,
    trace_id: CLAUDE,
    provider: 'anthropic',
    model: 'claude-test-1',
    ttft_ms: 400,
    attributes: {
      'gen_ai.system_instructions': SYSTEM,
      'gen_ai.tool.definitions': TOOLS,
      'gen_ai.request.max_tokens': '512',
      'gen_ai.request.top_k': '40',
      'gen_ai.request.stream': 'true',
    },
  }
  const thinking = {
    role: 'assistant',
    parts: [
      { type: 'reasoning', content: 'I should look it up.' },
      { type: 'text', content: 'Let me check.' },
      { type: 'tool_call', id: 'toolu_1', name: 'lookup_order', arguments: { id: 7 } },
    ],
  }
  const claudeResult = {
    role: 'tool',
    parts: [{ type: 'tool_call_response', id: 'toolu_1', response: 'delivered' }],
  }
  const claudeUser = { role: 'user', parts: [{ type: 'text', content: 'And order 7?' }] }
  const at = (m: number) => new Date(T0.getTime() + m * MIN)
  return [
    span({
      ...openai,
      span_id: hexId(0xb1, 16),
      start: at(1),
      durationMs: 800,
      input: JSON.stringify([user]),
      output: toolOut('c1', 'lookup_order', { id: 42 }),
    }),
    span({
      ...openai,
      span_id: hexId(0xb2, 16),
      start: at(2),
      durationMs: 900,
      input: JSON.stringify([user, call1, result1]),
      output: toolOut('c2', 'track', { t: 'T-77' }),
    }),
    span({
      ...openai,
      span_id: hexId(0xb3, 16),
      start: at(3),
      durationMs: 700,
      input: JSON.stringify([user, call1, result1, call2, result2]),
      output: JSON.stringify([
        { role: 'assistant', parts: [{ type: 'text', content: 'It arrives Monday.' }] },
      ]),
    }),
    span({
      ...claude,
      span_id: hexId(0xc1, 16),
      start: at(10),
      durationMs: 1000,
      input: JSON.stringify([claudeUser]),
      output: toolOut('toolu_1', 'lookup_order', { id: 7 }),
    }),
    span({
      ...claude,
      span_id: hexId(0xc2, 16),
      start: at(11),
      durationMs: 1100,
      input: JSON.stringify([claudeUser, thinking, claudeResult]),
      output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Delivered.' }] }]),
    }),
    span({
      ...base,
      trace_id: SINGLE,
      span_id: hexId(0xd1, 16),
      provider: 'openai',
      model: 'gpt-4o',
      ttft_ms: 250,
      start: at(20),
      durationMs: 600,
      input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Say hi' }] }]),
      output: 'hi',
      attributes: { 'gen_ai.request.stream': 'true' },
    }),
  ]
}

let storage: Storage
let dir: string
let openai: FakeOpenAI
let anthropic: FakeAnthropic
let sdk: InMemoryHindsight
let cohort: Cohort
let calls: RecordedCall[]

/** Agent-like fakes: call a tool per step until two tool results are in the prompt, then answer. */
const toolResultsInOpenAI = (body: Record<string, unknown>) =>
  (Array.isArray(body.messages) ? body.messages : []).filter(
    (m) => typeof m === 'object' && m !== null && (m as { role?: unknown }).role === 'tool',
  ).length
const toolResultsInAnthropic = (body: Record<string, unknown>) =>
  (Array.isArray(body.messages) ? body.messages : [])
    .flatMap((m) => {
      const content = (m as { content?: unknown }).content
      return Array.isArray(content) ? content : []
    })
    .filter((b) => (b as { type?: unknown }).type === 'tool_result').length

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-replay-wire-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_replay_wire' })
  await migrate(storage)
  await insertSpans(storage, fixture())
  cohort = await createCohort(storage, P, FILTER)
  openai = await startFakeOpenAI({
    reply: (body) => {
      const n = toolResultsInOpenAI(body)
      const usage = { prompt_tokens: 50, completion_tokens: 10 }
      if (JSON.stringify(body.messages).includes('Say hi'))
        return { content: 'Hi there!', usage, firstChunkDelayMs: 40, chunkDelayMs: 2 }
      if (n === 0)
        return {
          toolCalls: [{ id: 'k1', name: 'lookup_order', arguments: '{"id":42}' }],
          usage,
          chunkSize: 3,
        }
      if (n === 1) return { toolCalls: [{ id: 'k2', name: 'track', arguments: '{"t":"T-77"}' }], usage }
      return { content: 'Monday, it says.', usage }
    },
  })
  anthropic = await startFakeAnthropic({
    reply: (body) => {
      const usage = {
        input_tokens: 100,
        output_tokens: 50,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 200,
      }
      if (toolResultsInAnthropic(body) === 0)
        return {
          toolUses: [{ id: 'toolu_k', name: 'lookup_order', input: { id: 7 } }],
          usage,
          messageDeltaUsage: 'full',
        }
      return { content: 'Order 7 was delivered.', usage, firstChunkDelayMs: 40, messageDeltaUsage: 'full' }
    },
  })
  sdk = initInMemory()
  calls = await loadReplayCalls(storage, P, cohort)
})

after(async () => {
  await openai.close()
  await anthropic.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const candidate = (over: Record<string, unknown>) =>
  candidateSchema.parse({ provider: 'openai', model: 'cand', price: { input: 1000, output: 1000 }, ...over })
const byId = (id: number) => {
  const c = calls.find((x) => x.span_id === hexId(id, 16))
  assert.ok(c, `call ${id.toString(16)}`)
  return c
}

describe('replay requests', () => {
  test('loading: recorded streaming and recorded tool calls come with each call', () => {
    assert.equal(calls.length, 6)
    assert.equal(byId(0xb1).stream, false)
    assert.equal(byId(0xc1).stream, true)
    assert.equal(byId(0xd1).stream, true)
    assert.deepEqual(byId(0xb1).tool_calls, ['lookup_order'])
    assert.deepEqual(byId(0xb2).tool_calls, ['track'])
    assert.deepEqual(byId(0xb3).tool_calls, [])
  })

  test('recorded OpenAI agent step → Anthropic Messages: system apart, tool_use / tool_result blocks, input_schema', () => {
    const request = toAnthropicRequest(byId(0xb3), candidate({ api: 'anthropic', model: 'claude-x' }))
    assert.equal(request.model, 'claude-x')
    assert.deepEqual(request.system, [{ type: 'text', text: 'You are the order desk.' }])
    assert.equal(request.max_tokens, 4096) // required by Anthropic, not recorded
    assert.equal(request.temperature, 1) // recorded 1.5 is beyond Anthropic's range
    assert.deepEqual(
      request.messages.map((m) => [m.role, m.content.map((b) => b.type).join(',')]),
      [
        ['user', 'text'],
        ['assistant', 'tool_use'],
        ['user', 'tool_result'],
        ['assistant', 'tool_use'],
        ['user', 'tool_result'],
      ],
    )
    assert.deepEqual(request.messages[1]?.content[0], {
      type: 'tool_use',
      id: 'c1',
      name: 'lookup_order',
      input: { id: 42 },
    })
    assert.deepEqual(request.messages[4]?.content[0], {
      type: 'tool_result',
      tool_use_id: 'c2',
      content: 'arrives Monday',
    })
    assert.deepEqual(request.tools?.[1], {
      name: 'track',
      input_schema: { type: 'object', properties: { t: { type: 'string' } } },
    })
    assert.equal(JSON.stringify(request).includes('cache_control'), false) // caching off
  })

  test('recorded Anthropic step → Chat Completions: thinking dropped, tool result as a tool message, top_k dropped', () => {
    const request = toChatRequest(byId(0xc2), candidate({ base_url: openai.baseURL }))
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool'],
    )
    assert.deepEqual(request.messages[2], {
      role: 'assistant',
      content: 'Let me check.',
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'lookup_order', arguments: '{"id":7}' } },
      ],
    })
    assert.deepEqual(request.messages[3], { role: 'tool', tool_call_id: 'toolu_1', content: 'delivered' })
    assert.equal(request.max_completion_tokens, 512)
    assert.equal(request.top_k, undefined)
    assert.equal(request.stream, undefined) // the runner decides streaming
  })

  test("caching 'on' places breakpoints per the rule: end of system and end of the prompt, 1 h TTL when asked", () => {
    const on = candidate({ api: 'anthropic', model: 'claude-test-1', caching: 'on', cache_ttl: '1h' })
    const request = toAnthropicRequest(byId(0xb3), on, {
      mode: 'breakpoints',
      breakpoints_at: ['static', 'last_message'],
      max_breakpoints: 4,
    })
    assert.deepEqual(request.system?.[0]?.cache_control, { type: 'ephemeral', ttl: '1h' })
    const last = request.messages[request.messages.length - 1]
    assert.deepEqual(last?.content[last.content.length - 1]?.cache_control, { type: 'ephemeral', ttl: '1h' })
    assert.equal(JSON.stringify(request).split('cache_control').length - 1, 2)
    // Without a system prompt, the static breakpoint goes on the last tool; max_breakpoints keeps the latest.
    const bare = toAnthropicRequest(
      { ...byId(0xb3), system: '' },
      candidate({ api: 'anthropic', model: 'm' }),
    )
    const placed = placeBreakpoints(bare, {
      mode: 'breakpoints',
      breakpoints_at: ['static', 'previous_turn', 'last_message'],
      max_breakpoints: 2,
    })
    assert.equal(placed, 2)
    assert.equal(bare.tools?.[1]?.cache_control, undefined) // dropped: the earliest of three
    assert.deepEqual(bare.messages[2]?.content[0]?.cache_control, { type: 'ephemeral' }) // previous turn
    assert.deepEqual(bare.messages[4]?.content[0]?.cache_control, { type: 'ephemeral' })
  })
})

describe('replay runs', () => {
  test('3-step agent trace, OpenAI candidate: each step replayed with the recorded tool outputs, the candidate tool calls recorded', async () => {
    const before = openai.requests.length
    sdk.reset()
    const run = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_agent_openai',
      cohort,
      candidate: candidate({ base_url: openai.baseURL, concurrency: 1, parameters: { stream: false } }),
      apiKey: 'k',
    })
    assert.equal(run.status, 'done')
    assert.equal(run.failed, 0)
    const sent = openai.requests.slice(before)
    assert.equal(sent.length, 6)
    // The agent's steps, in order: 0, 1 and 2 recorded tool outputs stubbed in.
    const agentBodies = sent.filter((b) =>
      JSON.stringify(b.messages).includes('Where is order 42?'),
    ) as Array<{ messages: Array<{ role: string; content: string | null }> }>
    assert.deepEqual(
      agentBodies.map((b) => b.messages.filter((m) => m.role === 'tool').map((m) => m.content)),
      [[], ['shipped, T-77'], ['shipped, T-77', 'arrives Monday']],
    )
    const step = (id: number) => run.records.find((r) => r.span_id === hexId(id, 16))?.result
    assert.deepEqual(step(0xb1)?.tool_calls, [{ id: 'k1', name: 'lookup_order', arguments: '{"id":42}' }])
    assert.deepEqual(step(0xb1)?.baseline.tool_calls, ['lookup_order'])
    assert.deepEqual(step(0xb2)?.tool_calls, [{ id: 'k2', name: 'track', arguments: '{"t":"T-77"}' }])
    assert.equal(step(0xb3)?.output_text, 'Monday, it says.')
    assert.equal(step(0xb3)?.tool_calls, undefined)
    assert.equal(step(0xb3)?.streamed, false) // the candidate's stream: false wins over the recording
    assert.equal(run.streamed, 0)
    const spans = sdk.chatSpans()
    assert.equal(spans.length, 6)
    for (const s of spans) assert.equal(s.attributes['hindsight.metadata.backtest_id'], 'bt_agent_openai')
  })

  test('streaming replay: recorded streamed calls stream by default and the candidate TTFT is stored and reported', async () => {
    const run = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_stream_openai',
      cohort,
      candidate: candidate({ base_url: openai.baseURL, concurrency: 3 }),
      apiKey: 'k',
    })
    assert.equal(run.failed, 0)
    const streamedIds = run.records.filter((r) => r.result.streamed).map((r) => r.span_id)
    assert.deepEqual(streamedIds.sort(), [hexId(0xc1, 16), hexId(0xc2, 16), hexId(0xd1, 16)].sort())
    assert.equal(run.streamed, 3)
    const answered = run.records.find((r) => r.span_id === hexId(0xd1, 16))?.result
    assert.ok(answered)
    // The fake waits 40 ms before the first chunk of a text answer.
    assert.ok(answered.ttft_ms !== null && answered.ttft_ms >= 35, `ttft ${answered.ttft_ms}`)
    assert.ok(answered.duration_ms >= answered.ttft_ms)
    assert.equal(answered.output_text, 'Hi there!')
    assert.equal(answered.output_tokens, 10) // usage from the final chunk (include_usage)
    // The streamed tool call is reassembled from its argument pieces.
    const claudeStep1 = run.records.find((r) => r.span_id === hexId(0xc1, 16))?.result
    assert.deepEqual(claudeStep1?.tool_calls, [{ id: 'k1', name: 'lookup_order', arguments: '{"id":42}' }])
    // Stored: a second run resumes everything and re-issues nothing.
    const stored = await new ReplayCallStore(storage).list(P, 'bt_stream_openai')
    assert.equal(stored.find((r) => r.span_id === hexId(0xd1, 16))?.result.ttft_ms, answered.ttft_ms)
    const ttft = replayMetrics(run.records).find((m) => m.name === 'ttft_ms')
    assert.equal(ttft?.n, 3) // the calls recorded and replayed streaming
    assert.ok(ttft?.candidate !== null && (ttft?.candidate ?? 0) > 0)
  })

  test('Anthropic candidate: agent steps through wrapAnthropic, streamed, cache breakpoints, usage and cost translated back', async () => {
    const before = anthropic.requests.length
    sdk.reset()
    const run = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_anthropic',
      cohort,
      candidate: candidate({
        api: 'anthropic',
        provider: 'anthropic',
        model: 'claude-test-1',
        base_url: anthropic.baseURL,
        caching: 'on',
        price: { input: 3, output: 15 },
        concurrency: 2,
      }),
      apiKey: 'k',
    })
    assert.equal(run.status, 'done')
    assert.equal(run.failed, 0)
    const sent = anthropic.requests.slice(before)
    assert.equal(sent.length, 6)
    for (const body of sent) {
      assert.equal(body.model, 'claude-test-1')
      assert.equal(typeof body.max_tokens, 'number')
      assert.ok(JSON.stringify(body.messages).includes('"cache_control":{"type":"ephemeral"}'))
    }
    const claudeStep2 = sent.find((b) => JSON.stringify(b).includes('toolu_1')) as {
      messages: Array<{ role: string; content: Array<Record<string, unknown>> }>
      top_k?: number
      max_tokens: number
      stream?: boolean
    }
    assert.equal(claudeStep2.top_k, 40)
    assert.equal(claudeStep2.max_tokens, 512)
    assert.equal(claudeStep2.stream, true) // recorded streaming
    assert.deepEqual(
      claudeStep2.messages.map((m) => m.content.map((b) => b.type).join(',')),
      ['text', 'text,tool_use', 'tool_result'],
    )
    const r = (id: number) => run.records.find((x) => x.span_id === hexId(id, 16))?.result
    // Usage: Anthropic's input excludes cache reads and writes; the stored count includes them.
    assert.equal(r(0xb3)?.input_tokens, 1300)
    assert.equal(r(0xb3)?.cache_read_tokens, 1000)
    assert.equal(r(0xb3)?.cache_write_tokens, 200)
    assert.equal(r(0xb3)?.output_tokens, 50)
    // $3 / $15 per 1M, cache read 0.1×, write 1.25× (Anthropic's default caching rule):
    // 100·3 + 1000·0.3 + 200·3.75 + 50·15 = 2,100 µ$.
    assert.ok(Math.abs((r(0xb3)?.cost_usd ?? 0) - 0.0021) < 1e-12, `cost ${r(0xb3)?.cost_usd}`)
    assert.deepEqual(r(0xb1)?.tool_calls, [{ id: 'toolu_k', name: 'lookup_order', arguments: '{"id":7}' }])
    assert.equal(r(0xc2)?.output_text, 'Order 7 was delivered.')
    assert.equal(r(0xc2)?.streamed, true)
    assert.ok((r(0xc2)?.ttft_ms ?? 0) >= 35)
    assert.deepEqual(r(0xc1)?.tool_calls, [{ id: 'toolu_k', name: 'lookup_order', arguments: '{"id":7}' }])
    assert.equal(r(0xc1)?.input_tokens, 1300) // merged, not summed, over message_start + message_delta
    const spans = sdk.chatSpans()
    assert.equal(spans.length, 6)
    for (const s of spans) {
      assert.equal(s.attributes['gen_ai.provider.name'], 'anthropic')
      assert.equal(s.attributes['hindsight.metadata.arm'], 'candidate')
    }
  })

  test('an Anthropic candidate endpoint that fails: calls counted as failed, the run still ends', async () => {
    const failing = await startFakeAnthropic({
      reply: { error: { status: 400, message: 'bad request body' } },
    })
    try {
      const run = await runReplay(storage, {
        projectId: P,
        backtestId: 'bt_anthropic_fail',
        cohort,
        candidate: candidate({ api: 'anthropic', model: 'claude-x', base_url: failing.baseURL }),
        apiKey: 'k',
      })
      assert.equal(run.status, 'done')
      assert.equal(run.failed, 6)
      assert.match(run.records[0]?.result.error ?? '', /bad request body/)
    } finally {
      await failing.close()
    }
  })

  test('group commit: many calls, few inserts, every call stored once', async () => {
    const writer = new ReplayCallWriter(new ReplayCallStore(storage), P, 'bt_writer')
    const record = (k: number) => ({
      trace_id: hexId(k, 32),
      span_id: hexId(k, 16),
      status: 'done' as const,
      result: {
        ok: true,
        error: null,
        model: 'm',
        duration_ms: 1,
        ttft_ms: null,
        input_tokens: 1,
        output_tokens: 1,
        output_chars: 1,
        cost_usd: 0.001,
        baseline: { duration_ms: 1, ttft_ms: null, output_tokens: 1, output_chars: 1, cost_usd: 0.001 },
      },
    })
    const adds = Array.from({ length: 50 }, (_, k) => writer.add(record(k)))
    assert.equal(writer.unstored, 50)
    await writer.waitForRoom(10)
    assert.ok(writer.unstored < 10)
    await Promise.all(adds)
    await writer.flush()
    assert.equal(writer.unstored, 0)
    assert.ok(writer.inserts <= 2, `inserts ${writer.inserts}`) // the first alone, the other 49 together
    const stored = await new ReplayCallStore(storage).list(P, 'bt_writer')
    assert.equal(stored.length, 50)
  })
})
