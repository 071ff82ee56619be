import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '../canonical'
import { GEN_AI } from '../conventions'
import { startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'
import { nanos, newTraceId, otlpJson, testRow } from '../testing'
import { priceSpan } from './price-span'
import { PRICE_TABLE, type PriceTable, parsePriceTable } from './price-table'
import {
  customPriceVersion,
  ProjectPriceRepository,
  ProjectPriceResolver,
  staticPriceResolver,
} from './project-prices'
import { repriceSpans } from './reprice'

let dir: string
let storage: Storage

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-pricing-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_pricing_test' })
  await migrate(storage)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const table = (version: string, entries: unknown[]): PriceTable =>
  parsePriceTable({ version, currency: 'USD', unit: 'per 1M tokens', entries })

/** The table spans were ingested with: m1 at $1 / $2 per 1M tokens since 2026-01-01. */
const WRONG = table('v1', [
  { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 1, output: 2 },
])
/** The fix: m1 was $3 / $4 until a cut to $2 / $3 on 2026-03-01; m2 is now known too. */
const FIXED = table('v2', [
  { provider: 'acme', model: 'm1', effective_from: '2026-03-01', input: 2, output: 3 },
  { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 3, output: 4 },
  { provider: 'acme', model: 'm2', effective_from: '2026-01-01', input: 10, output: 10 },
])

/** A stored span priced with `priceTable`, as ingest would have done. */
function priced(over: Partial<SpanRow>, priceTable: PriceTable): SpanRow {
  const row = testRow({ provider: 'acme', model: 'm1', input: 'prompt text', output: 'answer', ...over })
  return { ...row, ...priceSpan(row, priceTable) }
}

async function insert(rows: SpanRow[]): Promise<void> {
  await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
}

interface StoredCost {
  span_id: string
  cost_usd: string | null
  price_version: string
  pricing_note: string
  input: string
  attributes: Record<string, string>
}

async function stored(projectId: string): Promise<Map<string, StoredCost>> {
  const result = await storage.client.query({
    query: `SELECT span_id, toString(cost_usd) AS cost_usd, price_version, pricing_note, input, attributes
      FROM ${storage.database}.spans FINAL WHERE project_id = {p:String} ORDER BY span_id`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return new Map((await result.json<StoredCost>()).map((r) => [r.span_id, r]))
}

async function totalCost(projectId: string): Promise<string> {
  const result = await storage.client.query({
    query: `SELECT toString(sum(cost_usd)) AS total, count() AS n FROM ${storage.database}.spans FINAL WHERE project_id = {p:String}`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return (await result.json<{ total: string }>())[0]?.total ?? ''
}

describe('custom prices repository and resolver', () => {
  test('upsert validates, replaces by (provider, model, effective date), lists, deletes', async () => {
    const repo = new ProjectPriceRepository(storage)
    const p = 'repo-project'
    assert.deepEqual(await repo.list(p), [])
    await assert.rejects(
      repo.upsert(p, { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: -1, output: 1 }),
      (e: unknown) => e instanceof RangeError && /^input: /.test(e.message),
    )
    await assert.rejects(
      repo.upsert(p, { provider: 'acme', model: 'm1', effective_from: '1 Jan 2026', input: 1, output: 1 }),
      /^RangeError: effective_from: /,
    )
    const first = await repo.upsert(p, {
      provider: ' ACME ',
      model: 'm1',
      model_pattern: 'm1-\\d+',
      effective_from: '2026-01-01',
      input: 1.5,
      output: 2,
      tiers: [{ above_input_tokens: 100_000, input: 3, output: 4 }],
    })
    assert.equal(first.provider, 'acme')
    const replaced = await repo.upsert(p, {
      provider: 'acme',
      model: 'm1',
      effective_from: '2026-01-01',
      input: 2,
      output: 2,
    })
    assert.equal(replaced.created_at, first.created_at, 'created_at is kept on replace')
    await repo.upsert(p, { provider: 'acme', model: 'm1', effective_from: '2026-02-01', input: 5, output: 5 })
    await repo.upsert('other-project', {
      provider: 'acme',
      model: 'm1',
      effective_from: '2026-01-01',
      input: 9,
      output: 9,
    })
    const listed = await repo.list(p)
    assert.deepEqual(
      listed.map(({ created_at: _c, updated_at: _u, ...e }) => e),
      [
        { provider: 'acme', model: 'm1', effective_from: '2026-02-01', input: 5, output: 5 },
        { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 2, output: 2 },
      ],
    )
    assert.equal(await repo.delete(p, { provider: 'acme', model: 'm1', effective_from: '2026-02-01' }), true)
    assert.equal(await repo.delete(p, { provider: 'acme', model: 'm1', effective_from: '2026-02-01' }), false)
    assert.deepEqual(
      (await repo.list(p)).map((e) => e.effective_from),
      ['2026-01-01'],
    )
    assert.equal((await repo.list('other-project')).length, 1, 'other projects are untouched')
  })

  test('resolver: custom prices layered on the base, cached, refreshed at once on a change in this process', async () => {
    let clock = 1_000_000
    const repo = new ProjectPriceRepository(storage)
    let reads = 0
    const counting = {
      database: repo.database,
      list: (id: string) => {
        reads += 1
        return repo.list(id)
      },
    }
    const resolver = new ProjectPriceResolver(counting, { base: FIXED, ttlMs: 5000, now: () => clock })
    const p = 'resolver-project'
    assert.equal(await resolver.tableFor(p), FIXED, 'no custom prices: the base table itself')
    const [a, b] = await Promise.all([resolver.tableFor(p), resolver.tableFor(p)])
    assert.equal(a, FIXED)
    assert.equal(b, FIXED)
    assert.equal(reads, 1, 'cached within the TTL')

    const entry = { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 0.5, output: 0.5 }
    await repo.upsert(p, entry)
    const custom = await resolver.tableFor(p)
    assert.equal(reads, 2, 'a change through a repository in this process invalidates at once')
    assert.deepEqual(custom.overrides, { version: customPriceVersion([entry]), entries: [entry] })
    assert.deepEqual(custom.entries, FIXED.entries)
    const row = testRow({ provider: 'acme', model: 'm1', start_time: '2026-04-01 00:00:00.000000' })
    assert.equal(
      priceSpan({ ...row, input_tokens: 1_000_000, output_tokens: 0 }, custom).cost_usd,
      '0.500000000',
    )
    assert.equal(await resolver.tableFor(p), custom)

    // Another process's change is seen after the TTL; the same prices keep the same table object.
    clock += 5001
    assert.equal(await resolver.tableFor(p), custom)
    assert.equal(reads, 3)

    // Storage failing: the last table is kept; without one, the error surfaces.
    const failing = new ProjectPriceResolver(
      {
        database: repo.database,
        list: async () => {
          throw new Error('storage down')
        },
      },
      { base: FIXED },
    )
    await assert.rejects(failing.tableFor(p), /storage down/)
    let fail = false
    const flaky = new ProjectPriceResolver(
      {
        database: repo.database,
        list: async (id) => {
          if (fail) throw new Error('storage down')
          return repo.list(id)
        },
      },
      { base: FIXED, ttlMs: 0, onError: () => {} },
    )
    const before = await flaky.tableFor(p)
    fail = true
    assert.equal(await flaky.tableFor(p), before)
  })

  test('ingest resolver: answers from cache while re-reading, and with the base table when storage fails', async () => {
    let clock = 5_000_000
    const repo = new ProjectPriceRepository(storage)
    const p = 'ingest-project'
    await repo.upsert(p, { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 7, output: 7 })
    let down = false
    let hang = false
    let reads = 0
    const source = {
      database: repo.database,
      list: async (id: string) => {
        reads += 1
        if (hang) return new Promise<never>(() => {})
        if (down) throw new Error('storage down')
        return repo.list(id)
      },
    }
    const errors: string[] = []
    const options = {
      base: FIXED,
      ttlMs: 1000,
      staleWhileRefresh: true,
      fallback: 'base' as const,
      loadTimeoutMs: 50,
      now: () => clock,
      onError: (message: string) => errors.push(message),
    }
    const resolver = new ProjectPriceResolver(source, options)
    const first = await resolver.tableFor(p)
    assert.equal(first.overrides?.entries[0]?.input, 7)
    // Expired: the cached table answers at once, a re-read runs in the background.
    clock += 1001
    down = true
    assert.equal(await resolver.tableFor(p), first)
    await new Promise((r) => setTimeout(r, 10))
    assert.equal(reads, 2)
    assert.match(errors.join('\n'), /keeping the last table/)
    // A project never read while storage is down: the base table, quickly retried later.
    const fresh = new ProjectPriceResolver(source, options)
    assert.equal(await fresh.tableFor(p), FIXED)
    // Storage that never answers: the base table after loadTimeoutMs, not a stalled ingest.
    hang = true
    const slow = new ProjectPriceResolver(source, options)
    const started = Date.now()
    assert.equal(await slow.tableFor(p), FIXED)
    assert.ok(Date.now() - started < 1000)
    // Storage back: after the short retry the custom table is read again.
    hang = false
    down = false
    clock += 1001
    await fresh.tableFor(p) // stale base answered, custom read in the background
    await new Promise((r) => setTimeout(r, 50))
    assert.equal((await fresh.tableFor(p)).overrides?.entries[0]?.input, 7)
  })
})

describe('repriceSpans', () => {
  const A = 'project-a'
  const B = 'project-b'
  // Span start times across the 2026-03-01 price change and several hours.
  const times = [
    '2026-02-28 22:10:00.000000',
    '2026-02-28 23:59:59.999999',
    '2026-03-01 00:00:00.000000',
    '2026-03-01 00:30:00.000000',
    '2026-03-01 01:05:00.000000',
    '2026-03-01 01:06:00.000000',
    '2026-03-01 01:07:00.000000',
    '2026-03-01 01:08:00.000000',
    '2026-03-01 03:00:00.000000',
  ]
  const FROM = new Date('2026-02-01T00:00:00Z')
  const TO = new Date('2026-04-01T00:00:00Z')

  before(async () => {
    const rows: SpanRow[] = []
    for (const [i, start_time] of times.entries()) {
      for (const project_id of [A, B]) {
        rows.push(
          priced(
            {
              project_id,
              start_time,
              input_tokens: 1000 * (i + 1),
              output_tokens: 100 * (i + 1),
              attributes: { n: String(i) },
            },
            WRONG,
          ),
        )
      }
    }
    // Project A also has an unknown model (now known as m2), a tool span and a span outside the range.
    rows.push(
      priced(
        { project_id: A, model: 'm2', start_time: times[0], input_tokens: 500, output_tokens: 5 },
        WRONG,
      ),
    )
    rows.push(priced({ project_id: A, kind: 'tool', model: '', provider: '', start_time: times[1] }, WRONG))
    rows.push(
      priced(
        { project_id: A, start_time: '2026-05-01 00:00:00.000000', input_tokens: 7, output_tokens: 7 },
        WRONG,
      ),
    )
    await insert(rows)
    // A re-sent copy of the first span of A (same key, later ingest): counted once.
    const first = rows[0]
    assert.ok(first)
    await insert([{ ...first, ingested_at: '2026-06-01 00:00:00.000' }])
  })

  test('a price fix applied with reprice fixes historical cost, in chunks, scoped to one project', async () => {
    const beforeA = await stored(A)
    // m1 at the wrong $1 / $2: 1000(i+1) + 2 × 100(i+1) = 1200(i+1) µ$ → 54,000 µ$ over i = 0..8, plus
    // 21 µ$ for the span outside the range; m2 unpriced.
    assert.equal(await totalCost(A), '0.054021')
    const result = await repriceSpans(storage, {
      projectId: A,
      from: FROM,
      to: TO,
      resolver: staticPriceResolver(FIXED),
      chunkSize: 3,
      writeBatchSize: 2,
    })
    // The fixed prices, span by span (i = 0..8, input 1000(i+1), output 100(i+1)): before 03-01
    // (i = 0, 1) 3 × input + 4 × output = 3400(i+1) µ$ → 10,200; from 03-01 (i = 2..8)
    // 2 × input + 3 × output = 2300(i+1) → 2300 × 42 = 96,600; m2: 500 × 10 + 5 × 10 = 5,050.
    // Total 111,850 µ$. The tool span is scanned but stays unpriced (unchanged).
    assert.deepEqual(result, {
      projects: 1,
      spans_scanned: 11,
      spans_changed: 10,
      cost_before_usd: '0.054000000',
      cost_after_usd: '0.111850000',
    })
    assert.equal(await totalCost(A), '0.111871')
    const afterA = await stored(A)
    assert.equal(afterA.size, beforeA.size, 'rewriting adds no span')
    for (const [id, span] of afterA) {
      const old = beforeA.get(id)
      assert.ok(old)
      assert.equal(span.input, old.input, 'content is kept')
      assert.deepEqual(span.attributes, old.attributes)
    }
    const outside = [...afterA.values()].find((s) => s.cost_usd === '0.000021')
    assert.ok(outside, 'the span outside the range keeps its old price')
    assert.equal(outside.price_version, 'v1')
    const m2Span = [...afterA.values()].find((s) => s.cost_usd === '0.00505')
    assert.deepEqual(m2Span && { version: m2Span.price_version, note: m2Span.pricing_note }, {
      version: 'v2',
      note: '',
    })

    // Project B is untouched.
    assert.equal(await totalCost(B), '0.054')
    // A second run changes nothing.
    const again = await repriceSpans(storage, {
      projectId: A,
      from: FROM,
      to: TO,
      resolver: staticPriceResolver(FIXED),
    })
    assert.equal(again.spans_changed, 0)
    assert.equal(again.cost_before_usd, '0.111850000')
    assert.equal(again.cost_after_usd, '0.111850000')
  })

  test("a project's custom price beats the built-in one when re-pricing, for that project only", async () => {
    const repo = new ProjectPriceRepository(storage)
    await repo.upsert(B, {
      provider: 'acme',
      model: 'm1',
      effective_from: '2026-03-01',
      input: 0.1,
      output: 0.1,
    })
    const resolver = new ProjectPriceResolver(repo, { base: FIXED })
    // All projects in the range: A (already fixed, nothing changes) and B.
    const result = await repriceSpans(storage, { from: FROM, to: TO, resolver })
    assert.equal(result.projects, 2)
    // B: i = 0, 1 before 03-01 at the fixed built-in price; i = 2..8 at the custom 0.1 / 0.1:
    // 1100(i+1) × 0.1 = 110(i+1) µ$ → 3400 × (1 + 2) + 110 × (3 + … + 9) = 10,200 + 4,620
    assert.equal(await totalCost(B), '0.01482')
    assert.equal(await totalCost(A), '0.111871')
    const versions = new Set([...(await stored(B)).values()].map((s) => s.price_version))
    assert.deepEqual(
      versions,
      new Set([
        'v2',
        customPriceVersion(
          await repo.list(B).then((l) => l.map(({ created_at: _c, updated_at: _u, ...e }) => e)),
        ),
      ]),
    )
    await assert.rejects(
      repriceSpans(storage, { from: TO, to: FROM, resolver }),
      (e: unknown) => e instanceof RangeError,
    )
  })
})

test('ingest prices each project with its effective table: a custom price beats the built-in one', async () => {
  const projects = new ProjectRepository(storage)
  const custom = (await projects.ensure('Custom', 'hs_pricing_custom_key_0001')).project.id
  await projects.ensure('Builtin', 'hs_pricing_builtin_key_0002')
  // The built-in gpt-4o price is $2.50 / $10; this project negotiated $1 / $4 from 2026-01-01.
  await new ProjectPriceRepository(storage).upsert(custom, {
    provider: 'openai',
    model: 'gpt-4o',
    effective_from: '2026-01-01',
    input: 1,
    output: 4,
  })
  const collector = await startCollector({ storage, projects, port: 0, grpcPort: false, batchMaxDelayMs: 10 })
  const traceIds: Record<string, string> = {}
  try {
    for (const [name, key] of [
      ['Custom', 'hs_pricing_custom_key_0001'],
      ['Builtin', 'hs_pricing_builtin_key_0002'],
    ] as const) {
      traceIds[name] = newTraceId()
      const start = Date.now() - 60_000
      const body = otlpJson({
        spans: [
          {
            traceId: traceIds[name],
            name: 'chat gpt-4o',
            startTimeUnixNano: nanos(start),
            endTimeUnixNano: nanos(start + 800),
            attributes: {
              [GEN_AI.operationName]: 'chat',
              [GEN_AI.providerName]: 'openai',
              [GEN_AI.requestModel]: 'gpt-4o',
              [GEN_AI.usageInputTokens]: 100_000,
              [GEN_AI.usageOutputTokens]: 10_000,
            },
          },
        ],
      })
      const res = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(res.status, 200)
    }
    await collector.flush()
  } finally {
    await collector.close()
  }
  const result = await storage.client.query({
    query: `SELECT trace_id, toString(cost_usd) AS cost, price_version FROM ${storage.database}.spans FINAL
      WHERE has({ids:Array(String)}, trace_id)`,
    query_params: { ids: Object.values(traceIds) },
    format: 'JSONEachRow',
  })
  const byTrace = new Map(
    (await result.json<{ trace_id: string; cost: string; price_version: string }>()).map((r) => [
      r.trace_id,
      r,
    ]),
  )
  // Custom: 100,000 × $1 + 10,000 × $4 per 1M = 0.14; built-in: 0.25 + 0.1 = 0.35.
  const customRow = byTrace.get(traceIds.Custom ?? '')
  assert.equal(customRow?.cost, '0.14')
  assert.match(customRow?.price_version ?? '', /^custom-[0-9a-f]{12}$/)
  assert.deepEqual(
    { ...byTrace.get(traceIds.Builtin ?? ''), trace_id: '' },
    { trace_id: '', cost: '0.35', price_version: PRICE_TABLE.version },
  )
})
