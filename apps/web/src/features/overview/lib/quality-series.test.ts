import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ScoreNameMeanRow } from '@hindsight/quality'
import { MAX_QUALITY_BUCKETS } from './quality-limits'
import { buildQualitySeries, qualityInterval } from './quality-series'

const HOUR = 3_600_000
const from = new Date('2026-03-01T00:00:00.000Z')
const range = { from, to: new Date(from.getTime() + 4 * HOUR) }
const at = (h: number) => new Date(from.getTime() + h * HOUR).toISOString()

const row = (name: string, rate: boolean, fields: Partial<ScoreNameMeanRow>): ScoreNameMeanRow => ({
  name,
  rate,
  value_min: null,
  value_max: null,
  score_mean: null,
  score_n: 0,
  score_stderr: null,
  ...fields,
})

test('the interval is a whole multiple of the charts’, about 24 buckets over the range', () => {
  assert.equal(qualityInterval(range, 300), 600, '4 h in 5-minute buckets → 10-minute buckets (24)')
  const week = { from, to: new Date(from.getTime() + 7 * 24 * HOUR) }
  assert.equal(qualityInterval(week, 3600), 7 * 3600)
  assert.equal(qualityInterval({ from, to: new Date(from.getTime() + HOUR) }, 60), 180)
  for (const [r, i] of [
    [range, 300],
    [week, 3600],
  ] as const) {
    const seconds = (r.to.getTime() - r.from.getTime()) / 1000
    assert.ok(seconds / qualityInterval(r, i) <= MAX_QUALITY_BUCKETS)
  }
  const day = { from, to: new Date(from.getTime() + 24 * HOUR + 60_000) }
  assert.equal(qualityInterval(day, 3600), 3600, 'a minute over 24 h stays in hours')
  for (const hours of [1, 5, 13, 30, 100, 1000]) {
    const r = { from, to: new Date(from.getTime() + hours * HOUR) }
    const buckets = (hours * 3600) / qualityInterval(r, 60)
    assert.ok(buckets <= MAX_QUALITY_BUCKETS * 1.5, `${hours} h: ${buckets} buckets`)
  }
})

test('a pass rate gets a Wilson interval, a numeric mean a t interval; empty buckets stay null', () => {
  const series = buildQualitySeries(
    range,
    3600,
    [
      row('correct', true, { bucket: at(0), score_mean: 0.8, score_n: 10 }),
      row('correct', true, { bucket: at(2), score_mean: 1, score_n: 5 }),
      // .6, .7, .8, .9: sample SD √(0.05/3), SE = SD / 2
      row('helpfulness', false, {
        bucket: at(1),
        score_mean: 0.75,
        score_n: 4,
        score_stderr: Math.sqrt(0.05 / 3) / 2,
      }),
      row('helpfulness', false, { bucket: at(3), score_mean: 0.4, score_n: 1 }),
    ],
    [
      row('correct', true, { score_mean: 13 / 15, score_n: 15 }),
      row('helpfulness', false, { score_mean: 0.68, score_n: 5 }),
    ],
  )
  assert.equal(series.intervalSeconds, 3600)
  assert.deepEqual(
    series.trends.map((t) => [t.name, t.rate, t.n, t.points.length]),
    [
      ['correct', true, 15, 4],
      ['helpfulness', false, 5, 4],
    ],
  )
  const [correct, helpfulness] = series.trends
  const close = (actual: number | undefined, expected: number) =>
    assert.ok(actual !== undefined && Math.abs(actual - expected) < 5e-7, `${actual} ≠ ${expected}`)
  // R: prop.test(8, 10, correct = FALSE)$conf.int → 0.4901625 0.9433178
  close(correct?.points[0]?.band?.[0], 0.4901625)
  close(correct?.points[0]?.band?.[1], 0.9433178)
  assert.deepEqual(correct?.points[1], { t: Date.parse(at(1)), mean: null, n: 0, band: null })
  // 5 of 5: the upper bound is 1; the lower one (p̂ + z²/2n − z·√(z²/4n²)) / (1 + z²/n) = 0.5655175
  assert.equal(correct?.points[2]?.band?.[1], 1)
  close(correct?.points[2]?.band?.[0], 0.5655175)
  // R: t.test(c(.6, .7, .8, .9))$conf.int → 0.5445739 0.9554261
  close(helpfulness?.points[1]?.band?.[0], 0.5445739)
  close(helpfulness?.points[1]?.band?.[1], 0.9554261)
  assert.deepEqual(
    helpfulness?.points[3],
    { t: Date.parse(at(3)), mean: 0.4, n: 1, band: null },
    'one score: no interval',
  )

  // Kept within the values seen: with 0.6–0.9 the only values, the t interval's 0.5446 becomes 0.6.
  const clipped = buildQualitySeries(
    range,
    3600,
    [
      row('helpfulness', false, {
        bucket: at(1),
        score_mean: 0.75,
        score_n: 4,
        score_stderr: Math.sqrt(0.05 / 3) / 2,
      }),
    ],
    [row('helpfulness', false, { score_mean: 0.75, score_n: 4, value_min: 0.6, value_max: 0.9 })],
  )
  assert.deepEqual(clipped.trends[0]?.points[1]?.band, [0.6, 0.9])
})
