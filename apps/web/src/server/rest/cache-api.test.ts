/**
 * `GET /cache` on real embedded storage: prompt-cache savings at the project's own prices (a custom
 * price applies at once, no re-pricing), scoped to the caller's project, bad input a 400.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { insertSpans, span } from '@hindsight/dashboards/testing'
import { obj, openRestApi, type RestApiFixture, requestJson } from '../../../test/rest-api'

const KEY_A = 'hs_cache_api_key_a_0123456789abcdef'
const KEY_B = 'hs_cache_api_key_b_0123456789abcdef'
const T0 = new Date('2025-06-02T10:00:00.000Z')
const RANGE = `from=2025-06-02T00:00:00Z&to=2025-06-03T00:00:00Z`

let api: RestApiFixture<'A' | 'B'>

before(async () => {
  api = await openRestApi('hs_cache_api', { A: KEY_A, B: KEY_B }, async (storage, ids) => {
    const call = (k: number, read: number) =>
      span({
        project_id: ids.A,
        provider: 'acme',
        model: 'acme-1',
        kind: 'llm',
        start: new Date(T0.getTime() + k * 60_000),
        input_tokens: 10_000,
        output_tokens: 100,
        cache_read_tokens: read,
      })
    // Four calls of 10,000 input tokens, three of them reading 8,000 from the cache.
    await insertSpans(storage, [call(0, 0), call(1, 8_000), call(2, 8_000), call(3, 8_000)])
  })
})

after(() => api?.close())

const get = async (query: string, key = KEY_A) =>
  requestJson(api.app, 'GET', `/cache?${query}`, undefined, key)

describe('GET /cache', () => {
  test('a model missing from the price table counts in tokens; its custom price turns them into dollars at once', async () => {
    const before = await get(RANGE)
    assert.equal(before.status, 200)
    const b = obj(before.body)
    assert.deepEqual([b.calls, b.cached_calls, b.input_tokens, b.cache_read_tokens], [4, 3, 40_000, 24_000])
    assert.equal(b.hit_rate, 0.6)
    assert.equal(b.net_savings_usd, null, 'no price, no dollars (never $0)')
    assert.equal(b.unpriced_cache_tokens, 24_000)

    const price = {
      provider: 'acme',
      model: 'acme-1',
      effective_from: '2025-01-01',
      input: 10,
      cache_read: 1,
      output: 30,
    }
    assert.equal((await requestJson(api.app, 'PUT', '/prices', price, KEY_A)).status, 200)
    const after = obj((await get(RANGE)).body)
    // 24,000 cached tokens × ($10 − $1) per 1M tokens.
    assert.ok(Math.abs(Number(after.read_savings_usd) - 0.216) < 1e-12, String(after.read_savings_usd))
    assert.equal(after.write_premium_usd, 0)
    assert.ok(Math.abs(Number(after.net_savings_usd) - 0.216) < 1e-12)
    assert.equal(after.unpriced_cache_tokens, 0)
    const [model] = after.by_model as Array<Record<string, unknown>>
    assert.deepEqual([model?.provider, model?.model, model?.cached_calls], ['acme', 'acme-1', 3])
  })

  test('another project sees its own (empty) cache; filters narrow; bad input is a 400 that names it', async () => {
    const b = obj((await get(RANGE, KEY_B)).body)
    assert.deepEqual([b.calls, b.hit_rate, b.net_savings_usd, b.by_model], [0, null, null, []])
    assert.equal(obj((await get(`${RANGE}&model=other`)).body).calls, 0)
    const bad = await get('from=yesterday')
    assert.equal(bad.status, 400)
    assert.match(JSON.stringify(bad.body), /from/)
    const backwards = await get('from=2025-06-03T00:00:00Z&to=2025-06-02T00:00:00Z')
    assert.equal(backwards.status, 400)
    assert.equal((await requestJson(api.app, 'GET', `/cache?${RANGE}`, undefined, 'hs_nope')).status, 401)
  })
})
