import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { burnRate, type EventBucket, evaluateBurn, nextTransition } from './burn'

const MIN = 60_000
const NOW = Date.UTC(2025, 4, 1, 12, 0, 0)

/** Minute buckets over the last `minutes` minutes; `bad(i)` bad events of 100, i = minutes before now. */
function series(minutes: number, bad: (minutesAgo: number) => number, total = 100): EventBucket[] {
  return Array.from({ length: minutes }, (_, k) => {
    const ago = minutes - k
    return { start: NOW - ago * MIN, total, bad: bad(ago) }
  })
}

const BUDGET = 0.01 // a 99% objective

describe('burn rates on fixed series', () => {
  test('burn rate = bad share / budget, per window', () => {
    const s = series(60, (ago) => (ago <= 5 ? 50 : 0))
    assert.equal(burnRate(s, NOW, 5 * MIN, BUDGET), 50) // 50% bad / 1%
    assert.equal(burnRate(s, NOW, 60 * MIN, BUDGET), (5 * 50) / 6000 / BUDGET)
    assert.equal(burnRate([], NOW, MIN, BUDGET), null)
  })

  test('steady traffic within budget: nothing fires', () => {
    const e = evaluateBurn(
      series(360, () => 1),
      NOW,
      BUDGET,
    ) // burn 1×
    assert.equal(e.severity, null)
    assert.ok(e.windows.every((w) => !w.firing && Math.abs((w.long ?? 0) - 1) < 1e-9))
  })

  test('a short spike fires nothing: the long window stays under the factor', () => {
    // 3 minutes at 100% bad: 5-min burn 60×, 1-hour burn 5× < 14.4.
    const e = evaluateBurn(
      series(360, (ago) => (ago <= 3 ? 100 : 0)),
      NOW,
      BUDGET,
    )
    assert.ok((e.windows[0]?.short ?? 0) > 14.4)
    assert.ok((e.windows[0]?.long ?? 0) < 14.4)
    assert.equal(e.severity, null)
  })

  test('a sustained outage fires fast burn (1 h and 5 min both over 14.4×)', () => {
    const e = evaluateBurn(
      series(360, (ago) => (ago <= 20 ? 60 : 0)),
      NOW,
      BUDGET,
    )
    assert.equal(e.severity, 'fast')
    assert.ok((e.windows[0]?.long ?? 0) > 14.4 && (e.windows[0]?.short ?? 0) > 14.4)
  })

  test('a slow leak fires slow burn (6 h and 30 min over 6×) but not fast', () => {
    const e = evaluateBurn(
      series(360, () => 8),
      NOW,
      BUDGET,
    ) // 8× everywhere
    assert.equal(e.severity, 'slow')
    assert.equal(e.windows[0]?.firing, false)
    assert.equal(e.windows[1]?.firing, true)
  })

  test('recovered: the long windows still burn but the short ones are clean, so nothing fires', () => {
    // 30 minutes at 100% bad ending 35 minutes ago: 1 h burn 50×, 6 h 8.3×, but 5 min and 30 min clean.
    const e = evaluateBurn(
      series(360, (ago) => (ago > 35 && ago <= 65 ? 100 : 0)),
      NOW,
      BUDGET,
    )
    assert.ok((e.windows[0]?.long ?? 0) > 14.4)
    assert.equal(e.windows[0]?.short, 0)
    assert.ok((e.windows[1]?.long ?? 0) > 6)
    assert.equal(e.windows[1]?.short, 0)
    assert.equal(e.severity, null)
  })

  test('too few events never fire', () => {
    const e = evaluateBurn([{ start: NOW - MIN, total: 2, bad: 2 }], NOW, BUDGET)
    assert.equal(e.severity, null)
  })

  test('transitions de-duplicate: fire once, stay quiet while open, resolve once', () => {
    const firing = evaluateBurn(
      series(360, (ago) => (ago <= 20 ? 60 : 0)),
      NOW,
      BUDGET,
    )
    const quiet = evaluateBurn(
      series(360, () => 0),
      NOW,
      BUDGET,
    )
    assert.deepEqual(nextTransition(false, firing), { action: 'fire', severity: 'fast' })
    assert.deepEqual(nextTransition(true, firing), { action: 'none' })
    assert.deepEqual(nextTransition(true, quiet), { action: 'resolve' })
    assert.deepEqual(nextTransition(false, quiet), { action: 'none' })
  })
})
