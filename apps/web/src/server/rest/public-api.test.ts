import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { arr, errorOf, obj, openRestApi, type RestApiFixture } from '../../../test/rest-api'
import { createPublicApi, PUBLIC_API_BASE } from './index'

const KEY_A = 'hs_rest_test_key_project_a_0001'
const KEY_B = 'hs_rest_test_key_project_b_0002'
const T0 = new Date('2025-03-10T00:00:00.000Z')
const MIN = 60_000
const at = (ms: number) => new Date(T0.getTime() + ms)
const RANGE = `from=${T0.toISOString()}&to=${at(60 * MIN).toISOString()}`

let storage: Storage
let api: RestApiFixture
let app: Hono
let projectA: string
let projectB: string

const traceA = (k: number) => hexId(0xa000 + k, 32)
const traceB = (k: number) => hexId(0xb000 + k, 32)
const RECENT_TRACE = hexId(0xc0ffee, 32)

/**
 * Project A: 30 traces at T0 + k minutes, each a chain root plus a gpt-4o child ($0.01, 1000 ms);
 * traces k % 5 = 0 also call claude-sonnet-4 (unpriced, 3000 ms) and fail. One more trace an
 * hour ago, for the default range. Project B: 5 traces with its own model.
 */
function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  const trace = (projectId: string, id: string, start: Date, model: string, extra: boolean) => {
    const root = span({
      project_id: projectId,
      trace_id: id,
      start,
      durationMs: 4000,
      kind: 'chain',
      name: 'answer-question',
      model: '',
      provider: '',
    })
    rows.push(
      root,
      span({
        project_id: projectId,
        trace_id: id,
        parent_span_id: root.span_id,
        start: new Date(start.getTime() + 5),
        durationMs: 1000,
        model,
        release: 'v1',
        // Every third trace's call comes from the /support route, for user u-1.
        ...(Number.parseInt(id.slice(-2), 16) % 3 === 0 ? { route: '/support', user_id: 'u-1' } : {}),
        input_tokens: 100,
        output_tokens: 10,
        cost_usd: '0.01',
        attributes: { 'gen_ai.request.temperature': '0' },
      }),
    )
    if (extra) {
      rows.push(
        span({
          project_id: projectId,
          trace_id: id,
          parent_span_id: root.span_id,
          start: new Date(start.getTime() + 1010),
          durationMs: 3000,
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          release: 'v2',
          status: 'error',
        }),
      )
    }
  }
  for (let k = 0; k < 30; k++) trace(projectA, traceA(k), at(k * MIN), 'gpt-4o', k % 5 === 0)
  trace(projectA, RECENT_TRACE, new Date(Date.now() - 60 * MIN), 'gpt-4o-mini', false)
  for (let k = 0; k < 5; k++) trace(projectB, traceB(k), at(k * MIN), 'b-model', false)
  return rows
}

before(async () => {
  api = await openRestApi('hs_rest_test', { A: KEY_A, B: KEY_B }, async (storage, ids) => {
    projectA = ids.A
    projectB = ids.B
    await insertSpans(storage, fixture())
  })
  app = api.app
  storage = api.storage
})

after(() => api.close())

async function get(path: string, key: string | null = KEY_A) {
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  })
  const body: unknown = await res.json()
  return { status: res.status, body }
}

describe('auth', () => {
  test('missing, malformed and unknown keys → 401', async () => {
    for (const [key, header] of [
      [null, undefined],
      ['', 'Basic abc'],
      ['', 'Bearer'],
      ['nope', 'Bearer hs_unknown_key'],
    ] as const) {
      const res = await app.request(`${PUBLIC_API_BASE}/traces`, {
        headers: header ? { authorization: header } : {},
      })
      assert.equal(res.status, 401, `${key} ${header}`)
      assert.equal(errorOf(await res.json()).code, 'unauthorized')
    }
  })

  test('auth runs before validation; only the document itself is public', async () => {
    assert.equal((await get('/metrics?groupBy=nope', null)).status, 401)
    assert.equal((await get('/traces/openapi.json', null)).status, 401)
    assert.equal((await get('/nope', null)).status, 401)
  })
})

describe('GET /traces', () => {
  test('newest first, cursor-paged, no duplicates or gaps', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const { status, body }: { status: number; body: unknown } = await get(
        `/traces?${RANGE}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      assert.equal(status, 200)
      const page = obj(body)
      seen.push(...arr(page.data).map((t) => String(t.trace_id)))
      cursor = page.next_cursor === null ? null : String(page.next_cursor)
      pages += 1
    } while (cursor && pages < 20)
    assert.equal(pages, 5)
    assert.deepEqual(
      seen,
      Array.from({ length: 30 }, (_, k) => traceA(29 - k)),
    )
  })

  test('summary fields, ISO times, filters on child spans', async () => {
    const { body } = await get(`/traces?${RANGE}&model=claude-sonnet-4`)
    const data = arr(obj(body).data)
    assert.deepEqual(
      data.map((t) => t.trace_id),
      [25, 20, 15, 10, 5, 0].map(traceA),
    )
    assert.deepEqual(data[0], {
      trace_id: traceA(25),
      name: 'answer-question',
      start_time: '2025-03-10T00:25:00.000000Z',
      // The envelope of all spans: the claude child ends 10 ms after the root.
      duration_ms: 4010,
      span_count: 3,
      llm_calls: 2,
      input_tokens: 100,
      output_tokens: 10,
      cost_usd: 0.01,
      status: 'error',
      models: ['claude-sonnet-4', 'gpt-4o'],
      release: 'v1',
      service_name: 'svc',
    })
    const ok = arr(obj((await get(`/traces?${RANGE}&status=ok&limit=500`)).body).data)
    assert.equal(ok.length, 24)
  })

  test('model may repeat or be comma-separated', async () => {
    const repeated = arr(obj((await get(`/traces?${RANGE}&model=claude-sonnet-4&model=none`)).body).data)
    const comma = arr(obj((await get(`/traces?${RANGE}&model=none,claude-sonnet-4`)).body).data)
    assert.equal(repeated.length, 6)
    assert.deepEqual(comma, repeated)
  })

  test('default range is the last 24 hours', async () => {
    const { body } = await get('/traces')
    assert.deepEqual(
      arr(obj(body).data).map((t) => t.trace_id),
      [RECENT_TRACE],
    )
  })

  test('project scoping: each key sees only its project', async () => {
    const { body } = await get(`/traces?${RANGE}&limit=500`, KEY_B)
    const data = arr(obj(body).data)
    assert.deepEqual(
      data.map((t) => t.trace_id),
      [4, 3, 2, 1, 0].map(traceB),
    )
    assert.ok(data.every((t) => JSON.stringify(t.models) === '["b-model"]'))
  })

  test('bad parameters → 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/traces?from=yesterday', /^from: /],
      ['/traces?to=2025-13-45T00:00:00Z', /^to: /],
      [`/traces?from=${at(MIN).toISOString()}&to=${T0.toISOString()}`, /^from: must be before to/],
      ['/traces?limit=0', /^limit: /],
      ['/traces?limit=abc', /^limit: /],
      ['/traces?limit=501', /^limit: /],
      ['/traces?status=broken', /^status: /],
      ['/traces?cursor=not-a-cursor', /^cursor: /],
      ['/traces?from=2025-01-01T00:00:00Z&from=2025-01-02T00:00:00Z', /^from: /],
    ]
    for (const [path, message] of cases) {
      const { status, body } = await get(path)
      assert.equal(status, 400, path)
      const error = errorOf(body)
      assert.equal(error.code, 'bad_request')
      assert.match(error.message, message, path)
    }
  })
})

describe('GET /traces/{traceId}', () => {
  test('the trace with its spans in canonical snake_case fields', async () => {
    const { status, body } = await get(`/traces/${traceA(5)}`)
    assert.equal(status, 200)
    const trace = obj(body)
    assert.equal(trace.trace_id, traceA(5))
    assert.equal(trace.cost_usd, 0.01)
    const spans = arr(trace.spans)
    assert.deepEqual(
      spans.map((s) => [s.kind, s.model, s.status]),
      [
        ['chain', '', 'ok'],
        ['llm', 'gpt-4o', 'ok'],
        ['llm', 'claude-sonnet-4', 'error'],
      ],
    )
    const child = spans[1]
    assert.ok(child)
    for (const field of [
      'trace_id',
      'span_id',
      'parent_span_id',
      'name',
      'kind',
      'model',
      'provider',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
      'cache_write_tokens',
      'reasoning_tokens',
      'cost_usd',
      'start_time',
      'duration_ms',
      'ttft_ms',
      'status',
      'input',
      'output',
      'attributes',
    ]) {
      assert.ok(field in child, field)
    }
    assert.equal('project_id' in child, false)
    assert.equal(child.parent_span_id, spans[0]?.span_id)
    assert.equal(child.start_time, '2025-03-10T00:05:00.005000Z')
    assert.equal(child.cost_usd, 0.01)
    assert.equal(spans[2]?.cost_usd, null)
    assert.deepEqual(child.attributes, { 'gen_ai.request.temperature': '0' })
  })

  test('upper-case ids are accepted', async () => {
    assert.equal((await get(`/traces/${traceA(5).toUpperCase()}`)).status, 200)
  })

  test('404 when the trace is absent or in another project; 400 for a malformed id', async () => {
    const missing = await get(`/traces/${hexId(0xdead, 32)}`)
    assert.equal(missing.status, 404)
    assert.equal(errorOf(missing.body).code, 'not_found')
    const other = await get(`/traces/${traceB(1)}`)
    assert.equal(other.status, 404, "B's trace is invisible to A's key")
    assert.equal((await get(`/traces/${traceB(1)}`, KEY_B)).status, 200)
    const bad = await get('/traces/xyz')
    assert.equal(bad.status, 400)
    assert.match(errorOf(bad.body).message, /^traceId: /)
  })
})

describe('GET /metrics', () => {
  test('grouped by model, rows carry the group under its name', async () => {
    const { status, body } = await get(`/metrics?${RANGE}&groupBy=model`)
    assert.equal(status, 200)
    const rows = arr(obj(body).data)
    assert.deepEqual(
      rows.map((r) => [r.model, r.calls, r.errors]),
      [
        ['gpt-4o', 30, 0],
        ['claude-sonnet-4', 6, 6],
      ],
    )
    const gpt = rows[0]
    assert.ok(gpt)
    assert.equal(gpt.cost_usd, 0.3)
    assert.equal(gpt.input_tokens, 3000)
    assert.equal(gpt.output_tokens, 300)
    assert.equal(gpt.p50_ms, 1000)
    assert.equal(gpt.p95_ms, 1000)
    assert.equal(gpt.p99_ms, 1000)
    assert.equal(gpt.unpriced_calls, 0)
    assert.equal('group' in gpt, false)
    assert.equal('bucket' in gpt, false)
    const claude = rows[1]
    assert.equal(claude?.cost_usd, null)
    assert.equal(claude?.unpriced_calls, 6)
    assert.equal(claude?.p50_ms, 3000)
  })

  test('groupBy provider, release and name', async () => {
    const providers = arr(obj((await get(`/metrics?${RANGE}&groupBy=provider`)).body).data)
    assert.deepEqual(
      providers.map((r) => [r.provider, r.calls]),
      [
        ['openai', 30],
        ['anthropic', 6],
      ],
    )
    const releases = arr(obj((await get(`/metrics?${RANGE}&groupBy=release`)).body).data)
    assert.deepEqual(
      releases.map((r) => [r.release, r.calls]),
      [
        ['v1', 30],
        ['v2', 6],
      ],
    )
    const names = arr(obj((await get(`/metrics?${RANGE}&groupBy=name`)).body).data)
    assert.deepEqual(
      names.map((r) => [r.name, r.calls]),
      [['chat', 36]],
    )
    // Every third trace's gpt-4o call has the /support route (10 of project A's 36 calls).
    const routes = arr(obj((await get(`/metrics?${RANGE}&groupBy=route`)).body).data)
    assert.deepEqual(routes.map((r) => [r.route, r.calls]).sort(), [
      ['', 26],
      ['/support', 10],
    ])
    const support = arr(obj((await get(`/metrics?${RANGE}&route=%2Fsupport`)).body).data)
    assert.deepEqual(
      support.map((r) => r.calls),
      [10],
      'route filter on /metrics',
    )
    const supportTraces = arr(obj((await get(`/traces?${RANGE}&route=%2Fsupport&limit=100`)).body).data)
    assert.deepEqual(
      supportTraces.map((t) => t.trace_id).sort(),
      [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].map(traceA).sort(),
      'route filter on /traces',
    )
    assert.equal(
      obj((await get(`/cache?${RANGE}&route=%2Fsupport`)).body).calls,
      10,
      'route filter on /cache',
    )
    assert.deepEqual(arr(obj((await get(`/metrics?${RANGE}&route=%2Fnone`)).body).data), [], 'route filter')
    // Any attribute key: the gpt-4o calls carry a temperature, the claude calls none (score means too).
    const temperature = `/metrics?${RANGE}&groupBy=attribute&attribute=gen_ai.request.temperature&score=helpful`
    const byTemperature = arr(obj((await get(temperature)).body).data)
    assert.deepEqual(byTemperature.map((r) => [r.attribute, r.calls]).sort(), [
      ['', 6],
      ['0', 30],
    ])
    const missing = await get(`/metrics?${RANGE}&groupBy=attribute`)
    assert.equal(missing.status, 400)
    assert.match(errorOf(missing.body).message, /attribute: the attribute key/)
    const users = arr(obj((await get(`/metrics?${RANGE}&groupBy=user`)).body).data)
    assert.deepEqual(users.map((r) => [r.user, r.calls]).sort(), [
      ['', 26],
      ['u-1', 10],
    ])
    assert.equal(arr(obj((await get(`/traces?${RANGE}&route=%2Fnone`)).body).data).length, 0)
  })

  test('interval buckets (1h, 10m, seconds) with ISO bucket starts; empty buckets absent', async () => {
    const hourly = arr(obj((await get(`/metrics?${RANGE}&interval=1h`)).body).data)
    assert.deepEqual(
      hourly.map((r) => [r.bucket, r.calls]),
      [['2025-03-10T00:00:00.000Z', 36]],
    )
    const tenMinutes = arr(obj((await get(`/metrics?${RANGE}&interval=600&groupBy=model`)).body).data)
    assert.deepEqual(
      tenMinutes.map((r) => [r.bucket, r.model, r.calls]),
      [
        ['2025-03-10T00:00:00.000Z', 'gpt-4o', 10],
        ['2025-03-10T00:00:00.000Z', 'claude-sonnet-4', 2],
        ['2025-03-10T00:10:00.000Z', 'gpt-4o', 10],
        ['2025-03-10T00:10:00.000Z', 'claude-sonnet-4', 2],
        ['2025-03-10T00:20:00.000Z', 'gpt-4o', 10],
        ['2025-03-10T00:20:00.000Z', 'claude-sonnet-4', 2],
      ],
    )
    assert.deepEqual(arr(obj((await get(`/metrics?${RANGE}&interval=10m`)).body).data).length, 3)
  })

  test('project scoping', async () => {
    const rows = arr(obj((await get(`/metrics?${RANGE}&groupBy=model`, KEY_B)).body).data)
    assert.deepEqual(
      rows.map((r) => [r.model, r.calls, r.cost_usd]),
      [['b-model', 5, 0.05]],
    )
  })

  test('bad parameters → 400 naming the parameter; too many buckets → 400', async () => {
    const week = `from=${T0.toISOString()}&to=${at(7 * 24 * 60 * MIN).toISOString()}`
    const cases: [string, RegExp][] = [
      ['/metrics?groupBy=color', /^groupBy: /],
      ['/metrics?interval=fortnight', /^interval: /],
      ['/metrics?interval=0', /^interval: /],
      [`/metrics?${week}&interval=1m`, /^interval: 10080 buckets/],
      ['/metrics?from=2025-01-01', /^from: /],
    ]
    for (const [path, message] of cases) {
      const { status, body } = await get(path)
      assert.equal(status, 400, path)
      assert.equal(errorOf(body).code, 'bad_request')
      assert.match(errorOf(body).message, message, path)
    }
    assert.equal((await get(`/metrics?${week}&interval=10m`)).status, 200, '1008 buckets are allowed')
  })
})

describe('GET /openapi.json', () => {
  test('an OpenAPI 3.1 document of every route, with bearer security, without auth', async () => {
    const { status, body } = await get('/openapi.json', null)
    assert.equal(status, 200)
    const doc = obj(body)
    assert.equal(doc.openapi, '3.1.0')
    const paths = obj(doc.paths)
    for (const path of ['/metrics', '/traces', '/traces/{traceId}', '/prices', '/reprice', '/settings']) {
      assert.ok(paths[path], path)
    }
    const scheme = obj(obj(obj(doc.components).securitySchemes).bearerAuth)
    assert.deepEqual(scheme.type, 'http')
    assert.deepEqual(scheme.scheme, 'bearer')
    const metrics = obj(obj(paths['/metrics']).get)
    assert.deepEqual(metrics.security, [{ bearerAuth: [] }])
    const params = arr(metrics.parameters).map((p) => p.name)
    for (const name of ['from', 'to', 'groupBy', 'interval']) assert.ok(params.includes(name), name)
  })
})

describe('errors', () => {
  test('unknown route → 404 JSON', async () => {
    const { status, body } = await get('/nope')
    assert.equal(status, 404)
    assert.equal(errorOf(body).code, 'not_found')
  })

  test('unexpected failures → 500 with a generic message; the key is never logged', async () => {
    // Authentication works, but the read model points at a database that does not exist.
    const broken = new Hono()
    const api = createPublicApi({
      storage: { ...storage, database: 'no_such_db' },
      projects: new ProjectRepository(storage, 0),
    })
    broken.route(PUBLIC_API_BASE, api)
    const logged: string[] = []
    const original = console.error
    console.error = (...args: unknown[]) => {
      logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '))
    }
    let res: Response
    try {
      res = await broken.request(`${PUBLIC_API_BASE}/traces`, {
        headers: { authorization: `Bearer ${KEY_A}` },
      })
    } finally {
      console.error = original
    }
    assert.equal(res.status, 500)
    const error = errorOf(await res.json())
    assert.equal(error.code, 'internal_error')
    assert.doesNotMatch(error.message, /no_such_db/, 'no internals in the response')
    assert.equal(logged.length, 1)
    assert.match(logged[0] ?? '', /GET \/api\/public\/v1\/traces/)
    assert.ok(!logged[0]?.includes(KEY_A), 'the key is never logged')
  })

  test('served over HTTP with @hono/node-server', async () => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    try {
      await new Promise<void>((resolve) => server.once('listening', () => resolve()))
      const address = server.address()
      assert.ok(address && typeof address === 'object')
      const res = await fetch(`http://127.0.0.1:${address.port}${PUBLIC_API_BASE}/metrics?${RANGE}`, {
        headers: { authorization: `Bearer ${KEY_A}` },
      })
      assert.equal(res.status, 200)
      assert.equal(arr(obj(await res.json()).data)[0]?.calls, 36)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
