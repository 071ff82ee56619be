import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { getTopCalls, MAX_TOP_CALLS } from './index'
import { hexId, insertSpans, span } from './testing'

const P = 'project-top'
const T0 = new Date('2025-05-01T12:00:00.000Z')
const RANGE = { from: new Date('2025-05-01T00:00:00.000Z'), to: new Date('2025-05-02T00:00:00.000Z') }

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-top-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_dash_top' })
  await migrate(storage)
  const costs = ['0.5', '0.000001', '2.25', '0.75', '2.25']
  await insertSpans(storage, [
    ...costs.map((cost, i) =>
      span({
        project_id: P,
        trace_id: hexId(100 + i, 32),
        span_id: hexId(200 + i, 16),
        start: new Date(T0.getTime() + i * 60_000),
        durationMs: 1000 + i,
        model: i % 2 ? 'gpt-4o-mini' : 'gpt-4o',
        input_tokens: 1000 * (i + 1),
        output_tokens: 10,
        cache_read_tokens: i === 2 ? 500 : 0,
        cost_usd: cost,
      }),
    ),
    // Not listed: unpriced, a tool span, another project, outside the range.
    span({ project_id: P, start: T0, cost_usd: null, model: 'mystery' }),
    span({ project_id: P, start: T0, kind: 'tool', model: '', cost_usd: '9' }),
    span({ project_id: 'other', start: T0, cost_usd: '99' }),
    span({ project_id: P, start: new Date('2025-05-03T00:00:00Z'), cost_usd: '50' }),
  ])
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

test('priced model calls of the project, most expensive first (ties: newest first), with their tokens', async () => {
  const top = await getTopCalls(storage, P, { ...RANGE, limit: 3 })
  assert.deepEqual(
    top.map((c) => [c.span_id, c.cost_usd]),
    [
      [hexId(204, 16), 2.25],
      [hexId(202, 16), 2.25],
      [hexId(203, 16), 0.75],
    ],
  )
  assert.deepEqual(
    { ...top[1], trace_id: undefined },
    {
      trace_id: undefined,
      span_id: hexId(202, 16),
      name: 'chat',
      model: 'gpt-4o',
      provider: 'openai',
      cost_usd: 2.25,
      input_tokens: 3000,
      output_tokens: 10,
      cache_read_tokens: 500,
      duration_ms: 1002,
      start_time: new Date(T0.getTime() + 2 * 60_000).toISOString(),
    },
  )
  assert.equal((await getTopCalls(storage, P, RANGE)).length, 5, 'at most 10 by default; 5 priced calls here')
  const mini = await getTopCalls(storage, P, { ...RANGE, filter: { model: ['gpt-4o-mini'] } })
  assert.deepEqual(
    mini.map((c) => c.cost_usd),
    [0.75, 0.000001],
  )
})

test('bad limits and ranges are RangeErrors', async () => {
  for (const limit of [0, -1, 1.5, MAX_TOP_CALLS + 1]) {
    await assert.rejects(getTopCalls(storage, P, { ...RANGE, limit }), /limit/)
  }
  await assert.rejects(getTopCalls(storage, P, { from: RANGE.to, to: RANGE.from }), RangeError)
})
