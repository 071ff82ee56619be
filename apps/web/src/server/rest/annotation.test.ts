/**
 * `/annotation-queues` on a real embedded engine, mounted the way the web server mounts it: a script
 * works through a queue with next → score / skip until it is done; project scoping; bad input.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { hexId } from '@hindsight/dashboards/testing'
import { seedAnnotationTraces } from '@hindsight/quality/testing'
import { openRestApi, type RestApiFixture, requestJson } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY = 'hs_annotation_rest_key_a_001'
const KEY_B = 'hs_annotation_rest_key_b_002'
const trace = (k: number) => hexId(0xa000 + k, 32)
let api: RestApiFixture<'A' | 'B'>

before(async () => {
  api = await openRestApi('hs_annotation_rest', { A: KEY, B: KEY_B }, (storage, { A }) =>
    seedAnnotationTraces(storage, A, trace),
  )
})
after(() => api.close())

const call = (method: string, path: string, body?: unknown, key = KEY) =>
  requestJson(api.app, method, path, body, key)

test('a script works through a queue: next, score, skip, until done', async () => {
  const created = await call('POST', '/annotation-queues', {
    name: 'chat review',
    filter: { route: ['/chat'] },
    scoreNames: ['helpful', 'correct'],
  })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as string
  assert.deepEqual(created.body.score_names, ['helpful', 'correct'])
  const listed = await call('GET', '/annotation-queues')
  assert.deepEqual(
    listed.body.data.map((q: { id: string }) => q.id),
    [id],
  )

  const first = await call('GET', `/annotation-queues/${id}/next`)
  assert.equal(first.status, 200, JSON.stringify(first.body))
  assert.equal(first.body.item.trace_id, trace(0))
  assert.deepEqual(first.body.target.input, { question: 'q0' })
  assert.equal(first.body.target.output, 'a0')
  assert.deepEqual(
    first.body.target.configs.map((c: { name: string }) => c.name),
    ['helpful', 'correct'],
  )
  assert.deepEqual([first.body.total, first.body.annotated, first.body.remaining], [3, 0, 3])

  const scored = await call('POST', `/annotation-queues/${id}/items/${trace(0)}/scores`, {
    scores: [
      { name: 'helpful', value: 'great', comment: 'clear' },
      { name: 'correct', value: true },
    ],
    author: 'ana',
  })
  assert.equal(scored.status, 201, JSON.stringify(scored.body))
  assert.deepEqual(
    scored.body.data.map((s: { name: string; string_value: string; source: string; author: string }) => [
      s.name,
      s.string_value,
      s.source,
      s.author,
    ]),
    [
      ['helpful', 'great', 'annotation', 'ana'],
      ['correct', 'true', 'annotation', 'ana'],
    ],
  )

  const second = await call('GET', `/annotation-queues/${id}/next`)
  assert.equal(second.body.item.trace_id, trace(1))
  const skipped = await call('POST', `/annotation-queues/${id}/items/${trace(1)}/skip`, { author: 'ana' })
  assert.equal(skipped.status, 200, JSON.stringify(skipped.body))
  assert.equal(skipped.body.skipped, true)
  // A skip without a body works too.
  const bare = await api.app.request(`${PUBLIC_API_BASE}/annotation-queues/${id}/items/${trace(2)}/skip`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
  })
  assert.equal(bare.status, 200)
  const done = await call('GET', `/annotation-queues/${id}/next`)
  assert.deepEqual(
    [done.body.item, done.body.target, done.body.remaining, done.body.annotated, done.body.skipped],
    [null, null, 0, 1, 2],
  )
  const items = await call('GET', `/annotation-queues/${id}/items`)
  assert.deepEqual(
    items.body.data.map((i: { trace_id: string; annotated: boolean; skipped: boolean }) => [
      i.trace_id,
      i.annotated,
      i.skipped,
    ]),
    [
      [trace(0), true, false],
      [trace(1), false, true],
      [trace(2), false, true],
    ],
  )

  // Scoring again replaces (one score per queue, trace and name); the stored scores say so.
  await call('POST', `/annotation-queues/${id}/items/${trace(0)}/scores`, {
    scores: [{ name: 'helpful', value: 'ok' }],
  })
  const stored = await call('GET', `/scores?traceId=${trace(0)}&source=annotation`)
  assert.deepEqual(
    stored.body.data.map((s: { name: string; string_value: string }) => `${s.name}=${s.string_value}`).sort(),
    ['correct=true', 'helpful=ok'],
  )
})

test('bad input names the field; other projects and unknown ids get 404', async () => {
  const created = await call('POST', '/annotation-queues', { name: 'q', scoreNames: ['helpful'] })
  const id = created.body.id as string
  const noScores = await call('POST', '/annotation-queues', { name: 'q', scoreNames: [] })
  assert.equal(noScores.status, 400)
  assert.match(noScores.body.error.message, /^queue\.scoreNames: /)

  const badValue = await call('POST', `/annotation-queues/${id}/items/${trace(0)}/scores`, {
    scores: [{ name: 'helpful', value: 'superb' }],
  })
  assert.equal(badValue.status, 400)
  assert.match(badValue.body.error.message, /^values\.0\.value: /)
  const notInQueue = await call('POST', `/annotation-queues/${id}/items/${trace(0)}/scores`, {
    scores: [{ name: 'correct', value: true }],
  })
  assert.equal(notInQueue.status, 400)
  assert.match(notInQueue.body.error.message, /^values\.0\.name: 'correct' is not a score of queue/)
  const badTrace = await call('POST', `/annotation-queues/${id}/items/xyz/skip`)
  assert.equal(badTrace.status, 400)
  assert.match(badTrace.body.error.message, /^traceId: /)
  const otherRoute = await call('POST', `/annotation-queues/${id}/items/${hexId(0xbeef, 32)}/skip`)
  assert.equal(otherRoute.status, 404)

  for (const [method, path] of [
    ['GET', `/annotation-queues/${id}/next`],
    ['GET', `/annotation-queues/${id}/items`],
    ['POST', `/annotation-queues/${id}/items/${trace(0)}/skip`],
    ['DELETE', `/annotation-queues/${id}`],
  ] as const) {
    const res = await call(method, path, undefined, KEY_B)
    assert.equal(res.status, 404, `${method} ${path} from project B`)
  }
  assert.deepEqual((await call('GET', '/annotation-queues', undefined, KEY_B)).body.data, [])
  assert.equal((await call('DELETE', `/annotation-queues/${id}`)).status, 204)
  assert.equal((await call('GET', `/annotation-queues/${id}/next`)).status, 404)
})

test('the annotation routes are in the OpenAPI document', async () => {
  const doc = await (await api.app.request(`${PUBLIC_API_BASE}/openapi.json`)).json()
  const paths = doc.paths as Record<string, Record<string, unknown>>
  assert.deepEqual(Object.keys(paths['/annotation-queues'] ?? {}).sort(), ['get', 'post'])
  assert.ok(paths['/annotation-queues/{id}']?.delete)
  assert.ok(paths['/annotation-queues/{id}/items']?.get)
  assert.ok(paths['/annotation-queues/{id}/next']?.get)
  assert.ok(paths['/annotation-queues/{id}/items/{traceId}/scores']?.post)
  assert.ok(paths['/annotation-queues/{id}/items/{traceId}/skip']?.post)
})
