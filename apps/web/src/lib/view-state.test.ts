import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeFilter, parseView, resolveRange, viewFilter, viewToSearch } from './view-state'

test('a view survives a round trip through the URL', () => {
  const search =
    '?project=p1&from=2026-03-01T00%3A00%3A00.000Z&to=2026-03-02T00%3A00%3A00.000Z&tz=utc&model=gpt-4o&model=claude&route=%2Fapi%2Fanswer&status=error&name=answer&refresh=60&by=attribute&by_key=hindsight.metadata.customer'
  const view = parseView(new URLSearchParams(search))
  assert.deepEqual(view, {
    project: 'p1',
    range: null,
    from: '2026-03-01T00:00:00.000Z',
    to: '2026-03-02T00:00:00.000Z',
    tz: 'utc',
    models: ['gpt-4o', 'claude'],
    routes: ['/api/answer'],
    status: 'error',
    name: 'answer',
    refresh: 60,
    by: 'attribute',
    byKey: 'hindsight.metadata.customer',
  })
  assert.equal(viewToSearch(view), search)
  assert.deepEqual(viewFilter(view), {
    model: ['gpt-4o', 'claude'],
    route: ['/api/answer'],
    status: 'error',
    name: 'answer',
  })
  assert.equal(describeFilter(view), 'model gpt-4o or claude, route /api/answer, status error, name "answer"')
})

test('bad or missing values fall back to the defaults', () => {
  const view = parseView(new URLSearchParams('?range=2y&status=weird&from=yesterday&to=2026-01-01T00:00:00Z'))
  assert.equal(view.range, '24h')
  assert.equal(view.status, null)
  assert.equal(parseView(new URLSearchParams('?refresh=7')).refresh, null, 'only the offered periods')
  assert.equal(parseView(new URLSearchParams('?by=secret_column')).by, null, 'only the offered groupings')
  assert.equal(view.from, null, 'an absolute range needs two valid instants')
  assert.equal(viewToSearch(view), '')
  const backwards = parseView(new URLSearchParams('?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'))
  assert.equal(backwards.range, '24h')
})

test('relative ranges end at the anchor; absolute ones ignore it', () => {
  const now = Date.UTC(2026, 0, 2)
  const r = resolveRange({ range: '7d', from: null, to: null }, now)
  assert.equal(r.to.getTime(), now)
  assert.equal(now - r.from.getTime(), 7 * 86_400_000)
  const a = resolveRange(
    { range: null, from: '2025-01-01T00:00:00.000Z', to: '2025-01-02T00:00:00.000Z' },
    now,
  )
  assert.equal(a.from.toISOString(), '2025-01-01T00:00:00.000Z')
  assert.equal(a.label, 'custom')
})
