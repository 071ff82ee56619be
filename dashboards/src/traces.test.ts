import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { getTrace, listTraces, type TraceSummary } from './index'
import { clickHouseText, hexId, insertSpans, span } from './testing'

const A = 'project-a'
const B = 'project-b'
const T0 = new Date('2025-03-10T00:00:00.000Z')
const MIN = 60_000
const at = (ms: number) => new Date(T0.getTime() + ms)
const RANGE = { from: T0, to: at(60 * MIN) }
const TRACES = 120
const ORPHAN = hexId(0xfeed, 32)

const traceId = (k: number) => hexId(0xa000 + k, 32)

/**
 * Trace k of project A starts at minute ⌊k/2⌋ (pairs share a start, so paging must break ties
 * on trace_id): an 'agent-run' chain root without a model, a gpt-4o child ($0.001, an error
 * when k % 10 = 0), and for k % 3 = 0 an unpriced claude-sonnet-4 child.
 */
function traceSpans(k: number, projectId = A): SpanRow[] {
  const start = at(Math.floor(k / 2) * MIN)
  const id = traceId(k)
  const root = span({
    project_id: projectId,
    trace_id: id,
    span_id: hexId(k * 10 + 1, 16),
    start,
    durationMs: 500,
    kind: 'chain',
    name: 'agent-run',
    model: '',
    provider: '',
    request_model: '',
    release: 'v1',
    service_name: 'agent',
    // Every fourth trace's root carries a route; its model calls do not.
    route: k % 4 === 0 ? '/answer' : '',
  })
  const rows = [
    root,
    span({
      project_id: projectId,
      trace_id: id,
      span_id: hexId(k * 10 + 2, 16),
      parent_span_id: root.span_id,
      start: new Date(start.getTime() + 10),
      durationMs: 200,
      input_tokens: 100,
      output_tokens: 20,
      cost_usd: '0.001',
      status: k % 10 === 0 ? 'error' : 'ok',
      input: '[{"role":"user","content":"hi"}]',
      attributes: { 'gen_ai.request.temperature': '0.2' },
    }),
  ]
  if (k % 3 === 0) {
    rows.push(
      span({
        project_id: projectId,
        trace_id: id,
        span_id: hexId(k * 10 + 3, 16),
        parent_span_id: root.span_id,
        start: new Date(start.getTime() + 250),
        durationMs: 150,
        provider: 'anthropic',
        model: 'claude-sonnet-4',
        input_tokens: 100,
        output_tokens: 20,
      }),
    )
  }
  return rows
}

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-traces-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_dash_traces' })
  await migrate(storage)
  const rows: SpanRow[] = []
  for (let k = 0; k < TRACES; k++) rows.push(...traceSpans(k))
  // A trace whose root was never received: the earliest span names it.
  rows.push(
    span({ trace_id: ORPHAN, parent_span_id: hexId(999, 16), start: at(30_500), name: 'orphan-first' }),
    span({ trace_id: ORPHAN, parent_span_id: hexId(999, 16), start: at(31_000), name: 'orphan-second' }),
  )
  // Outside the range.
  rows.push(span({ trace_id: hexId(0xbef0, 32), start: at(-MIN), name: 'agent-run' }))
  // Project B reuses A's first trace ids with different content.
  for (let k = 0; k < 30; k++) {
    rows.push(...traceSpans(k, B).map((r) => ({ ...r, name: 'b-span', model: 'b-model' })))
  }
  await insertSpans(storage, rows)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

async function allPages(
  projectId: string,
  limit: number,
  filter?: Parameters<typeof listTraces>[2]['filter'],
) {
  const pages: TraceSummary[][] = []
  let cursor: string | undefined
  for (;;) {
    const page = await listTraces(storage, projectId, { ...RANGE, limit, cursor, filter })
    pages.push(page.items)
    if (!page.next_cursor) break
    cursor = page.next_cursor
    assert.ok(pages.length < 100, 'paging must terminate')
  }
  return pages
}

describe('listTraces', () => {
  test('cursor paging over several pages: newest first, no duplicates, no gaps', async () => {
    const pages = await allPages(A, 50)
    assert.deepEqual(
      pages.map((p) => p.length),
      [50, 50, 21],
    )
    const items = pages.flat()
    const ids = items.map((t) => t.trace_id)
    assert.equal(new Set(ids).size, ids.length, 'no duplicates')
    const expected = new Set([...Array.from({ length: TRACES }, (_, k) => traceId(k)), ORPHAN])
    assert.deepEqual(new Set(ids), expected, 'no gaps')
    for (let i = 1; i < items.length; i++) {
      const prev = items[i - 1]
      const cur = items[i]
      assert.ok(prev && cur)
      const order = prev.start_time.localeCompare(cur.start_time) || prev.trace_id.localeCompare(cur.trace_id)
      assert.ok(order > 0, `newest first at ${i}: ${prev.start_time} ${cur.start_time}`)
    }
    // Same-start pairs straddle page ends with limit 7; paging must still be exact.
    const small = (await allPages(A, 7)).flat().map((t) => t.trace_id)
    assert.deepEqual(small, ids)
  })

  test('summaries: root name, envelope duration, totals over model calls', async () => {
    const items = (await allPages(A, 500)).flat()
    const t3 = items.find((t) => t.trace_id === traceId(3))
    assert.deepEqual(t3, {
      trace_id: traceId(3),
      name: 'agent-run',
      start_time: '2025-03-10T00:01:00.000000Z',
      duration_ms: 500,
      span_count: 3,
      llm_calls: 2,
      input_tokens: 200,
      output_tokens: 40,
      cost_usd: 0.001,
      status: 'ok',
      models: ['claude-sonnet-4', 'gpt-4o'],
      release: 'v1',
      service_name: 'agent',
    })
    const t10 = items.find((t) => t.trace_id === traceId(10))
    assert.equal(t10?.status, 'error', 'a failing child makes the trace an error')
    const orphan = items.find((t) => t.trace_id === ORPHAN)
    assert.equal(orphan?.name, 'orphan-first', 'no root → the earliest span names the trace')
    assert.equal(orphan?.span_count, 2)
  })

  test('filters match any span of the trace, not only the root', async () => {
    const claude = (await allPages(A, 500, { model: ['claude-sonnet-4'] })).flat()
    assert.equal(claude.length, 40)
    assert.ok(claude.every((t) => t.name === 'agent-run' && t.models.includes('claude-sonnet-4')))
    const errors = (await allPages(A, 500, { status: 'error' })).flat()
    assert.deepEqual(
      errors.map((t) => t.trace_id).sort(),
      [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110].map(traceId).sort(),
    )
    const ok = (await allPages(A, 500, { status: 'ok' })).flat()
    assert.equal(ok.length, TRACES + 1 - 12)
    const byChildName = (await allPages(A, 500, { name: 'chat' })).flat()
    assert.equal(byChildName.length, TRACES)
    const both = (await allPages(A, 500, { model: ['claude-sonnet-4'], status: 'error' })).flat()
    assert.deepEqual(both.map((t) => t.trace_id).sort(), [0, 30, 60, 90].map(traceId).sort())
    assert.deepEqual((await listTraces(storage, A, { ...RANGE, filter: { model: ['none'] } })).items, [])
    const routed = (await allPages(A, 500, { route: ['/answer'] })).flat()
    assert.deepEqual(
      routed.map((t) => t.trace_id).sort(),
      Array.from({ length: Math.ceil(TRACES / 4) }, (_, i) => traceId(i * 4)).sort(),
      'a route on the root selects the whole trace',
    )
  })

  test('project isolation', async () => {
    const b = (await allPages(B, 500)).flat()
    assert.equal(b.length, 30)
    assert.ok(b.every((t) => t.name === 'b-span'))
    const a = (await allPages(A, 500, { model: ['b-model'] })).flat()
    assert.deepEqual(a, [])
  })

  test('bad limit and cursor are RangeErrors', async () => {
    await assert.rejects(listTraces(storage, A, { ...RANGE, limit: 0 }), /limit/)
    await assert.rejects(listTraces(storage, A, { ...RANGE, limit: 501 }), /limit/)
    await assert.rejects(listTraces(storage, A, { ...RANGE, cursor: 'garbage' }), /cursor/)
    await assert.rejects(
      listTraces(storage, A, { ...RANGE, cursor: Buffer.from('{"t":"x"}').toString('base64url') }),
      RangeError,
    )
  })
})

describe('getTrace', () => {
  test('all spans ordered by start time, public fields, ISO times', async () => {
    const trace = await getTrace(storage, A, traceId(3))
    assert.ok(trace)
    assert.equal(trace.name, 'agent-run')
    assert.equal(trace.start_time, '2025-03-10T00:01:00.000000Z')
    assert.equal(trace.duration_ms, 500)
    assert.equal(trace.input_tokens, 200)
    assert.equal(trace.cost_usd, 0.001)
    assert.deepEqual(
      trace.spans.map((s) => [s.name, s.kind, s.model]),
      [
        ['agent-run', 'chain', ''],
        ['chat', 'llm', 'gpt-4o'],
        ['chat', 'llm', 'claude-sonnet-4'],
      ],
    )
    const child = trace.spans[1]
    assert.ok(child)
    assert.equal('project_id' in child, false)
    assert.equal(child.parent_span_id, trace.spans[0]?.span_id)
    assert.equal(child.start_time, '2025-03-10T00:01:00.010000Z')
    assert.equal(child.end_time, '2025-03-10T00:01:00.210000Z')
    assert.equal(child.cost_usd, 0.001)
    assert.equal(trace.spans[2]?.cost_usd, null)
    assert.equal(child.input_tokens, 100)
    assert.equal(child.input, '[{"role":"user","content":"hi"}]')
    assert.deepEqual(child.attributes, { 'gen_ai.request.temperature': '0.2' })
    assert.ok(!Number.isNaN(Date.parse(child.ingested_at)))
  })

  test('absent, or only in another project → null; same id in B returns B’s spans', async () => {
    assert.equal(await getTrace(storage, A, hexId(0xdead, 32)), null)
    assert.equal(await getTrace(storage, 'project-none', traceId(3)), null)
    const inB = await getTrace(storage, B, traceId(3))
    assert.ok(inB?.spans.every((s) => s.name === 'b-span'))
    const inA = await getTrace(storage, A, traceId(3))
    assert.ok(inA?.spans.every((s) => s.name !== 'b-span'))
  })

  test('a re-inserted span (same key, newer ingested_at) replaces the old one', async () => {
    const [, child] = traceSpans(1)
    assert.ok(child)
    await insertSpans(storage, [
      {
        ...child,
        output_tokens: 99,
        ingested_at: clickHouseText(new Date(Date.now() + 60_000)).slice(0, 23),
      },
    ])
    const trace = await getTrace(storage, A, traceId(1))
    assert.equal(trace?.spans.length, 2)
    assert.equal(trace?.spans[1]?.output_tokens, 99)
    const summary = (await allPages(A, 500)).flat().find((t) => t.trace_id === traceId(1))
    assert.equal(summary?.span_count, 2)
    assert.equal(summary?.output_tokens, 99)
  })
})
