/**
 * Re-pricing recorded token usage with the collector's price table and cost function: totals are
 * exact (the collector's integer picodollar arithmetic on aggregated tokens, per price), per-call
 * values are floats for the statistics.
 */
import { computeCostUsd, findPrice, type PriceEntry, type PriceTable } from '@hindsight/collector'
import type { CacheRule } from './caching/rules'
import type { CandidateSpec } from './candidate'

/** Token usage per call, canonical semantics (input includes cache reads and writes). */
export interface UsageColumns {
  input: Float64Array
  output: Float64Array
  read: Float64Array
  write: Float64Array
  /** Part of `write` at the 1-hour price. */
  write1h?: Float64Array
}

export interface PricedCalls {
  /** USD per call; NaN when the call has no price. */
  perCall: Float64Array
  /** Exact total over priced calls, USD with 9 decimals. */
  totalUsd: string
  unpriced: number
}

/** USD decimal string → nanodollars (exact). */
export function toNano(usd: string): bigint {
  const negative = usd.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? usd.slice(1) : usd).split('.')
  const nano = BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9))
  return negative ? -nano : nano
}

/** Nanodollars → USD decimal string with 9 decimals. */
export function fromNano(nano: bigint): string {
  const negative = nano < 0n
  const abs = negative ? -nano : nano
  return `${negative ? '-' : ''}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`
}

/**
 * The rates of `entry` at long-context tier `tier` (−1: the base rates). Tiers are resolved per
 * call: the entry handed to computeCostUsd for a sum of calls must not carry them (the sum's
 * input would select the wrong tier). A tier is a complete price: its omitted cache fields default
 * like an entry's, not to the base's.
 */
function ratesFor(entry: PriceEntry, tier: number): PriceEntry {
  const t = tier < 0 ? undefined : entry.tiers?.[tier]
  const rates = t
    ? {
        input: t.input,
        output: t.output,
        cache_read: t.cache_read,
        cache_write: t.cache_write,
        cache_write_1h: t.cache_write_1h,
      }
    : {}
  return { ...entry, ...rates, tiers: undefined }
}

/** The price of each call as an index into `entries` (−1: no price). */
export interface PriceIndex {
  index: Int32Array
  entries: readonly PriceEntry[]
}

/**
 * Price every call: `priceOf(i)` gives the entry (or null: unpriced). Calls sharing an entry
 * (the same object) and tier are summed first, so the exact total costs one `computeCostUsd` per
 * price.
 */
export function priceCalls(
  usage: UsageColumns,
  n: number,
  priceOf: (call: number) => PriceEntry | null,
): PricedCalls {
  const index = new Int32Array(n)
  const entries: PriceEntry[] = []
  const known = new Map<PriceEntry, number>()
  for (let i = 0; i < n; i++) {
    const entry = priceOf(i)
    if (!entry) {
      index[i] = -1
      continue
    }
    let k = known.get(entry)
    if (k === undefined) {
      k = entries.push(entry) - 1
      known.set(entry, k)
    }
    index[i] = k
  }
  return priceIndexedCalls(usage, n, { index, entries })
}

/**
 * {@link priceCalls} with the prices already resolved per call: one pass over typed arrays, no
 * object per call. Each entry's tiers are resolved once; per call only the tier is looked up.
 */
export function priceIndexedCalls(usage: UsageColumns, n: number, prices: PriceIndex): PricedCalls {
  const perCall = new Float64Array(n)
  // Group g = (entry, tier): its rates, and its token sums (input, output, read, write, write1h).
  const groupOf: number[] = []
  const thresholds: Float64Array[] = []
  const rated: PriceEntry[] = []
  const rates: number[] = []
  for (const entry of prices.entries) {
    groupOf.push(rated.length)
    const tiers = entry.tiers ?? []
    thresholds.push(Float64Array.from(tiers, (t) => t.above_input_tokens))
    for (let tier = -1; tier < tiers.length; tier++) {
      const r = ratesFor(entry, tier)
      const inputPrice = r.input
      const writePrice = r.cache_write ?? inputPrice
      rated.push(r)
      rates.push(inputPrice, r.cache_read ?? inputPrice, writePrice, r.cache_write_1h ?? writePrice, r.output)
    }
  }
  const rate = Float64Array.from(rates)
  const sums = new Float64Array(rated.length * 5)
  const used = new Uint8Array(rated.length)
  const { input, output, read, write, write1h: write1hColumn } = usage
  const { index } = prices
  let unpriced = 0
  for (let i = 0; i < n; i++) {
    const k = index[i] ?? -1
    if (k < 0) {
      perCall[i] = Number.NaN
      unpriced++
      continue
    }
    const inputTokens = input[i] ?? 0
    const readTokens = read[i] ?? 0
    const writeTokens = write[i] ?? 0
    const write1h = Math.min(write1hColumn?.[i] ?? 0, writeTokens)
    const outputTokens = output[i] ?? 0
    // The highest long-context tier exceeded, as the collector does (the last one in the list).
    const above = thresholds[k] as Float64Array
    let tier = -1
    for (let t = 0; t < above.length; t++) if (inputTokens > (above[t] ?? 0)) tier = t
    const g = (groupOf[k] ?? 0) + tier + 1
    used[g] = 1
    const s = g * 5
    sums[s] = (sums[s] ?? 0) + inputTokens
    sums[s + 1] = (sums[s + 1] ?? 0) + outputTokens
    sums[s + 2] = (sums[s + 2] ?? 0) + readTokens
    sums[s + 3] = (sums[s + 3] ?? 0) + writeTokens
    sums[s + 4] = (sums[s + 4] ?? 0) + write1h
    const uncached = Math.max(0, inputTokens - readTokens - writeTokens)
    perCall[i] =
      (uncached * (rate[s] ?? 0) +
        readTokens * (rate[s + 1] ?? 0) +
        (writeTokens - write1h) * (rate[s + 2] ?? 0) +
        write1h * (rate[s + 3] ?? 0) +
        outputTokens * (rate[s + 4] ?? 0)) /
      1e6
  }
  let total = 0n
  for (let g = 0; g < rated.length; g++) {
    if (!used[g]) continue
    const s = g * 5
    total += toNano(
      computeCostUsd(
        {
          input_tokens: sums[s] ?? 0,
          output_tokens: sums[s + 1] ?? 0,
          cache_read_tokens: sums[s + 2] ?? 0,
          cache_write_tokens: sums[s + 3] ?? 0,
          cache_write_1h_tokens: sums[s + 4] ?? 0,
        },
        rated[g] as PriceEntry,
      ),
    )
  }
  return { perCall, totalUsd: fromNano(total), unpriced }
}

/** A price with at most 6 decimals, as the price table requires. */
function round6(x: number): number {
  return Number(x.toFixed(6))
}

export interface CandidatePrice {
  entry: PriceEntry
  source: 'custom' | 'price table'
  /** Price table version, or 'custom'. */
  version: string
}

/**
 * The candidate's price at `at`: its custom price when given, else the table's; null when the
 * model is unknown. Cache prices the table lacks are derived from the caching rule's multipliers
 * (e.g. a 1.25× write premium), rounded to 6 decimals.
 */
export function candidatePrice(
  candidate: CandidateSpec,
  table: PriceTable,
  at: Date,
  rule: CacheRule | null,
): CandidatePrice | null {
  let entry: PriceEntry | null
  let source: CandidatePrice['source']
  if (candidate.price) {
    entry = {
      provider: candidate.provider,
      model: candidate.model,
      effective_from: '1970-01-01',
      ...candidate.price,
    }
    source = 'custom'
  } else {
    entry = findPrice(table, candidate.provider, candidate.model, at)
    source = 'price table'
  }
  if (!entry) return null
  if (rule) {
    entry = { ...entry }
    if (entry.cache_read === undefined) entry.cache_read = round6(entry.input * rule.read_multiplier)
    if (entry.cache_write === undefined) entry.cache_write = round6(entry.input * rule.write_multiplier)
    if (entry.cache_write_1h === undefined && rule.write_1h_multiplier !== undefined) {
      entry.cache_write_1h = round6(entry.input * rule.write_1h_multiplier)
    }
  }
  return { entry, source, version: source === 'custom' ? 'custom' : table.version }
}

/** The first date the table prices this model, for calls older than the model's first price. */
export function firstPriceDate(table: PriceTable, provider: string, model: string): Date | null {
  const dates = [...table.entries, ...(table.overrides?.entries ?? [])].map((e) => e.effective_from).sort()
  for (const d of dates) {
    const at = new Date(`${d}T00:00:00Z`)
    if (findPrice(table, provider, model, at)) return at
  }
  return null
}
