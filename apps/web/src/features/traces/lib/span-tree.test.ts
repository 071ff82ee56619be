import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildSpanTree, parseJson, toMessages, visibleRows } from './span-tree'

const span = (
  span_id: string,
  parent_span_id: string,
  start: string,
  duration_ms: number,
  name = span_id,
) => ({
  span_id,
  parent_span_id,
  name,
  start_time: `2026-03-01 12:00:${start}`,
  duration_ms,
})

test('spans form a depth-first tree measured from the trace start', () => {
  const tree = buildSpanTree([
    span('c2', 'root', '01.500000', 200),
    span('root', '', '00.000000', 2000),
    span('c1', 'root', '00.100000', 1000),
    span('g1', 'c1', '00.200000', 300),
  ])
  assert.deepEqual(
    tree.rows.map((r) => [r.span.span_id, r.depth, Math.round(r.offsetMs)]),
    [
      ['root', 0, 0],
      ['c1', 1, 100],
      ['g1', 2, 200],
      ['c2', 1, 1500],
    ],
  )
  assert.equal(tree.totalMs, 2000)
  assert.deepEqual(
    visibleRows(tree.rows, new Set(['c1'])).map((r) => r.span.span_id),
    ['root', 'c1', 'c2'],
  )
})

test('orphans and cycles are shown, never dropped', () => {
  const tree = buildSpanTree([
    span('a', 'missing-parent', '00.000000', 10),
    span('x', 'y', '00.100000', 10),
    span('y', 'x', '00.200000', 10),
  ])
  assert.deepEqual(tree.rows.map((r) => r.span.span_id).sort(), ['a', 'x', 'y'])
})

test('messages are read from OpenAI and GenAI shapes; anything else is not a conversation', () => {
  assert.deepEqual(toMessages([{ role: 'user', content: 'hi' }]), [{ role: 'user', text: 'hi' }])
  assert.deepEqual(toMessages([{ role: 'assistant', parts: [{ type: 'text', content: 'hello' }] }]), [
    { role: 'assistant', text: 'hello' },
  ])
  assert.equal(toMessages({ query: 'x' }), null)
  assert.deepEqual(parseJson('{'), { ok: false })
})
