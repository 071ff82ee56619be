import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { allocate, cohortTraceIds, createCohort, getCohort } from './cohort'

const P = 'project-cohort'
const T0 = new Date('2026-05-04T00:00:00Z')
const HOUR = 3_600_000
const RANGE = { from: T0.toISOString(), to: new Date(T0.getTime() + 3 * 24 * HOUR).toISOString() }
let storage: Storage
let dir: string

/**
 * 300 traces over 3 days: trace k has a root chain span and one call; model gpt-4o for k % 3 = 0
 * (100 traces), gpt-4o-mini otherwise (200); route /chat for even k, /search for odd; tags
 * ["beta"] on k % 10 = 0; another project's traces that must never appear.
 */
function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 300; k++) {
    const trace = hexId(0x5000 + k, 32)
    const start = new Date(T0.getTime() + (k % 3) * 24 * HOUR + k * 60_000)
    const root = span({ project_id: P, trace_id: trace, start, kind: 'chain', model: '', provider: '' })
    rows.push(
      root,
      span({
        project_id: P,
        trace_id: trace,
        parent_span_id: root.span_id,
        start: new Date(start.getTime() + 5),
        model: k % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
        route: k % 2 === 0 ? '/chat' : '/search',
        attributes: k % 10 === 0 ? { 'hindsight.tags': '["beta","eu"]' } : {},
        input_tokens: 100,
        output_tokens: 10,
      }),
    )
  }
  for (let k = 0; k < 20; k++)
    rows.push(span({ project_id: 'other', trace_id: hexId(0x9000 + k, 32), start: T0 }))
  return rows
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-cohort-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_cohort_test' })
  await migrate(storage)
  await insertSpans(storage, fixture())
  // Quality scores for 10 traces: value k / 10.
  await storage.client.insert({
    table: `${storage.database}.scores`,
    values: Array.from({ length: 10 }, (_, k) => ({
      project_id: P,
      id: `s${k}`,
      trace_id: hexId(0x5000 + k, 32),
      span_id: '',
      name: 'helpfulness',
      value: k / 10,
      data_type: 'NUMERIC',
      source: 'API',
      status: k === 9 ? 'failed' : 'ok',
      created_at: Date.now(),
      updated_at: Date.now(),
    })),
    format: 'JSONEachRow',
  })
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('allocate (largest remainder)', () => {
  test('quotas are proportional, sum to the size and never exceed a stratum', () => {
    assert.deepEqual(allocate({ a: 100, b: 200 }, 30), { a: 10, b: 20 })
    const q = allocate({ a: 1, b: 1, c: 1 }, 2)
    assert.equal(
      Object.values(q).reduce((x, y) => x + y, 0),
      2,
    )
    assert.deepEqual(allocate({ a: 5, b: 7 }, 100), { a: 5, b: 7 })
    assert.deepEqual(allocate({ a: 333, b: 333, c: 334 }, 10), { a: 3, b: 3, c: 4 })
  })
})

describe('createCohort', () => {
  test('all matching traces of the project, frozen and read back', async () => {
    const cohort = await createCohort(storage, P, RANGE)
    assert.equal(cohort.trace_count, 300)
    const ids = await cohortTraceIds(storage, P, cohort.id)
    assert.equal(ids.length, 300)
    const again = await getCohort(storage, P, cohort.id)
    assert.equal(again?.trace_count, 300)
    assert.deepEqual(again?.filter, cohort.filter)
    assert.equal(await getCohort(storage, 'other', cohort.id), null)
  })

  test('filters: model, route and tags pick traces by their calls', async () => {
    const byModel = await createCohort(storage, P, { ...RANGE, model: ['gpt-4o'] })
    assert.equal(byModel.trace_count, 100)
    const byRoute = await createCohort(storage, P, { ...RANGE, model: ['gpt-4o'], route: ['/chat'] })
    assert.equal(byRoute.trace_count, 50)
    const tagged = await createCohort(storage, P, { ...RANGE, tags: ['beta', 'eu'] })
    assert.equal(tagged.trace_count, 30)
    const none = await createCohort(storage, P, { ...RANGE, tags: ['beta', 'missing'] })
    assert.equal(none.trace_count, 0)
  })

  test('score range: traces with a score in [min, max], failed evaluations excluded', async () => {
    const scored = await createCohort(storage, P, { ...RANGE, score: { name: 'helpfulness', min: 0.5 } })
    // k = 5..8 (k = 9 failed).
    assert.equal(scored.trace_count, 4)
  })

  test('a seeded sample is deterministic; another seed picks other traces', async () => {
    const a = await createCohort(storage, P, RANGE, { size: 60, seed: 'alpha' })
    const b = await createCohort(storage, P, RANGE, { size: 60, seed: 'alpha' })
    const c = await createCohort(storage, P, RANGE, { size: 60, seed: 'beta' })
    const ia = await cohortTraceIds(storage, P, a.id)
    assert.equal(ia.length, 60)
    assert.deepEqual(await cohortTraceIds(storage, P, b.id), ia)
    assert.notDeepEqual(await cohortTraceIds(storage, P, c.id), ia)
  })

  test('stratified by model or day: each stratum keeps its share', async () => {
    const byModel = await createCohort(storage, P, RANGE, { size: 30, seed: 1, stratify_by: 'model' })
    assert.deepEqual(byModel.strata, { 'gpt-4o': 10, 'gpt-4o-mini': 20 })
    assert.equal((await cohortTraceIds(storage, P, byModel.id)).length, 30)
    const byDay = await createCohort(storage, P, RANGE, { size: 31, seed: 1, stratify_by: 'day' })
    assert.deepEqual(Object.values(byDay.strata).sort(), [10, 10, 11])
  })

  test('bad filters are rejected with the field named', async () => {
    await assert.rejects(createCohort(storage, P, { from: RANGE.to, to: RANGE.from }), /from/)
    await assert.rejects(createCohort(storage, P, { ...RANGE, sample: 1 } as never), /sample|Unrecognized/)
  })
})
