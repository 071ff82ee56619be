/**
 * The quality routes of the public REST API (scores, score configs, datasets, `/metrics?score=`)
 * on a real embedded engine, mounted the way the web server mounts them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import type { Hono } from 'hono'
import { arr, errorOf, obj, openRestApi, type RestApiFixture } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY = 'hs_quality_rest_key_a_000001'
const KEY_B = 'hs_quality_rest_key_b_000002'
const T0 = new Date('2025-05-01T00:00:00.000Z')
const MIN = 60_000
const RANGE = `from=${T0.toISOString()}&to=${new Date(T0.getTime() + 60 * MIN).toISOString()}`
const trace = (k: number) => hexId(0xf000 + k, 32)

let api: RestApiFixture
let app: Hono
let projectA: string

before(async () => {
  api = await openRestApi('hs_quality_rest', { A: KEY, B: KEY_B }, async (storage, ids) => {
    projectA = ids.A
    // Six traces: a chain root with content and a model call; 0-2 gpt-4o, 3-5 claude.
    const rows: SpanRow[] = []
    for (let k = 0; k < 6; k++) {
      const start = new Date(T0.getTime() + k * MIN)
      const root = span({
        project_id: projectA,
        trace_id: trace(k),
        start,
        kind: 'chain',
        name: 'ask',
        model: '',
        input: JSON.stringify({ question: `q${k}` }),
        output: `a${k}`,
      })
      rows.push(
        root,
        span({
          project_id: projectA,
          trace_id: trace(k),
          parent_span_id: root.span_id,
          start: new Date(start.getTime() + 5),
          model: k < 3 ? 'gpt-4o' : 'claude-sonnet-4',
        }),
      )
    }
    await insertSpans(storage, rows)
  })
  app = api.app
})

after(() => api.close())

async function call(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string; contentType?: string } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.key ?? KEY}`,
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers }
}

describe('scores', () => {
  test('POST one score or a batch; GET filters; project scoping', async () => {
    const one = await call('POST', '/scores', {
      traceId: trace(0),
      name: 'helpfulness',
      value: 0.9,
      comment: 'good',
    })
    assert.equal(one.status, 201)
    const [stored] = arr(obj(one.body).data)
    assert.deepEqual(
      [stored?.trace_id, stored?.value, stored?.source, stored?.data_type],
      [trace(0), 0.9, 'api', 'numeric'],
    )

    const batch = await call('POST', '/scores', [
      { traceId: trace(1), name: 'helpfulness', value: 0.5 },
      { traceId: trace(3), name: 'helpfulness', value: 0.2, source: 'annotation', author: 'ana' },
      { traceId: trace(3), spanId: hexId(9, 16), name: 'correct', value: false },
    ])
    assert.equal(batch.status, 201)
    assert.equal(arr(obj(batch.body).data).length, 3)

    const forTrace = await call('GET', `/scores?traceId=${trace(3)}`)
    assert.equal(forTrace.status, 200)
    assert.deepEqual(
      arr(obj(forTrace.body).data)
        .map((s) => s.name)
        .sort(),
      ['correct', 'helpfulness'],
    )
    const annotations = await call('GET', '/scores?source=annotation')
    assert.deepEqual(
      arr(obj(annotations.body).data).map((s) => s.author),
      ['ana'],
    )
    const paged = await call('GET', '/scores?name=helpfulness&limit=2')
    assert.equal(arr(obj(paged.body).data).length, 2)
    const cursor = String(obj(paged.body).next_cursor)
    const rest = await call('GET', `/scores?name=helpfulness&limit=2&cursor=${encodeURIComponent(cursor)}`)
    assert.equal(arr(obj(rest.body).data).length, 1)
    assert.equal(obj(rest.body).next_cursor, null)
    assert.deepEqual(arr(obj((await call('GET', '/scores', undefined, { key: KEY_B })).body).data), [])
  })

  test('bad scores → 400 naming the field; nothing of a bad batch is stored', async () => {
    const cases: [unknown, RegExp][] = [
      [{ traceId: 'nope', name: 'x', value: 1 }, /^score\.traceId: /],
      [{ traceId: trace(0), name: 'x' }, /^score\.value: must be a number, true\/false or a category label/],
      [
        [
          { traceId: trace(5), name: 'x', value: 1 },
          { traceId: trace(5), name: 'x', value: 'a', dataType: 'numeric' },
        ],
        /^scores\.1\.value: /,
      ],
      [{ traceId: trace(0), name: 'x', value: 1, source: 'robot' }, /^score\.source: /],
      [[{ traceId: trace(0), value: 1 }], /^scores\.0\.name: /],
      ['not json', /./],
    ]
    for (const [body, message] of cases) {
      const res = await call('POST', '/scores', body)
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.equal(errorOf(res.body).code, 'bad_request')
      assert.match(errorOf(res.body).message, message)
    }
    assert.deepEqual(arr(obj((await call('GET', `/scores?traceId=${trace(5)}`)).body).data), [])
    assert.match(errorOf((await call('GET', '/scores?cursor=zzz')).body).message, /^cursor: /)
    assert.match(errorOf((await call('GET', '/scores?traceId=12')).body).message, /^traceId: /)
  })

  test('score configs: create, list, enforced on POST /scores', async () => {
    const created = await call('POST', '/score-configs', {
      name: 'stars',
      dataType: 'numeric',
      minValue: 1,
      maxValue: 5,
      description: 'User rating',
    })
    assert.equal(created.status, 200)
    assert.equal(obj(created.body).max_value, 5)
    const bad = await call('POST', '/score-configs', { name: 'c', dataType: 'categorical', categories: [] })
    assert.equal(bad.status, 400)
    assert.match(errorOf(bad.body).message, /^categories: /)
    const listed = await call('GET', '/score-configs')
    assert.deepEqual(
      arr(obj(listed.body).data).map((c) => c.name),
      ['stars'],
    )
    const tooHigh = await call('POST', '/scores', { traceId: trace(2), name: 'stars', value: 7 })
    assert.equal(tooHigh.status, 400)
    assert.match(errorOf(tooHigh.body).message, /^score\.value: 7 is above the maximum 5/)
    const ok = await call('POST', '/scores', { traceId: trace(2), name: 'stars', value: 4 })
    assert.equal(arr(obj(ok.body).data)[0]?.config_id, obj(created.body).id)
  })
})

describe('GET /metrics?score=', () => {
  test('adds score_mean, score_n and score_stderr per group', async () => {
    const res = await call('GET', `/metrics?${RANGE}&groupBy=model&score=helpfulness`)
    assert.equal(res.status, 200)
    const rows = Object.fromEntries(arr(obj(res.body).data).map((r) => [r.model, r]))
    // gpt-4o: traces 0 (0.9) and 1 (0.5); claude: trace 3 (0.2).
    assert.equal(rows['gpt-4o']?.score_n, 2)
    assert.ok(Math.abs(Number(rows['gpt-4o']?.score_mean) - 0.7) < 1e-12)
    assert.ok(Math.abs(Number(rows['gpt-4o']?.score_stderr) - 0.2) < 1e-12)
    assert.deepEqual([rows['claude-sonnet-4']?.score_n, rows['claude-sonnet-4']?.score_mean], [1, 0.2])
    assert.equal(rows['claude-sonnet-4']?.score_stderr, null)
    assert.equal(rows['gpt-4o']?.calls, 3, 'the metrics themselves are unchanged')
    const none = arr(obj((await call('GET', `/metrics?${RANGE}&groupBy=model&score=unknown`)).body).data)
    assert.ok(none.every((r) => r.score_n === 0 && r.score_mean === null))
    const without = arr(obj((await call('GET', `/metrics?${RANGE}&groupBy=model`)).body).data)
    assert.ok(without.every((r) => !('score_mean' in r)))
    assert.equal((await call('GET', `/metrics?${RANGE}&score=%20`)).status, 400)
  })
})

describe('DELETE /scores/{id}', () => {
  test('project-scoped; the score leaves the list, the trace and /metrics means; the id can be sent again', async () => {
    const created = await call('POST', '/scores', {
      id: 'wrong-score-1',
      traceId: trace(4),
      name: 'helpfulness',
      value: 1,
    })
    assert.equal(created.status, 201)
    const claude = async () => {
      const rows = arr(
        obj((await call('GET', `/metrics?${RANGE}&groupBy=model&score=helpfulness`)).body).data,
      )
      const row = rows.find((r) => r.model === 'claude-sonnet-4')
      return [row?.score_n, row?.score_mean]
    }
    // claude: trace 3 (0.2) and now trace 4 (1).
    assert.deepEqual(await claude(), [2, 0.6])

    const other = await call('DELETE', '/scores/wrong-score-1', undefined, { key: KEY_B })
    assert.equal(other.status, 404)
    assert.equal(errorOf(other.body).code, 'not_found')
    assert.deepEqual(await claude(), [2, 0.6])

    const deleted = await call('DELETE', '/scores/wrong-score-1')
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body))
    assert.equal(obj(deleted.body).id, 'wrong-score-1')
    assert.equal(obj(deleted.body).value, 1)
    assert.deepEqual(await claude(), [1, 0.2])
    assert.deepEqual(arr(obj((await call('GET', `/scores?traceId=${trace(4)}`)).body).data), [])
    assert.ok(
      !arr(obj((await call('GET', '/scores?limit=1000')).body).data).some((s) => s.id === 'wrong-score-1'),
    )
    assert.equal((await call('DELETE', '/scores/wrong-score-1')).status, 404)
    assert.equal((await call('DELETE', '/scores/no-such-id')).status, 404)

    // A correction: the same id with the right value.
    await call('POST', '/scores', { id: 'wrong-score-1', traceId: trace(4), name: 'helpfulness', value: 0.4 })
    const [n, mean] = await claude()
    assert.equal(n, 2)
    assert.ok(Math.abs(Number(mean) - 0.3) < 1e-12)
  })
})

describe('datasets', () => {
  test('create, from traces, items CRUD with versions, import, export', async () => {
    const created = await call('POST', '/datasets', { name: 'regressions', description: 'from prod' })
    assert.equal(created.status, 201)
    const id = String(obj(created.body).id)
    assert.equal(obj(created.body).version, 0)
    const duplicate = await call('POST', '/datasets', { name: 'regressions' })
    assert.equal(duplicate.status, 409)
    assert.equal(errorOf(duplicate.body).code, 'conflict')

    const fromFilter = await call('POST', `/datasets/${id}/items/from-traces`, {
      from: T0.toISOString(),
      to: new Date(T0.getTime() + 60 * MIN).toISOString(),
      model: ['claude-sonnet-4'],
    })
    assert.equal(fromFilter.status, 200)
    const change = obj(fromFilter.body)
    assert.equal(change.version, 1)
    assert.deepEqual(
      arr(change.items)
        .map((i) => i.source_trace_id)
        .sort(),
      [trace(3), trace(4), trace(5)],
    )
    assert.deepEqual(arr(change.items).find((i) => i.source_trace_id === trace(3))?.input, { question: 'q3' })

    const byIds = await call('POST', `/datasets/${id}/items/from-traces`, { traceIds: [trace(0), trace(3)] })
    assert.deepEqual([obj(byIds.body).version, obj(byIds.body).skipped], [2, 1])

    const added = await call('POST', `/datasets/${id}/items`, {
      items: [{ id: 'manual-1', input: 'What is the refund window?', expected_output: '30 days' }],
    })
    assert.equal(obj(added.body).version, 3)
    const patched = await call('PATCH', `/datasets/${id}/items/manual-1`, {
      expected_output: '30 calendar days',
    })
    assert.equal(obj(patched.body).version, 4)
    const removed = await call('DELETE', `/datasets/${id}/items/${String(arr(change.items)[0]?.id)}`)
    assert.equal(obj(removed.body).version, 5)
    assert.equal((await call('DELETE', `/datasets/${id}/items/nope`)).status, 404)

    const v3 = obj((await call('GET', `/datasets/${id}/items?version=3`)).body)
    assert.equal(v3.version, 3)
    assert.equal(arr(v3.items).length, 5)
    assert.equal(arr(v3.items).find((i) => i.id === 'manual-1')?.expected_output, '30 days')
    const current = obj((await call('GET', `/datasets/${id}/items`)).body)
    assert.equal(current.version, 5)
    assert.equal(arr(current.items).length, 4)
    assert.equal(arr(current.items).find((i) => i.id === 'manual-1')?.expected_output, '30 calendar days')
    assert.equal((await call('GET', `/datasets/${id}/items?version=9`)).status, 400)

    const imported = await call(
      'POST',
      `/datasets/${id}/import?format=csv`,
      'input,expected_output\nhello,hi\n',
      {
        contentType: 'text/csv',
      },
    )
    assert.equal(imported.status, 200)
    assert.equal(obj(imported.body).version, 6)
    const badImport = await call('POST', `/datasets/${id}/import?format=jsonl`, '{"input": 1}\nnot json\n', {
      contentType: 'application/x-ndjson',
    })
    assert.equal(badImport.status, 400)
    assert.match(errorOf(badImport.body).message, /^line 2: /)

    const exported = await app.request(`${PUBLIC_API_BASE}/datasets/${id}/export?format=jsonl&version=6`, {
      headers: { authorization: `Bearer ${KEY}` },
    })
    assert.equal(exported.status, 200)
    assert.equal(exported.headers.get('x-dataset-version'), '6')
    assert.match(exported.headers.get('content-type') ?? '', /ndjson/)
    const lines = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => obj(JSON.parse(l)))
    assert.equal(lines.length, 5)
    assert.ok(lines.some((l) => l.input === 'hello' && l.expected_output === 'hi'))
    const csv = await app.request(`${PUBLIC_API_BASE}/datasets/${id}/export?format=csv`, {
      headers: { authorization: `Bearer ${KEY}` },
    })
    assert.match(
      (await csv.text()).split('\n')[0] ?? '',
      /^id,input,expected_output,recorded_output,metadata,source_trace_id$/,
    )

    const listed = arr(obj((await call('GET', '/datasets')).body).data)
    assert.deepEqual(
      listed.map((d) => [d.name, d.version, d.item_count]),
      [['regressions', 6, 5]],
    )
    assert.equal(
      (await call('GET', `/datasets/${id}`, undefined, { key: KEY_B })).status,
      404,
      'scoped by project',
    )
    assert.equal((await call('GET', '/datasets/unknown-id')).status, 404)
  })
})

describe('OpenAPI', () => {
  test('the quality routes are in the document', async () => {
    const doc = obj(await (await app.request(`${PUBLIC_API_BASE}/openapi.json`)).json())
    const paths = obj(doc.paths)
    for (const path of [
      '/scores',
      '/score-configs',
      '/datasets',
      '/datasets/{datasetId}',
      '/datasets/{datasetId}/items',
      '/datasets/{datasetId}/items/{itemId}',
      '/datasets/{datasetId}/items/from-traces',
      '/datasets/{datasetId}/import',
      '/datasets/{datasetId}/export',
    ]) {
      assert.ok(path in paths, path)
    }
    assert.deepEqual(Object.keys(obj(paths['/scores'])).sort(), ['get', 'post'])
    assert.deepEqual(Object.keys(obj(paths['/scores/{id}'])), ['delete'])
    const metricsParams = arr(obj(obj(paths['/metrics']).get).parameters).map((p) => p.name)
    assert.ok(metricsParams.includes('score'))
  })
})
