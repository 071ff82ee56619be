/**
 * Loading a cohort's calls: the engine's Native columns decoded into start-ordered typed arrays,
 * on a real embedded engine. Expected values are computed here from the fixture itself (the
 * prompt text split and measured in JavaScript), not read back from the engine.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { chTime, loadCalls, readCalls, startOrder } from './calls'

const P = 'project-calls'
const T0 = new Date('2026-05-04T00:00:00Z')
const RANGE = { projectId: P, from: T0, to: new Date(T0.getTime() + 86_400_000) }
let storage: Storage
let dir: string

/** The blocks the what-if sees in a prompt: split at message starts, trailing ',' / ']' trimmed, ≤ 1 byte dropped. */
function expectedChars(input: string): number[] {
  return input
    .split('{"role":')
    .map((m) => m.replace(/[,\]]+$/, ''))
    .filter((m) => Buffer.byteLength(m) > 1)
    .map((m) => [...m].length)
}

const SYSTEM = JSON.stringify([{ type: 'text', content: 'Be brief. ✓' }])
const TOOLS = JSON.stringify([{ type: 'function', name: 'lookup' }])
const user = (text: string) => ({ role: 'user', parts: [{ type: 'text', content: text }] })
const assistant = (text: string) => ({ role: 'assistant', parts: [{ type: 'text', content: text }] })

const ROWS: Array<Partial<SpanRow> & { start: Date; durationMs?: number }> = [
  {
    // Third in time; priced, tools + system, three messages (one with non-ASCII text).
    start: new Date(T0.getTime() + 3000),
    input: JSON.stringify([user('hello café'), assistant('hi'), user('again')]),
    attributes: { 'gen_ai.system_instructions': SYSTEM, 'gen_ai.tool.definitions': TOOLS },
    input_tokens: 120,
    output_tokens: 7,
    cache_read_tokens: 64,
    cost_usd: '0.001234567',
    ttft_ms: 80,
  },
  {
    // First; not a JSON message array (a plain prompt), no ttft, an error, unpriced.
    start: T0,
    input: 'plain prompt text',
    status: 'error',
    input_tokens: 5,
  },
  {
    // Second, at the same millisecond as the fourth: ties keep their order.
    start: new Date(T0.getTime() + 2000),
    input: '[]',
    attributes: { 'gen_ai.system_instructions': 'x' },
    cost_usd: '2.5',
  },
  {
    start: new Date(T0.getTime() + 2000),
    input: JSON.stringify([user('hello café')]),
    attributes: { 'gen_ai.system_instructions': SYSTEM },
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
  },
]

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-calls-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_calls_test' })
  await migrate(storage)
  await insertSpans(
    storage,
    ROWS.map((r, k) =>
      span({
        provider: 'openai',
        model: 'gpt-4o',
        ...r,
        project_id: P,
        trace_id: hexId(0x100 + k, 32),
        span_id: hexId(0x100 + k, 16),
      }),
    ),
  )
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('startOrder', () => {
  const reference = (starts: Float64Array) =>
    Array.from(starts.keys()).sort((a, b) => (starts[a] ?? 0) - (starts[b] ?? 0) || a - b)

  test('a stable sort by start: radix for integer times, over short and long ranges', () => {
    let seed = 7
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 2 ** 32
    }
    for (const range of [1, 50, 86_400_000, 400 * 86_400_000, 2 ** 52]) {
      const starts = Float64Array.from({ length: 5000 }, () => 1.7e12 + Math.floor(random() * range))
      assert.deepEqual(Array.from(startOrder(starts, starts.length)), reference(starts), `range ${range}`)
    }
  })

  test('fractional or already sorted times', () => {
    const fractional = Float64Array.from([3.5, 1.25, 3.5, 0.5, 2])
    assert.deepEqual(Array.from(startOrder(fractional, 5)), [3, 1, 4, 0, 2])
    const sorted = Float64Array.from([1, 1, 2, 5])
    assert.deepEqual(Array.from(startOrder(sorted, 4)), [0, 1, 2, 3])
    assert.deepEqual(Array.from(startOrder(new Float64Array(0), 0)), [])
  })
})

describe('loadCalls', () => {
  test('columns in start order, prompt blocks tools → system → messages, exact recorded cost', async () => {
    const calls = await loadCalls(storage, RANGE)
    assert.equal(calls.n, 4)
    // Fixture rows in start order; the tie at +2 s keeps the engine order (here: by trace id).
    const order = [1, 2, 3, 0]
    const startOf = (k: number) => (ROWS[k] as { start: Date }).start.getTime()
    assert.deepEqual(Array.from(calls.start), order.map(startOf))
    assert.deepEqual(
      Array.from(calls.model, (m) => calls.models[m]),
      ['gpt-4o', 'gpt-4o', 'claude-sonnet-4-5', 'gpt-4o'],
    )
    assert.deepEqual(
      Array.from(calls.provider, (p) => calls.providers[p]),
      ['openai', 'openai', 'anthropic', 'openai'],
    )
    assert.deepEqual(Array.from(calls.inputTokens), [5, 0, 0, 120])
    assert.deepEqual(Array.from(calls.outputTokens), [0, 0, 0, 7])
    assert.deepEqual(Array.from(calls.cacheReadTokens), [0, 0, 0, 64])
    assert.deepEqual(Array.from(calls.error), [1, 0, 0, 0])
    assert.ok(Number.isNaN(calls.ttft[0]))
    assert.equal(calls.ttft[3], 80)
    assert.ok(Number.isNaN(calls.recordedCostNano[0]))
    assert.equal(calls.recordedCostNano[1], 2_500_000_000)
    assert.equal(calls.recordedCostNano[3], 1_234_567)
    // Distinct traces, distinct cluster keys.
    assert.equal(new Set(calls.trace).size, 4)

    const blocks = (i: number) =>
      Array.from(calls.blockChars.subarray(calls.blockStart[i] ?? 0, calls.blockStart[i + 1] ?? 0))
    const hashes = (i: number) =>
      Array.from(calls.blockHash.subarray(calls.blockStart[i] ?? 0, calls.blockStart[i + 1] ?? 0))
    // A plain prompt is one block; '[]' and a one-character system prompt are none.
    assert.deepEqual(blocks(0), expectedChars('plain prompt text'))
    assert.deepEqual(blocks(1), [])
    assert.equal(calls.staticBlocks[1], 1) // the system attribute is there, its block is too short
    assert.deepEqual(blocks(2), [[...SYSTEM].length, ...expectedChars(ROWS[3]?.input ?? '')])
    assert.deepEqual(blocks(3), [
      [...TOOLS].length,
      [...SYSTEM].length,
      ...expectedChars(ROWS[0]?.input ?? ''),
    ])
    assert.deepEqual([calls.hasTools[3], calls.hasSystem[3], calls.staticBlocks[3]], [1, 1, 2])
    // Same text, same hash: the system prompt and the first user message are shared prefixes.
    assert.equal(hashes(2)[0], hashes(3)[1])
    assert.equal(hashes(2)[1], hashes(3)[2])
    assert.notEqual(hashes(3)[2], hashes(3)[4])
  })

  test('many rows: several engine blocks, sorted across them', async () => {
    const project = 'project-calls-many'
    const n = 70_000
    await storage.client.command({
      query: `
        INSERT INTO ${storage.database}.spans (project_id, trace_id, span_id, kind, provider, model, input_tokens,
          start_time, end_time, duration_ms, status, input, ingested_at)
        SELECT {p:String}, lower(hex(reinterpretAsFixedString(cityHash64('t', intDiv(number, 3))))),
          lower(hex(reinterpretAsFixedString(cityHash64('s', number)))), 'llm', 'openai', 'gpt-4o', number,
          toDateTime64({t0:String}, 6, 'UTC') + toIntervalMillisecond((number * 7919) % 86400000),
          toDateTime64({t0:String}, 6, 'UTC') + toIntervalMillisecond((number * 7919) % 86400000 + 100),
          100, 'ok', concat('[{"role":"user","parts":[{"type":"text","content":"m', toString(number % 10), '"}]}]'), now64(3)
        FROM numbers({n:UInt64})`,
      query_params: { p: project, t0: chTime(T0).slice(0, 19), n },
    })
    const calls = await loadCalls(storage, { ...RANGE, projectId: project })
    assert.equal(calls.n, n)
    for (let i = 1; i < n; i++) assert.ok((calls.start[i] ?? 0) >= (calls.start[i - 1] ?? 0))
    // input_tokens = the row number, so the start of each row is known.
    for (let i = 0; i < n; i += 997) {
      const row = calls.inputTokens[i] ?? 0
      assert.equal(calls.start[i], T0.getTime() + ((row * 7919) % 86_400_000))
    }
    assert.equal(calls.blockHash.length, n)
    assert.equal(new Set(calls.blockHash).size, 10)
  })

  test('rows of another layout are refused, not misread', () => {
    assert.throws(
      () => readCalls(Uint8Array.from([1, 1, 1, 97, 6, 85, 73, 110, 116, 56, 56, 0])),
      /unexpected call/,
    )
    assert.throws(() => readCalls(Uint8Array.from([18, 5])), /truncated/)
  })
})
