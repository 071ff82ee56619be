import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import {
  chooseInterval,
  countGroups,
  getFilterValues,
  getMetrics,
  getOverview,
  hasSpans,
  type MetricsRow,
} from './index'
import { clickHouseText, insertSpans, span } from './testing'

const A = 'project-a'
const B = 'project-b'
/** Project C: what makes a cost partial, and what does not. */
const C = 'project-c'
const T0 = new Date('2025-03-10T00:00:00.000Z')
const MIN = 60_000
const HOUR = 60 * MIN
const at = (ms: number) => new Date(T0.getTime() + ms)
const RANGE = { from: T0, to: at(2 * HOUR) }

let storage: Storage
let dir: string

/**
 * Project A, current period [T0, T0+2h):
 * - 100 gpt-4o calls, minute i-1, duration i ms (1..100), ttft i ms; every 10th unpriced, the
 *   others $0.01; every 25th an error; release v1, name 'chat';
 * - 20 claude-sonnet-4 calls (anthropic, v2, 'summarize') in minutes 100..119, 1000 ms, $0.123456789;
 * - 5 embedding calls (provider openai, no release, 'embed'), $0.00002 each;
 * - 10 tool spans, 2 of them errors (not model calls).
 * Previous period [T0-2h, T0): 10 gpt-4o calls, 200 ms, $0.02, one error.
 * Outside both: one call exactly at T0+2h, one just before T0-2h.
 * Project B: 50 failing gpt-4o calls at $1 plus a model only B uses.
 * Project C: one priced gpt-4o call, one with tokens but no price (unknown model), two failed
 *   calls that reported no usage, and one failed call that did (input tokens, no price).
 */
function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let i = 1; i <= 100; i++) {
    rows.push(
      span({
        start: at((i - 1) * MIN),
        durationMs: i,
        ttft_ms: i,
        release: 'v1',
        input_tokens: 1000,
        output_tokens: 200,
        cache_read_tokens: 100,
        reasoning_tokens: 50,
        cost_usd: i % 10 === 0 ? null : '0.01',
        status: i % 25 === 0 ? 'error' : 'ok',
      }),
    )
  }
  for (let j = 0; j < 20; j++) {
    rows.push(
      span({
        start: at((100 + j) * MIN),
        durationMs: 1000,
        name: 'summarize',
        provider: 'anthropic',
        model: 'claude-sonnet-4',
        release: 'v2',
        input_tokens: 500,
        output_tokens: 100,
        cache_write_tokens: 200,
        cost_usd: '0.123456789',
      }),
    )
  }
  for (let j = 0; j < 5; j++) {
    rows.push(
      span({
        start: at(j * MIN + 1000),
        durationMs: 10,
        kind: 'embedding',
        name: 'embed',
        model: 'text-embedding-3-small',
        input_tokens: 50,
        cost_usd: '0.00002',
      }),
    )
  }
  for (let j = 0; j < 10; j++) {
    rows.push(
      span({
        start: at(j * MIN + 2000),
        durationMs: 5,
        kind: 'tool',
        name: 'search',
        provider: '',
        model: '',
        status: j < 2 ? 'error' : 'ok',
      }),
    )
  }
  for (let j = 0; j < 10; j++) {
    rows.push(
      span({
        start: at(-2 * HOUR + j * MIN),
        durationMs: 200,
        cost_usd: '0.02',
        status: j === 0 ? 'error' : 'ok',
      }),
    )
  }
  rows.push(span({ start: at(2 * HOUR), cost_usd: '5' }))
  rows.push(span({ start: at(-2 * HOUR - 1), cost_usd: '5' }))
  for (let j = 0; j < 50; j++) {
    rows.push(
      span({
        project_id: B,
        start: at(j * MIN),
        durationMs: 5000,
        release: 'v1',
        cost_usd: '1',
        status: 'error',
        model: j === 0 ? 'b-only-model' : 'gpt-4o',
      }),
    )
  }
  const c = (init: Partial<Parameters<typeof span>[0]>) => span({ project_id: C, start: at(MIN), ...init })
  const tagged = {
    route: '/chat',
    user_id: 'u1',
    environment: 'prod',
    service_name: 'bot',
    attributes: { 'hindsight.metadata.customer': 'acme' },
  }
  rows.push(c({ input_tokens: 100, output_tokens: 10, cost_usd: '0.001', ...tagged }))
  rows.push(
    c({
      model: 'acme-big',
      input_tokens: 100,
      output_tokens: 10,
      pricing_note: 'unknown model',
      ...tagged,
    }),
  )
  rows.push(c({ status: 'error', pricing_note: 'no usage' }))
  rows.push(c({ status: 'error', pricing_note: 'no usage' }))
  rows.push(c({ status: 'error', input_tokens: 100, pricing_note: 'unknown model' }))
  return rows
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-metrics-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_dash_metrics' })
  await migrate(storage)
  await insertSpans(storage, fixture())
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

function only(rows: MetricsRow[]): MetricsRow {
  assert.equal(rows.length, 1)
  const [row] = rows
  assert.ok(row)
  return row
}

function byGroup(rows: MetricsRow[]): Map<string, MetricsRow> {
  return new Map(rows.map((r) => [r.group ?? '(none)', r]))
}

const cents = (usd: number | null) => (usd === null ? null : Math.round(usd * 100))

describe('getMetrics', () => {
  test('totals count model calls, errors, tokens and Decimal cost for the project only', async () => {
    const row = only(await getMetrics(storage, A, RANGE))
    assert.equal(row.group, undefined)
    assert.equal(row.bucket, undefined)
    assert.equal(row.calls, 125)
    assert.equal(row.errors, 4)
    assert.equal(row.input_tokens, 100 * 1000 + 20 * 500 + 5 * 50)
    assert.equal(row.output_tokens, 100 * 200 + 20 * 100)
    assert.equal(row.cache_read_tokens, 100 * 100)
    assert.equal(row.cache_write_tokens, 20 * 200)
    assert.equal(row.reasoning_tokens, 100 * 50)
    // 90 × 0.01 + 20 × 0.123456789 + 5 × 0.00002, summed as Decimal: exact to the 9th digit.
    assert.equal(row.cost_usd?.toFixed(9), '3.369235780')
    assert.equal(row.unpriced_calls, 10)
  })

  test("kind 'all' counts every span, a kind list narrows it", async () => {
    const all = only(await getMetrics(storage, A, { ...RANGE, filter: { kind: 'all' } }))
    assert.equal(all.calls, 135)
    assert.equal(all.errors, 6)
    assert.equal(all.unpriced_calls, 10, 'tool spans without cost are not unpriced calls')
    const tools = only(await getMetrics(storage, A, { ...RANGE, filter: { kind: ['tool'] } }))
    assert.equal(tools.calls, 10)
    assert.equal(tools.cost_usd, null, 'no priced row → null, not 0')
    assert.equal(tools.unpriced_calls, 0)
  })

  test('percentiles on a known distribution (durations 1..100 ms)', async () => {
    const row = only(await getMetrics(storage, A, { ...RANGE, filter: { model: ['gpt-4o'] } }))
    assert.equal(row.calls, 100)
    assert.ok(row.p50_ms !== null && Math.abs(row.p50_ms - 50.5) <= 1, `p50 ${row.p50_ms}`)
    assert.ok(row.p95_ms !== null && Math.abs(row.p95_ms - 95) <= 1, `p95 ${row.p95_ms}`)
    assert.ok(row.p99_ms !== null && Math.abs(row.p99_ms - 99) <= 1, `p99 ${row.p99_ms}`)
    assert.ok(row.ttft_p50_ms !== null && Math.abs(row.ttft_p50_ms - 50.5) <= 1)
    assert.equal(cents(row.cost_usd), 90)
  })

  test('group by model', async () => {
    const rows = await getMetrics(storage, A, { ...RANGE, groupBy: 'model' })
    assert.deepEqual(
      rows.map((r) => [r.group, r.calls]),
      [
        ['gpt-4o', 100],
        ['claude-sonnet-4', 20],
        ['text-embedding-3-small', 5],
      ],
      'ordered by calls',
    )
    const groups = byGroup(rows)
    const claude = groups.get('claude-sonnet-4')
    assert.equal(claude?.cost_usd?.toFixed(8), '2.46913578')
    assert.equal(claude?.p50_ms, 1000)
    assert.equal(claude?.ttft_p50_ms, null, 'no ttft recorded → null')
    assert.equal(groups.get('gpt-4o')?.errors, 4)
    assert.equal(groups.get('gpt-4o')?.unpriced_calls, 10)
    assert.equal(groups.get('text-embedding-3-small')?.cost_usd?.toFixed(4), '0.0001')
  })

  test('group by provider, release and name', async () => {
    const providers = byGroup(await getMetrics(storage, A, { ...RANGE, groupBy: 'provider' }))
    assert.deepEqual([...providers.keys()].sort(), ['anthropic', 'openai'])
    assert.equal(providers.get('openai')?.calls, 105)
    assert.equal(providers.get('anthropic')?.calls, 20)

    const releases = byGroup(await getMetrics(storage, A, { ...RANGE, groupBy: 'release' }))
    assert.equal(releases.get('v1')?.calls, 100)
    assert.equal(releases.get('v2')?.calls, 20)
    assert.equal(releases.get('')?.calls, 5, "spans without a release group under ''")

    const names = byGroup(await getMetrics(storage, A, { ...RANGE, groupBy: 'name' }))
    assert.deepEqual(
      [...names.entries()].map(([k, v]) => [k, v.calls]),
      [
        ['chat', 100],
        ['summarize', 20],
        ['embed', 5],
      ],
    )
  })

  test('interval buckets start on the interval and missing buckets are not filled', async () => {
    const rows = await getMetrics(storage, A, { from: T0, to: at(4 * HOUR), intervalSeconds: 3600 })
    assert.deepEqual(
      rows.map((r) => [r.bucket, r.calls]),
      [
        ['2025-03-10T00:00:00.000Z', 65],
        ['2025-03-10T01:00:00.000Z', 60],
        // T0+2h holds one call; hour 3 has none and must not appear as a zero row.
        ['2025-03-10T02:00:00.000Z', 1],
      ],
    )
    const perModel = await getMetrics(storage, A, { ...RANGE, groupBy: 'model', intervalSeconds: 3600 })
    assert.deepEqual(
      perModel.map((r) => [r.bucket, r.group, r.calls]),
      [
        ['2025-03-10T00:00:00.000Z', 'gpt-4o', 60],
        ['2025-03-10T00:00:00.000Z', 'text-embedding-3-small', 5],
        ['2025-03-10T01:00:00.000Z', 'gpt-4o', 40],
        ['2025-03-10T01:00:00.000Z', 'claude-sonnet-4', 20],
      ],
    )
    const minutes = await getMetrics(storage, A, {
      ...RANGE,
      intervalSeconds: 60,
      filter: { model: ['gpt-4o'] },
    })
    assert.equal(minutes.length, 100)
    assert.equal(minutes[41]?.bucket, '2025-03-10T00:41:00.000Z')
    assert.equal(minutes[41]?.p50_ms, 42)
  })

  test('filters on provider, release, name and status', async () => {
    assert.equal(
      only(await getMetrics(storage, A, { ...RANGE, filter: { provider: ['anthropic'] } })).calls,
      20,
    )
    assert.equal(
      only(await getMetrics(storage, A, { ...RANGE, filter: { release: ['v1', 'v2'] } })).calls,
      120,
    )
    assert.equal(only(await getMetrics(storage, A, { ...RANGE, filter: { name: 'embed' } })).calls, 5)
    assert.equal(only(await getMetrics(storage, A, { ...RANGE, filter: { status: 'error' } })).calls, 4)
    assert.equal(only(await getMetrics(storage, A, { ...RANGE, filter: { status: 'ok' } })).calls, 121)
    assert.deepEqual(await getMetrics(storage, A, { ...RANGE, filter: { model: ['nope'] } }), [])
  })

  test('project isolation: B sees only its own rows, A never sees B', async () => {
    const b = only(await getMetrics(storage, B, RANGE))
    assert.equal(b.calls, 50)
    assert.equal(b.errors, 50)
    assert.equal(b.cost_usd, 50)
    const a = byGroup(await getMetrics(storage, A, { ...RANGE, groupBy: 'model' }))
    assert.equal(a.has('b-only-model'), false)
    assert.deepEqual(await getMetrics(storage, 'project-none', RANGE), [])
  })

  test('limit keeps the most expensive groups; countGroups says how many there are', async () => {
    const top = await getMetrics(storage, A, { ...RANGE, groupBy: 'model', limit: 1 })
    // claude-sonnet-4: 20 × $0.123456789 ≈ $2.47, above gpt-4o's 90 × $0.01.
    assert.deepEqual(
      top.map((r) => r.group),
      ['claude-sonnet-4'],
    )
    assert.equal(await countGroups(storage, A, { ...RANGE, groupBy: 'model' }), 3)
    assert.equal(await countGroups(storage, A, { ...RANGE, groupBy: 'model', filter: { kind: ['llm'] } }), 2)
    await assert.rejects(getMetrics(storage, A, { ...RANGE, limit: 1 }), /limit: only for a grouped query/)
    await assert.rejects(
      getMetrics(storage, A, { ...RANGE, groupBy: 'model', intervalSeconds: 3600, limit: 1 }),
      /limit/,
    )
    await assert.rejects(getMetrics(storage, A, { ...RANGE, groupBy: 'model', limit: 0 }), /limit/)
    await assert.rejects(countGroups(storage, A, RANGE), /groupBy/)
  })

  test('bad input is a RangeError', async () => {
    await assert.rejects(getMetrics(storage, A, { from: RANGE.to, to: RANGE.from }), RangeError)
    await assert.rejects(getMetrics(storage, A, { ...RANGE, intervalSeconds: 0.5 }), /intervalSeconds/)
    await assert.rejects(
      getMetrics(storage, A, { from: new Date(0), to: T0, intervalSeconds: 1 }),
      /intervalSeconds: \d+ buckets/,
    )
  })
})

describe('getOverview', () => {
  test('failed calls that reported no usage are unpriced but counted apart (they add no cost)', async () => {
    const { current } = await getOverview(storage, C, RANGE)
    assert.equal(current.calls, 5)
    assert.equal(current.unpriced_calls, 4)
    assert.equal(current.unpriced_failed_calls, 2, 'a failed call with input tokens is not among them')
    const routes = byGroup(await getMetrics(storage, C, { ...RANGE, groupBy: 'route' }))
    assert.deepEqual(
      [...routes].map(([route, r]) => [route, r.calls]).sort(),
      [
        ['', 3],
        ['/chat', 2],
      ],
      'grouped by route',
    )
    const chat = only(await getMetrics(storage, C, { ...RANGE, filter: { route: ['/chat'] } }))
    assert.equal(chat.calls, 2, 'filtered by route')
    // Other columns, and any attribute key (bound as a parameter), group the same way.
    for (const [groupBy, value] of [
      ['user', 'u1'],
      ['environment', 'prod'],
      ['service', 'bot'],
    ] as const) {
      const groups = byGroup(await getMetrics(storage, C, { ...RANGE, groupBy }))
      assert.equal(groups.get(value)?.calls, 2, groupBy)
      assert.equal(
        [...groups.values()].reduce((n, r) => n + r.calls, 0),
        5,
        groupBy,
      )
    }
    const customers = byGroup(
      await getMetrics(storage, C, {
        ...RANGE,
        groupBy: 'attribute',
        groupKey: 'hindsight.metadata.customer',
      }),
    )
    assert.deepEqual([customers.get('acme')?.calls, customers.get('')?.calls], [2, 3])
    await assert.rejects(getMetrics(storage, C, { ...RANGE, groupBy: 'attribute' }), /groupKey/)
    await assert.rejects(
      getMetrics(storage, C, { ...RANGE, groupBy: 'attribute', groupKey: 'k'.repeat(201) }),
      /groupKey/,
    )
    const groups = byGroup(await getMetrics(storage, C, { ...RANGE, groupBy: 'model' }))
    assert.deepEqual(
      [...groups].map(([model, r]) => [model, r.unpriced_calls, r.unpriced_failed_calls]),
      [
        ['gpt-4o', 3, 2],
        ['acme-big', 1, 0],
      ],
    )
  })

  test('current and previous period of the same length', async () => {
    const { current, previous } = await getOverview(storage, A, RANGE)
    assert.equal(current.calls, 125)
    assert.equal(current.errors, 4)
    assert.equal(current.error_rate, 4 / 125)
    assert.equal(current.cost_usd?.toFixed(9), '3.369235780')
    assert.equal(current.unpriced_calls, 10)
    assert.equal(current.input_tokens, 110_250)
    assert.equal(current.output_tokens, 22_000)
    assert.equal(current.total_tokens, 132_250)
    assert.equal(current.cost_per_call?.toFixed(9), (3.36923578 / 115).toFixed(9))
    assert.equal(current.priced_calls, 115, 'what cost per call averages over')
    assert.equal(current.ttft_calls, 100, 'the gpt-4o calls recorded a time to first token')
    assert.equal(previous.calls, 10)
    assert.equal(previous.errors, 1)
    assert.equal(cents(previous.cost_usd), 20)
    assert.equal(previous.p50_ms, 200)
    assert.equal(previous.p95_ms, 200)
    assert.equal(previous.ttft_p50_ms, null)
  })

  test('filters apply to both periods; an empty period is zero calls with null rates', async () => {
    const { current, previous } = await getOverview(storage, A, RANGE, { model: ['claude-sonnet-4'] })
    assert.equal(current.calls, 20)
    assert.equal(current.p50_ms, 1000)
    assert.equal(previous.calls, 0)
    assert.equal(previous.error_rate, null)
    assert.equal(previous.cost_usd, null)
    assert.equal(previous.cost_per_call, null)
    assert.equal(previous.p50_ms, null)
  })
})

describe('filter values and presence', () => {
  test('distinct non-empty values in the range, sorted, project-scoped', async () => {
    const values = await getFilterValues(storage, A, RANGE)
    assert.deepEqual(values, {
      models: ['claude-sonnet-4', 'gpt-4o', 'text-embedding-3-small'],
      providers: ['anthropic', 'openai'],
      releases: ['v1', 'v2'],
      names: ['chat', 'embed', 'search', 'summarize'],
    })
    assert.deepEqual((await getFilterValues(storage, B, RANGE)).models, ['b-only-model', 'gpt-4o'])
  })

  test('hasSpans', async () => {
    assert.equal(await hasSpans(storage, A), true)
    assert.equal(await hasSpans(storage, 'project-none'), false)
  })
})

describe('re-ingested spans', () => {
  test('the newest ingest of a span wins; the old version is never counted or matched', async () => {
    const P = 'project-dedup'
    const first = span({
      project_id: P,
      start: at(10 * MIN),
      cost_usd: '0.1',
      ingested_at: clickHouseText(at(11 * MIN)).slice(0, 23),
    })
    await insertSpans(storage, [first])
    await insertSpans(storage, [
      { ...first, status: 'error', cost_usd: '0.3', ingested_at: clickHouseText(at(12 * MIN)).slice(0, 23) },
    ])
    const row = only(await getMetrics(storage, P, RANGE))
    assert.equal(row.calls, 1)
    assert.equal(row.errors, 1)
    assert.equal(row.cost_usd, 0.3)
    assert.deepEqual(await getMetrics(storage, P, { ...RANGE, filter: { status: 'ok' } }), [])
  })
})

test('chooseInterval keeps charts at ≤ ~200 points with 1m/5m/1h/1d steps', () => {
  const range = (ms: number) => ({ from: T0, to: at(ms) })
  assert.equal(chooseInterval(range(30 * MIN)), 60)
  assert.equal(chooseInterval(range(2 * HOUR)), 60)
  assert.equal(chooseInterval(range(6 * HOUR)), 300)
  assert.equal(chooseInterval(range(24 * HOUR)), 3600)
  assert.equal(chooseInterval(range(7 * 24 * HOUR)), 3600)
  assert.equal(chooseInterval(range(30 * 24 * HOUR)), 86_400)
  assert.equal(chooseInterval(range(0)), 60)
})
