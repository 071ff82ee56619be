/**
 * Two-sample statistics for the live A/B, against independently computed reference values:
 * SciPy 1.17.1 / NumPy 2.4.6 (each call written beside its numbers), R's documented examples and
 * Newcombe (1998) Table II.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRng } from './index'
import { newcombeDifference, twoProportionTest, wilsonBounds } from './proportions'
import { mannWhitney, welchMeanDifference } from './unpaired'
import { unpairedBootstrap } from './unpaired-bootstrap'

const close = (got: number, want: number, tol = 1e-9, what = '') =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`)

// R's `sleep` data (extra hours of sleep, drug 1 vs drug 2).
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

// numpy.random.default_rng(7): np.round(rng.lognormal(6, 1, 23), 3), np.round(rng.lognormal(6.3, 0.8, 31), 3)
const LOG_X = [
  403.925, 543.889, 306.698, 165.572, 256.039, 149.658, 428.437, 1541.044, 246.606, 216.919, 658.419, 576.449,
  448.278, 159.1, 391.799, 808.599, 105.192, 255.286, 60.267, 111.104, 63.96, 318.91, 113.585,
]
const LOG_Y = [
  676.553, 617.328, 468.931, 72.718, 353.911, 523.847, 596.242, 160.115, 371.592, 248.933, 285.126, 1272.475,
  285.423, 530.586, 1104.902, 341.422, 498.019, 594.887, 573.08, 204.375, 578.774, 1614.949, 157.951,
  1083.017, 599.133, 325.976, 2698.181, 1002.055, 208.631, 578.023, 863.809,
]

describe('welchMeanDifference', () => {
  test("equals Welch's t test on R's sleep data", () => {
    // scipy.stats.ttest_ind(SLEEP_2, SLEEP_1, equal_var=False) and .confidence_interval(0.95):
    // t = 1.8608134674868526, p = 0.0793941401873583, df = 17.776473516178488,
    // CI (-0.20548323071171137, 3.3654832307117104). R's t.test(extra ~ group, sleep) prints the
    // same (t = -1.8608, df = 17.776, p-value = 0.07939, CI -3.3654832 0.2054832, group 1 − 2).
    const r = welchMeanDifference(SLEEP_1, SLEEP_2)
    close(r.estimate, 1.58, 1e-12, 'estimate')
    close(r.estimate / r.se, 1.8608134674868526, 1e-9, 't')
    close(r.df, 17.776473516178488, 1e-9, 'df')
    close(r.p_value, 0.0793941401873583, 1e-7, 'p')
    close(r.ci_low, -0.20548323071171137, 1e-9, 'low')
    close(r.ci_high, 3.3654832307117104, 1e-9, 'high')
    assert.equal(r.n, 20)
    assert.equal(r.clusters, 20)
  })

  test('unequal sizes and variances (lognormal samples)', () => {
    // scipy.stats.ttest_ind(LOG_Y, LOG_X, equal_var=False): t = 2.3033963538470656,
    // p = 0.02539414202982703, df = 50.686045833780774, CI (34.20025447829727, 498.9565113001043).
    const r = welchMeanDifference(LOG_X, LOG_Y)
    close(r.estimate / r.se, 2.3033963538470656, 1e-9, 't')
    close(r.df, 50.686045833780774, 1e-9, 'df')
    close(r.p_value, 0.02539414202982703, 1e-7, 'p')
    close(r.ci_low, 34.20025447829727, 1e-9, 'low')
    close(r.ci_high, 498.9565113001043, 1e-9, 'high')
  })

  test('cluster-robust per arm, Welch–Satterthwaite across arms', () => {
    // NumPy: per arm m = v.mean(), SE = sqrt(G/(G−1) · Σ_g (Σ_{i∈g}(v_i − m))² / n²), df = G − 1;
    // SE = sqrt(SE_b² + SE_c²), df = (SE_b² + SE_c²)² / (SE_b⁴/df_b + SE_c⁴/df_c),
    // scipy.stats.t.ppf(0.975, df), 2 · t.sf(|est/SE|, df):
    // est 1.1388888888888888, SE 0.5221846986197904, df 8.515599277327341,
    // CI (-0.05269765133855642, 2.3304754291163343), p 0.05875473553661834.
    const b = [3.1, 2.4, 5.0, 4.2, 3.3, 6.1, 2.2, 4.8, 3.9, 5.5, 4.4, 2.9]
    const bc = [0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    const c = [4.0, 4.9, 3.8, 6.2, 5.1, 5.9, 4.4, 6.8, 5.0]
    const cc = ['t0', 't1', 't1', 't2', 't2', 't2', 't3', 't4', 't4']
    const r = welchMeanDifference(b, c, { baselineClusters: bc, candidateClusters: cc })
    close(r.estimate, 1.1388888888888888, 1e-12, 'estimate')
    close(r.se, 0.5221846986197904, 1e-12, 'se')
    close(r.df, 8.515599277327341, 1e-9, 'df')
    close(r.ci_low, -0.05269765133855642, 1e-9, 'low')
    close(r.ci_high, 2.3304754291163343, 1e-9, 'high')
    close(r.p_value, 0.05875473553661834, 1e-7, 'p')
    assert.equal(r.clusters, 11)
    assert.match(r.method, /cluster-robust/)
  })

  test('one item per cluster is plain Welch; too few items give NaN error bars, not a guess', () => {
    const a = welchMeanDifference(SLEEP_1, SLEEP_2)
    const b = welchMeanDifference(SLEEP_1, SLEEP_2, {
      baselineClusters: SLEEP_1.map((_, i) => `b${i}`),
      candidateClusters: SLEEP_2.map((_, i) => `c${i}`),
    })
    close(b.ci_low, a.ci_low, 1e-12, 'low')
    close(b.df, a.df, 1e-12, 'df')
    const tiny = welchMeanDifference([1], [2, 3])
    assert.ok(Number.isNaN(tiny.ci_low) && Number.isNaN(tiny.p_value))
    assert.equal(tiny.estimate, 1.5)
  })
})

describe('mannWhitney', () => {
  test("R's wilcox.test example: exact, no ties", () => {
    // ?wilcox.test: x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46),
    // y <- c(1.15, 0.88, 0.90, 0.74, 1.21); wilcox.test(x, y, alternative = "g") gives W = 35,
    // p-value = 0.1272. scipy.stats.mannwhitneyu(x, y, method='exact'): U = 35.0, two-sided
    // p = 0.2544122544122544 (one-sided 0.1272061272061272).
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    const y = [1.15, 0.88, 0.9, 0.74, 1.21]
    const r = mannWhitney(y, x)
    assert.equal(r.method, 'exact')
    assert.equal(r.statistic, 35)
    close(r.p_value, 0.2544122544122544, 1e-12, 'p')
    close(r.probability_of_superiority, 35 / 50, 1e-12, 'superiority')
    // The other direction is the mirror image: U' = n_x n_y − U, same p.
    const mirrored = mannWhitney(x, y)
    assert.equal(mirrored.statistic, 15)
    close(mirrored.p_value, 0.2544122544122544, 1e-12, 'p mirrored')
  })

  test('exact for larger samples without ties (scipy)', () => {
    // scipy.stats.mannwhitneyu(LOG_Y, LOG_X, method='exact'): U = 509.0, p = 0.0070857089220304;
    // method='asymptotic' (continuity-corrected): p = 0.007838754257581073.
    const r = mannWhitney(LOG_X, LOG_Y)
    assert.equal(r.statistic, 509)
    assert.equal(r.method, 'exact')
    close(r.p_value, 0.0070857089220304, 1e-9, 'exact p')
    const approx = mannWhitney(LOG_X, LOG_Y, { exact: false })
    close(approx.p_value, 0.007838754257581073, 1e-9, 'asymptotic p')
  })

  test("normal approximation with ties: R's airquality example", () => {
    // ?wilcox.test: wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8))
    // gives W = 127.5, p-value = 0.0001208; scipy.stats.mannwhitneyu(may, aug,
    // method='asymptotic', use_continuity=True): U = 127.5, p = 0.00012080783076877434.
    const may = [
      41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37,
    ]
    const aug = [
      39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84,
      85,
    ]
    const r = mannWhitney(aug, may)
    assert.equal(r.method, 'normal approximation')
    assert.equal(r.statistic, 127.5)
    close(r.p_value, 0.00012080783076877434, 1e-9, 'p')
    // scipy.stats.mannwhitneyu([1,2,2,3,3,3,4,5,5,6,7,7,8], [2,3,4,4,5,6,6,6,8,9,9,10]):
    // U = 48.5, p = 0.11225976717097914.
    const t = mannWhitney([2, 3, 4, 4, 5, 6, 6, 6, 8, 9, 9, 10], [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7, 8])
    assert.equal(t.statistic, 48.5)
    close(t.p_value, 0.11225976717097914, 1e-9, 'ties p')
  })
})

describe('proportions', () => {
  test("Newcombe's hybrid score interval (Newcombe 1998, Table II, method 10)", () => {
    // Published: 56/70 − 48/80: 0.0524 to 0.3339; 9/10 − 3/10: 0.1705 to 0.8090;
    // 5/56 − 0/29: −0.0381 to 0.1926. Full precision from SciPy's Wilson bounds
    // (scipy.stats.binomtest(x, n).proportion_ci(method='wilson')) put into Newcombe's formula.
    const cases: Array<[number, number, number, number, number, number]> = [
      [56, 70, 48, 80, 0.052431472402364815, 0.3338726540369059],
      [9, 10, 3, 10, 0.17052272393450302, 0.8090179735354881],
      [6, 7, 2, 7, 0.0582279274823122, 0.8062496375242278],
      [5, 56, 0, 29, -0.03813714790353688, 0.1925600138551116],
      [0, 10, 0, 20, -0.16112515805281935, 0.27753279986288926],
      [10, 10, 0, 20, 0.6790860371419147, 1.0],
    ]
    for (const [x1, n1, x2, n2, lo, hi] of cases) {
      // Our order is (baseline, candidate) and the difference candidate − baseline.
      const r = newcombeDifference(x2, n2, x1, n1)
      close(r.estimate, x1 / n1 - x2 / n2, 1e-12, `${x1}/${n1} − ${x2}/${n2}`)
      close(r.ci_low, lo, 1e-9, `${x1}/${n1} − ${x2}/${n2} low`)
      close(r.ci_high, hi, 1e-9, `${x1}/${n1} − ${x2}/${n2} high`)
    }
    const [l, h] = wilsonBounds(0, 10)
    assert.equal(l, 0)
    assert.ok(h > 0.27 && h < 0.28)
  })

  test('two-proportion z test equals Pearson χ² without correction (scipy)', () => {
    // scipy.stats.chi2_contingency([[15, 35], [25, 25]], correction=False):
    // χ² = 4.166666666666667, p = 0.041226833337163815 (R: prop.test(c(15, 25), c(50, 50), correct = FALSE)).
    const r = twoProportionTest(15, 50, 25, 50)
    close(r.statistic, 4.166666666666667, 1e-12, 'chi2')
    close(r.p_value, 0.041226833337163815, 1e-9, 'p')
    assert.ok(r.z > 0)
    // chi2_contingency([[7, 993], [19, 1481]], correction=False): χ² = 1.872033248346911, p = 0.17124239062967794.
    const e = twoProportionTest(7, 1000, 19, 1500)
    close(e.statistic, 1.872033248346911, 1e-9, 'chi2 b')
    close(e.p_value, 0.17124239062967794, 1e-9, 'p b')
    assert.equal(twoProportionTest(0, 10, 0, 20).p_value, 1)
  })
})

describe('unpairedBootstrap', () => {
  test('deterministic for a seed; point estimates are the sample statistics', () => {
    const stats = [{ kind: 'quantile', q: 0.5 } as const, { kind: 'quantile', q: 0.95 } as const]
    const a = unpairedBootstrap(LOG_X, LOG_Y, stats, { seed: 1, resamples: 2000 })
    const b = unpairedBootstrap(LOG_X, LOG_Y, stats, { seed: 1, resamples: 2000 })
    const c = unpairedBootstrap(LOG_X, LOG_Y, stats, { seed: 2, resamples: 2000 })
    assert.deepEqual(a, b)
    assert.notEqual(a[0]?.delta_ci_low, c[0]?.delta_ci_low)
    // scipy.stats.mstats.hdquantiles(LOG_X, prob=[0.5]) = 317.6836…, hdquantiles(LOG_Y, [0.5]) = 521.6427…
    // (checked against harrellDavis, itself tested against hdquantiles in bootstrap.test.ts).
    const p50 = a[0]
    assert.ok(p50)
    assert.ok(p50.delta_ci_low < p50.delta && p50.delta < p50.delta_ci_high)
    assert.ok(p50.ratio !== null && p50.ratio_ci_low !== null && p50.ratio_ci_high !== null)
    assert.ok(p50.ratio_ci_low < p50.ratio && p50.ratio < p50.ratio_ci_high)
    assert.equal(p50.n_baseline, 23)
    assert.equal(p50.n_candidate, 31)
  })

  test("the bootstrap SE of a mean difference agrees with Welch's", () => {
    const rng = createRng('welch-boot')
    const b = Array.from({ length: 400 }, () => 10 + 2 * rng.normal())
    const c = Array.from({ length: 250 }, () => 10.5 + 3 * rng.normal())
    const [boot] = unpairedBootstrap(b, c, [{ kind: 'mean' }], { seed: 3 })
    const welch = welchMeanDifference(b, c)
    assert.ok(boot)
    close(boot.delta, welch.estimate, 1e-12, 'delta')
    // The bootstrap SE is the plug-in one: √((n − 1)/n) of the CLT SE per arm, ±3% resampling noise.
    assert.ok(Math.abs(boot.delta_se / welch.se - 1) < 0.04, `${boot.delta_se} vs ${welch.se}`)
  })

  test('resampling whole clusters widens the interval when a cluster moves together', () => {
    const rng = createRng('unpaired-clusters')
    const make = (mean: number, prefix: string) => {
      const values: number[] = []
      const labels: string[] = []
      for (let g = 0; g < 50; g++) {
        const shift = 3 * rng.normal()
        for (let j = 0; j < 6; j++) {
          values.push(mean + shift + rng.normal())
          labels.push(`${prefix}${g}`)
        }
      }
      return { values, labels }
    }
    const b = make(20, 'b')
    const c = make(21, 'c')
    const stats = [{ kind: 'quantile', q: 0.5 } as const]
    const [plain] = unpairedBootstrap(b.values, c.values, stats, { resamples: 2000 })
    const [clustered] = unpairedBootstrap(b.values, c.values, stats, {
      resamples: 2000,
      baselineClusters: b.labels,
      candidateClusters: c.labels,
    })
    assert.ok(plain && clustered)
    assert.equal(clustered.clusters, 100)
    const w = (r: typeof plain) => r.delta_ci_high - r.delta_ci_low
    assert.ok(w(clustered) > 1.6 * w(plain), `${w(clustered)} vs ${w(plain)}`)
  })

  test('over the work budget it says m-out-of-n and keeps similar intervals', () => {
    const rng = createRng('unpaired-moon')
    const b = Array.from({ length: 3000 }, () => Math.exp(6 + rng.normal()))
    const c = Array.from({ length: 3000 }, () => Math.exp(6.2 + rng.normal()))
    const stats = [{ kind: 'quantile', q: 0.95 } as const]
    const [full] = unpairedBootstrap(b, c, stats, { resamples: 1000, seed: 4 })
    const [sub] = unpairedBootstrap(b, c, stats, { resamples: 1000, seed: 4, budget: 2_000_000 })
    assert.ok(full && sub)
    assert.match(sub.method, /m-out-of-n/)
    const wf = full.delta_ci_high - full.delta_ci_low
    const ws = sub.delta_ci_high - sub.delta_ci_low
    assert.ok(Math.abs(ws - wf) < 0.35 * wf, `${ws} vs ${wf}`)
  })

  test('an empty arm gives NaN intervals, not an exception', () => {
    const [r] = unpairedBootstrap([], [1, 2, 3], [{ kind: 'mean' }], { resamples: 100 })
    assert.ok(r && Number.isNaN(r.delta) && Number.isNaN(r.p_value))
  })
})

describe('coverage of the unpaired intervals (seeded simulations)', () => {
  const within = (hits: number, reps: number, what: string) => {
    const rate = hits / reps
    console.log(`# coverage ${what}: ${(rate * 100).toFixed(1)}% of ${reps}`)
    assert.ok(Math.abs(rate - 0.95) <= 0.02, `${what}: coverage ${rate} (${hits} of ${reps})`)
  }

  test('Welch interval of clustered heavy-tailed means covers the true difference 95% ± 2%', () => {
    const rng = createRng('cover-welch')
    // Lognormal(μ, 1) scaled by a cluster factor exp(0.5 Z): true mean exp(μ + 0.5 + 0.125).
    const trueMean = (mu: number) => Math.exp(mu + 0.5 + 0.125)
    const truth = trueMean(0.3) - trueMean(0)
    const arm = (mu: number, clusters: number) => {
      const v: number[] = []
      const l: number[] = []
      for (let g = 0; g < clusters; g++) {
        const f = Math.exp(0.5 * rng.normal())
        const size = 1 + rng.int(4)
        for (let j = 0; j < size; j++) {
          v.push(f * Math.exp(mu + rng.normal()))
          l.push(g)
        }
      }
      return { v, l }
    }
    const reps = 2000
    let hits = 0
    for (let r = 0; r < reps; r++) {
      const b = arm(0, 150)
      const c = arm(0.3, 120)
      const w = welchMeanDifference(b.v, c.v, { baselineClusters: b.l, candidateClusters: c.l })
      if (w.ci_low <= truth && truth <= w.ci_high) hits++
    }
    within(hits, reps, 'clustered Welch')
  })

  test('bootstrap interval of a p95 difference covers the truth 95% ± 2%', () => {
    const rng = createRng('cover-boot')
    // Lognormal(μ, 0.8): the p95 is exp(μ + 0.8 z₀.₉₅).
    const z95 = 1.6448536269514722
    const truth = Math.exp(0.4 + 0.8 * z95) - Math.exp(0.8 * z95)
    const reps = 700
    let hits = 0
    for (let r = 0; r < reps; r++) {
      const b = Array.from({ length: 300 }, () => Math.exp(0.8 * rng.normal()))
      const c = Array.from({ length: 250 }, () => Math.exp(0.4 + 0.8 * rng.normal()))
      const [p95] = unpairedBootstrap(b, c, [{ kind: 'quantile', q: 0.95 }], { resamples: 200, seed: r })
      if (p95 && p95.delta_ci_low <= truth && truth <= p95.delta_ci_high) hits++
    }
    within(hits, reps, 'p95 difference')
  })

  test('cluster bootstrap interval of a mean-cost ratio (log scale) covers the truth 95% ± 2%', () => {
    const rng = createRng('cover-ratio')
    // Cost per call = cluster factor e^(0.4 Z) · e^(μ + 0.75 W): E = e^(μ + 0.08 + 0.28125), so
    // the true ratio of means is e^(μ_c − μ_b) = e^(−0.5).
    const truth = Math.exp(-0.5)
    const arm = (mu: number, clusters: number) => {
      const v: number[] = []
      const l: number[] = []
      for (let g = 0; g < clusters; g++) {
        const f = Math.exp(0.4 * rng.normal())
        const size = 1 + rng.int(3)
        for (let j = 0; j < size; j++) {
          v.push(f * Math.exp(mu + 0.75 * rng.normal()))
          l.push(g)
        }
      }
      return { v, l }
    }
    const reps = 1000
    let hits = 0
    for (let r = 0; r < reps; r++) {
      const b = arm(0, 150)
      const c = arm(-0.5, 120)
      const [mean] = unpairedBootstrap(b.v, c.v, [{ kind: 'mean' }], {
        resamples: 300,
        seed: r,
        baselineClusters: b.l,
        candidateClusters: c.l,
      })
      if (mean && (mean.ratio_ci_low ?? 0) <= truth && truth <= (mean.ratio_ci_high ?? 0)) hits++
    }
    within(hits, reps, 'mean-cost ratio')
  })

  test('Newcombe interval of an error-rate difference covers 95% ± 2%', () => {
    const rng = createRng('cover-newcombe')
    const reps = 3000
    let hits = 0
    for (let r = 0; r < reps; r++) {
      let xb = 0
      let xc = 0
      for (let i = 0; i < 400; i++) if (rng.next() < 0.04) xb++
      for (let i = 0; i < 300; i++) if (rng.next() < 0.07) xc++
      const d = newcombeDifference(xb, 400, xc, 300)
      if (d.ci_low <= 0.03 && 0.03 <= d.ci_high) hits++
    }
    within(hits, reps, 'Newcombe')
  })
})
