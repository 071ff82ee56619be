import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { QualityError } from '../errors'
import { type TestStorage, testStorage } from '../testing'
import { formatDatasetFile, parseDatasetFile } from './io'
import { DatasetRepository } from './repository'

let db: TestStorage
let repo: DatasetRepository
const P = 'project-ds'
const T0 = new Date('2025-04-01T00:00:00.000Z')
const MIN = 60_000
const trace = (k: number) => hexId(0xd000 + k, 32)

before(async () => {
  db = await testStorage('hs_quality_datasets')
  repo = new DatasetRepository(db.storage)
  // Five production traces: a chain root with the user question and the final answer, and an
  // LLM child with messages. Trace 4 has no content on its root (only on the child); trace 3 errs.
  const rows: SpanRow[] = []
  for (let k = 0; k < 5; k++) {
    const start = new Date(T0.getTime() + k * MIN)
    const root = span({
      project_id: P,
      trace_id: trace(k),
      start,
      durationMs: 2000,
      kind: 'chain',
      name: 'answer-question',
      model: '',
      input: k === 4 ? '' : JSON.stringify({ question: `q${k}` }),
      output: k === 4 ? '' : `answer ${k}`,
      status: k === 3 ? 'error' : 'ok',
    })
    rows.push(
      root,
      span({
        project_id: P,
        trace_id: trace(k),
        parent_span_id: root.span_id,
        start: new Date(start.getTime() + 10),
        model: k % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
        input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `q${k}` }] }]),
        output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: `llm ${k}` }] }]),
      }),
    )
  }
  await insertSpans(db.storage, rows)
})

after(async () => {
  await db.close()
})

function code(error: unknown): string {
  assert.ok(QualityError.isInstance(error), String(error))
  return `${error.code}: ${error.message}`
}

describe('datasets', () => {
  test('create, list, unique names', async () => {
    const ds = await repo.create(P, { name: 'support', description: 'support questions' })
    assert.equal(ds.version, 0)
    assert.equal(ds.item_count, 0)
    await assert.rejects(repo.create(P, { name: ' support ' }), (e) => /^conflict: name: /.test(code(e)))
    await assert.rejects(repo.create(P, { name: '' }), (e) => /^invalid_input: name: /.test(code(e)))
    assert.deepEqual(
      (await repo.list(P)).map((d) => d.name),
      ['support'],
    )
    assert.deepEqual(await repo.list('other-project'), [])
  })

  test('every change is a new immutable version', async () => {
    const ds = await repo.create(P, { name: 'versions' })
    const v1 = await repo.addItems(P, ds.id, [
      { id: 'a', input: 'hello', expectedOutput: 'hi' },
      { id: 'b', input: { q: 'sum 1 2' }, expectedOutput: 3, metadata: { topic: 'math' } },
    ])
    assert.equal(v1.version, 1)
    const v2 = await repo.updateItem(P, ds.id, 'a', { expectedOutput: 'hello there' })
    assert.equal(v2.version, 2)
    const v3 = await repo.deleteItem(P, ds.id, 'b')
    assert.equal(v3.version, 3)
    const v4 = await repo.addItems(P, ds.id, [{ id: 'c', input: ['x', 1, null] }])
    assert.equal(v4.version, 4)

    const at = async (v?: number) =>
      (await repo.snapshot(P, ds.id, v)).items.map((i) => [i.id, i.expected_output])
    assert.deepEqual(await at(0), [])
    assert.deepEqual(await at(1), [
      ['a', 'hi'],
      ['b', 3],
    ])
    assert.deepEqual(await at(2), [
      ['a', 'hello there'],
      ['b', 3],
    ])
    assert.deepEqual(await at(3), [['a', 'hello there']])
    assert.deepEqual(await at(), [
      ['a', 'hello there'],
      ['c', null],
    ])
    const snap = await repo.snapshot(P, ds.id, 1)
    assert.equal(snap.version, 1)
    assert.deepEqual(snap.items[1]?.input, { q: 'sum 1 2' })
    assert.deepEqual(snap.items[1]?.metadata, { topic: 'math' })
    const current = await repo.get(P, ds.id)
    assert.deepEqual([current?.version, current?.item_count], [4, 2])
    await assert.rejects(repo.snapshot(P, ds.id, 5), (e) =>
      /^invalid_input: version: .* 0 to 4/.test(code(e)),
    )
    await assert.rejects(repo.updateItem(P, ds.id, 'b', { input: 'x' }), (e) => /^not_found: /.test(code(e)))
    await assert.rejects(repo.addItems(P, 'no-such-dataset', [{ input: 1 }]), (e) =>
      /^not_found: /.test(code(e)),
    )
  })

  test('concurrent changes to one dataset get distinct versions', async () => {
    const ds = await repo.create(P, { name: 'concurrent' })
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => repo.addItems(P, ds.id, [{ id: `item-${i}`, input: i }])),
    )
    assert.deepEqual(results.map((r) => r.version).sort(), [1, 2, 3, 4, 5, 6])
    assert.equal((await repo.snapshot(P, ds.id)).items.length, 6)
  })

  test('from production traces: by ids and by the trace-list filters; no duplicates', async () => {
    const ds = await repo.create(P, { name: 'from-traces' })
    const byIds = await repo.addFromTraces(P, ds.id, { traceIds: [trace(0), trace(4).toUpperCase()] })
    assert.equal(byIds.version, 1)
    const [first, fourth] = byIds.items
    assert.deepEqual(first?.input, { question: 'q0' })
    assert.equal(first?.recorded_output, 'answer 0')
    assert.equal(first?.expected_output, null)
    assert.equal(first?.source_trace_id, trace(0))
    assert.deepEqual(first?.metadata, { trace_name: 'answer-question' })
    // No content on the root: the child's messages.
    assert.deepEqual(fourth?.input, [{ role: 'user', parts: [{ type: 'text', content: 'q4' }] }])
    assert.deepEqual(fourth?.recorded_output, [
      { role: 'assistant', parts: [{ type: 'text', content: 'llm 4' }] },
    ])

    // Filter: gpt-4o-mini traces (1 and 3) in range, then status=ok (drops 3).
    const range = { from: T0, to: new Date(T0.getTime() + 60 * MIN) }
    const mini = await repo.addFromTraces(P, ds.id, {
      ...range,
      filter: { model: ['gpt-4o-mini'], status: 'ok' },
    })
    assert.deepEqual(
      mini.items.map((i) => i.source_trace_id),
      [trace(1)],
    )
    assert.equal(mini.version, 2)
    const again = await repo.addFromTraces(P, ds.id, { ...range, limit: 10 })
    assert.equal(again.skipped, 3, 'traces 0, 1 and 4 are already in')
    assert.deepEqual(again.items.map((i) => i.source_trace_id).sort(), [trace(2), trace(3)])
    assert.equal((await repo.snapshot(P, ds.id)).items.length, 5)
    const nothing = await repo.addFromTraces(P, ds.id, { traceIds: [trace(0)] })
    assert.deepEqual([nothing.version, nothing.skipped, nothing.items.length], [3, 1, 0])
    await assert.rejects(repo.addFromTraces(P, ds.id, { ...range, filter: { model: ['nope'] } }), (e) =>
      /^invalid_input: traces: no trace matches/.test(code(e)),
    )
    await assert.rejects(repo.addFromTraces(P, ds.id, { traceIds: ['zz'] }), (e) =>
      /traceIds\.0: /.test(code(e)),
    )
  })

  test('JSONL and CSV import and export round-trip', async () => {
    const ds = await repo.create(P, { name: 'io' })
    const jsonl = [
      '{"input": "What is 2+2?", "expected_output": "4"}',
      '',
      '{"input": {"messages": [{"role": "user", "content": "hi"}]}, "expectedOutput": {"ok": true}, "metadata": {"lang": "en"}}',
    ].join('\n')
    const imported = await repo.importFile(P, ds.id, 'jsonl', jsonl)
    assert.equal(imported.items.length, 2)
    const csv = 'input,expected_output,metadata\n"Bonjour, ça va ?",oui,"{""lang"": ""fr""}"\n"[1,2]",,\n'
    const imported2 = await repo.importFile(P, ds.id, 'csv', csv)
    assert.deepEqual(
      imported2.items.map((i) => [i.input, i.expected_output, i.metadata]),
      [
        ['Bonjour, ça va ?', 'oui', { lang: 'fr' }],
        [[1, 2], null, {}],
      ],
    )
    const snap = await repo.snapshot(P, ds.id)
    for (const format of ['jsonl', 'csv'] as const) {
      const { version, text } = await repo.exportFile(P, ds.id, format)
      assert.equal(version, 2)
      const back = parseDatasetFile(format, text)
      assert.deepEqual(
        back.map((i) => [i.id, i.input, i.expectedOutput ?? null, i.metadata ?? {}]),
        snap.items.map((i) => [i.id, i.input, i.expected_output, i.metadata]),
        format,
      )
    }
    // Export of an older version.
    const old = await repo.exportFile(P, ds.id, 'jsonl', 1)
    assert.equal(old.text.trim().split('\n').length, 2)
  })

  test('bad import files name the line or row', () => {
    assert.throws(() => parseDatasetFile('jsonl', '{"input": 1}\n{oops'), /line 2: not valid JSON/)
    assert.throws(
      () => parseDatasetFile('jsonl', '{"expected_output": 1}'),
      /line 1: an item needs an "input"/,
    )
    assert.throws(() => parseDatasetFile('jsonl', '[1]'), /line 1: each item must be a JSON object/)
    assert.throws(() => parseDatasetFile('csv', 'question,answer\nq,a\n'), /"input" column/)
    assert.throws(
      () => parseDatasetFile('csv', 'input,metadata\nq,[1]\n'),
      /row 2: "metadata" must be a JSON object/,
    )
    assert.throws(() => parseDatasetFile('csv', 'input,x\n"unterminated,1\n'), /not valid CSV/)
  })

  test('CSV export quotes commas, quotes and newlines', () => {
    const text = formatDatasetFile('csv', [
      {
        id: 'i1',
        dataset_id: 'd',
        input: 'a, "b"\nc',
        expected_output: { x: 1 },
        recorded_output: null,
        metadata: {},
        source_trace_id: '',
        source_span_id: '',
        version: 1,
        created_at: '',
      },
    ])
    assert.equal(
      text,
      'id,input,expected_output,recorded_output,metadata,source_trace_id\ni1,"a, ""b""\nc","{""x"":1}",,,\n',
    )
  })
})
