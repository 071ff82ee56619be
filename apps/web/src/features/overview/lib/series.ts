/**
 * Turns metric rows into the prepared chart model the overview renders (CODE-STYLE.md 11:
 * charts only render a prepared model). Every bucket of the range is present; a bucket without
 * data carries null, never 0, so charts show a gap instead of a fake dip.
 */
import type { MetricsRow } from '@hindsight/dashboards'

/** Most models drawn as their own series; the rest are summed into `OTHER_MODELS`. */
export const MAX_MODEL_SERIES = 8
export const OTHER_MODELS = 'other'

export interface CostPoint {
  /** Bucket start, epoch ms. */
  t: number
  byModel: Record<string, number | null>
}

export interface LatencyPoint {
  t: number
  p50: number | null
  p95: number | null
  p99: number | null
  /** Median time to first token of the bucket's streamed calls; null when none streamed. */
  ttft_p50: number | null
}

export interface TokenPoint {
  t: number
  input: number | null
  output: number | null
  cache_read: number | null
}

export interface ErrorPoint {
  t: number
  /** Failed calls in the bucket; null when the bucket has no call. */
  errors: number | null
  /** errors / calls; null when the bucket has no call. */
  rate: number | null
}

export interface OverviewSeries {
  intervalSeconds: number
  /** Models of the cost chart, most expensive first; may end with `OTHER_MODELS`. */
  models: string[]
  cost: CostPoint[]
  latency: LatencyPoint[]
  tokens: TokenPoint[]
  errors: ErrorPoint[]
}

/** Bucket starts covering [from, to), aligned to the epoch like ClickHouse's toStartOfInterval. */
export function bucketStarts(from: Date, to: Date, intervalSeconds: number): number[] {
  const step = intervalSeconds * 1000
  const out: number[] = []
  // Bounded so a malformed interval can never produce a runaway loop.
  for (let t = Math.floor(from.getTime() / step) * step; t < to.getTime() && out.length < 5000; t += step) {
    out.push(t)
  }
  return out
}

function bucketTime(row: MetricsRow): number | null {
  if (!row.bucket) return null
  const t = Date.parse(row.bucket.includes('T') ? row.bucket : `${row.bucket.replace(' ', 'T')}Z`)
  return Number.isFinite(t) ? t : null
}

/** Bucket starts of the range plus any bucket the rows have that the grid missed. */
function timeline(buckets: number[], rows: MetricsRow[]): number[] {
  const all = new Set(buckets)
  for (const row of rows) {
    const t = bucketTime(row)
    if (t !== null) all.add(t)
  }
  return [...all].sort((a, b) => a - b)
}

function addNullable(a: number | null | undefined, b: number | null): number | null {
  if (b === null) return a ?? null
  return (a ?? 0) + b
}

/**
 * Build the overview chart model.
 * @param byModelRows metrics grouped by model, with buckets
 * @param totalRows metrics with buckets, no grouping (latency percentiles cannot be summed)
 */
export function buildOverviewSeries(
  range: { from: Date; to: Date },
  intervalSeconds: number,
  byModelRows: MetricsRow[],
  totalRows: MetricsRow[],
): OverviewSeries {
  const grid = bucketStarts(range.from, range.to, intervalSeconds)
  const times = timeline(grid, [...byModelRows, ...totalRows])

  const costByModel = new Map<string, number>()
  for (const row of byModelRows) {
    const model = row.group || '(none)'
    costByModel.set(model, (costByModel.get(model) ?? 0) + (row.cost_usd ?? 0))
  }
  const ranked = [...costByModel.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  const shown = new Set(ranked.slice(0, MAX_MODEL_SERIES).map(([m]) => m))
  const models = ranked.slice(0, MAX_MODEL_SERIES).map(([m]) => m)
  if (ranked.length > MAX_MODEL_SERIES) models.push(OTHER_MODELS)

  const cost = new Map<number, CostPoint>(times.map((t) => [t, { t, byModel: {} }]))
  for (const row of byModelRows) {
    const t = bucketTime(row)
    const point = t === null ? undefined : cost.get(t)
    if (!point) continue
    const model = row.group || '(none)'
    const key = shown.has(model) ? model : OTHER_MODELS
    point.byModel[key] = addNullable(point.byModel[key], row.cost_usd)
  }
  for (const point of cost.values()) {
    for (const model of models) if (!(model in point.byModel)) point.byModel[model] = null
  }

  const totals = new Map<number, MetricsRow>()
  for (const row of totalRows) {
    const t = bucketTime(row)
    if (t !== null) totals.set(t, row)
  }
  const latency: LatencyPoint[] = []
  const tokens: TokenPoint[] = []
  const errors: ErrorPoint[] = []
  for (const t of times) {
    const row = totals.get(t)
    latency.push({
      t,
      p50: row?.p50_ms ?? null,
      p95: row?.p95_ms ?? null,
      p99: row?.p99_ms ?? null,
      ttft_p50: row?.ttft_p50_ms ?? null,
    })
    tokens.push({
      t,
      input: row ? row.input_tokens : null,
      output: row ? row.output_tokens : null,
      cache_read: row ? row.cache_read_tokens : null,
    })
    errors.push({
      t,
      errors: row ? row.errors : null,
      rate: row && row.calls > 0 ? row.errors / row.calls : null,
    })
  }

  return { intervalSeconds, models, cost: [...cost.values()], latency, tokens, errors }
}
