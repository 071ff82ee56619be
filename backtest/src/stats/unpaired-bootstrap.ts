/**
 * Seeded bootstrap of two independent samples: each resample redraws each arm on its own (whole
 * clusters with replacement when the arm's items are clustered), so the interval of a difference
 * or ratio of percentiles reflects both arms' sampling error and nothing is paired.
 */
import {
  bootstrapSettings,
  hdWindow,
  type PairedBootstrapResult,
  percentile,
  quantileOfArranged,
  quantileSpan,
  type Statistic,
  sd,
  sortSpans,
} from './bootstrap'
import { twoSidedNormalP, zFor } from './distributions'
import { type ClusterLabels, clusterIndex, type Values } from './mean'
import { createRng, type Rng } from './rng'

export interface UnpairedBootstrapOptions {
  /** Resamples. @default 10_000 */
  resamples?: number
  /** @default 'hindsight' */
  seed?: string | number
  /** @default 0.95 */
  confidence?: number
  /** Cluster labels of each arm's items: whole clusters are resampled within their arm. */
  baselineClusters?: ClusterLabels
  candidateClusters?: ClusterLabels
  /**
   * Work budget in item-visits (resamples × items of both arms). Above it each arm draws m < G
   * clusters per resample (about 1,500 items) and the spread is rescaled by √(m/G) (m-out-of-n
   * bootstrap), stated in `method`. @default 300_000_000
   */
  budget?: number
}

/** Same fields as the paired result; `n` and `clusters` count both arms. */
export type UnpairedBootstrapResult = PairedBootstrapResult & {
  n_baseline: number
  n_candidate: number
  clusters_baseline: number
  clusters_candidate: number
}

/** One arm, arranged for resampling: items grouped by cluster, cluster sums for means. */
interface Arm {
  values: Float64Array
  n: number
  g: number
  /** Items of cluster k are members[start[k] .. start[k + 1]). */
  start: Uint32Array
  members: Float64Array
  sums: Float64Array
  sizes: Float64Array
  /** Clusters drawn per resample (g, or m < g). */
  m: number
}

function arrange(values: Values, labels: ClusterLabels | undefined): Arm {
  const n = values.length
  const v = Float64Array.from(values as ArrayLike<number>)
  for (const x of v) if (!Number.isFinite(x)) throw new RangeError('values: every item must be finite')
  if (labels && labels.length !== n) throw new RangeError(`clusters: ${labels.length} labels for ${n} values`)
  const { index, count: g } = labels ? clusterIndex(labels) : { index: null, count: n }
  const sizes = new Float64Array(g)
  const sums = new Float64Array(g)
  for (let i = 0; i < n; i++) {
    const k = index ? (index[i] ?? 0) : i
    sizes[k] = (sizes[k] ?? 0) + 1
    sums[k] = (sums[k] ?? 0) + (v[i] ?? 0)
  }
  const start = new Uint32Array(g + 1)
  for (let k = 0; k < g; k++) start[k + 1] = (start[k] ?? 0) + (sizes[k] ?? 0)
  const fill = start.slice(0, g)
  const members = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const k = index ? (index[i] ?? 0) : i
    members[fill[k] ?? 0] = v[i] ?? 0
    fill[k] = (fill[k] ?? 0) + 1
  }
  return { values: v, n, g, start, members, sums, sizes, m: g }
}

/**
 * The q-quantile of a resample arranged by `sortSpans` (sorted over the positions the estimate
 * reads): Harrell–Davis Σ x₍ₖ₊₁₎ (I_{(k+1)/T} − I_{k/T}), or type 7. Allocation-free, unlike
 * `quantileOfArranged`, which matters at 10,000 resamples × two arms.
 */
function arrangedQuantile(a: Float64Array, spec: Extract<Statistic, { kind: 'quantile' }>): number {
  const total = a.length
  if (total === 0) return Number.NaN
  if (spec.estimator === 'type7' || total === 1 || spec.q <= 0 || spec.q >= 1)
    return percentile(a, spec.q, total)
  const { start, cdf } = hdWindow(total, spec.q)
  let sum = 0
  for (let k = start; k < start + cdf.length - 1 && k < total; k++)
    sum += (a[k] ?? 0) * ((cdf[k + 1 - start] ?? 0) - (cdf[k - start] ?? 0))
  return sum
}

/**
 * Unpaired bootstrap of statistics (Harrell–Davis quantiles by default, or means) of two
 * independent arms. Point estimates are the sample statistics; intervals are estimate ± z ·
 * bootstrap SE, on the log scale for ratios and positive arm values (the same interval rule as
 * {@link pairedBootstrap}); the p-value is from Δ / SE*.
 */
export function unpairedBootstrap(
  baseline: Values,
  candidate: Values,
  statistics: Statistic[],
  options: UnpairedBootstrapOptions = {},
): UnpairedBootstrapResult[] {
  const { confidence, resamples } = bootstrapSettings(statistics, options, 2)
  const arms = [
    arrange(baseline, options.baselineClusters),
    arrange(candidate, options.candidateClusters),
  ] as const
  const [b, c] = arms
  const hasQuantiles = statistics.some((s) => s.kind === 'quantile')
  const budget = options.budget ?? 300_000_000
  // Means need only cluster sums (a draw is a few array reads): a third of the budget, as the
  // paired bootstrap does.
  const limit = hasQuantiles ? budget : budget / 3
  const work = hasQuantiles ? resamples * (b.n + c.n) : resamples * (b.g + c.g)
  let rescaled = false
  if (work > limit) {
    for (const arm of arms) {
      const perCluster = arm.n / Math.max(1, arm.g)
      const items = Math.min(1500, limit / resamples / 2)
      const target = hasQuantiles ? Math.round(items / perCluster) : Math.floor(limit / resamples / 2)
      if (target < arm.g) {
        arm.m = Math.max(2, target)
        rescaled = true
      }
    }
  }

  const quantileSpecs = statistics.filter(
    (s): s is Extract<Statistic, { kind: 'quantile' }> => s.kind === 'quantile',
  )
  const pointOf = (arm: Arm) => {
    const sorted = hasQuantiles ? arm.values.slice().sort() : null
    let sum = 0
    for (const x of arm.values) sum += x
    return statistics.map((s) =>
      arm.n === 0
        ? Number.NaN
        : s.kind === 'mean'
          ? sum / arm.n
          : quantileOfArranged(sorted as Float64Array, s),
    )
  }
  const point = [pointOf(b), pointOf(c)] as const

  const rng: Rng = createRng(options.seed ?? 'hindsight')
  const stars = [
    statistics.map(() => new Float64Array(resamples)),
    statistics.map(() => new Float64Array(resamples)),
  ] as const
  let buffer = new Float64Array(4096)
  const draw = (arm: Arm, out: Float64Array[], r: number) => {
    let total = 0
    let sum = 0
    let k = 0
    for (let d = 0; d < arm.m; d++) {
      const cluster = rng.int(arm.g)
      total += arm.sizes[cluster] ?? 0
      sum += arm.sums[cluster] ?? 0
      if (!hasQuantiles) continue
      const from = arm.start[cluster] ?? 0
      const to = arm.start[cluster + 1] ?? from
      if (k + (to - from) > buffer.length) {
        const grown = new Float64Array(Math.max(buffer.length * 2, k + (to - from)))
        grown.set(buffer.subarray(0, k))
        buffer = grown
      }
      for (let at = from; at < to; at++) buffer[k++] = arm.members[at] ?? 0
    }
    if (hasQuantiles) {
      const sample = buffer.subarray(0, k)
      sortSpans(
        sample,
        quantileSpecs.map((s) => quantileSpan(s, k)),
      )
      statistics.forEach((s, i) => {
        ;(out[i] as Float64Array)[r] =
          s.kind === 'mean' ? (total > 0 ? sum / total : Number.NaN) : arrangedQuantile(sample, s)
      })
    } else {
      for (let i = 0; i < statistics.length; i++)
        (out[i] as Float64Array)[r] = total > 0 ? sum / total : Number.NaN
    }
  }
  const empty = b.n === 0 || c.n === 0
  if (!empty) {
    for (let r = 0; r < resamples; r++) {
      draw(b, stars[0], r)
      draw(c, stars[1], r)
    }
  }

  const z = zFor(confidence)
  const scaleB = Math.sqrt(b.m / Math.max(1, b.g))
  const scaleC = Math.sqrt(c.m / Math.max(1, c.g))
  const clustered = options.baselineClusters !== undefined || options.candidateClusters !== undefined
  const method =
    `unpaired ${clustered ? 'cluster ' : ''}bootstrap (each arm resampled on its own), ${resamples} resamples` +
    (rescaled
      ? `, m-out-of-n (m = ${b.m} of ${b.g} and ${c.m} of ${c.g} ${clustered ? 'clusters' : 'items'}, rescaled by √(m/n))`
      : '') +
    ', normal intervals with the bootstrap standard error (log scale for ratios)'
  return statistics.map((spec, s) => {
    const pb = point[0][s] ?? Number.NaN
    const pc = point[1][s] ?? Number.NaN
    const sb = stars[0][s] as Float64Array
    const sc = stars[1][s] as Float64Array
    const delta = pc - pb
    // The arms are independent: Var(Δ*) = Var(θ_b*) + Var(θ_c*), each rescaled for m out of n.
    const seB = sd(sb, empty ? 0 : resamples) * scaleB
    const seC = sd(sc, empty ? 0 : resamples) * scaleC
    const deltaSe = Math.sqrt(seB * seB + seC * seC)
    const positive = (stars: Float64Array) => !empty && stars.every((x) => x > 0)
    const logSd = (stars: Float64Array, scale: number) => sd(stars.map(Math.log), resamples) * scale
    const ratioOk = pb > 0 && pc > 0 && positive(sb) && positive(sc)
    const lseB = ratioOk ? logSd(sb, scaleB) : Number.NaN
    const lseC = ratioOk ? logSd(sc, scaleC) : Number.NaN
    const logRatio = ratioOk ? Math.log(pc / pb) : Number.NaN
    const lrSe = Math.sqrt(lseB * lseB + lseC * lseC)
    const armInterval = (estimate: number, stars: Float64Array, scale: number, se: number) => {
      if (estimate > 0 && positive(stars)) {
        const l = logSd(stars, scale)
        return [estimate * Math.exp(-z * l), estimate * Math.exp(z * l)] as const
      }
      return [estimate - z * se, estimate + z * se] as const
    }
    const [bl, bh] = armInterval(pb, sb, scaleB, seB)
    const [cl, ch] = armInterval(pc, sc, scaleC, seC)
    return {
      statistic: spec,
      baseline: pb,
      candidate: pc,
      delta,
      delta_ci_low: delta - z * deltaSe,
      delta_ci_high: delta + z * deltaSe,
      ratio: ratioOk ? Math.exp(logRatio) : null,
      ratio_ci_low: ratioOk ? Math.exp(logRatio - z * lrSe) : null,
      ratio_ci_high: ratioOk ? Math.exp(logRatio + z * lrSe) : null,
      baseline_ci_low: bl,
      baseline_ci_high: bh,
      candidate_ci_low: cl,
      candidate_ci_high: ch,
      p_value: Number.isFinite(deltaSe)
        ? deltaSe > 0
          ? twoSidedNormalP(delta / deltaSe)
          : delta === 0
            ? 1
            : 0
        : Number.NaN,
      delta_se: deltaSe,
      n: b.n + c.n,
      clusters: b.g + c.g,
      resamples,
      method,
      n_baseline: b.n,
      n_candidate: c.n,
      clusters_baseline: b.g,
      clusters_candidate: c.g,
    }
  })
}
