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

/**
 * A long-context tier: when a call's input (cache reads and writes included) is above
 * `above_input_tokens`, the whole call is priced with these rates (e.g. Anthropic's and Gemini's
 * prices for prompts over 200k tokens). A tier is a complete price: omitted cache fields follow
 * the same defaults as on an entry (`cache_read`/`cache_write` → the tier's `input`,
 * `cache_write_1h` → the tier's `cache_write`).
 */
const priceTierSchema = z.object({
  above_input_tokens: z.number().int().positive(),
  input: price,
  output: price,
  cache_read: price.optional(),
  cache_write: price.optional(),
  cache_write_1h: price.optional(),
})

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
  /** Higher prices above an input size, by ascending threshold; the highest one exceeded applies. */
  tiers: z
    .array(priceTierSchema)
    .refine(
      (tiers) =>
        tiers.every((t, i) => i === 0 || t.above_input_tokens > (tiers[i - 1]?.above_input_tokens ?? 0)),
      'tiers must be sorted by strictly ascending above_input_tokens',
    )
    .optional(),
})

const priceTableSchema = z.object({
  version: z.string().min(1),
  currency: z.literal('USD'),
  unit: z.literal('per 1M tokens'),
  notes: z.string().optional(),
  entries: z.array(priceEntrySchema),
  /**
   * Entries that take precedence over `entries` (a project's custom prices): when one of them
   * matches the model and is in effect at the span's start, it is used; otherwise `entries` are
   * searched. Spans priced from them carry `overrides.version` as their price version.
   */
  overrides: z.object({ version: z.string().min(1), entries: z.array(priceEntrySchema) }).optional(),
})

export type PriceEntry = z.infer<typeof priceEntrySchema>
export type PriceTier = z.infer<typeof priceTierSchema>
export type PriceTable = z.infer<typeof priceTableSchema>
/** The rates of one price (an entry or one of its tiers), USD per 1M tokens. */
export type PriceRates = Pick<
  PriceEntry,
  'input' | 'output' | 'cache_read' | 'cache_write' | 'cache_write_1h'
>

/** Validate one price entry (e.g. a project's custom price); throws naming the bad field. */
export function parsePriceEntry(input: unknown): PriceEntry {
  const result = priceEntrySchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new RangeError(`${issue?.path.join('.') || 'price'}: ${issue?.message ?? 'invalid'}`)
  }
  return result.data
}

/**
 * The rates that apply to a call with `inputTokens` input tokens (cache reads and writes
 * included): the highest tier whose threshold is exceeded, else the entry's own rates.
 */
export function ratesFor(entry: PriceRates & Pick<PriceEntry, 'tiers'>, inputTokens: number): PriceRates {
  let rates: PriceRates = entry
  for (const tier of entry.tiers ?? []) {
    if (inputTokens > tier.above_input_tokens) rates = tier
  }
  return rates
}

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

const microsNumberCache = new Map<number, number>()

/** `priceMicros` as a number (exact: prices are far below 2^53 micro-dollars). */
export function priceMicrosNumber(usdPerMillion: number): number {
  let micros = microsNumberCache.get(usdPerMillion)
  if (micros === undefined) {
    micros = Number(priceMicros(usdPerMillion))
    if (microsNumberCache.size >= MAX_CACHED_MODELS) microsNumberCache.clear()
    microsNumberCache.set(usdPerMillion, micros)
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
  /** The version of the layer the entry comes from (`overrides.version` or `version`). */
  version: string
  /** 0 for overrides, 1 for the table's own entries: lower layers are searched first. */
  layer: number
  providers: Set<string>
  pattern: RegExp | null
  from: number
  /** What a match on this entry returns (one object, not one per span). */
  match: PriceMatch
}

/** A price found for a span, and the price version to record with it. */
export interface PriceMatch {
  entry: PriceEntry
  version: string
}

const compiled = new WeakMap<PriceTable, CompiledEntry[]>()
/** Per table, provider and model: candidates, best first (exact before pattern, newest first). */
const candidates = new WeakMap<PriceTable, Map<string, Map<string, CompiledEntry[]>>>()

function compile(table: PriceTable): CompiledEntry[] {
  let entries = compiled.get(table)
  if (!entries) {
    const layer = (list: PriceEntry[], version: string, index: number) =>
      list.map((entry) => ({
        entry,
        version,
        layer: index,
        providers: new Set([entry.provider, ...(entry.provider_aliases ?? [])].map((p) => p.toLowerCase())),
        pattern: entry.model_pattern ? new RegExp(`^(?:${entry.model_pattern})$`, 'i') : null,
        from: Date.parse(`${entry.effective_from}T00:00:00Z`),
        match: { entry, version },
      }))
    entries = [
      ...layer(table.overrides?.entries ?? [], table.overrides?.version ?? table.version, 0),
      ...layer(table.entries, table.version, 1),
    ]
    compiled.set(table, entries)
  }
  return entries
}

/**
 * The price of `provider`/`model` in effect at `at`, or null. Overrides (custom prices) are
 * searched before the table's entries; within each, an exact model name wins over a pattern
 * match, and among candidates the newest `effective_from` not after `at` applies.
 */
export function findPrice(table: PriceTable, provider: string, model: string, at: Date): PriceEntry | null {
  return matchPrice(table, provider, model, at)?.entry ?? null
}

/** Like {@link findPrice}, with the version of the layer the entry came from. */
export function matchPrice(table: PriceTable, provider: string, model: string, at: Date): PriceMatch | null {
  return matchPriceAt(table, provider, model, at.getTime())
}

/** {@link matchPrice} at `time` ms since the epoch. */
export function matchPriceAt(
  table: PriceTable,
  provider: string,
  model: string,
  time: number,
): PriceMatch | null {
  for (const c of candidatesFor(table, provider, model)) {
    if (c.from <= time) return c.match
  }
  return null
}

// Pricing runs once per ingested span: the regex scan happens once per provider/model, and the
// lookup is by the names as given (provider, then model: no key string built per span).
function candidatesFor(table: PriceTable, rawProvider: string, rawModel: string): CompiledEntry[] {
  let cache = candidates.get(table)
  if (!cache) {
    cache = new Map()
    candidates.set(table, cache)
  }
  let models = cache.get(rawProvider)
  if (!models) {
    if (cache.size >= MAX_CACHED_MODELS) cache.clear()
    models = new Map()
    cache.set(rawProvider, models)
  }
  let list = models.get(rawModel)
  if (list) return list
  list = findCandidates(table, rawProvider.trim().toLowerCase(), rawModel.trim())
  if (models.size >= MAX_CACHED_MODELS) models.clear()
  models.set(rawModel, list)
  return list
}

function findCandidates(table: PriceTable, provider: string, model: string): CompiledEntry[] {
  const lower = model.toLowerCase()
  const exact: CompiledEntry[] = []
  const patterned: CompiledEntry[] = []
  for (const c of compile(table)) {
    if (!c.providers.has(provider)) continue
    if (c.entry.model.toLowerCase() === lower) exact.push(c)
    else if (c.pattern?.test(model)) patterned.push(c)
  }
  const newestFirst = (a: CompiledEntry, b: CompiledEntry) => b.from - a.from
  const ordered = [...exact.sort(newestFirst), ...patterned.sort(newestFirst)]
  // Stable sort: overrides first, each layer keeping exact-before-pattern, newest first.
  return ordered.sort((a, b) => a.layer - b.layer)
}
