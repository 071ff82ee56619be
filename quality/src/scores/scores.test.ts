import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { getMetrics } from '@hindsight/dashboards'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { QualityError } from '../errors'
import { type TestStorage, testStorage } from '../testing'
import { getScoreDistributions, getScoreMeans, getScoreMeansByName, joinScoreMeans } from './metrics'
import { ScoreRepository } from './repository'

let db: TestStorage
let repo: ScoreRepository
const P = 'project-q'
const OTHER = 'project-other'
const T0 = new Date('2025-03-10T00:00:00.000Z')
const MIN = 60_000
const trace = (k: number) => hexId(0xe000 + k, 32)

before(async () => {
  db = await testStorage('hs_quality_scores')
  repo = new ScoreRepository(db.storage)
})

after(async () => {
  await db.close()
})

async function rejects(work: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(QualityError.isInstance(error), String(error))
    assert.equal(error.code, 'invalid_input')
    assert.match(error.message, message)
    return true
  })
}

describe('writing scores', () => {
  test('numeric, boolean and categorical; trace- and span-level; sources', async () => {
    const stored = await repo.create(P, [
      { traceId: trace(1).toUpperCase(), name: 'helpfulness', value: 0.75, source: 'api', comment: 'ok-ish' },
      { traceId: trace(1), spanId: hexId(7, 16), name: 'is_correct', value: true, source: 'sdk' },
      { traceId: trace(1), name: 'tone', value: 'friendly', source: 'annotation', author: 'ana' },
      {
        traceId: trace(1),
        name: 'exact',
        value: 0,
        dataType: 'boolean',
        source: 'evaluator',
        evaluator: 'exact',
      },
    ])
    assert.deepEqual(
      stored.map((s) => [s.trace_id, s.span_id, s.name, s.value, s.string_value, s.data_type, s.source]),
      [
        [trace(1), '', 'helpfulness', 0.75, '', 'numeric', 'api'],
        [trace(1), hexId(7, 16), 'is_correct', 1, 'true', 'boolean', 'sdk'],
        [trace(1), '', 'tone', 0, 'friendly', 'categorical', 'annotation'],
        [trace(1), '', 'exact', 0, 'false', 'boolean', 'evaluator'],
      ],
    )
    const read = await repo.forTrace(P, trace(1))
    assert.deepEqual(read.map((s) => s.name).sort(), ['exact', 'helpfulness', 'is_correct', 'tone'])
    const tone = read.find((s) => s.name === 'tone')
    assert.equal(tone?.author, 'ana')
    assert.match(tone?.created_at ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    assert.deepEqual(await repo.forTrace(OTHER, trace(1)), [], 'scoped by project')
  })

  test('the same id twice is one score (the newer one)', async () => {
    await repo.create(P, [{ id: 'fixed-1', traceId: trace(2), name: 'n', value: 1, source: 'sdk' }])
    await repo.create(P, [{ id: 'fixed-1', traceId: trace(2), name: 'n', value: 2, source: 'sdk' }])
    const read = await repo.forTrace(P, trace(2))
    assert.deepEqual(
      read.map((s) => [s.id, s.value]),
      [['fixed-1', 2]],
    )
  })

  test('bad input names the field; one bad score rejects the batch', async () => {
    await rejects(
      repo.create(P, [{ traceId: 'xyz', name: 'n', value: 1, source: 'api' }]),
      /^scores\.traceId: /,
    )
    await rejects(
      repo.create(P, [
        { traceId: trace(3), name: 'n', value: 1, source: 'api' },
        { traceId: trace(3), name: 'n', value: Number.NaN, source: 'api' },
      ]),
      /^scores\.1\.value: a numeric score needs a finite number/,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(3), name: ' ', value: 1, source: 'api' }]),
      /^scores\.name: /,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(3), spanId: 'nope', name: 'n', value: 1, source: 'api' }]),
      /^scores\.spanId: /,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(3), name: 'n', value: 'maybe', dataType: 'boolean', source: 'api' }]),
      /^scores\.value: a boolean score needs true or false/,
    )
    assert.deepEqual(await repo.forTrace(P, trace(3)), [], 'nothing of the rejected batch was stored')
  })
})

describe('score configs', () => {
  test('range, categories and type are enforced on write; upsert keeps the id', async () => {
    const rating = await repo.upsertConfig(P, {
      name: 'rating',
      dataType: 'numeric',
      minValue: 1,
      maxValue: 5,
      description: 'Stars',
    })
    assert.equal(rating.min_value, 1)
    assert.equal(rating.max_value, 5)
    const verdict = await repo.upsertConfig(P, {
      name: 'verdict',
      dataType: 'categorical',
      categories: ['good', 'bad', 'unsure'],
    })
    await rejects(
      repo.create(P, [{ traceId: trace(4), name: 'rating', value: 6, source: 'api' }]),
      /above the maximum 5/,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(4), name: 'rating', value: 0, source: 'api' }]),
      /below the minimum 1/,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(4), name: 'rating', value: 3, dataType: 'boolean', source: 'api' }]),
      /configured as numeric, not boolean/,
    )
    await rejects(
      repo.create(P, [{ traceId: trace(4), name: 'verdict', value: 'great', source: 'api' }]),
      /'great' is not a category of score 'verdict' \(good, bad, unsure\)/,
    )
    const [r, v] = await repo.create(P, [
      { traceId: trace(4), name: 'rating', value: 4, source: 'annotation' },
      { traceId: trace(4), name: 'verdict', value: 'unsure', source: 'annotation' },
    ])
    assert.equal(r?.config_id, rating.id)
    assert.deepEqual([v?.value, v?.string_value, v?.config_id], [2, 'unsure', verdict.id])

    const widened = await repo.upsertConfig(P, {
      name: 'rating',
      dataType: 'numeric',
      minValue: 0,
      maxValue: 10,
    })
    assert.equal(widened.id, rating.id, 'replacing a config keeps its id')
    assert.equal(widened.max_value, 10)
    assert.deepEqual(
      (await repo.listConfigs(P)).map((c) => c.name),
      ['rating', 'verdict'],
    )
    assert.deepEqual(await repo.listConfigs(OTHER), [])
  })

  test('invalid configs are refused with the field named', async () => {
    await rejects(
      repo.upsertConfig(P, { name: 'x', dataType: 'numeric', minValue: 3, maxValue: 1 }),
      /^minValue: /,
    )
    await rejects(repo.upsertConfig(P, { name: 'x', dataType: 'categorical' }), /^categories: /)
    await rejects(
      repo.upsertConfig(P, { name: 'x', dataType: 'categorical', categories: ['a', 'a'] }),
      /unique/,
    )
    await rejects(
      repo.upsertConfig(P, { name: 'x', dataType: 'boolean', maxValue: 1 }),
      /^minValue: only numeric/,
    )
  })
})

describe('listing', () => {
  test('filters and cursor paging, newest first, without gaps or repeats', async () => {
    const L = 'project-list'
    const inputs = Array.from({ length: 23 }, (_, i) => ({
      traceId: trace(100 + (i % 3)),
      name: i % 2 === 0 ? 'even' : 'odd',
      value: i,
      source: (i % 4 === 0 ? 'evaluator' : 'api') as 'evaluator' | 'api',
      createdAt: new Date(T0.getTime() + i * 1000),
    }))
    await repo.create(L, inputs)
    const seen: number[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await repo.list(L, { limit: 5, ...(cursor ? { cursor } : {}) })
      seen.push(...page.items.map((s) => s.value ?? -1))
      cursor = page.next_cursor ?? undefined
      pages += 1
    } while (cursor && pages < 10)
    assert.equal(pages, 5)
    assert.deepEqual(
      seen,
      Array.from({ length: 23 }, (_, i) => 22 - i),
    )
    const odd = await repo.list(L, { name: 'odd', traceId: trace(101) })
    assert.deepEqual(
      odd.items.map((s) => s.value),
      [19, 13, 7, 1],
    )
    const evaluators = await repo.list(L, { source: 'evaluator' })
    assert.deepEqual(
      evaluators.items.map((s) => s.value),
      [20, 16, 12, 8, 4, 0],
    )
    const window = await repo.list(L, {
      from: new Date(T0.getTime() + 5000),
      to: new Date(T0.getTime() + 8000),
    })
    assert.deepEqual(
      window.items.map((s) => s.value),
      [7, 6, 5],
    )
    await rejects(repo.list(L, { cursor: 'garbage' }), /^cursor: /)
    await rejects(repo.list(L, { limit: 0 }), /^limit: /)
  })
})

describe('mean score per metrics group', () => {
  const M = 'project-metrics'
  before(async () => {
    // 10 traces: each a chain root + one model call. Traces 0-5 call gpt-4o (release v1), 6-9
    // claude (release v2); trace 9 also calls gpt-4o. Spans k minutes after T0.
    const rows: SpanRow[] = []
    for (let k = 0; k < 10; k++) {
      const start = new Date(T0.getTime() + k * MIN)
      const root = span({
        project_id: M,
        trace_id: trace(200 + k),
        start,
        kind: 'chain',
        model: '',
        provider: '',
      })
      rows.push(root)
      const model = k < 6 ? 'gpt-4o' : 'claude-sonnet-4'
      rows.push(
        span({
          project_id: M,
          trace_id: trace(200 + k),
          parent_span_id: root.span_id,
          start: new Date(start.getTime() + 5),
          model,
          provider: k < 6 ? 'openai' : 'anthropic',
          release: k < 6 ? 'v1' : 'v2',
        }),
      )
      if (k === 9) {
        rows.push(
          span({
            project_id: M,
            trace_id: trace(200 + k),
            parent_span_id: root.span_id,
            start: new Date(start.getTime() + 50),
            model: 'gpt-4o',
            release: 'v2',
          }),
        )
      }
    }
    await insertSpans(db.storage, rows)
    // helpfulness = k / 10 on every trace; a failed evaluation and a categorical score are ignored.
    await repo.create(
      M,
      Array.from({ length: 10 }, (_, k) => ({
        traceId: trace(200 + k),
        name: 'helpfulness',
        value: k / 10,
        source: 'evaluator' as const,
      })),
    )
    await repo.create(M, [
      {
        traceId: trace(200),
        name: 'helpfulness',
        value: null,
        status: 'failed',
        source: 'evaluator',
        comment: 'timeout',
      },
      { traceId: trace(201), name: 'other', value: 'x', source: 'api' },
    ])
  })

  const range = { from: T0, to: new Date(T0.getTime() + 60 * MIN) }

  test('by model: a trace counts once in each group its calls fall in', async () => {
    const rows = await getScoreMeans(db.storage, M, { ...range, groupBy: 'model', score: 'helpfulness' })
    const byModel = Object.fromEntries(rows.map((r) => [r.group, r]))
    // gpt-4o: traces 0..5 and 9 → (0+.1+.2+.3+.4+.5+.9)/7; claude: traces 6..9 → (.6+.7+.8+.9)/4
    assert.equal(byModel['gpt-4o']?.score_n, 7)
    assert.ok(Math.abs((byModel['gpt-4o']?.score_mean ?? 0) - 2.4 / 7) < 1e-12)
    assert.equal(byModel['claude-sonnet-4']?.score_n, 4)
    assert.ok(Math.abs((byModel['claude-sonnet-4']?.score_mean ?? 0) - 0.75) < 1e-12)
    // sample SD of .6,.7,.8,.9 = 0.129099…; SE = SD / 2
    assert.ok(Math.abs((byModel['claude-sonnet-4']?.score_stderr ?? 0) - Math.sqrt(0.05 / 3) / 2) < 1e-12)
  })

  test('ungrouped, filtered, bucketed, and joined onto getMetrics rows', async () => {
    const [all] = await getScoreMeans(db.storage, M, { ...range, score: 'helpfulness' })
    assert.equal(all?.score_n, 10)
    assert.ok(Math.abs((all?.score_mean ?? 0) - 0.45) < 1e-12)
    const v2 = await getScoreMeans(db.storage, M, {
      ...range,
      groupBy: 'release',
      filter: { release: ['v2'] },
      score: 'helpfulness',
    })
    assert.deepEqual(
      v2.map((r) => [r.group, r.score_n]),
      [['v2', 4]],
    )
    const query = { ...range, groupBy: 'model' as const, intervalSeconds: 300 }
    const metrics = await getMetrics(db.storage, M, query)
    const means = await getScoreMeans(db.storage, M, { ...query, score: 'helpfulness' })
    const joined = joinScoreMeans(metrics, means)
    assert.equal(joined.length, metrics.length)
    for (const row of joined) {
      // Five-minute buckets: traces 0-4 at 00:00, 5-9 at 00:05.
      const expected =
        row.bucket === '2025-03-10T00:00:00.000Z'
          ? { 'gpt-4o': [0, 0.1, 0.2, 0.3, 0.4] }
          : { 'gpt-4o': [0.5, 0.9], 'claude-sonnet-4': [0.6, 0.7, 0.8, 0.9] }
      const values = (expected as Record<string, number[]>)[row.group ?? ''] ?? []
      assert.equal(row.score_n, values.length, `${row.bucket} ${row.group}`)
      const mean = values.reduce((a, b) => a + b, 0) / values.length
      assert.ok(Math.abs((row.score_mean ?? 0) - mean) < 1e-12, `${row.bucket} ${row.group}`)
    }
    const none = await getScoreMeans(db.storage, M, { ...range, groupBy: 'model', score: 'no-such-score' })
    assert.deepEqual(none, [])
    assert.deepEqual(
      joinScoreMeans(metrics, none).map((r) => [r.score_mean, r.score_n]),
      metrics.map(() => [null, 0]),
    )
  })

  test('every score name at once: per group, per name, and the names with their counts', async () => {
    // A boolean score on traces 0-3 (all gpt-4o): pass rate 3/4.
    await repo.create(
      M,
      [true, true, false, true].map((value, k) => ({
        traceId: trace(200 + k),
        name: 'correct',
        value,
        source: 'api' as const,
      })),
    )
    const rows = await getScoreMeansByName(db.storage, M, { ...range, groupBy: 'model' })
    assert.deepEqual(
      rows.map((r) => [r.group, r.name, r.score_n, Math.round((r.score_mean ?? 0) * 1e9) / 1e9]),
      [
        ['claude-sonnet-4', 'helpfulness', 4, 0.75],
        ['gpt-4o', 'correct', 4, 0.75],
        ['gpt-4o', 'helpfulness', 7, Math.round((2.4 / 7) * 1e9) / 1e9],
      ],
    )
    // The same figures as the one-name read for each name.
    const single = await getScoreMeans(db.storage, M, { ...range, groupBy: 'model', score: 'helpfulness' })
    for (const one of single) {
      const many = rows.find((r) => r.group === one.group && r.name === 'helpfulness')
      assert.deepEqual(
        many && { ...many, name: undefined, rate: undefined, value_min: undefined, value_max: undefined },
        { ...one, name: undefined, rate: undefined, value_min: undefined, value_max: undefined },
      )
    }
    const names = await getScoreMeansByName(db.storage, M, range)
    assert.deepEqual(
      names.map((r) => [r.name, r.score_n, r.rate, r.value_min, r.value_max]),
      [
        ['correct', 4, true, 0, 1],
        ['helpfulness', 10, false, 0, 0.9],
      ],
    )
    const onlyCorrect = await getScoreMeansByName(db.storage, M, {
      ...range,
      groupBy: 'release',
      names: ['correct'],
    })
    assert.deepEqual(
      onlyCorrect.map((r) => [r.group, r.name, r.score_n]),
      [['v1', 'correct', 4]],
    )
    assert.deepEqual(await getScoreMeansByName(db.storage, M, { ...range, names: [] }), [])
    const onlyGpt = await getScoreMeansByName(db.storage, M, {
      ...range,
      groupBy: 'model',
      groupValues: ['gpt-4o'],
    })
    assert.deepEqual(
      onlyGpt.map((r) => [r.group, r.name]),
      [
        ['gpt-4o', 'correct'],
        ['gpt-4o', 'helpfulness'],
      ],
      'only the groups asked for',
    )
    assert.deepEqual(
      await getScoreMeansByName(db.storage, M, { ...range, groupBy: 'model', groupValues: [] }),
      [],
    )
  })

  test('distributions: equal-width bins from min to max over the matching traces; booleans left out', async () => {
    // helpfulness on traces 0..9: 0, .1, …, .9 (min 0, max 0.9); 3 bins of width 0.3.
    const [d] = await getScoreDistributions(db.storage, M, {
      ...range,
      names: ['helpfulness', 'correct'],
      bins: 3,
    })
    assert.equal(d?.name, 'helpfulness')
    assert.equal(d?.n, 10)
    assert.deepEqual([d?.min, d?.max], [0, 0.9])
    assert.deepEqual(
      d?.bins.map((b) => b.count),
      [3, 3, 4],
      '[0, .3) holds 0, .1, .2; [.3, .6) .3, .4, .5; [.6, .9] .6 … .9 (the last bin is closed)',
    )
    assert.deepEqual(
      d?.bins.map((b) => [Math.round(b.from * 100) / 100, Math.round(b.to * 100) / 100]),
      [
        [0, 0.3],
        [0.3, 0.6],
        [0.6, 0.9],
      ],
    )
    const v2 = await getScoreDistributions(db.storage, M, {
      ...range,
      filter: { release: ['v2'] },
      names: ['helpfulness'],
    })
    assert.equal(v2[0]?.n, 4, 'only the traces the filter matches')
    assert.deepEqual(
      await getScoreDistributions(db.storage, M, { ...range, names: ['correct'] }),
      [],
      'booleans: none',
    )
    await assert.rejects(getScoreDistributions(db.storage, M, { ...range, names: ['x'], bins: 0 }), /bins/)

    // A 1–5 scale gets one bin per value; a constant score one bin; negative values bin too.
    // On traces 0..8 (the next test owns trace 9's scores).
    const stars = [1, 2, 2, 3, 5, 5, 5, 4, 1]
    const scored = (name: string, values: number[]) =>
      repo.create(
        M,
        values.map((value, k) => ({ traceId: trace(200 + k), name, value, source: 'api' as const })),
      )
    await scored('stars', stars)
    await scored('constant', [7, 7, 7])
    await scored('delta', [-1, -0.5, 0, 0.5, 1])
    const [s, c, d2] = await getScoreDistributions(db.storage, M, {
      ...range,
      names: ['stars', 'constant', 'delta'],
      bins: 4,
    })
    // Five values do not fit 4 bins: equal-width bins of 1 over [1, 5], the last closed.
    assert.deepEqual(
      s?.bins.map((b) => [b.from, b.to, b.count]),
      [
        [1, 2, 2],
        [2, 3, 2],
        [3, 4, 1],
        [4, 5, 4],
      ],
    )
    assert.deepEqual(
      c?.bins.map((b) => [b.from, b.to, b.count]),
      [[7, 7, 3]],
    )
    assert.deepEqual(
      d2?.bins.map((b) => [b.from, b.to, b.count]),
      [
        [-1, -0.5, 1],
        [-0.5, 0, 1],
        [0, 0.5, 1],
        [0.5, 1, 2],
      ],
      'the edges are the ones the engine binned with; max lands in the last, closed bin',
    )
    const [five] = await getScoreDistributions(db.storage, M, { ...range, names: ['stars'], bins: 5 })
    assert.deepEqual(
      five?.bins.map((b) => [b.from, b.to, b.count]),
      [
        [1, 1, 2],
        [2, 2, 2],
        [3, 3, 1],
        [4, 4, 1],
        [5, 5, 3],
      ],
      'a whole-number scale that fits: one bin per value',
    )
  })

  test('a deleted score leaves the list, the trace and the means; re-sending its id restores it', async () => {
    const target = trace(209)
    const [stored] = (await repo.list(M, { traceId: target, name: 'helpfulness' })).items
    assert.ok(stored)
    const notFound = (error: unknown) => QualityError.isInstance(error) && error.code === 'not_found'
    // Another project cannot delete it.
    await assert.rejects(repo.delete(OTHER, stored.id), notFound)
    assert.equal((await repo.forTrace(M, target)).filter((s) => s.name === 'helpfulness').length, 1)

    const deleted = await repo.delete(M, stored.id)
    assert.equal(deleted.id, stored.id)
    assert.equal(deleted.value, 0.9)
    assert.deepEqual(
      (await repo.forTrace(M, target)).map((s) => s.name),
      [],
    )
    const listed = await repo.list(M, { limit: 1000 })
    assert.ok(!listed.items.some((s) => s.id === stored.id))
    assert.ok(listed.items.length > 0)
    // helpfulness was k/10 on traces 0..9: without trace 9, n = 9 and the mean (4.5 - 0.9) / 9.
    const [all] = await getScoreMeans(db.storage, M, { ...range, score: 'helpfulness' })
    assert.equal(all?.score_n, 9)
    assert.ok(Math.abs((all?.score_mean ?? 0) - 0.4) < 1e-12)
    const byModel = await getScoreMeans(db.storage, M, { ...range, groupBy: 'model', score: 'helpfulness' })
    assert.deepEqual(
      byModel.map((r) => [r.group, r.score_n]),
      [
        ['claude-sonnet-4', 3],
        ['gpt-4o', 6],
      ],
    )
    await assert.rejects(repo.delete(M, stored.id), notFound)
    await assert.rejects(repo.delete(M, 'no-such-score'), notFound)

    // A correction: the same id sent again is stored again (here with a new value).
    await repo.create(M, [{ id: stored.id, traceId: target, name: 'helpfulness', value: 0.5, source: 'api' }])
    const [restored] = await getScoreMeans(db.storage, M, { ...range, score: 'helpfulness' })
    assert.equal(restored?.score_n, 10)
    assert.ok(Math.abs((restored?.score_mean ?? 0) - 4.1 / 10) < 1e-12)
  })
})
