import { z } from 'zod'
import prices from './prices.json' with { type: 'json' }

// Prices are decimal USD per 1M tokens with at most 6 decimals, so each is an exact integer
// number of micro-dollars per 1M tokens (see `priceMicros`): money never goes through float math.
const MAX_PRICE_DECIMALS = 6
/** Bound on the memo caches below (distinct models or prices seen). */
const MAX_CACHED_MODELS = 10_000
const price = z
  .number()
  .nonnegative()
  .refine((n) => decimalPlaces(n) <= MAX_PRICE_DECIMALS, `at most ${MAX_PRICE_DECIMALS} decimals`)

const priceEntrySchema = z.object({
  /** Provider as in `gen_ai.provider.name` (lowercase). */
  provider: z.string().min(1),
  /** Other providers that sell this model at the same list price (e.g. Bedrock, Vertex for Claude). */
  provider_aliases: z.array(z.string().min(1)).optional(),
  /** Exact model name. */
  model: z.string().min(1),
  /** Full-match regular expression for other spellings (dated snapshots, platform ids). */
  model_pattern: z
    .string()
    .refine((p) => isValidRegExp(p), 'invalid regular expression')
    .optional(),
  /** First day (UTC) this price applies. */
  effective_from: z.iso.date(),
  input: price,
  output: price,
  /** Defaults to `input` when absent. */
  cache_read: price.optional(),
  /** 5-minute cache write; defaults to `input` when absent (providers without write premiums). */
  cache_write: price.optional(),
  /** 1-hour cache write (Anthropic). */
  cache_write_1h: price.optional(),
})

const priceTableSchema = z.object({
  version: z.string().min(1),
  currency: z.literal('USD'),
  unit: z.literal('per 1M tokens'),
  notes: z.string().optional(),
  entries: z.array(priceEntrySchema),
})

export type PriceEntry = z.infer<typeof priceEntrySchema>
export type PriceTable = z.infer<typeof priceTableSchema>

function decimalPlaces(n: number): number {
  const text = String(n)
  if (/e/i.test(text)) return Number.POSITIVE_INFINITY
  const dot = text.indexOf('.')
  return dot === -1 ? 0 : text.length - dot - 1
}

function isValidRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern)
    return true
  } catch {
    return false
  }
}

/** Validate a price table (e.g. one loaded from a file); throws naming the bad entry. */
export function parsePriceTable(input: unknown): PriceTable {
  const result = priceTableSchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new Error(
      `invalid price table at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'unknown error'}`,
    )
  }
  return result.data
}

/** The built-in price table (`prices.json`). */
export const PRICE_TABLE: PriceTable = parsePriceTable(prices)

const microsCache = new Map<number, bigint>()

/** A price (USD per 1M tokens, ≤ 6 decimals) as integer micro-dollars per 1M tokens. */
export function priceMicros(usdPerMillion: number): bigint {
  let micros = microsCache.get(usdPerMillion)
  if (micros === undefined) {
    micros = parseMicros(usdPerMillion)
    if (microsCache.size >= MAX_CACHED_MODELS) microsCache.clear()
    microsCache.set(usdPerMillion, micros)
  }
  return micros
}

function parseMicros(usdPerMillion: number): bigint {
  const text = String(usdPerMillion)
  const [whole = '0', fraction = ''] = text.split('.')
  if (/e/i.test(text) || fraction.length > MAX_PRICE_DECIMALS) {
    throw new Error(`price ${text} has more than ${MAX_PRICE_DECIMALS} decimals`)
  }
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(MAX_PRICE_DECIMALS, '0'))
}

interface CompiledEntry {
  entry: PriceEntry
  providers: Set<string>
  pattern: RegExp | null
  from: number
}

const compiled = new WeakMap<PriceTable, CompiledEntry[]>()
/** Per table: candidates for one provider/model, best first (exact before pattern, newest first). */
const candidates = new WeakMap<PriceTable, Map<string, CompiledEntry[]>>()

function compile(table: PriceTable): CompiledEntry[] {
  let entries = compiled.get(table)
  if (!entries) {
    entries = table.entries.map((entry) => ({
      entry,
      providers: new Set([entry.provider, ...(entry.provider_aliases ?? [])].map((p) => p.toLowerCase())),
      pattern: entry.model_pattern ? new RegExp(`^(?:${entry.model_pattern})$`, 'i') : null,
      from: Date.parse(`${entry.effective_from}T00:00:00Z`),
    }))
    compiled.set(table, entries)
  }
  return entries
}

/**
 * The price of `provider`/`model` in effect at `at`, or null. An exact model name wins over a
 * pattern match; among candidates the newest `effective_from` not after `at` applies.
 */
export function findPrice(table: PriceTable, provider: string, model: string, at: Date): PriceEntry | null {
  const time = at.getTime()
  for (const c of candidatesFor(table, provider.trim().toLowerCase(), model.trim())) {
    if (c.from <= time) return c.entry
  }
  return null
}

// Pricing runs once per ingested span: the regex scan happens once per provider/model.
function candidatesFor(table: PriceTable, provider: string, model: string): CompiledEntry[] {
  let cache = candidates.get(table)
  if (!cache) {
    cache = new Map()
    candidates.set(table, cache)
  }
  const key = `${provider}\u0000${model}`
  let list = cache.get(key)
  if (list) return list
  const lower = model.toLowerCase()
  const exact: CompiledEntry[] = []
  const patterned: CompiledEntry[] = []
  for (const c of compile(table)) {
    if (!c.providers.has(provider)) continue
    if (c.entry.model.toLowerCase() === lower) exact.push(c)
    else if (c.pattern?.test(model)) patterned.push(c)
  }
  const newestFirst = (a: CompiledEntry, b: CompiledEntry) => b.from - a.from
  list = [...exact.sort(newestFirst), ...patterned.sort(newestFirst)]
  if (cache.size >= MAX_CACHED_MODELS) cache.clear()
  cache.set(key, list)
  return list
}
