import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MetricsRow } from '@hindsight/dashboards'
import type { ScoreNameMeanRow } from '@hindsight/quality'
import { buildBreakdown, formatScoreMean, scoreColumns } from './breakdown'

const metrics = (group: string, over: Partial<MetricsRow> = {}): MetricsRow => ({
  group,
  calls: 4,
  errors: 1,
  input_tokens: 100,
  output_tokens: 50,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  cost_usd: 1,
  unpriced_calls: 0,
  unpriced_failed_calls: 0,
  p50_ms: 100,
  p95_ms: 300,
  p99_ms: 400,
  ttft_p50_ms: null,
  ...over,
})

const mean = (
  group: string | undefined,
  name: string,
  score_mean: number,
  score_n: number,
): ScoreNameMeanRow => ({
  ...(group === undefined ? {} : { group }),
  name,
  rate: false,
  value_min: null,
  value_max: null,
  score_mean,
  score_n,
  score_stderr: null,
})

test('rows carry the metrics, the error rate and every score mean of their group', () => {
  const b = buildBreakdown(
    'release',
    [metrics('v1', { cost_usd: 0.5 }), metrics('v2', { cost_usd: 2, calls: 10, errors: 0 }), metrics('')],
    [mean('v1', 'helpful', 0.8, 5), mean('v1', 'correct', 0.5, 2), mean('v2', 'helpful', 0.6, 3)],
    [mean(undefined, 'helpful', 0.7, 8), mean(undefined, 'correct', 0.5, 2), mean(undefined, 'tone', 1, 8)],
  )
  assert.equal(b.dimension, 'release')
  assert.deepEqual(
    b.rows.map((r) => [r.key, r.cost_usd, r.error_rate, r.scores]),
    [
      ['v2', 2, 0, { helpful: { mean: 0.6, n: 3, stderr: null } }],
      ['', 1, 0.25, {}],
      [
        'v1',
        0.5,
        0.25,
        { helpful: { mean: 0.8, n: 5, stderr: null }, correct: { mean: 0.5, n: 2, stderr: null } },
      ],
    ],
  )
  assert.ok(b.rows.every((r) => !('group' in r) && !('bucket' in r)))
  // Most scored first, ties by name.
  assert.deepEqual(b.scoreNames, [
    { name: 'helpful', n: 8 },
    { name: 'tone', n: 8 },
    { name: 'correct', n: 2 },
  ])
})

test('score columns: the most frequent by default, else the picked ones that exist', () => {
  const names = ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({ name, n: 10 - i }))
  assert.deepEqual(scoreColumns(names, null), ['a', 'b', 'c'])
  assert.deepEqual(scoreColumns(names, ['e', 'gone', 'b']), ['b', 'e'])
  assert.deepEqual(scoreColumns(names, []), [])
  assert.deepEqual(scoreColumns([], null), [])
})

test('score means read as two decimals (three when small); none is a dash', () => {
  assert.equal(formatScoreMean(0.75), '0.75')
  assert.equal(formatScoreMean(4.25), '4.25')
  assert.equal(formatScoreMean(0.0625), '0.063')
  assert.equal(formatScoreMean(0), '0.00')
  assert.equal(formatScoreMean(null), '—')
})
