/** `/evaluation-rules` on a real embedded engine, mounted the way the web server mounts it. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { openRestApi, type RestApiFixture, requestJson } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY = 'hs_rules_rest_key_a_0000001'
const KEY_B = 'hs_rules_rest_key_b_0000002'
let api: RestApiFixture

before(async () => {
  api = await openRestApi('hs_rules_rest', { A: KEY, B: KEY_B })
})
after(() => api.close())

const call = (method: string, path: string, body?: unknown, key = KEY) =>
  requestJson(api.app, method, path, body, key)

test('create, list, patch, status and delete a rule; bad input names the field', async () => {
  const created = await call('POST', '/evaluation-rules', {
    name: 'latency',
    filter: { route: ['/chat'] },
    samplingRate: 0.5,
    evaluators: [{ type: 'builtin', evaluator: 'latency_threshold', options: { maxMs: 2000 } }],
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as string
  assert.equal(created.body.sampling_rate, 0.5)
  assert.deepEqual(created.body.filter, { route: ['/chat'] })
  assert.equal(created.body.enabled, true)

  const bad = await call('POST', '/evaluation-rules', {
    name: 'x',
    samplingRate: 2,
    evaluators: [{ type: 'builtin', evaluator: 'nope' }],
  })
  assert.equal(bad.status, 400)
  assert.match(bad.body.error.message, /rule\.samplingRate/)
  assert.match(bad.body.error.message, /rule\.evaluators\.0/)

  const listed = await call('GET', '/evaluation-rules')
  assert.deepEqual(
    listed.body.data.map((r: { id: string }) => r.id),
    [id],
  )
  assert.deepEqual(
    (await call('GET', '/evaluation-rules', undefined, KEY_B)).body.data,
    [],
    'scoped to the project',
  )

  const patched = await call('PATCH', `/evaluation-rules/${id}`, { enabled: false, samplingRate: 1 })
  assert.equal(patched.status, 200)
  assert.equal(patched.body.enabled, false)
  assert.equal(patched.body.sampling_rate, 1)
  assert.equal(patched.body.name, 'latency')

  const status = await call('GET', `/evaluation-rules/${id}/status`)
  assert.equal(status.status, 200)
  assert.deepEqual(
    { backlog: status.body.backlog, processed: status.body.processed, failures: status.body.failures },
    { backlog: 0, processed: 0, failures: 0 },
  )
  assert.deepEqual(status.body.recent_failures, [])
  assert.equal((await call('GET', `/evaluation-rules/${id}/status`, undefined, KEY_B)).status, 404)

  assert.equal((await call('DELETE', `/evaluation-rules/${id}`)).status, 204)
  assert.equal((await call('PATCH', `/evaluation-rules/${id}`, { enabled: true })).status, 404)
  assert.deepEqual((await call('GET', '/evaluation-rules')).body.data, [])

  const docResponse = await api.app.request(`${PUBLIC_API_BASE}/openapi.json`)
  const doc = (await docResponse.json()) as {
    paths: Record<string, unknown>
  }
  assert.ok(doc.paths['/evaluation-rules'])
  assert.ok(doc.paths['/evaluation-rules/{id}/status'])
})
