import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MetricsRow } from '@hindsight/dashboards'
import { bucketStarts, buildOverviewSeries, MAX_MODEL_SERIES, OTHER_MODELS } from './series'

const row = (bucket: string, over: Partial<MetricsRow> = {}): MetricsRow => ({
  bucket,
  calls: 1,
  errors: 0,
  input_tokens: 10,
  output_tokens: 5,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  cost_usd: 0.5,
  unpriced_calls: 0,
  unpriced_failed_calls: 0,
  p50_ms: 100,
  p95_ms: 200,
  p99_ms: 300,
  ttft_p50_ms: null,
  ...over,
})

const range = { from: new Date('2026-03-01T00:30:00Z'), to: new Date('2026-03-01T04:00:00Z') }

test('every bucket of the range is present; empty ones are null, not zero', () => {
  assert.equal(bucketStarts(range.from, range.to, 3600).length, 4)
  const s = buildOverviewSeries(
    range,
    3600,
    [
      row('2026-03-01T01:00:00.000Z', { group: 'a' }),
      row('2026-03-01T03:00:00.000Z', { group: 'b', cost_usd: null }),
    ],
    [
      row('2026-03-01T01:00:00.000Z'),
      row('2026-03-01T03:00:00.000Z', { ttft_p50_ms: 42, calls: 4, errors: 1 }),
    ],
  )
  assert.deepEqual(
    s.latency.map((p) => p.p50),
    [null, 100, null, 100],
  )
  assert.deepEqual(
    s.latency.map((p) => p.ttft_p50),
    [null, null, null, 42],
    'time to first token only where calls streamed',
  )
  assert.deepEqual(
    s.errors.map((p) => [p.errors, p.rate]),
    [
      [null, null],
      [0, 0],
      [null, null],
      [1, 0.25],
    ],
    'errors and their rate where there were calls, gaps elsewhere',
  )
  assert.deepEqual(
    s.cost.map((p) => p.byModel),
    [
      { a: null, b: null },
      { a: 0.5, b: null },
      { a: null, b: null },
      { a: null, b: null },
    ],
  )
  assert.equal(s.tokens[0]?.input, null)
  assert.equal(s.tokens[1]?.input, 10)
})

test('models beyond the most expensive few are summed as "other"', () => {
  const rows = Array.from({ length: MAX_MODEL_SERIES + 2 }, (_, i) =>
    row('2026-03-01T01:00:00.000Z', { group: `m${i}`, cost_usd: i + 1 }),
  )
  const s = buildOverviewSeries(range, 3600, rows, [])
  assert.equal(s.models.length, MAX_MODEL_SERIES + 1)
  assert.equal(s.models.at(-1), OTHER_MODELS)
  assert.equal(s.models[0], `m${MAX_MODEL_SERIES + 1}`)
  assert.equal(s.cost[1]?.byModel[OTHER_MODELS], 1 + 2)
})
