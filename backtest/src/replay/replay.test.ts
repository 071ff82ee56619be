/**
 * Replay end to end: recorded calls in the real embedded engine, a frozen cohort, the real
 * `openai` client wrapped by the SDK, a local fake OpenAI server (`@hindsight/sdk/testing`), and
 * the SDK's in-memory exporter standing in for the collector.
 *
 * Fixture: 6 traces of gpt-4o calls — 4 single-turn, 2 agent traces of two LLM steps (the second
 * carries the recorded tool call and tool output) = 8 calls. Candidate `cand-model` at a custom
 * $1,000 / 1M tokens both ways; the fake answers 12 + 8 tokens, so each replayed call costs $0.02.
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
  type FakeOpenAI,
  type InMemoryHindsight,
  initInMemory,
  startFakeOpenAI,
} from '@hindsight/sdk/testing'
import { candidateSchema } from '../candidate'
import { type Cohort, createCohort } from '../cohort'
import { replayMetrics } from './report'
import { toChatRequest } from './request'
import { loadReplayCalls, runReplay } from './runner'

const P = 'project-replay'
const T0 = new Date('2026-05-04T00:00:00Z')
const MIN = 60_000
const FILTER = { from: T0.toISOString(), to: new Date(T0.getTime() + 24 * 60 * MIN).toISOString() }
const SYSTEM = JSON.stringify([{ type: 'text', content: 'You are a support agent.' }])
const TOOLS = JSON.stringify([
  { type: 'function', name: 'lookup', description: 'Looks up', parameters: { type: 'object' } },
])

let storage: Storage
let dir: string
let fake: FakeOpenAI
let sdk: InMemoryHindsight
let cohort: Cohort

function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 6; k++) {
    const trace = hexId(0x9000 + k, 32)
    const start = new Date(T0.getTime() + k * 10 * MIN)
    const user = { role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }
    const common = {
      project_id: P,
      trace_id: trace,
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 100,
      output_tokens: 40 + k,
      output: `answer ${k}`.padEnd(80, '.'),
      ttft_ms: 200,
      cost_usd: '0.000650000',
      attributes: {
        'gen_ai.system_instructions': SYSTEM,
        'gen_ai.tool.definitions': TOOLS,
        'gen_ai.request.temperature': '0.2',
      },
    }
    rows.push(
      span({
        ...common,
        span_id: hexId(0x9000 + k * 2, 16),
        start,
        durationMs: 900 + k,
        input: JSON.stringify([user]),
      }),
    )
    if (k >= 4) {
      const call = {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup', arguments: { q: k } }],
      }
      const tool = {
        role: 'tool',
        parts: [{ type: 'tool_call_response', id: 'call_1', response: `result ${k}` }],
      }
      rows.push(
        span({
          ...common,
          span_id: hexId(0x9001 + k * 2, 16),
          start: new Date(start.getTime() + MIN),
          durationMs: 1200,
          input: JSON.stringify([user, call, tool]),
        }),
      )
    }
  }
  return rows
}

const candidate = (over: Record<string, unknown> = {}) =>
  candidateSchema.parse({
    provider: 'openai',
    model: 'cand-model',
    base_url: fake.baseURL,
    price: { input: 1000, output: 1000 },
    parameters: { temperature: 0 },
    prompt: { system: 'You are a concise agent.' },
    concurrency: 2,
    ...over,
  })

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-replay-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_replay_test' })
  await migrate(storage)
  await insertSpans(storage, fixture())
  cohort = await createCohort(storage, P, FILTER)
  fake = await startFakeOpenAI({
    reply: { content: 'candidate answer', usage: { prompt_tokens: 12, completion_tokens: 8 } },
  })
  sdk = initInMemory()
})

after(async () => {
  await fake.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('replay', () => {
  test('request: recorded parts → Chat Completions, with the candidate model, parameters and system prompt', async () => {
    const calls = await loadReplayCalls(storage, P, cohort)
    assert.equal(calls.length, 8)
    const step2 = calls.find((c) => c.input.includes('tool_call_response'))
    assert.ok(step2)
    const request = toChatRequest(step2, candidate())
    assert.equal(request.model, 'cand-model')
    assert.equal(request.temperature, 0) // the candidate's parameter wins over the recorded 0.2
    assert.deepEqual(request.messages[0], { role: 'system', content: 'You are a concise agent.' })
    assert.equal(request.messages[2]?.tool_calls?.[0]?.function.arguments, JSON.stringify({ q: 4 }))
    assert.deepEqual(request.messages[3], { role: 'tool', tool_call_id: 'call_1', content: 'result 4' })
    assert.equal(request.tools?.[0]?.function.name, 'lookup')
    const recordedParams = toChatRequest(step2, candidate({ parameters: {}, prompt: {} }))
    assert.equal(recordedParams.temperature, 0.2)
    assert.deepEqual(recordedParams.messages[0], { role: 'system', content: 'You are a support agent.' })
  })

  test('end to end: every call reaches the fake with the candidate model, spans are tagged, report is paired', async () => {
    const before = fake.requests.length
    sdk.reset()
    const run = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_e2e',
      cohort,
      candidate: candidate(),
      apiKey: 'k',
    })
    assert.equal(run.status, 'done')
    assert.equal(run.issued, 8)
    assert.equal(run.failed, 0)
    const sent = fake.requests.slice(before)
    assert.equal(sent.length, 8)
    for (const body of sent) assert.equal(body.model, 'cand-model')
    assert.ok(Math.abs(run.spent_usd - 8 * 0.02) < 1e-9)
    const spans = sdk.chatSpans()
    assert.equal(spans.length, 8)
    for (const s of spans) {
      assert.equal(s.attributes['hindsight.metadata.backtest_id'], 'bt_e2e')
      assert.equal(s.attributes['hindsight.metadata.arm'], 'candidate')
    }
    const metrics = replayMetrics(run.records)
    const cost = metrics.find((m) => m.name === 'cost_per_call_usd')
    assert.equal(cost?.n, 8)
    assert.equal(cost?.clusters, 6)
    assert.ok(Math.abs((cost?.delta ?? 0) - (0.02 - 0.00065)) < 1e-9)
    const tokens = metrics.find((m) => m.name === 'output_tokens')
    assert.ok(tokens?.delta !== null && (tokens?.delta ?? 0) < 0)
  })

  test('a crash mid-run and a resume: completed calls are not re-issued', async () => {
    const before = fake.requests.length
    const controller = new AbortController()
    const first = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_crash',
      cohort,
      candidate: candidate({ concurrency: 1 }),
      apiKey: 'k',
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 3) controller.abort()
      },
    })
    assert.equal(first.status, 'aborted')
    assert.equal(fake.requests.length - before, 3)
    const second = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_crash',
      cohort,
      candidate: candidate(),
      apiKey: 'k',
    })
    assert.equal(second.status, 'done')
    assert.equal(second.resumed, 3)
    assert.equal(second.issued, 5)
    assert.equal(fake.requests.length - before, 8)
    assert.equal(new Set(second.records.map((r) => r.span_id)).size, 8)
    // A third run has nothing left to do.
    const third = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_crash',
      cohort,
      candidate: candidate(),
      apiKey: 'k',
    })
    assert.equal(third.issued, 0)
    assert.equal(fake.requests.length - before, 8)
  })

  test('the budget cap stops the run with stopped_budget and keeps the partial results', async () => {
    const before = fake.requests.length
    const run = await runReplay(storage, {
      projectId: P,
      backtestId: 'bt_budget',
      cohort,
      candidate: candidate({ concurrency: 1, budget_usd: 0.05 }),
      apiKey: 'k',
    })
    assert.equal(run.status, 'stopped_budget')
    assert.equal(fake.requests.length - before, 3) // 0.02, 0.04, 0.06 ≥ 0.05: stop
    assert.equal(run.records.length, 3)
    assert.match(run.messages[0] ?? '', /budget cap/)
  })
})
