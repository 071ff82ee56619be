import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { getErrorBreakdown, MAX_ERROR_TYPES } from './index'
import { hexId, insertSpans, span } from './testing'

const P = 'project-errors'
const T0 = new Date('2025-04-01T10:00:00.000Z')
const RANGE = { from: new Date('2025-04-01T00:00:00.000Z'), to: new Date('2025-04-02T00:00:00.000Z') }
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000)

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-errors-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_dash_errors' })
  await migrate(storage)
  const failed = (minute: number, fields: Parameters<typeof span>[0] extends infer I ? Partial<I> : never) =>
    span({ project_id: P, start: at(minute), status: 'error', ...fields })
  await insertSpans(storage, [
    // Rate limits: 3 calls in 2 traces, on two models; the newest at minute 30.
    failed(0, {
      trace_id: hexId(1, 32),
      model: 'gpt-4o',
      error_type: 'RateLimitError',
      status_message: '429 slow down',
    }),
    failed(1, {
      trace_id: hexId(1, 32),
      model: 'gpt-4o',
      error_type: 'RateLimitError',
      status_message: '429 slow down',
    }),
    failed(30, {
      trace_id: hexId(2, 32),
      model: 'gpt-4o-mini',
      error_type: 'RateLimitError',
      status_message: '429 later',
    }),
    // No error type: grouped by the start of the status message.
    failed(5, { trace_id: hexId(3, 32), error_type: '', status_message: '529 Overloaded' }),
    // Neither: unknown.
    failed(6, { trace_id: hexId(4, 32), error_type: '', status_message: '' }),
    // Not counted: an ok call, a failed tool span (not a model call), another project, outside the range.
    span({ project_id: P, start: at(7), model: 'gpt-4o' }),
    failed(8, { kind: 'tool', model: '', error_type: 'ToolError' }),
    span({ project_id: 'other', start: at(9), status: 'error', error_type: 'RateLimitError' }),
    failed(60 * 24, { error_type: 'RateLimitError' }),
  ])
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

test('failed model calls by error type: counts, traces, models, last seen and an example trace', async () => {
  const b = await getErrorBreakdown(storage, P, RANGE)
  assert.equal(b.calls, 5)
  assert.equal(b.other_calls, 0)
  assert.deepEqual(
    b.types.map((t) => [t.error_type, t.calls, t.traces]),
    [
      ['RateLimitError', 3, 2],
      ['529 Overloaded', 1, 1],
      ['unknown', 1, 1],
    ],
  )
  const [limits] = b.types
  assert.deepEqual([...(limits?.models ?? [])].sort(), ['gpt-4o', 'gpt-4o-mini'])
  assert.equal(limits?.last_seen, at(30).toISOString())
  assert.equal(limits?.example_trace_id, hexId(2, 32), 'the newest failure')
  assert.equal(limits?.example_message, '429 later')
})

test("kind 'all' includes failed tool spans; filters narrow; no failures is an empty list; bad range throws", async () => {
  const all = await getErrorBreakdown(storage, P, { ...RANGE, filter: { kind: 'all' } })
  assert.equal(all.calls, 6)
  assert.ok(all.types.some((t) => t.error_type === 'ToolError'))
  assert.deepEqual(
    await getErrorBreakdown(storage, P, { ...RANGE, filter: { status: 'ok' } }),
    { calls: 0, types: [], other_calls: 0 },
    'a view of calls that did not fail has no failures',
  )
  const mini = await getErrorBreakdown(storage, P, { ...RANGE, filter: { model: ['gpt-4o-mini'] } })
  assert.deepEqual(
    mini.types.map((t) => [t.error_type, t.calls]),
    [['RateLimitError', 1]],
  )
  assert.deepEqual(await getErrorBreakdown(storage, 'project-none', RANGE), {
    calls: 0,
    types: [],
    other_calls: 0,
  })
  await assert.rejects(getErrorBreakdown(storage, P, { from: RANGE.to, to: RANGE.from }), RangeError)
  // Beyond the listed types, the rest are summed: 22 types of one call each, then 2 of them left over.
  await insertSpans(
    storage,
    Array.from({ length: MAX_ERROR_TYPES + 2 }, (_, i) =>
      span({ project_id: 'project-many', start: at(i), status: 'error', error_type: `E${i}` }),
    ),
  )
  const many = await getErrorBreakdown(storage, 'project-many', RANGE)
  assert.deepEqual(
    [many.calls, many.types.length, many.other_calls],
    [MAX_ERROR_TYPES + 2, MAX_ERROR_TYPES, 2],
  )
})
