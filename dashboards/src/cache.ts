/**
 * Prompt-cache savings over a range: how much of the input was read from the provider's cache,
 * what those reads saved against the input price, what cache writes cost above it (Anthropic's
 * write premium, 1-hour writes at their own price), and the net. Dollars come from the price
 * table given (the project's effective table: custom prices first), at each day's price, with
 * long-context tiers applied per call (calls are grouped by how many tier thresholds their input
 * exceeds). Savings are a what-if figure, computed here rather than stored: nothing to re-price.
 * Only LLM calls count (embeddings have no prompt cache and would dilute the hit rate).
 */
import { HINDSIGHT } from '@hindsight/collector/conventions'
import { findPrice, type PriceTable, ratesFor } from '@hindsight/collector/pricing'
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { and, scope, spanConditions } from './filters'
import { count, queryRows, spansFinal } from './query'
import { assertRange } from './time'
import type { SpanFilter, TimeRange } from './types'

export interface CacheTotals {
  calls: number
  /** Calls that read or wrote the cache. */
  cached_calls: number
  /** Input tokens, cached ones included (the GenAI convention). */
  input_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  /** cache_read_tokens / input_tokens; null without input. */
  hit_rate: number | null
  /** What the cache reads saved against paying the input price for them; null when none is priced. */
  read_savings_usd: number | null
  /** What the cache writes cost above the input price; null when none is priced. */
  write_premium_usd: number | null
  /** read savings − write premium; null when no cached token is priced. */
  net_savings_usd: number | null
}

export interface CacheModelRow extends CacheTotals {
  provider: string
  model: string
}

export interface CacheSavings extends CacheTotals {
  /** Models with any cache traffic, largest net savings first, unpriced ones last. */
  by_model: CacheModelRow[]
  /** Cache tokens of models missing from the price table: counted in tokens, not in dollars. */
  unpriced_cache_tokens: number
}

const row = z.object({
  provider: z.string(),
  model: z.string(),
  day_s: count,
  band: count,
  calls: count,
  cached_calls: count,
  sum_input: count,
  sum_read: count,
  sum_write: count,
  sum_write_1h: count,
})

/** Every tier threshold of the table: a call's band is how many of them its input exceeds. */
function thresholds(table: PriceTable): number[] {
  const all = new Set<number>()
  for (const entry of [...table.entries, ...(table.overrides?.entries ?? [])]) {
    for (const tier of entry.tiers ?? []) all.add(tier.above_input_tokens)
  }
  return [...all].sort((a, b) => a - b)
}

function emptyTotals(): CacheTotals {
  return {
    calls: 0,
    cached_calls: 0,
    input_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    hit_rate: null,
    read_savings_usd: null,
    write_premium_usd: null,
    net_savings_usd: null,
  }
}

const add = (a: number | null, b: number): number => (a ?? 0) + b

function finish<T extends CacheTotals>(t: T): T {
  t.hit_rate = t.input_tokens > 0 ? t.cache_read_tokens / t.input_tokens : null
  t.net_savings_usd =
    t.read_savings_usd === null && t.write_premium_usd === null
      ? null
      : (t.read_savings_usd ?? 0) - (t.write_premium_usd ?? 0)
  return t
}

export async function getCacheSavings(
  storage: Storage,
  projectId: string,
  q: TimeRange & { filter?: SpanFilter },
  table: PriceTable,
): Promise<CacheSavings> {
  assertRange(q)
  const where = scope(projectId, q)
  const filters = spanConditions({ ...q.filter, kind: ['llm'] })
  const bands = thresholds(table)
  // Aliases never reuse a column name: ClickHouse would substitute the alias inside other expressions.
  const sql = `SELECT provider, model,
      toUnixTimestamp(toStartOfDay(start_time)) AS day_s,
      arrayCount(x -> input_tokens > x, {thresholds:Array(UInt64)}) AS band,
      count() AS calls,
      countIf(cache_read_tokens > 0 OR cache_write_tokens > 0) AS cached_calls,
      sum(input_tokens) AS sum_input,
      sum(cache_read_tokens) AS sum_read,
      sum(cache_write_tokens) AS sum_write,
      sum(least(toUInt64(round(greatest(toFloat64OrZero(attributes[{write_1h_key:String}]), 0))), cache_write_tokens)) AS sum_write_1h
    FROM ${spansFinal(storage)}
    WHERE ${and([...where.conditions, ...filters.conditions])}
    GROUP BY provider, model, day_s, band`
  const rows = await queryRows(
    storage,
    sql,
    {
      ...where.params,
      ...filters.params,
      thresholds: bands,
      write_1h_key: HINDSIGHT.usageCacheCreation1hInputTokens,
    },
    row,
  )

  const total: CacheSavings = { ...emptyTotals(), by_model: [], unpriced_cache_tokens: 0 }
  const models = new Map<string, CacheModelRow>()
  for (const r of rows) {
    const key = `${r.provider}\u0000${r.model}`
    const m = models.get(key) ?? { provider: r.provider, model: r.model, ...emptyTotals() }
    models.set(key, m)
    for (const t of [m, total]) {
      t.calls += r.calls
      t.cached_calls += r.cached_calls
      t.input_tokens += r.sum_input
      t.cache_read_tokens += r.sum_read
      t.cache_write_tokens += r.sum_write
    }
    if (r.sum_read === 0 && r.sum_write === 0) continue
    const entry = findPrice(table, r.provider, r.model, new Date(r.day_s * 1000))
    if (!entry) {
      total.unpriced_cache_tokens += r.sum_read + r.sum_write
      continue
    }
    // Any input inside the band selects the same tier (bands split at every threshold).
    const rates = ratesFor(entry, (bands[r.band - 1] ?? 0) + 1)
    const read = rates.cache_read ?? rates.input
    const write = rates.cache_write ?? rates.input
    const write1h = rates.cache_write_1h ?? write
    const saved = (r.sum_read * (rates.input - read)) / 1e6
    const premium =
      ((r.sum_write - r.sum_write_1h) * (write - rates.input) + r.sum_write_1h * (write1h - rates.input)) /
      1e6
    for (const t of [m, total]) {
      t.read_savings_usd = add(t.read_savings_usd, saved)
      t.write_premium_usd = add(t.write_premium_usd, premium)
    }
  }
  total.by_model = [...models.values()]
    .filter((m) => m.cache_read_tokens > 0 || m.cache_write_tokens > 0)
    .map(finish)
    .sort(
      (a, b) =>
        Number(a.net_savings_usd === null) - Number(b.net_savings_usd === null) ||
        (b.net_savings_usd ?? 0) - (a.net_savings_usd ?? 0) ||
        b.cache_read_tokens - a.cache_read_tokens,
    )
  return finish(total)
}
