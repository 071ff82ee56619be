import type { SpanKind } from '../conventions'
import type { Storage } from '../storage/client'
import { priceSpan } from './price-span'
import type { PriceTableResolver } from './project-prices'

export interface RepriceOptions {
  /** Only this project's spans; all projects with spans in the range when absent. */
  projectId?: string
  /** Start of the range (inclusive), on span start time. */
  from: Date
  /** End of the range (exclusive). */
  to: Date
  /** The price table of each project (e.g. a {@link ProjectPriceResolver}). */
  resolver: PriceTableResolver
  /** Spans read per query, and so the bound on rows held in memory. @default 5000 */
  chunkSize?: number
  /** Recomputed spans rewritten per INSERT (their keys travel as query parameters). @default 2000 */
  writeBatchSize?: number
  /** Clock in ms (the rewritten rows' `ingested_at` is at least this). @default Date.now */
  now?: () => number
}

export interface RepriceResult {
  /** Projects that had spans in the range. */
  projects: number
  /** Spans read (after de-duplication). */
  spans_scanned: number
  /** Spans whose cost, price version or pricing note changed (and were rewritten). */
  spans_changed: number
  /** Sum of `cost_usd` over the scanned spans before and after, 9-decimal strings. */
  cost_before_usd: string
  cost_after_usd: string
}

interface StoredSpan {
  trace_id: string
  span_id: string
  start_text: string
  kind: SpanKind
  provider: string
  model: string
  input_tokens: number | string
  output_tokens: number | string
  cache_read_tokens: number | string
  cache_write_tokens: number | string
  cost_usd: string | null
  price_version: string
  pricing_note: string
}

interface Change {
  key: string
  cost: string
  version: string
  note: string
}

/** A time range of spans small enough to read in a few chunks. */
type Window = {
  from: string
  to: string
}

const TIME = "DateTime64(6, 'UTC')"
const HOUR_MS = 3_600_000

/** DateTime64(6) text form of a Date, UTC, without losing milliseconds. */
function chTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000')
}

/** A 9-decimal (or shorter) USD string → nanodollars. */
function nanos(usd: string | null): bigint {
  if (usd === null || usd === '') return 0n
  const negative = usd.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? usd.slice(1) : usd).split('.')
  const value = BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9))
  return negative ? -value : value
}

function usd(nano: bigint): string {
  const negative = nano < 0n
  const abs = negative ? -nano : nano
  return `${negative ? '-' : ''}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`
}

const sameCost = (a: string | null, b: string | null) =>
  a === null || b === null ? a === b : nanos(a) === nanos(b)

/**
 * Recompute `cost_usd`, `price_version` and `pricing_note` of stored spans whose start time is in
 * `[from, to)`, from their stored tokens and the table `resolver` gives their project now, so a
 * price fix (built-in or custom) also fixes history.
 *
 * Spans are read in chunks (bounded memory). A changed span is rewritten with INSERT … SELECT of
 * its current row with the new price columns and a newer `ingested_at`: the spans table is a
 * ReplacingMergeTree on `ingested_at`, so every read with FINAL sees exactly the new version,
 * content never leaves the engine, and the old version is dropped by the next merge. Unchanged
 * spans are not written. Safe to run again (a second run changes nothing) and beside live ingest
 * (a span re-sent meanwhile is priced by ingest with the same resolver).
 */
export async function repriceSpans(storage: Storage, options: RepriceOptions): Promise<RepriceResult> {
  if (!(options.from.getTime() < options.to.getTime())) throw new RangeError('from: must be before to')
  const chunkSize = Math.max(1, options.chunkSize ?? 5000)
  const writeBatchSize = Math.max(1, options.writeBatchSize ?? 2000)
  const now = options.now ?? Date.now
  const range = { from: chTime(options.from), to: chTime(options.to) }
  const result = { projects: 0, spans_scanned: 0, spans_changed: 0, before: 0n, after: 0n }

  const projectIds =
    options.projectId !== undefined ? [options.projectId] : await projectsInRange(storage, range)
  for (const projectId of projectIds) {
    const windows = await windowsOf(storage, projectId, range, chunkSize)
    if (windows.length === 0) continue
    result.projects += 1
    const table = await options.resolver.tableFor(projectId)
    for (const window of windows) {
      let after = { trace_id: '', span_id: '', start_time: '1900-01-01 00:00:00.000000' }
      for (;;) {
        const page = await readChunk(storage, projectId, window, after, chunkSize)
        const changes: Change[] = []
        for (const span of page) {
          const tokens = {
            input_tokens: Number(span.input_tokens),
            output_tokens: Number(span.output_tokens),
            cache_read_tokens: Number(span.cache_read_tokens),
            cache_write_tokens: Number(span.cache_write_tokens),
          }
          const price = priceSpan({ ...span, ...tokens, start_time: span.start_text }, table)
          result.before += nanos(span.cost_usd)
          result.after += nanos(price.cost_usd)
          if (
            !sameCost(span.cost_usd, price.cost_usd) ||
            span.price_version !== price.price_version ||
            span.pricing_note !== price.pricing_note
          ) {
            changes.push({
              key: `${span.trace_id}${span.span_id}${span.start_text}`,
              cost: price.cost_usd ?? '',
              version: price.price_version,
              note: price.pricing_note,
            })
          }
        }
        result.spans_scanned += page.length
        for (let i = 0; i < changes.length; i += writeBatchSize) {
          await rewrite(storage, projectId, window, changes.slice(i, i + writeBatchSize), now())
        }
        result.spans_changed += changes.length
        const last = page[page.length - 1]
        if (!last || page.length < chunkSize) break
        after = { trace_id: last.trace_id, span_id: last.span_id, start_time: last.start_text }
      }
    }
  }
  return {
    projects: result.projects,
    spans_scanned: result.spans_scanned,
    spans_changed: result.spans_changed,
    cost_before_usd: usd(result.before),
    cost_after_usd: usd(result.after),
  }
}

async function projectsInRange(storage: Storage, range: Window): Promise<string[]> {
  const result = await storage.client.query({
    query: `SELECT DISTINCT project_id FROM ${storage.database}.spans
      WHERE start_time >= {from:${TIME}} AND start_time < {to:${TIME}} ORDER BY project_id`,
    query_params: range,
    format: 'JSONEachRow',
  })
  return (await result.json<{ project_id: string }>()).map((r) => r.project_id)
}

/**
 * Consecutive hours grouped into windows of about `chunkSize` rows (counted without FINAL, so at
 * most a little over), clipped to the range. An hour with more rows is its own window, read in
 * several chunks.
 */
async function windowsOf(
  storage: Storage,
  projectId: string,
  range: Window,
  chunkSize: number,
): Promise<Window[]> {
  const result = await storage.client.query({
    query: `SELECT toUnixTimestamp(toStartOfHour(start_time)) AS hour, count() AS n
      FROM ${storage.database}.spans
      WHERE project_id = {projectId:String} AND start_time >= {from:${TIME}} AND start_time < {to:${TIME}}
      GROUP BY hour ORDER BY hour`,
    query_params: { projectId, ...range },
    format: 'JSONEachRow',
  })
  const hours = (await result.json<{ hour: number | string; n: number | string }>()).map((r) => ({
    start: Number(r.hour) * 1000,
    n: Number(r.n),
  }))
  const windows: Window[] = []
  const clip = (ms: number) => {
    const text = chTime(new Date(ms))
    if (text < range.from) return range.from
    if (text > range.to) return range.to
    return text
  }
  let open: { start: number; end: number; n: number } | null = null
  for (const hour of hours) {
    if (open && open.end === hour.start && open.n + hour.n <= chunkSize) {
      open.end = hour.start + HOUR_MS
      open.n += hour.n
      continue
    }
    if (open) windows.push({ from: clip(open.start), to: clip(open.end) })
    open = { start: hour.start, end: hour.start + HOUR_MS, n: hour.n }
  }
  if (open) windows.push({ from: clip(open.start), to: clip(open.end) })
  return windows
}

async function readChunk(
  storage: Storage,
  projectId: string,
  window: Window,
  after: { trace_id: string; span_id: string; start_time: string },
  limit: number,
): Promise<StoredSpan[]> {
  const result = await storage.client.query({
    // Start time as text under another name: a SELECT alias would shadow the column in WHERE.
    query: `SELECT trace_id, span_id, toString(start_time) AS start_text, kind, provider, model,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
        toString(cost_usd) AS cost_usd, price_version, pricing_note
      FROM ${storage.database}.spans FINAL
      WHERE project_id = {projectId:String}
        AND start_time >= {from:${TIME}} AND start_time < {to:${TIME}}
        AND trace_id >= {afterTrace:String}
        AND (trace_id, span_id, start_time) > ({afterTrace:String}, {afterSpan:String}, {afterStart:${TIME}})
      ORDER BY trace_id, span_id, start_time
      LIMIT {limit:UInt32}`,
    query_params: {
      projectId,
      ...window,
      afterTrace: after.trace_id,
      afterSpan: after.span_id,
      afterStart: after.start_time,
      limit,
    },
    format: 'JSONEachRow',
  })
  return result.json<StoredSpan>()
}

/** Re-insert the current rows of `changes` with their new price columns and a newer ingested_at. */
async function rewrite(
  storage: Storage,
  projectId: string,
  window: Window,
  changes: Change[],
  nowMs: number,
): Promise<void> {
  const key = 'concat(trace_id, span_id, toString(start_time))'
  await storage.client.command({
    query: `INSERT INTO ${storage.database}.spans
      SELECT * REPLACE (
        CAST(nullIf(transform(${key}, {keys:Array(String)}, {costs:Array(String)}, ''), '') AS Nullable(Decimal(18, 9))) AS cost_usd,
        transform(${key}, {keys:Array(String)}, {versions:Array(String)}, price_version) AS price_version,
        transform(${key}, {keys:Array(String)}, {notes:Array(String)}, pricing_note) AS pricing_note,
        greatest(ingested_at + toIntervalMillisecond(1), {now:DateTime64(3, 'UTC')}) AS ingested_at
      )
      FROM ${storage.database}.spans FINAL
      WHERE project_id = {projectId:String}
        AND start_time >= {from:${TIME}} AND start_time < {to:${TIME}}
        AND ${key} IN (SELECT arrayJoin({keys:Array(String)}))`,
    query_params: {
      projectId,
      ...window,
      keys: changes.map((c) => c.key),
      costs: changes.map((c) => c.cost),
      versions: changes.map((c) => c.version),
      notes: changes.map((c) => c.note),
      now: new Date(nowMs).toISOString().replace('T', ' ').slice(0, 23),
    },
  })
}
