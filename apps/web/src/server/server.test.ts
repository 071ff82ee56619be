import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import { expectedTotals, insertRows, SEED_MODELS, type Seeded, seedRows } from '../../test/seed'
import { type AppRouter, isLoopbackHost, startWebServer, type WebServer } from './index'

const KEY = 'hs_web_server_test_key_0123456789'
const HOUR = 3_600_000

let dir: string
let storage: Storage
let server: WebServer
let projectId: string
let emptyProjectId: string
let seeded: Seeded
let client: ReturnType<typeof createTRPCClient<AppRouter>>
const now = Date.now()
const range = { from: new Date(now - 24 * HOUR).toISOString(), to: new Date(now + 60_000).toISOString() }

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-web-server-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_web_server_test' })
  await migrate(storage)
  const projects = new ProjectRepository(storage, 0)
  projectId = (await projects.ensure('web-test', KEY)).project.id
  emptyProjectId = (await projects.ensure('still-empty')).project.id
  seeded = seedRows({ projectId, traces: 40, now })
  await insertRows(storage, seeded.rows)
  server = await startWebServer({
    storage,
    projects,
    port: 0,
    next: false,
    otlpEndpoint: 'http://127.0.0.1:4318',
    knownKeys: { [projectId]: KEY },
  })
  client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/api/trpc` })] })
})

after(async () => {
  await server?.close()
  await storage?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('tRPC over HTTP, real storage', () => {
  test('overview.kpis returns the figures of the stored spans', async () => {
    const expected = expectedTotals(seeded.rows)
    const { current, previous } = await client.overview.kpis.query({ projectId, ...range })
    assert.equal(current.calls, expected.calls)
    assert.equal(current.errors, expected.errors)
    assert.equal(current.unpriced_calls, expected.unpriced)
    assert.ok(
      current.cost_usd !== null && Math.abs(current.cost_usd - expected.cost) < 1e-6,
      `${current.cost_usd}`,
    )
    assert.ok((current.p50_ms ?? 0) > 0 && (current.p95_ms ?? 0) >= (current.p50_ms ?? 0))
    assert.equal(previous.calls, 0, 'nothing was seeded before the range')
  })

  test('a plain GET of /api/trpc/overview.kpis?input=… answers JSON', async () => {
    const input = encodeURIComponent(JSON.stringify({ projectId, ...range, filter: { model: ['gpt-4o'] } }))
    const res = await fetch(`${server.url}/api/trpc/overview.kpis?input=${input}`)
    assert.equal(res.status, 200)
    const body = (await res.json()) as { result: { data: { current: { calls: number } } } }
    const gpt4o = seeded.rows.filter((r) => r.model === 'gpt-4o' && r.kind === 'llm').length
    assert.equal(body.result.data.current.calls, gpt4o)
  })

  test('overview.series buckets by hour over 24 h, with gaps as null and totals that add up', async () => {
    const series = await client.overview.series.query({ projectId, ...range })
    assert.equal(series.intervalSeconds, 3600)
    assert.ok(series.cost.length >= 24 && series.cost.length <= 26, `${series.cost.length} buckets`)
    assert.deepEqual(
      new Set(series.models),
      new Set([...SEED_MODELS.map((m) => m.model), 'text-embedding-3-small']),
    )
    const total = series.cost.reduce(
      (sum, p) => sum + Object.values(p.byModel).reduce<number>((s, v) => s + (v ?? 0), 0),
      0,
    )
    assert.ok(Math.abs(total - expectedTotals(seeded.rows).cost) < 1e-6)
    // The unpriced model never has a cost: null in every bucket, not 0.
    assert.ok(series.cost.every((p) => p.byModel['llama-3-local'] === null))
    // The seed starts 23 h ago, so the range's first hour has no calls: a gap, not a zero.
    assert.equal(series.latency[0]?.p50, null)
    assert.equal(series.tokens[0]?.input, null)
    assert.ok(series.latency.some((p) => p.p95 !== null))
    assert.ok(series.tokens.some((p) => (p.input ?? 0) > 0))
  })

  test('overview.quality: no scores, no trends; bad names are a BAD_REQUEST naming the field', async () => {
    const none = await client.overview.quality.query({ projectId, ...range })
    assert.deepEqual(none.trends, [])
    assert.equal(none.intervalSeconds, 3600, '24 h stays in hours: at most 24 buckets')
    const unknown = await client.overview.quality.query({ projectId, ...range, names: ['no-such-score'] })
    assert.deepEqual(unknown.trends, [])
    await assert.rejects(
      client.overview.quality.query({ projectId, ...range, names: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }),
      (e: unknown) =>
        e instanceof TRPCClientError && e.data?.code === 'BAD_REQUEST' && /names/.test(e.message),
    )
    await assert.rejects(
      client.overview.quality.query({ projectId, ...range, names: [' '] }),
      (e: unknown) =>
        e instanceof TRPCClientError && e.data?.code === 'BAD_REQUEST' && /names/.test(e.message),
    )
  })

  test('overview.byModel has one row per model with its calls', async () => {
    const rows = await client.overview.byModel.query({ projectId, ...range })
    for (const row of rows) {
      const calls = seeded.rows.filter(
        (r) => r.model === row.model && (r.kind === 'llm' || r.kind === 'embedding'),
      ).length
      assert.equal(row.calls, calls, row.model)
    }
    assert.equal(rows.length, SEED_MODELS.length + 1)
  })

  test('traces.list pages through every trace newest first, and filters', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Awaited<ReturnType<typeof client.traces.list.query>> = await client.traces.list.query({
        projectId,
        ...range,
        limit: 15,
        cursor,
      })
      seen.push(...page.items.map((t) => t.trace_id))
      cursor = page.next_cursor
    } while (cursor)
    assert.equal(seen.length, seeded.traceIds.length)
    assert.deepEqual(new Set(seen), new Set(seeded.traceIds))

    const errors = await client.traces.list.query({ projectId, ...range, filter: { status: 'error' } })
    assert.deepEqual(
      errors.items.map((t) => t.trace_id),
      [seeded.errorTraceId],
    )
    const claude = await client.traces.list.query({
      projectId,
      ...range,
      filter: { model: ['claude-sonnet-4'] },
    })
    assert.ok(claude.items.length > 0 && claude.items.every((t) => t.models.includes('claude-sonnet-4')))
    const none = await client.traces.list.query({ projectId, ...range, filter: { name: 'no-such-span' } })
    assert.equal(none.items.length, 0)
  })

  test('traces.get returns every span with tokens and cost', async () => {
    const traceId = seeded.traceIds[0] ?? ''
    const trace = await client.traces.get.query({ projectId, traceId })
    const stored = seeded.rows.filter((r) => r.trace_id === traceId)
    assert.equal(trace.spans.length, stored.length)
    assert.ok(trace.input_tokens > 0)
    assert.ok(trace.spans.some((s) => s.kind === 'llm' && s.output_tokens > 0))
    await assert.rejects(
      client.traces.get.query({ projectId: emptyProjectId, traceId }),
      (e: unknown) => e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND',
      'a trace is only visible in its own project',
    )
  })

  test('traces.filterValues lists the models of the range', async () => {
    const values = await client.traces.filterValues.query({ projectId, ...range })
    assert.ok(values.models.includes('gpt-4o-mini'))
    assert.ok(values.names.includes('answer-question'))
  })

  test('projects.list and projects.setup describe each project', async () => {
    const projects = await client.projects.list.query()
    assert.deepEqual(projects.map((p) => p.name).sort(), ['still-empty', 'web-test'])
    const setup = await client.projects.setup.query({ projectId })
    assert.deepEqual(setup, {
      projectId,
      projectName: 'web-test',
      endpoint: 'http://127.0.0.1:4318',
      apiKey: KEY,
      hasData: true,
    })
    const empty = await client.projects.setup.query({ projectId: emptyProjectId })
    assert.equal(empty.hasData, false)
    assert.equal(empty.apiKey, null, 'a key the process was not given is never shown')
  })

  test('bad input is a 400 that names the problem; an unknown project is a 404', async () => {
    const backwards = { from: range.to, to: range.from }
    await assert.rejects(
      client.overview.kpis.query({ projectId, ...backwards }),
      (e: unknown) =>
        e instanceof TRPCClientError &&
        e.data?.code === 'BAD_REQUEST' &&
        /from must be before to/.test(e.message),
    )
    await assert.rejects(
      client.overview.kpis.query({ projectId: 'no-such-project', ...range }),
      (e: unknown) =>
        e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND' && /no-such-project/.test(e.message),
    )
    const res = await fetch(
      `${server.url}/api/trpc/overview.kpis?input=${encodeURIComponent('{"projectId":1}')}`,
    )
    assert.equal(res.status, 400)
  })
})

describe('one server for every API', () => {
  test('the public REST API is mounted under /api/public/v1', async () => {
    const doc = await fetch(`${server.url}/api/public/v1/openapi.json`)
    assert.equal(doc.status, 200)
    const unauthorized = await fetch(`${server.url}/api/public/v1/traces`)
    assert.equal(unauthorized.status, 401)
    const traces = await fetch(`${server.url}/api/public/v1/traces?limit=5`, {
      headers: { authorization: `Bearer ${KEY}` },
    })
    assert.equal(traces.status, 200)
  })

  test('pages are not served when next is false', async () => {
    const res = await fetch(`${server.url}/`)
    assert.equal(res.status, 404)
    assert.match(await res.text(), /next: false/)
  })
})

describe('loopback only', () => {
  test('a non-loopback host is refused with the reason and the fix', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await assert.rejects(
        startWebServer({
          storage,
          projects: new ProjectRepository(storage),
          host,
          port: 0,
          next: false,
          otlpEndpoint: '',
        }),
        /no login yet, so the dashboard binds to loopback only; set HINDSIGHT_HOST to 127\.0\.0\.1\/localhost\/::1/,
        host,
      )
    }
  })

  test('loopback names and addresses are accepted', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2', 'LOCALHOST'])
      assert.ok(isLoopbackHost(host), host)
    for (const host of ['0.0.0.0', '127.0.0.256', '10.0.0.1', '']) assert.ok(!isLoopbackHost(host), host)
  })
})
