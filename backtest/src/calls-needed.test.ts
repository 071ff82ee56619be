/**
 * "Calls needed" never says fewer calls than were already run. Degenerate data — 6 of 6 calls
 * lost (baseline pass, candidate fail) — gives a paired delta of −1 with zero spread, so the
 * quality row's interval is the rule-of-three bound over 6 traces: [−1, 0]. With a
 * non-inferiority margin of 0.02 that interval straddles the threshold −0.02 at n = 6, so 6
 * calls did not settle it; a normal approximation read off that interval would say ~4.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EvaluatorQuality } from './evaluate'
import { qualityRow } from './evaluate-metrics'
import { verdict } from './report'

function losses(n: number): EvaluatorQuality {
  return {
    name: 'exact_match',
    data_type: 'boolean',
    better: 'higher',
    origin: 'request',
    rule_id: null,
    pairs: Array.from({ length: n }, (_, k) => ({
      trace_id: `t${k}`,
      span_id: `s${k}`,
      baseline: 1,
      candidate: 0,
    })),
    failed: { baseline: 0, candidate: 0 },
    failure_examples: [],
  }
}

test('6 of 6 losses: the row has the rule-of-three interval and no calls-needed figure', () => {
  const row = qualityRow(losses(6))
  assert.equal(row.delta, -1)
  assert.equal(row.ci_low, -1)
  assert.equal(row.ci_high, 0) // −1 + 2 · 3/6
  assert.equal(row.n, 6)
  assert.equal(row.n_needed, null)
})

test('an objective whose interval still straddles its threshold never asks for fewer calls than were run', () => {
  const row = qualityRow(losses(6))
  const v = verdict({ max_quality_regression: 0.02 }, [row], 6, null)
  const c = v.checks.find((x) => x.objective === 'max_quality_regression')
  assert.ok(c)
  assert.equal(c.result, 'inconclusive')
  assert.ok(c.n_needed === null || c.n_needed > 6, `n_needed ${c.n_needed} with 6 calls already run`)
  assert.doesNotMatch(c.reason, /about [1-6] calls/)
  assert.match(c.reason, /more than the 6 calls/)
  // With 7 traces the rule-of-three bound (−1 + 6/7 < −0.02) settles it: more than 6 was right.
  const seven = verdict({ max_quality_regression: 0.02 }, [qualityRow(losses(7))], 7, null)
  assert.equal(seven.checks[0]?.result, 'fail')
})

test('a regular straddling interval keeps its normal-approximation estimate, above n', () => {
  // Mixed outcomes: 3 losses, 2 ties (pass/pass), 1 win in 6 traces.
  const q = losses(6)
  q.pairs = q.pairs.map((p, k) =>
    k < 3 ? p : k < 5 ? { ...p, baseline: 1, candidate: 1 } : { ...p, baseline: 0, candidate: 1 },
  )
  const row = qualityRow(q)
  const v = verdict({ max_quality_regression: 0.02 }, [row], 6, null)
  const c = v.checks[0]
  assert.equal(c?.result, 'inconclusive')
  assert.ok(typeof c?.n_needed === 'number' && c.n_needed > 6, `n_needed ${c?.n_needed}`)
  assert.match(c?.reason ?? '', /about \d+ calls would settle it/)
})
