/** `/objectives` on a real embedded engine with seeded spans, mounted the way the web server mounts it. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import type { Storage } from '@hindsight/collector/storage'
import { insertSpans, span } from '@hindsight/dashboards/testing'
import { openRestApi, type RestApiFixture, requestJson } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY = 'hs_objectives_rest_key_a_001'
const KEY_B = 'hs_objectives_rest_key_b_002'
let api: RestApiFixture

before(async () => {
  api = await openRestApi('hs_objectives_rest', { A: KEY, B: KEY_B }, seed)
})
after(() => api.close())

async function seed(storage: Storage, { A: projectA }: Record<'A' | 'B', string>): Promise<void> {
  // 20 calls on /chat in the last hours: 4 of them (20%) slower than 1000 ms; 5 on /other, all slow.
  const now = Date.now()
  const rows: SpanRow[] = []
  for (let k = 0; k < 20; k++) {
    rows.push(
      span({
        project_id: projectA,
        start: new Date(now - (k + 1) * 5 * 60_000),
        route: '/chat',
        durationMs: k % 5 === 0 ? 3000 : 200,
      }),
    )
  }
  for (let k = 0; k < 5; k++) {
    rows.push(
      span({
        project_id: projectA,
        start: new Date(now - (k + 1) * 60_000),
        route: '/other',
        durationMs: 9000,
      }),
    )
  }
  await insertSpans(storage, rows)
}

const call = (method: string, path: string, body?: unknown, key = KEY) =>
  requestJson(api.app, method, path, body, key)

test('create, list, status and delete an objective; bad input names the field', async () => {
  const created = await call('POST', '/objectives', {
    name: 'chat p95',
    filter: { route: ['/chat'] },
    kind: 'latency',
    threshold: 1000,
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as string
  assert.equal(created.body.percentile, 95)
  assert.equal(created.body.period_days, 7)
  assert.deepEqual(created.body.filter, { route: ['/chat'] })

  const bad = await call('POST', '/objectives', { name: 'x', kind: 'min_mean_score', threshold: 0.8 })
  assert.equal(bad.status, 400)
  assert.match(bad.body.error.message, /objective\.scoreName: required/)
  const badKind = await call('POST', '/objectives', { name: 'x', kind: 'speed', threshold: 1 })
  assert.equal(badKind.status, 400)
  assert.match(badKind.body.error.message, /^kind: /)

  const listed = await call('GET', '/objectives')
  assert.deepEqual(
    listed.body.data.map((o: { id: string }) => o.id),
    [id],
  )
  assert.deepEqual(
    (await call('GET', '/objectives', undefined, KEY_B)).body.data,
    [],
    'scoped to the project',
  )

  const status = await call('GET', `/objectives/${id}/status`)
  assert.equal(status.status, 200, JSON.stringify(status.body))
  assert.equal(status.body.objective_id, id)
  assert.equal(status.body.events, 20, 'only /chat calls count')
  assert.equal(status.body.bad_events, 4)
  assert.equal(status.body.interval_seconds, 3600)
  // 20% bad against a 5% budget: overspent by 3 budgets.
  assert.ok(Math.abs(status.body.error_budget_remaining - (1 - 0.2 / 0.05)) < 1e-9)
  assert.equal(status.body.met, false, 'p95 of the period is 3000 ms > 1000 ms')
  const withEvents = status.body.buckets.filter((b: { total: number }) => b.total > 0)
  assert.equal(
    withEvents.reduce((n: number, b: { total: number }) => n + b.total, 0),
    20,
  )
  for (const b of status.body.buckets) assert.equal(typeof b.bucket, 'string')
  assert.equal(status.body.open_alert, null, 'the monitor has not run: no alert')
  assert.deepEqual(status.body.recent_alerts, [])

  assert.equal((await call('GET', `/objectives/${id}/status`, undefined, KEY_B)).status, 404)
  assert.equal((await call('DELETE', `/objectives/${id}`, undefined, KEY_B)).status, 404)
  assert.equal((await call('DELETE', `/objectives/${id}`)).status, 204)
  assert.equal((await call('DELETE', `/objectives/${id}`)).status, 404)
  assert.deepEqual((await call('GET', '/objectives')).body.data, [])
})

test('the OpenAPI document lists the objective routes', async () => {
  const res = await api.app.request(`${PUBLIC_API_BASE}/openapi.json`)
  const doc = (await res.json()) as {
    paths: Record<string, Record<string, unknown>>
    components: { schemas: Record<string, unknown> }
  }
  assert.ok(doc.paths['/objectives']?.get && doc.paths['/objectives']?.post)
  assert.ok(doc.paths['/objectives/{id}']?.delete)
  assert.ok(doc.paths['/objectives/{id}/status']?.get)
  assert.ok(doc.components.schemas.ObjectiveStatus && doc.components.schemas.ObjectiveInput)
})
