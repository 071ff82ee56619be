import type { SpanRow } from '../canonical'
import type { SpanKind } from '../conventions'
import { dateTimeTextToDate } from '../time'
import {
  matchPriceAt,
  PRICE_TABLE,
  type PriceEntry,
  type PriceRates,
  type PriceTable,
  priceMicros,
  priceMicrosNumber,
  ratesFor,
} from './price-table'

/** Token counts with canonical semantics (input includes cache tokens, output includes reasoning). */
export interface CostTokens {
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  /** Part of `cache_write_tokens` written with the 1-hour TTL (Anthropic). @default 0 */
  cache_write_1h_tokens?: number
}

export interface SpanPrice {
  /** Decimal string with 9 decimals, or null when unpriced. */
  cost_usd: string | null
  /** Price table version used; '' when unpriced. */
  price_version: string
  /** Why the span is unpriced; '' when priced or not a model call. */
  pricing_note: string
}

/** Kinds whose spans are model calls and carry a price. */
const PRICED_KINDS: ReadonlySet<SpanKind> = new Set<SpanKind>(['llm', 'embedding'])

function tokens(n: number | undefined): bigint {
  return BigInt(Math.max(0, Math.round(n ?? 0)))
}

/** `tokens` as a number (NaN or beyond 2^53 when the BigInt path must decide). */
function tokenNumber(n: number | undefined): number {
  return Math.max(0, Math.round(n ?? 0))
}

/** Picodollars (1e-12 USD) → USD decimal string with 9 decimals, rounded half up. */
function formatUsd(picoUsd: bigint): string {
  const nano = (picoUsd + 500n) / 1000n
  const whole = nano / 1_000_000_000n
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, '0')
  return `${whole}.${fraction}`
}

/** `formatUsd` for a picodollar amount below 2^52, in exact integer float arithmetic. */
function formatUsdNumber(picoUsd: number): string {
  const rounded = picoUsd + 500
  const nano = (rounded - (rounded % 1000)) / 1000
  const fraction = nano % 1_000_000_000
  const whole = (nano - fraction) / 1_000_000_000
  return `${whole}.${fraction < 100_000_000 ? `${fraction}`.padStart(9, '0') : fraction}`
}

/** Below this every product and sum of the cost is an exact integer in float arithmetic. */
const EXACT_FLOAT_LIMIT = 2 ** 52

/**
 * Cost of one call in USD (9-decimal string): uncached input × input price + cache reads × read
 * price + cache writes × write price (1-hour writes at their own price) + output × output price.
 * Reasoning tokens are part of output. When the entry has tiers, the whole call is priced at the
 * highest tier its input (cache tokens included) exceeds. Integer arithmetic in picodollars
 * (exact integer floats when the total stays below 2^52 picodollars, i.e. $4,503; BigInt beyond).
 */
export function computeCostUsd(
  usage: CostTokens,
  entry: PriceRates & Partial<Pick<PriceEntry, 'tiers'>>,
): string {
  const price = ratesFor(entry, usage.input_tokens)
  const input = tokenNumber(usage.input_tokens)
  const read = tokenNumber(usage.cache_read_tokens)
  const write = tokenNumber(usage.cache_write_tokens)
  const write1h = tokenNumber(Math.min(usage.cache_write_1h_tokens ?? 0, usage.cache_write_tokens))
  const output = tokenNumber(usage.output_tokens)
  const inputPrice = priceMicrosNumber(price.input)
  const readPrice = price.cache_read === undefined ? inputPrice : priceMicrosNumber(price.cache_read)
  const writePrice = price.cache_write === undefined ? inputPrice : priceMicrosNumber(price.cache_write)
  const write1hPrice =
    price.cache_write_1h === undefined ? writePrice : priceMicrosNumber(price.cache_write_1h)
  const uncached = Math.max(input - read - write, 0)
  // tokens × (micro-USD per 1M tokens) = picodollars. Every operand is a non-negative integer, so
  // a total below 2^52 means no product or partial sum was rounded.
  const pico =
    uncached * inputPrice +
    read * readPrice +
    (write - write1h) * writePrice +
    write1h * write1hPrice +
    output * priceMicrosNumber(price.output)
  if (pico < EXACT_FLOAT_LIMIT && write1h <= write) return formatUsdNumber(pico)
  return computeCostUsdBigInt(usage, price)
}

function computeCostUsdBigInt(usage: CostTokens, price: PriceRates): string {
  const input = tokens(usage.input_tokens)
  const read = tokens(usage.cache_read_tokens)
  const write = tokens(usage.cache_write_tokens)
  const write1h = tokens(Math.min(usage.cache_write_1h_tokens ?? 0, usage.cache_write_tokens))
  const uncached = input - read - write > 0n ? input - read - write : 0n
  const inputPrice = priceMicros(price.input)
  const readPrice = price.cache_read === undefined ? inputPrice : priceMicros(price.cache_read)
  const writePrice = price.cache_write === undefined ? inputPrice : priceMicros(price.cache_write)
  const write1hPrice = price.cache_write_1h === undefined ? writePrice : priceMicros(price.cache_write_1h)
  // tokens × (micro-USD per 1M tokens) = picodollars.
  const pico =
    uncached * inputPrice +
    read * readPrice +
    (write - write1h) * writePrice +
    write1h * write1hPrice +
    tokens(usage.output_tokens) * priceMicros(price.output)
  return formatUsd(pico)
}

/**
 * Price a canonical span with the entry in effect at its start time (a project's custom price
 * first, when the table has overrides). Spans that are not model calls (kind other than
 * llm/embedding) are unpriced with an empty note; a model missing from the table is unpriced with
 * `unknown model: <provider>/<model>`.
 */
export function priceSpan(
  row: Pick<SpanRow, 'kind' | 'provider' | 'model' | 'start_time'> & CostTokens,
  table: PriceTable = PRICE_TABLE,
): SpanPrice {
  if (!PRICED_KINDS.has(row.kind)) return { cost_usd: null, price_version: '', pricing_note: '' }
  return priceSpanAt(row, table, dateTimeTextToDate(row.start_time).getTime())
}

/**
 * `priceSpan` for a span starting at `startMs` (ms since the epoch, what `row.start_time` reads
 * as): the ingest path has the start time as a number already and skips parsing its text.
 */
export function priceSpanAt(
  row: Pick<SpanRow, 'kind' | 'provider' | 'model'> & CostTokens,
  table: PriceTable,
  startMs: number,
): SpanPrice {
  if (!PRICED_KINDS.has(row.kind)) return { cost_usd: null, price_version: '', pricing_note: '' }
  const match = matchPriceAt(table, row.provider, row.model, startMs)
  if (!match) {
    return { cost_usd: null, price_version: '', pricing_note: `unknown model: ${row.provider}/${row.model}` }
  }
  return { cost_usd: computeCostUsd(row, match.entry), price_version: match.version, pricing_note: '' }
}
