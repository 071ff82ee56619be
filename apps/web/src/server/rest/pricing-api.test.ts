import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { PRICE_TABLE } from '@hindsight/collector/pricing'
import { insertSpans, span } from '@hindsight/dashboards/testing'
import type { Hono } from 'hono'
import { openRestApi, type RestApiFixture } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY_A = 'hs_pricing_api_key_project_a_01'
const KEY_B = 'hs_pricing_api_key_project_b_02'
const T0 = new Date('2025-10-10T00:00:00.000Z')
const MIN = 60_000
const FROM = T0.toISOString()
const TO = new Date(T0.getTime() + 60 * MIN).toISOString()

let api: RestApiFixture
let app: Hono

before(async () => {
  api = await openRestApi('hs_pricing_api_test', { A: KEY_A, B: KEY_B }, async (storage, ids) => {
    const a = ids.A
    const b = ids.B
    // gpt-4o calls stored with a wrong cost ($0.01 each): 10,000 input of which 2,000 cached, 500 output.
    const gpt = (projectId: string, k: number) =>
      span({
        project_id: projectId,
        start: new Date(T0.getTime() + k * MIN),
        input_tokens: 10_000,
        cache_read_tokens: 2_000,
        output_tokens: 500,
        cost_usd: '0.01',
        price_version: 'old',
        input: `question ${k}`,
      })
    const rows = [
      ...Array.from({ length: 10 }, (_, k) => gpt(a, k)),
      ...Array.from({ length: 5 }, (_, k) => gpt(b, k)),
    ]
    // A long-context Claude call an older table did not know (unpriced).
    rows.push(
      span({
        project_id: a,
        start: new Date(T0.getTime() + 30 * MIN),
        provider: 'anthropic',
        model: 'claude-sonnet-4-20250514',
        input_tokens: 300_000,
        output_tokens: 1_000,
        pricing_note: 'unknown model: anthropic/claude-sonnet-4-20250514',
      }),
    )
    await insertSpans(storage, rows)
  })
  app = api.app
})

after(() => api.close())

async function call(method: string, path: string, body?: unknown, key: string | null = KEY_A) {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Total cost and unpriced calls of the key's project over the fixture hour, from GET /metrics. */
async function metrics(key = KEY_A): Promise<{ cost_usd: unknown; unpriced_calls: unknown }> {
  const { status, body } = await call('GET', `/metrics?from=${FROM}&to=${TO}`, undefined, key)
  assert.equal(status, 200)
  const [row] = body.data as Array<Record<string, unknown>>
  assert.ok(row)
  return { cost_usd: row.cost_usd, unpriced_calls: row.unpriced_calls }
}

const reprice = (key = KEY_A) => call('POST', '/reprice', { from: FROM, to: TO }, key)

const errorMessage = (body: Record<string, unknown>) => String((body.error as { message?: unknown }).message)

describe('re-pricing and custom prices', () => {
  test('a price fix applied with POST /reprice fixes historical cost, scoped to the caller', async () => {
    assert.deepEqual(await metrics(), { cost_usd: 0.1, unpriced_calls: 1 })
    const { status, body } = await reprice()
    assert.equal(status, 200)
    // gpt-4o (built-in): 8,000 × $2.50 + 2,000 × $1.25 + 500 × $10 per 1M = 0.0275 per call, × 10.
    // claude-sonnet-4 at 300k input is above the 200k tier: 300,000 × $6 + 1,000 × $22.50 per 1M = 1.8225.
    assert.deepEqual(body, {
      spans_scanned: 11,
      spans_changed: 11,
      cost_before_usd: '0.100000000',
      cost_after_usd: '2.097500000',
    })
    assert.deepEqual(await metrics(), { cost_usd: 2.0975, unpriced_calls: 0 })
    assert.deepEqual(await metrics(KEY_B), { cost_usd: 0.05, unpriced_calls: 0 }, "B's history is untouched")
    const trace = await call('GET', `/traces?from=${FROM}&to=${TO}&limit=1&model=gpt-4o`)
    const [summary] = trace.body.data as Array<{ trace_id: string }>
    assert.ok(summary)
    const detail = await call('GET', `/traces/${summary.trace_id}`)
    const [stored] = detail.body.spans as Array<Record<string, unknown>>
    assert.deepEqual(
      stored && {
        cost: stored.cost_usd,
        version: stored.price_version,
        input: String(stored.input).slice(0, 8),
      },
      { cost: 0.0275, version: PRICE_TABLE.version, input: 'question' },
    )
    // Running it again changes nothing.
    assert.equal((await reprice()).body.spans_changed, 0)
  })

  test("a project's custom price beats the built-in one; listing, replacing and deleting it", async () => {
    const price = { provider: 'openai', model: 'gpt-4o', effective_from: '2025-01-01', input: 1, output: 2 }
    const put = await call('PUT', '/prices', price)
    assert.equal(put.status, 200)
    assert.match(String(put.body.created_at), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    const listed = await call('GET', '/prices')
    assert.equal(listed.status, 200)
    assert.equal(listed.body.builtin_version, PRICE_TABLE.version)
    assert.deepEqual(
      (listed.body.data as Array<Record<string, unknown>>).map(
        ({ created_at: _c, updated_at: _u, ...p }) => p,
      ),
      [price],
    )
    assert.deepEqual(
      (await call('GET', '/prices', undefined, KEY_B)).body.data,
      [],
      'custom prices are per project',
    )

    // 10,000 × $1 (cached input defaults to the input price) + 500 × $2 = 0.011 per call, × 10; Claude unchanged.
    assert.equal((await reprice()).body.cost_after_usd, '1.932500000')
    assert.deepEqual(await metrics(), { cost_usd: 1.9325, unpriced_calls: 0 })
    // B re-priced: built-in prices, A's custom price does not apply.
    assert.equal((await reprice(KEY_B)).body.cost_after_usd, '0.137500000')

    // Replacing (same provider, model, date) and deleting.
    assert.equal((await call('PUT', '/prices', { ...price, input: 2 })).status, 200)
    assert.equal(((await call('GET', '/prices')).body.data as unknown[]).length, 1)
    assert.equal((await reprice()).body.cost_after_usd, '2.032500000') // (20,000 + 1,000) µ$ × 10 + 1.8225
    const key = 'provider=openai&model=gpt-4o&effective_from=2025-01-01'
    assert.deepEqual(await call('DELETE', `/prices?${key}`), { status: 200, body: { deleted: true } })
    assert.equal((await call('DELETE', `/prices?${key}`)).status, 404)
    assert.equal((await reprice()).body.cost_after_usd, '2.097500000')
    assert.deepEqual(await metrics(), { cost_usd: 2.0975, unpriced_calls: 0 })
  })

  test('bad input → 400 naming the field; no key → 401', async () => {
    const base = { provider: 'openai', model: 'x', effective_from: '2025-01-01', input: 1, output: 1 }
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, cached_input: 1 }, /cached_input/],
      [{ ...base, input: 1.1234567 }, /^input: at most 6 decimals/],
      [{ ...base, input: -1 }, /^input: /],
      [{ ...base, effective_from: '2025-13-01' }, /^effective_from: /],
      [{ ...base, model_pattern: '(a+)+' }, /^model_pattern: a repeated group/],
      [{ ...base, model_pattern: '(' }, /^model_pattern: invalid regular expression/],
      [
        {
          ...base,
          tiers: [
            { above_input_tokens: 10, input: 1, output: 1 },
            { above_input_tokens: 5, input: 2, output: 2 },
          ],
        },
        /^tiers: .*ascending/,
      ],
      ['{not json', /./],
    ]
    for (const [body, message] of cases) {
      const res = await call('PUT', '/prices', body)
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.match(errorMessage(res.body), message, JSON.stringify(body))
    }
    for (const body of [{ from: TO, to: FROM }, { from: 'yesterday', to: TO }, { to: TO }]) {
      const res = await call('POST', '/reprice', body)
      assert.equal(res.status, 400, JSON.stringify(body))
    }
    assert.equal((await call('DELETE', '/prices?provider=openai&model=x')).status, 400)
    for (const [method, path] of [
      ['GET', '/prices'],
      ['PUT', '/prices'],
      ['DELETE', '/prices'],
      ['POST', '/reprice'],
      ['GET', '/settings'],
      ['PUT', '/settings'],
    ] as const) {
      assert.equal((await call(method, path, undefined, null)).status, 401, `${method} ${path}`)
    }
  })
})

describe('settings', () => {
  test('retention: the default, a project value, back to the default; per project', async () => {
    assert.deepEqual((await call('GET', '/settings')).body, {
      retention_days: 30,
      retention_source: 'default',
      default_retention_days: 30,
    })
    assert.deepEqual(await call('PUT', '/settings', { retention_days: 7 }), {
      status: 200,
      body: { retention_days: 7, retention_source: 'project', default_retention_days: 30 },
    })
    assert.equal((await call('GET', '/settings')).body.retention_days, 7)
    assert.equal(
      (await call('GET', '/settings', undefined, KEY_B)).body.retention_days,
      30,
      'B keeps the default',
    )
    assert.equal((await call('PUT', '/settings', { retention_days: 0 })).body.retention_days, 0)
    assert.deepEqual((await call('PUT', '/settings', { retention_days: null })).body, {
      retention_days: 30,
      retention_source: 'default',
      default_retention_days: 30,
    })
    for (const body of [
      { retention_days: -1 },
      { retention_days: 1.5 },
      { retention_days: 36_501 },
      {},
      { days: 3 },
    ]) {
      const res = await call('PUT', '/settings', body)
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.match(errorMessage(res.body), /retention_days|days/, JSON.stringify(body))
    }
  })
})

describe('OpenAPI document', () => {
  test('describes the prices, reprice and settings routes', async () => {
    const { status, body } = await call('GET', '/openapi.json', undefined, null)
    assert.equal(status, 200)
    const paths = body.paths as Record<string, Record<string, { security?: unknown }>>
    assert.deepEqual(Object.keys(paths['/prices'] ?? {}).sort(), ['delete', 'get', 'put'])
    assert.deepEqual(Object.keys(paths['/reprice'] ?? {}), ['post'])
    assert.deepEqual(Object.keys(paths['/settings'] ?? {}).sort(), ['get', 'put'])
    assert.deepEqual(paths['/reprice']?.post?.security, [{ bearerAuth: [] }])
    const schemas = (body.components as { schemas: Record<string, unknown> }).schemas
    for (const name of [
      'CustomPriceInput',
      'CustomPrice',
      'PriceTier',
      'RepriceInput',
      'RepriceResult',
      'ProjectSettings',
    ]) {
      assert.ok(schemas[name], name)
    }
  })
})
