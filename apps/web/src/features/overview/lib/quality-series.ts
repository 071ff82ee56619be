/**
 * Score trends for the overview: per score name, the mean per bucket with its 95% interval, as a
 * prepared chart model (CODE-STYLE.md 11). A pass rate (boolean scores) gets a Wilson interval; a
 * mean of numeric scores a t interval from its standard error (STATISTICS.md). Scores are counted
 * per trace, as every quality figure is, and treated as independent within a bucket; a mean's
 * interval is kept within the smallest and largest value seen. Buckets are
 * coarser than the cost and latency charts' (about {@link MAX_QUALITY_BUCKETS} over the range):
 * scores are sparse, and a mean of two scores per hour is noise. Buckets without scores stay null.
 */
import { stats } from '@hindsight/backtest'
import type { ScoreDistribution, ScoreNameMeanRow } from '@hindsight/quality'
import { MAX_QUALITY_BUCKETS } from './quality-limits'
import { bucketStarts } from './series'

export interface QualityPoint {
  /** Bucket start, epoch ms. */
  t: number
  mean: number | null
  n: number
  /** [low, high] of the 95% interval; null without an interval (no score, or one numeric score). */
  band: [number, number] | null
}

export interface QualityTrend {
  name: string
  /** Every score of the name is boolean: the mean is a pass rate in [0, 1]. */
  rate: boolean
  /** Scores over the whole range. */
  n: number
  points: QualityPoint[]
  /** How the values spread over the range (numeric scores; null for pass rates). */
  distribution: ScoreDistribution | null
}

export interface QualitySeries {
  intervalSeconds: number
  trends: QualityTrend[]
}

/**
 * A whole multiple of the charts' bucket, so that about MAX_QUALITY_BUCKETS cover the range
 * (rounded: a 24 h range that ends a minute from now stays in hours).
 */
export function qualityInterval(range: { from: Date; to: Date }, chartIntervalSeconds: number): number {
  const seconds = (range.to.getTime() - range.from.getTime()) / 1000
  const multiple = Math.max(1, Math.round(seconds / MAX_QUALITY_BUCKETS / chartIntervalSeconds))
  return chartIntervalSeconds * multiple
}

/** The interval, kept within the values seen: a mean of scores cannot lie outside them. */
function band(row: ScoreNameMeanRow, total: ScoreNameMeanRow): [number, number] | null {
  const raw = rawBand(row, total.rate)
  if (!raw) return null
  const lo = total.value_min ?? Number.NEGATIVE_INFINITY
  const hi = total.value_max ?? Number.POSITIVE_INFINITY
  return [Math.max(raw[0], lo), Math.min(raw[1], hi)]
}

function rawBand(row: ScoreNameMeanRow, rate: boolean): [number, number] | null {
  const mean = row.score_mean
  if (mean === null || row.score_n < 1) return null
  if (rate) {
    const passes = Math.round(mean * row.score_n)
    const w = stats.wilson(passes, row.score_n)
    return [w.ci_low, w.ci_high]
  }
  if (row.score_n < 2 || row.score_stderr === null) return null
  const half = stats.tQuantile(0.975, row.score_n - 1) * row.score_stderr
  return [mean - half, mean + half]
}

/**
 * @param rows bucketed means by name (`getScoreMeansByName` with `intervalSeconds`)
 * @param totals the names' whole-range rows (no bucket): their order and counts
 */
export function buildQualitySeries(
  range: { from: Date; to: Date },
  intervalSeconds: number,
  rows: ScoreNameMeanRow[],
  totals: ScoreNameMeanRow[],
  distributions: ScoreDistribution[] = [],
): QualitySeries {
  const grid = bucketStarts(range.from, range.to, intervalSeconds)
  const trends = totals.map((total): QualityTrend => {
    const byBucket = new Map<number, ScoreNameMeanRow>()
    for (const row of rows) {
      if (row.name !== total.name || !row.bucket) continue
      byBucket.set(Date.parse(row.bucket), row)
    }
    const times = [...new Set([...grid, ...byBucket.keys()])].sort((a, b) => a - b)
    return {
      name: total.name,
      rate: total.rate,
      n: total.score_n,
      distribution: total.rate ? null : (distributions.find((d) => d.name === total.name) ?? null),
      points: times.map((t) => {
        const row = byBucket.get(t)
        return row
          ? { t, mean: row.score_mean, n: row.score_n, band: band(row, total) }
          : { t, mean: null, n: 0, band: null }
      }),
    }
  })
  return { intervalSeconds, trends }
}
