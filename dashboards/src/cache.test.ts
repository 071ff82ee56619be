import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import { parsePriceTable } from '@hindsight/collector/pricing'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { getCacheSavings } from './index'
import { insertSpans, span } from './testing'

const P = 'project-cache'
const DAY1 = new Date('2025-03-09T12:00:00.000Z')
const DAY2 = new Date('2025-03-10T12:00:00.000Z')
const RANGE = { from: new Date('2025-03-09T00:00:00.000Z'), to: new Date('2025-03-11T00:00:00.000Z') }

/** Prices in USD per 1M tokens; gpt-x gets cheaper on 2025-03-10, claude-x has a long-context tier. */
const TABLE = parsePriceTable({
  version: 'test',
  currency: 'USD',
  unit: 'per 1M tokens',
  entries: [
    {
      provider: 'anthropic',
      model: 'claude-x',
      effective_from: '2025-01-01',
      input: 3,
      output: 15,
      cache_read: 0.3,
      cache_write: 3.75,
      cache_write_1h: 6,
      tiers: [
        {
          above_input_tokens: 200_000,
          input: 6,
          output: 22.5,
          cache_read: 0.6,
          cache_write: 7.5,
          cache_write_1h: 12,
        },
      ],
    },
    {
      provider: 'openai',
      model: 'gpt-x',
      effective_from: '2025-03-10',
      input: 2,
      cache_read: 0.5,
      output: 8,
    },
    {
      provider: 'openai',
      model: 'gpt-x',
      effective_from: '2025-01-01',
      input: 2.5,
      cache_read: 1.25,
      output: 10,
    },
  ],
})

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-cache-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_dash_cache' })
  await migrate(storage)
  const claude = { project_id: P, provider: 'anthropic', model: 'claude-x', kind: 'llm' as const }
  const gpt = { project_id: P, provider: 'openai', model: 'gpt-x', kind: 'llm' as const }
  await insertSpans(storage, [
    span({ ...claude, start: DAY1, input_tokens: 10_000, cache_read_tokens: 8_000 }),
    span({
      ...claude,
      start: DAY1,
      input_tokens: 5_000,
      cache_write_tokens: 4_000,
      attributes: { [HINDSIGHT.usageCacheCreation1hInputTokens]: '1000.0' },
    }),
    span({ ...claude, start: DAY2, input_tokens: 250_000, cache_read_tokens: 200_000 }),
    span({ ...gpt, start: DAY1, input_tokens: 3_000, cache_read_tokens: 2_048 }),
    span({ ...gpt, start: DAY2, input_tokens: 3_000, cache_read_tokens: 2_048 }),
    span({ ...gpt, start: DAY2, input_tokens: 1_000 }),
    span({
      project_id: P,
      provider: 'acme',
      model: 'mystery',
      kind: 'llm',
      start: DAY2,
      input_tokens: 1_000,
      cache_read_tokens: 500,
    }),
    span({
      project_id: P,
      provider: 'openai',
      model: 'emb',
      kind: 'embedding',
      start: DAY2,
      input_tokens: 1_000,
    }),
    span({ ...gpt, project_id: 'other', start: DAY2, input_tokens: 9_000, cache_read_tokens: 9_000 }),
  ])
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const close = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(actual != null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`)

test('reads save (input − read price); writes cost (write − input), 1-hour writes at their price; net of both', async () => {
  const s = await getCacheSavings(storage, P, RANGE, TABLE)
  assert.equal(s.calls, 7, 'LLM calls of the project only (no embedding, no other project)')
  assert.equal(s.cached_calls, 6)
  assert.equal(s.input_tokens, 10_000 + 5_000 + 250_000 + 3_000 + 3_000 + 1_000 + 1_000)
  assert.equal(s.cache_read_tokens, 8_000 + 200_000 + 2_048 + 2_048 + 500)
  close(s.hit_rate, 212_596 / 273_000, 'hit rate')
  // claude-x: 8,000 × (3 − 0.3); above 200k input the tier's 200,000 × (6 − 0.6);
  // gpt-x: 2,048 × (2.5 − 1.25) at the old price, 2,048 × (2 − 0.5) at the new one.
  const claudeSaved = (8_000 * 2.7 + 200_000 * 5.4) / 1e6
  const gptSaved = (2_048 * 1.25 + 2_048 * 1.5) / 1e6
  // 3,000 five-minute writes × (3.75 − 3) and 1,000 one-hour writes × (6 − 3).
  const premium = (3_000 * 0.75 + 1_000 * 3) / 1e6
  close(s.read_savings_usd, claudeSaved + gptSaved, 'read savings')
  close(s.write_premium_usd, premium, 'write premium')
  close(s.net_savings_usd, claudeSaved + gptSaved - premium, 'net')
  assert.equal(s.unpriced_cache_tokens, 500, 'a model missing from the table counts in tokens only')
  assert.deepEqual(
    s.by_model.map((m) => [m.model, m.calls, m.cached_calls]),
    [
      ['claude-x', 3, 3],
      ['gpt-x', 3, 2],
      ['mystery', 1, 1],
    ],
  )
  close(s.by_model[0]?.net_savings_usd, claudeSaved - premium, 'claude-x net')
  close(s.by_model[1]?.net_savings_usd, gptSaved, 'gpt-x net')
  close(s.by_model[1]?.hit_rate, 4_096 / 7_000, 'gpt-x hit rate')
  assert.equal(s.by_model[2]?.net_savings_usd, null, 'unpriced: no dollars')
})

test('filters narrow it; no cache traffic means no dollars, not $0', async () => {
  const gpt = await getCacheSavings(storage, P, { ...RANGE, filter: { model: ['gpt-x'] } }, TABLE)
  assert.equal(gpt.calls, 3)
  assert.deepEqual(
    gpt.by_model.map((m) => m.model),
    ['gpt-x'],
  )
  const none = await getCacheSavings(storage, 'project-none', RANGE, TABLE)
  assert.deepEqual(
    [none.calls, none.hit_rate, none.net_savings_usd, none.by_model.length],
    [0, null, null, 0],
  )
  await assert.rejects(getCacheSavings(storage, P, { from: RANGE.to, to: RANGE.from }, TABLE), RangeError)
})
