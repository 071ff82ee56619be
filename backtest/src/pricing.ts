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

/** The rates for a call of `inputTokens` (the highest long-context tier exceeded, as the collector does). */
function ratesFor(entry: PriceEntry, inputTokens: number): { entry: PriceEntry; tier: number } {
  let tier = -1
  entry.tiers?.forEach((t, i) => {
    if (inputTokens > t.above_input_tokens) tier = i
  })
  // Tiers are resolved here, per call: the entry handed to computeCostUsd for a sum of calls
  // must not carry them (the sum's input would select the wrong tier).
  // A tier is a complete price: its omitted cache fields default like an entry's, not to the base's.
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
  return { entry: { ...entry, ...rates, tiers: undefined }, tier }
}

/**
 * Price every call: `priceOf(i)` gives the entry (or null: unpriced). Calls sharing an entry and
 * tier are summed first, so the exact total costs one `computeCostUsd` per price.
 */
export function priceCalls(
  usage: UsageColumns,
  n: number,
  priceOf: (call: number) => PriceEntry | null,
): PricedCalls {
  const perCall = new Float64Array(n)
  const groups = new Map<PriceEntry, Map<number, { entry: PriceEntry; sums: number[] }>>()
  let unpriced = 0
  for (let i = 0; i < n; i++) {
    const base = priceOf(i)
    if (!base) {
      perCall[i] = Number.NaN
      unpriced++
      continue
    }
    const input = usage.input[i] ?? 0
    const read = usage.read[i] ?? 0
    const write = usage.write[i] ?? 0
    const write1h = Math.min(usage.write1h?.[i] ?? 0, write)
    const output = usage.output[i] ?? 0
    const { entry, tier } = ratesFor(base, input)
    let byTier = groups.get(base)
    if (!byTier) {
      byTier = new Map()
      groups.set(base, byTier)
    }
    let group = byTier.get(tier)
    if (!group) {
      group = { entry, sums: [0, 0, 0, 0, 0] }
      byTier.set(tier, group)
    }
    group.sums[0] = (group.sums[0] ?? 0) + input
    group.sums[1] = (group.sums[1] ?? 0) + output
    group.sums[2] = (group.sums[2] ?? 0) + read
    group.sums[3] = (group.sums[3] ?? 0) + write
    group.sums[4] = (group.sums[4] ?? 0) + write1h
    const inputPrice = entry.input
    const readPrice = entry.cache_read ?? inputPrice
    const writePrice = entry.cache_write ?? inputPrice
    const write1hPrice = entry.cache_write_1h ?? writePrice
    const uncached = Math.max(0, input - read - write)
    perCall[i] =
      (uncached * inputPrice +
        read * readPrice +
        (write - write1h) * writePrice +
        write1h * write1hPrice +
        output * entry.output) /
      1e6
  }
  let total = 0n
  for (const byTier of groups.values()) {
    for (const { entry, sums } of byTier.values()) {
      total += toNano(
        computeCostUsd(
          {
            input_tokens: sums[0] ?? 0,
            output_tokens: sums[1] ?? 0,
            cache_read_tokens: sums[2] ?? 0,
            cache_write_tokens: sums[3] ?? 0,
            cache_write_1h_tokens: sums[4] ?? 0,
          },
          entry,
        ),
      )
    }
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
