import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kpiChange, MIN_COMPARABLE_CALLS } from './kpi-change'

const week = { periodLabel: '7d' }

test('totals compare with any previous period, however small', () => {
  const change = kpiChange(1852, 3, week)
  assert.deepEqual(change, { label: '×617', direction: 'up', text: '×617 vs previous 7d' })
})

test('a rate, percentile or per-call figure over a handful of previous calls shows no change', () => {
  assert.deepEqual(kpiChange(6360, 2680, { ...week, previousBasis: 3 }), {
    label: '',
    direction: 'none',
    text: 'only 3 calls in previous 7d',
  })
  assert.equal(kpiChange(0.02, 0, { ...week, previousBasis: 1 }).text, 'only 1 call in previous 7d')
  assert.equal(
    kpiChange(633, 500, { ...week, previousBasis: 2, noun: 'streamed call' }).text,
    'only 2 streamed calls in previous 7d',
  )
  const enough = kpiChange(133, 100, { ...week, previousBasis: MIN_COMPARABLE_CALLS })
  assert.deepEqual(enough, { label: '+33%', direction: 'up', text: '+33% vs previous 7d' })
})

test('no previous calls reads "new"; nothing now reads nothing', () => {
  assert.equal(kpiChange(1.5, null, { ...week, previousBasis: 0 }).text, 'new vs previous 7d')
  assert.equal(kpiChange(null, 3, { ...week, previousBasis: 3 }).text, '')
})
