/**
 * Reference values were computed independently with SciPy 1.17.1 / NumPy 2.4.6 (script in the
 * comments beside each case) unless another source is named. Tolerances are relative 1e-9 unless
 * the reference is printed with fewer digits.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  benjaminiHochberg,
  binomialCdf,
  clusteredMeanCI,
  holm,
  mcnemar,
  mcnemarPaired,
  mdeForProportion,
  meanCI,
  minimumDetectableEffect,
  normalCdf,
  normalQuantile,
  pairedMeanDifference,
  powerMultiplier,
  quantile,
  ruleOfThree,
  samplesNeeded,
  tCdf,
  tQuantile,
  wilcoxonSignedRank,
  wilson,
  winTieLoss,
} from './index'

function close(actual: number, expected: number, relative = 1e-9, label = '') {
  const tolerance = Math.max(relative * Math.abs(expected), 1e-15)
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${label} expected ${expected}, got ${actual} (|Δ| = ${Math.abs(actual - expected)})`,
  )
}

describe('distributions (stdlib) against SciPy', () => {
  test('normal and t', () => {
    // stats.norm.cdf(-1.3), stats.norm.ppf(0.025), stats.t.ppf(0.975, 7), stats.t.cdf(-2.5, 12)
    close(normalCdf(-1.3), 0.09680048458561036)
    close(normalQuantile(0.025), -1.9599639845400545)
    close(tQuantile(0.975, 7), 2.364624251592784)
    close(tCdf(-2.5, 12), 0.01395769978566262)
    // stats.binom.cdf(3, 12, 0.5)
    close(binomialCdf(3, 12, 0.5), 0.072998046875)
  })
})

describe('meanCI (CLT, t interval)', () => {
  test('matches scipy.stats.sem / t.interval / ttest_1samp', () => {
    // x = [5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1]
    const r = meanCI([5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1])
    close(r.estimate, 5.6125)
    close(r.se, 0.171586608701595)
    close(r.ci_low, 5.206762143815647)
    close(r.ci_high, 6.018237856184353)
    close(r.p_value, 6.460299869424188e-9, 1e-6)
    assert.equal(r.n, 8)
    assert.equal(r.df, 7)
  })

  test('too few items: estimate without error bars', () => {
    const one = meanCI([3])
    assert.equal(one.estimate, 3)
    assert.ok(Number.isNaN(one.ci_low))
    assert.ok(Number.isNaN(meanCI([]).estimate))
    assert.throws(() => meanCI([1, Number.NaN]), /item 1 is not a finite number/)
  })
})

describe('pairedMeanDifference', () => {
  test('matches scipy.stats.ttest_rel(c, b) and its confidence_interval', () => {
    const b = [12.1, 14.3, 11.8, 15.0, 13.2, 12.7, 14.8, 13.9, 12.2, 15.5]
    const c = [11.4, 13.9, 12.0, 13.8, 12.1, 12.5, 13.6, 13.1, 12.0, 14.2]
    const r = pairedMeanDifference(b, c)
    close(r.estimate, -0.6900000000000001, 1e-12)
    close(r.ci_low, -1.0616338605241114)
    close(r.ci_high, -0.3183661394758887)
    close(r.p_value, 0.0023064514770848106, 1e-7)
    close(r.estimate / r.se, -4.200070575187785, 1e-9)
  })
})

describe('clusteredMeanCI (CR1)', () => {
  test('matches a sandwich estimator computed with NumPy matrix algebra', () => {
    // y regressed on a constant; meat = Σ_g (X_g' e_g)(X_g' e_g)'; V = G/(G−1) · bread · meat · bread
    const y = [3.0, 4.0, 5.0, 10.0, 11.0, 2.0, 2.5, 3.5, 7.0, 8.0, 9.0, 6.0]
    const g = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4]
    const r = clusteredMeanCI(y, g)
    close(r.estimate, 5.916666666666667)
    close(r.se, 1.476735743723339)
    close(r.ci_low, 1.816590939335379)
    close(r.ci_high, 10.016742393997955)
    close(r.p_value, 0.01604203853780686, 1e-7)
    assert.equal(r.clusters, 5)
    assert.equal(r.df, 4)
  })

  test('cluster labels as a Uint32Array of indices give the same result, gaps squeezed out', () => {
    const y = [3.0, 4.0, 5.0, 10.0, 11.0, 2.0, 2.5, 3.5, 7.0, 8.0, 9.0, 6.0]
    const byLabel = clusteredMeanCI(y, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4])
    const byIndex = clusteredMeanCI(y, Uint32Array.from([0, 0, 0, 7, 7, 2, 2, 2, 3, 3, 3, 9]))
    assert.equal(byIndex.clusters, 5)
    close(byIndex.se, byLabel.se, 1e-12)
  })

  test('one item per cluster reduces to the plain CLT interval', () => {
    const x = [5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1]
    const plain = meanCI(x)
    const clustered = clusteredMeanCI(
      x,
      x.map((_, i) => `t${i}`),
    )
    close(clustered.se, plain.se, 1e-12)
    close(clustered.ci_high, plain.ci_high, 1e-12)
  })

  test('correlated clusters widen the interval beyond the naive one', () => {
    // Three identical items per cluster: the naive SE pretends there are 3× more independent items.
    const values: number[] = []
    const labels: number[] = []
    for (let k = 0; k < 20; k++)
      for (let j = 0; j < 3; j++) {
        values.push((k * 7) % 11)
        labels.push(k)
      }
    assert.ok(clusteredMeanCI(values, labels).se > meanCI(values).se * 1.5)
  })
})

describe('wilson', () => {
  test('matches scipy binomtest(...).proportion_ci(method="wilson")', () => {
    const cases: Array<[number, number, number, number]> = [
      [81, 263, 0.2552885198782742, 0.36620957698280004],
      [0, 20, 0, 0.16112515805281935],
      [15, 15, 0.7961166989641515, 1],
      [3, 10, 0.10779126740630102, 0.6032218525388546],
    ]
    for (const [k, n, lo, hi] of cases) {
      const r = wilson(k, n)
      close(r.ci_low, lo, 1e-9, `${k}/${n} low`)
      close(r.ci_high, hi, 1e-9, `${k}/${n} high`)
    }
  })

  test('zero events: rule of three, never a bare 0%', () => {
    const r = wilson(0, 300)
    assert.deepEqual(r.rule_of_three, { bound: 'upper', value: 0.01 })
    assert.match(r.note ?? '', /below 1\.0% with 95% confidence \(rule of three\), not 0%/)
    assert.equal(ruleOfThree(30), 0.1)
    const all = wilson(50, 50)
    assert.deepEqual(all.rule_of_three, { bound: 'lower', value: 0.94 })
    assert.throws(() => wilson(5, 3), /successes/)
  })
})

describe('wilcoxonSignedRank', () => {
  test('R documentation example (Hollander & Wolfe 1973, p. 29): V = 40, p = 0.03906', () => {
    // wilcox.test(x, y, paired = TRUE) in R's ?wilcox.test; p confirmed with
    // scipy.stats.wilcoxon(x, y, method='exact').pvalue = 0.0390625
    const x = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3]
    const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    const r = wilcoxonSignedRank(y, x)
    assert.equal(r.method, 'exact')
    assert.equal(r.statistic, 40)
    close(r.p_value, 0.0390625, 1e-12)
  })

  test('exact, n = 20 without ties (scipy method="exact")', () => {
    // rng = np.random.default_rng(7); wb = round(normal(10, 2, 20), 3); wc = round(wb + normal(0.5, 1, 20), 3)
    const wb = [
      10.002, 10.597, 9.452, 8.219, 9.091, 8.017, 10.12, 12.68, 9.016, 8.759, 10.98, 10.714, 10.211, 8.139,
      9.941, 11.391, 7.312, 9.085, 6.198, 7.421,
    ]
    const wc = [
      8.66, 10.862, 8.685, 8.99, 9.748, 8.33, 8.103, 12.641, 9.467, 9.372, 9.95, 10.736, 9.732, 7.83, 11.502,
      11.083, 7.779, 10.469, 6.114, 7.809,
    ]
    const r = wilcoxonSignedRank(wb, wc)
    assert.equal(r.method, 'exact')
    assert.equal(r.statistic, 116)
    close(r.p_value, 0.7011814117431641, 1e-12)
  })

  test('normal approximation with ties, zeros and continuity correction (scipy method="approx")', () => {
    const ab = [
      10, 12, 9, 14, 11, 13, 10, 12, 15, 9, 11, 10, 13, 12, 14, 8, 10, 11, 12, 13, 9, 10, 11, 14, 12,
    ]
    const ac = [11, 12, 8, 12, 11, 15, 12, 10, 13, 9, 12, 9, 11, 12, 11, 8, 12, 10, 9, 11, 9, 8, 10, 12, 13]
    const r = wilcoxonSignedRank(ab, ac)
    assert.equal(r.method, 'normal approximation')
    assert.equal(r.statistic, 49.5)
    assert.equal(r.zeros, 6)
    close(r.p_value, 0.06388045083027635, 1e-9)
    close(r.z ?? 0, -1.853013310745706, 1e-9)
  })
})

describe('mcnemar', () => {
  test('chi-square with continuity correction for many discordant pairs', () => {
    // (|150 − 86| − 1)² / 236 and stats.chi2.sf(chi2, 1)
    const r = mcnemar(150, 86)
    assert.equal(r.method, 'chi-square with continuity correction')
    close(r.statistic, 16.81779661016949, 1e-12)
    close(r.p_value, 4.114562281345944e-5, 1e-9)
  })

  test('exact binomial for few discordant pairs (scipy binomtest)', () => {
    close(mcnemar(2, 9).p_value, 0.0654296875, 1e-12)
    assert.equal(mcnemar(5, 5).p_value, 1)
    assert.equal(mcnemar(0, 0).p_value, 1)
    const paired = mcnemarPaired([true, true, false, false, true], [true, false, true, true, true])
    assert.equal(paired.b, 1)
    assert.equal(paired.c, 2)
  })
})

describe('win/tie/loss', () => {
  test('lower is better for cost, with a tolerance', () => {
    assert.deepEqual(
      winTieLoss([10, 10, 10, 10], [8, 10.0005, 12, 9.9], { better: 'lower', tolerance: 0.001 }),
      {
        wins: 2,
        ties: 1,
        losses: 1,
      },
    )
    assert.deepEqual(winTieLoss([0.5, 0.9], [0.7, 0.8], { better: 'higher' }), {
      wins: 1,
      ties: 0,
      losses: 1,
    })
  })
})

describe('multiple comparisons', () => {
  test('Benjamini–Hochberg matches scipy.stats.false_discovery_control(method="bh")', () => {
    const adjusted = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.2, 0.5])
    const expected = [0.03, 0.06, 0.06, 0.03, 0.24, 0.5]
    adjusted.forEach((p, i) => {
      close(p, expected[i] ?? Number.NaN, 1e-12)
    })
  })

  test('Holm by hand from the definition (Holm 1979)', () => {
    // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06
    const adjusted = holm([0.01, 0.04, 0.03, 0.005])
    ;[0.03, 0.06, 0.06, 0.02].forEach((p, i) => {
      close(adjusted[i] ?? Number.NaN, p, 1e-12)
    })
    const withNaN = holm([0.01, Number.NaN])
    assert.equal(withNaN[0], 0.01)
    assert.ok(Number.isNaN(withNaN[1]))
  })
})

describe('power', () => {
  test('MDE multiplier z.975 + z.80 (norm.ppf(0.975) + norm.ppf(0.8))', () => {
    close(powerMultiplier(), 2.8015852181129683)
    close(minimumDetectableEffect(0.1), 0.2801585218112968)
  })

  test('samples needed for an observed effect', () => {
    // SE 0.1 at n = 100 and an observed effect of 0.14: n · (2.8016 · 0.1 / 0.14)² = 400.45… → 401
    assert.equal(samplesNeeded(100, 0.1, 0.14), 401)
    assert.equal(samplesNeeded(100, 0.1, 0), Number.POSITIVE_INFINITY)
  })

  test('binary items: about 1,000 per arm detect ~6 points at p = 0.5 unpaired, fewer when paired', () => {
    close(mdeForProportion(0.5, 1000), 2.8015852181129683 * Math.sqrt(0.5 / 1000), 1e-12)
    assert.ok(mdeForProportion(0.5, 1000, { discordance: 0.1 }) < 0.03)
  })
})

describe('quantile (type 7)', () => {
  test('matches numpy.percentile (linear)', () => {
    close(quantile([1, 3, 4, 8, 10, 15, 21], 0.95), 19.199999999999996, 1e-12)
    assert.equal(quantile([1, 3, 4, 8, 10, 15, 21], 0.5), 8)
    close(quantile([2.0, 7.5, 1.0, 4.0], 0.3), 1.9, 1e-12)
  })
})
