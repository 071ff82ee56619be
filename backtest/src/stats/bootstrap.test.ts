import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { quantileOfArranged, quantileSpan, sortSpans } from './bootstrap'
import { createRng, harrellDavis, meanCI, pairedBootstrap, pairedMeanDifference, quantile } from './index'

function lognormalSample(n: number, seed: string): { base: Float64Array; cand: Float64Array } {
  const rng = createRng(seed)
  const base = new Float64Array(n)
  const cand = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    base[i] = Math.exp(6 + rng.normal())
    cand[i] = (base[i] ?? 0) * Math.exp(-0.3 + 0.2 * rng.normal())
  }
  return { base, cand }
}

describe('pairedBootstrap', () => {
  test('is deterministic for a seed, and point estimates are the sample statistics', () => {
    const { base, cand } = lognormalSample(300, 'det')
    const stats = [{ kind: 'quantile', q: 0.5 } as const, { kind: 'quantile', q: 0.95 } as const]
    const a = pairedBootstrap(base, cand, stats, { seed: 42, resamples: 2000 })
    const b = pairedBootstrap(base, cand, stats, { seed: 42, resamples: 2000 })
    const c = pairedBootstrap(base, cand, stats, { seed: 43, resamples: 2000 })
    assert.deepEqual(a, b)
    assert.notEqual(a[1]?.delta_ci_low, c[1]?.delta_ci_low)
    assert.equal(a[0]?.baseline, harrellDavis(base, 0.5))
    assert.equal(a[1]?.candidate, harrellDavis(cand, 0.95))
    const [type7] = pairedBootstrap(base, cand, [{ kind: 'quantile', q: 0.95, estimator: 'type7' }], {
      resamples: 100,
    })
    assert.equal(type7?.candidate, quantile(cand, 0.95))
    const p95 = a[1]
    assert.ok(p95 && p95.delta_ci_low < p95.delta && p95.delta < p95.delta_ci_high)
    assert.ok(p95.ratio !== null && p95.ratio_ci_low !== null && p95.ratio_ci_high !== null)
    assert.ok(p95.ratio_ci_low < p95.ratio && p95.ratio < p95.ratio_ci_high)
  })

  test('Harrell–Davis quantiles match scipy.stats.mstats.hdquantiles', () => {
    const x = [1, 3, 4, 8, 10, 15, 21, 2.5, 7.25, 40.0]
    const expected: Array<[number, number]> = [
      [0.5, 7.747996471199366],
      [0.95, 36.683709229410425],
      [0.1, 1.7146643861372082],
    ]
    for (const [q, value] of expected) {
      const got = harrellDavis(x, q)
      assert.ok(Math.abs(got - value) < 1e-9 * value, `q = ${q}: ${got} vs ${value}`)
    }
  })

  test('sorting only the spans the quantiles read gives the same quantiles as a full sort', () => {
    const rng = createRng('spans')
    for (const size of [2, 7, 150, 1500]) {
      const original = Float64Array.from({ length: size }, () => Math.exp(rng.normal()))
      const p50 = { kind: 'quantile', q: 0.5 } as const
      const p95 = { kind: 'quantile', q: 0.95 } as const
      const p95type7 = { kind: 'quantile', q: 0.95, estimator: 'type7' } as const
      const specs = [p50, p95, p95type7]
      const arranged = original.slice()
      sortSpans(
        arranged,
        specs.map((s) => quantileSpan(s, size)),
      )
      assert.equal(quantileOfArranged(arranged, p50), harrellDavis(original, 0.5))
      assert.equal(quantileOfArranged(arranged, p95), harrellDavis(original, 0.95))
      assert.equal(quantileOfArranged(arranged, p95type7), quantile(original, 0.95))
    }
  })

  test('a constant multiplier gives a degenerate ratio interval at exactly that ratio', () => {
    const rng = createRng('const')
    const base = Float64Array.from({ length: 200 }, () => 1 + rng.next() * 100)
    const cand = base.map((x) => x * 0.62)
    const [mean] = pairedBootstrap(base, cand, [{ kind: 'mean' }], { seed: 1, resamples: 1000 })
    assert.ok(mean)
    assert.ok(Math.abs((mean.ratio ?? 0) - 0.62) < 1e-12)
    assert.ok(Math.abs((mean.ratio_ci_low ?? 0) - 0.62) < 1e-9)
    assert.ok(Math.abs((mean.ratio_ci_high ?? 0) - 0.62) < 1e-9)
    assert.ok(mean.p_value < 1e-6)
  })

  test('the interval of a mean difference agrees with the CLT interval on well-behaved data', () => {
    const rng = createRng('clt')
    const base = Float64Array.from({ length: 2000 }, () => 10 + rng.normal())
    const cand = base.map((x) => x + 0.1 + 0.5 * rng.normal())
    const [boot] = pairedBootstrap(base, cand, [{ kind: 'mean' }], { seed: 7 })
    const clt = pairedMeanDifference(base, cand)
    assert.ok(boot)
    const width = clt.ci_high - clt.ci_low
    assert.ok(
      Math.abs(boot.delta_ci_low - clt.ci_low) < 0.05 * width,
      `${boot.delta_ci_low} vs ${clt.ci_low}`,
    )
    assert.ok(
      Math.abs(boot.delta_ci_high - clt.ci_high) < 0.05 * width,
      `${boot.delta_ci_high} vs ${clt.ci_high}`,
    )
    assert.ok(Math.abs(boot.delta_se - clt.se) < 0.05 * clt.se)
  })

  test('resampling whole clusters widens the interval when items of a cluster move together', () => {
    const rng = createRng('clusters')
    const base: number[] = []
    const cand: number[] = []
    const labels: string[] = []
    for (let g = 0; g < 60; g++) {
      const shift = rng.normal() * 3
      for (let j = 0; j < 5; j++) {
        const b = 20 + rng.normal()
        base.push(b)
        cand.push(b + shift + 0.3 * rng.normal())
        labels.push(`trace-${g}`)
      }
    }
    const [plain] = pairedBootstrap(base, cand, [{ kind: 'mean' }], { seed: 3, resamples: 4000 })
    const [clustered] = pairedBootstrap(base, cand, [{ kind: 'mean' }], {
      seed: 3,
      resamples: 4000,
      clusters: labels,
    })
    assert.ok(plain && clustered)
    assert.equal(clustered.clusters, 60)
    assert.match(clustered.method, /cluster bootstrap/)
    const w = (r: typeof plain) => r.delta_ci_high - r.delta_ci_low
    assert.ok(w(clustered) > 1.6 * w(plain), `${w(clustered)} vs ${w(plain)}`)
  })

  test('over the work budget it switches to an m-out-of-n bootstrap with similar intervals, and says so', () => {
    const { base, cand } = lognormalSample(4000, 'moon')
    const stats = [{ kind: 'quantile', q: 0.5 } as const]
    const [full] = pairedBootstrap(base, cand, stats, { seed: 5, resamples: 2000 })
    const [sub] = pairedBootstrap(base, cand, stats, { seed: 5, resamples: 2000, budget: 2_000_000 })
    assert.ok(full && sub)
    assert.match(sub.method, /m-out-of-n \(m = \d+ of 4000 items/)
    const wf = full.delta_ci_high - full.delta_ci_low
    const ws = sub.delta_ci_high - sub.delta_ci_low
    assert.ok(Math.abs(ws - wf) < 0.35 * wf, `${ws} vs ${wf}`)
    const [fullMean] = pairedBootstrap(base, cand, [{ kind: 'mean' }], { seed: 5, resamples: 2000 })
    const [subMean] = pairedBootstrap(base, cand, [{ kind: 'mean' }], {
      seed: 5,
      resamples: 2000,
      budget: 2_000_000,
    })
    assert.ok(fullMean && subMean)
    assert.match(subMean.method, /m-out-of-n \(m = 333 of 4000 items/)
    const wm = (r: typeof fullMean) => (r.ratio_ci_high ?? 0) - (r.ratio_ci_low ?? 0)
    assert.ok(Math.abs(wm(subMean) - wm(fullMean)) < 0.35 * wm(fullMean), `${wm(subMean)} vs ${wm(fullMean)}`)
  })

  test('10,000 resamples of 10,000 pairs (p50, p95) run in seconds', () => {
    const { base, cand } = lognormalSample(10_000, 'speed')
    const started = performance.now()
    const out = pairedBootstrap(
      base,
      cand,
      [
        { kind: 'quantile', q: 0.5 },
        { kind: 'quantile', q: 0.95 },
      ],
      { seed: 9 },
    )
    const ms = performance.now() - started
    assert.equal(out[0]?.resamples, 10_000)
    assert.ok(ms < 15_000, `${ms} ms`)
    console.log(`# bootstrap 10k × 10k pairs, 2 statistics: ${ms.toFixed(0)} ms`)
  })

  test('rejects mismatched pairs and bad quantiles', () => {
    assert.throws(() => pairedBootstrap([1, 2], [1], [{ kind: 'mean' }]), /pairs/)
    assert.throws(() => pairedBootstrap([1], [1], [{ kind: 'quantile', q: 1.5 }]), /q: must be in/)
    assert.ok(Number.isNaN(meanCI([]).estimate))
  })
})
