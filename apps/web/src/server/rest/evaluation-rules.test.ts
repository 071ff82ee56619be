/** `/evaluation-rules` on a real embedded engine, mounted the way the web server mounts it. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { Hono } from 'hono'
import { createPublicApi, PUBLIC_API_BASE } from './index'

const KEY = 'hs_rules_rest_key_a_0000001'
const KEY_B = 'hs_rules_rest_key_b_0000002'
let storage: Storage
let dir: string
let app: Hono

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-rules-rest-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_rules_rest' })
  await migrate(storage)
  const projects = new ProjectRepository(storage, 0)
  await projects.ensure('A', KEY)
  await projects.ensure('B', KEY_B)
  app = new Hono()
  app.route(PUBLIC_API_BASE, createPublicApi({ storage, projects }))
})
after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

async function call(method: string, path: string, body?: unknown, key = KEY) {
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

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

  const docResponse = await app.request(`${PUBLIC_API_BASE}/openapi.json`)
  const doc = (await docResponse.json()) as {
    paths: Record<string, unknown>
  }
  assert.ok(doc.paths['/evaluation-rules'])
  assert.ok(doc.paths['/evaluation-rules/{id}/status'])
})
