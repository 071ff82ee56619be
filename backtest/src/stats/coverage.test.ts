/**
 * Coverage simulations (STATISTICS.md, "Testing the statistics"): draw many synthetic cohorts
 * with a known true difference and check that the 95% intervals contain it 95% ± 2% of the time,
 * for the paired, clustered and heavy-tailed cases. Seeded, so the outcome is reproducible; the
 * bootstrap cases use 500–1,000 resamples per cohort (coverage hardly depends on the resample
 * count beyond that; reports use ≥ 10,000).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clusteredMeanCI, createRng, pairedBootstrap, pairedMeanDifference, wilson } from './index'

const LOW = 0.93
const HIGH = 0.97

function assertCoverage(covered: number, reps: number, label: string) {
  const rate = covered / reps
  console.log(`# coverage ${label}: ${(rate * 100).toFixed(1)}% of ${reps}`)
  assert.ok(rate >= LOW && rate <= HIGH, `${label}: ${(rate * 100).toFixed(1)}% outside 95% ± 2%`)
}

describe('95% intervals cover the true difference 95% ± 2% of the time', () => {
  test('paired mean difference (CLT), skewed per-item differences', () => {
    const rng = createRng('coverage-paired')
    const reps = 2000
    const n = 60
    const delta = -0.4
    let covered = 0
    const base = new Float64Array(n)
    const cand = new Float64Array(n)
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) {
        const item = 5 + 3 * rng.normal()
        base[i] = item + rng.normal()
        // Exponential noise centred on 0 keeps the true mean difference at `delta`.
        cand[i] = item + delta + (-Math.log(1 - rng.next()) - 1) + 0.5 * rng.normal()
      }
      const ci = pairedMeanDifference(base, cand)
      if (ci.ci_low <= delta && delta <= ci.ci_high) covered++
    }
    assertCoverage(covered, reps, 'paired CLT')
  })

  test('clustered items (cluster-robust SE): calls of one trace share an effect', () => {
    const rng = createRng('coverage-clustered')
    const reps = 2000
    const clusters = 40
    const delta = 0.25
    let covered = 0
    let naiveCovered = 0
    const values: number[] = []
    const labels: number[] = []
    for (let r = 0; r < reps; r++) {
      values.length = 0
      labels.length = 0
      for (let g = 0; g < clusters; g++) {
        const shared = rng.normal()
        const size = 1 + rng.int(8)
        for (let j = 0; j < size; j++) {
          values.push(delta + shared + rng.normal())
          labels.push(g)
        }
      }
      const ci = clusteredMeanCI(values, labels)
      if (ci.ci_low <= delta && delta <= ci.ci_high) covered++
      const naive = pairedMeanDifference(new Float64Array(values.length), values)
      if (naive.ci_low <= delta && delta <= naive.ci_high) naiveCovered++
    }
    assertCoverage(covered, reps, 'cluster-robust')
    // The naive interval ignores the shared effect and covers far less often.
    assert.ok(naiveCovered / reps < 0.85, `naive coverage ${naiveCovered / reps}`)
  })

  test('heavy-tailed latencies: paired bootstrap of p50 and p95 (difference and log-scale ratio)', () => {
    const rng = createRng('coverage-bootstrap')
    const reps = 500
    const n = 400
    const logShift = -0.35
    // base = e^Z, cand = base · e^(δ + 0.3 W), so log cand ~ N(δ, √1.09): the true quantiles are
    // e^(z_q) and e^(δ + z_q √1.09).
    const z95 = 1.6448536269514722
    const truth = {
      p50: { delta: Math.exp(logShift) - 1, ratio: Math.exp(logShift) },
      p95: {
        delta: Math.exp(logShift + z95 * Math.sqrt(1.09)) - Math.exp(z95),
        ratio: Math.exp(logShift + z95 * Math.sqrt(1.09) - z95),
      },
    }
    const covered = { p50Delta: 0, p50Ratio: 0, p95Delta: 0, p95Ratio: 0 }
    const base = new Float64Array(n)
    const cand = new Float64Array(n)
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) {
        base[i] = Math.exp(rng.normal())
        cand[i] = (base[i] ?? 0) * Math.exp(logShift + 0.3 * rng.normal())
      }
      const [p50, p95] = pairedBootstrap(
        base,
        cand,
        [
          { kind: 'quantile', q: 0.5 },
          { kind: 'quantile', q: 0.95 },
        ],
        { seed: r, resamples: 1000 },
      )
      assert.ok(p50 && p95)
      const inside = (x: number, lo: number | null, hi: number | null) => (lo ?? 0) <= x && x <= (hi ?? 0)
      if (inside(truth.p50.delta, p50.delta_ci_low, p50.delta_ci_high)) covered.p50Delta++
      if (inside(truth.p50.ratio, p50.ratio_ci_low, p50.ratio_ci_high)) covered.p50Ratio++
      if (inside(truth.p95.delta, p95.delta_ci_low, p95.delta_ci_high)) covered.p95Delta++
      if (inside(truth.p95.ratio, p95.ratio_ci_low, p95.ratio_ci_high)) covered.p95Ratio++
    }
    assertCoverage(covered.p50Delta, reps, 'bootstrap p50 difference')
    assertCoverage(covered.p50Ratio, reps, 'bootstrap p50 ratio (log scale)')
    assertCoverage(covered.p95Delta, reps, 'bootstrap p95 difference')
    assertCoverage(covered.p95Ratio, reps, 'bootstrap p95 ratio (log scale)')
  })

  test('heavy-tailed costs: paired bootstrap of the mean-cost ratio on the log scale', () => {
    const rng = createRng('coverage-cost-ratio')
    const reps = 1500
    const n = 250
    // cost = e^(0.75 Z) (a coefficient of variation of 0.86), candidate = cost · 0.6 · e^(0.4 W − 0.08):
    // E[cand]/E[base] = 0.6 exactly.
    const trueRatio = 0.6
    let covered = 0
    const base = new Float64Array(n)
    const cand = new Float64Array(n)
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) {
        base[i] = Math.exp(0.75 * rng.normal())
        cand[i] = (base[i] ?? 0) * trueRatio * Math.exp(0.4 * rng.normal() - 0.08)
      }
      const [mean] = pairedBootstrap(base, cand, [{ kind: 'mean' }], { seed: r, resamples: 500 })
      assert.ok(mean)
      if ((mean.ratio_ci_low ?? 0) <= trueRatio && trueRatio <= (mean.ratio_ci_high ?? 0)) covered++
    }
    assertCoverage(covered, reps, 'bootstrap mean-cost ratio')
  })

  test('rates (Wilson) near the edge, where Wald fails', () => {
    const rng = createRng('coverage-wilson')
    const reps = 3000
    const n = 80
    const p = 0.06
    let covered = 0
    for (let r = 0; r < reps; r++) {
      let k = 0
      for (let i = 0; i < n; i++) if (rng.next() < p) k++
      const ci = wilson(k, n)
      if (ci.ci_low <= p && p <= ci.ci_high) covered++
    }
    assertCoverage(covered, reps, 'Wilson p = 0.06, n = 80')
  })
})
