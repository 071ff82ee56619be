import type { Dialect, SpanKind } from '../../conventions'
import type { OtlpSpan } from '../../otlp/types'
import type { AttributeReader, Found } from '../attribute-reader'
import { attributeCount } from '../attribute-values'
import type { RawTokenUsage, TokenSemantics } from '../tokens'

/**
 * Token counts read from a span, not yet consumed: they fill the token columns only when the span
 * is a model call (agent and chain spans repeat their children's usage; theirs stays an attribute).
 */
export interface UsageReading {
  raw: RawTokenUsage
  /** Attribute keys the counts came from (consumed when the counts land in the columns). */
  keys: string[]
  /** Keys of the input / output counts: kept as attributes when the count had to be corrected. */
  inputKeys: string[]
  outputKeys: string[]
}

/** What a dialect mapper reads from one span; the rest of the row is dialect-independent. */
export interface DialectFields {
  kind: SpanKind
  /** GenAI operation name (`chat`, `embeddings`, `execute_tool`, `invoke_agent`…), '' when none. */
  operation: string
  /** Canonical provider name (see `providers.ts`). */
  provider: string
  model: string
  requestModel: string
  /** null when the span reports no token counts at all. */
  usage: UsageReading | null
  ttftMs: number | null
  input: string
  output: string
  /** Keys read (in order) after `user.id` / `session.id` for the user and session columns. */
  userKeys: string[]
  sessionKeys: string[]
  /** Why a model-call span cannot be priced, when the dialect knows better than the price table. */
  pricingNote: string
}

export type DialectMapper = (a: AttributeReader, span: OtlpSpan, dialect: Dialect) => DialectFields

export interface UsageSources {
  input?: Found | undefined
  output?: Found | undefined
  cacheRead?: Found | undefined
  cacheWrite?: Found | undefined
  reasoning?: Found | undefined
}

function count(found: Found | undefined): number | undefined {
  return found ? attributeCount(found.value) : undefined
}

/** Counts from the attributes found, with the dialect's semantics; null when none is present. */
export function usageReading(sources: UsageSources, semantics: TokenSemantics): UsageReading | null {
  const raw: RawTokenUsage = {
    input: count(sources.input),
    output: count(sources.output),
    cacheRead: count(sources.cacheRead),
    cacheWrite: count(sources.cacheWrite),
    reasoning: count(sources.reasoning),
    inputSemantics: semantics.input,
    outputSemantics: semantics.output,
  }
  if (
    raw.input === undefined &&
    raw.output === undefined &&
    raw.cacheRead === undefined &&
    raw.cacheWrite === undefined &&
    raw.reasoning === undefined
  ) {
    return null
  }
  const keys: string[] = []
  for (const found of [
    sources.input,
    sources.output,
    sources.cacheRead,
    sources.cacheWrite,
    sources.reasoning,
  ]) {
    if (found) for (const key of found.keys) keys.push(key)
  }
  return { raw, keys, inputKeys: sources.input?.keys ?? [], outputKeys: sources.output?.keys ?? [] }
}

/** Seconds or milliseconds → ms, rounded to microseconds (0.35 s reads as 350, not 350.00000000000006). */
export function toMs(value: number | undefined, unit: 's' | 'ms'): number | null {
  if (value === undefined || !Number.isFinite(value) || value < 0) return null
  return Math.round(value * (unit === 's' ? 1e6 : 1e3)) / 1e3
}

export const EMPTY_FIELDS: DialectFields = {
  kind: 'unknown',
  operation: '',
  provider: '',
  model: '',
  requestModel: '',
  usage: null,
  ttftMs: null,
  input: '',
  output: '',
  userKeys: [],
  sessionKeys: [],
  pricingNote: '',
}

/**
 * `pricing_note` values set by the mapping (not by the price table): a span with one of these has
 * no trustworthy token counts or model, so re-pricing must leave it unpriced.
 */
export const MAPPING_PRICING_NOTES = {
  noModel: 'no model attribute',
  noUsage: 'no token usage',
  /** Prefix of the note of a model call from an instrumentation the collector does not know. */
  unrecognized: 'unrecognized instrumentation',
} as const
