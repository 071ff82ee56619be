import { z } from 'zod'
import rulesJson from './rules.json' with { type: 'json' }

const ruleSchema = z
  .object({
    provider: z.string().min(1),
    provider_aliases: z.array(z.string().min(1)).optional(),
    /** Exact model name; with neither model nor model_pattern the rule is the provider's default. */
    model: z.string().min(1).optional(),
    /** Full-match regular expression (case-insensitive). */
    model_pattern: z.string().min(1).optional(),
    effective_from: z.iso.date(),
    /**
     * 'automatic_prefix': every request stores its prefixes; a request reads the longest stored
     * prefix (OpenAI before GPT-5.6, Gemini implicit, DeepSeek). 'breakpoints': entries exist only
     * where a request placed a breakpoint; reads look back `lookback_blocks` blocks from each
     * breakpoint (Anthropic, OpenAI GPT-5.6+).
     */
    mode: z.enum(['automatic_prefix', 'breakpoints']),
    /** Where a simulated client puts breakpoints: end of tools + system, end of the previous turn, end of the prompt. */
    breakpoints_at: z.array(z.enum(['static', 'previous_turn', 'last_message'])).optional(),
    max_breakpoints: z.number().int().positive().optional(),
    lookback_blocks: z.number().int().nonnegative().optional(),
    /** Shortest cacheable prefix, in the model's tokens. */
    min_tokens: z.number().int().nonnegative(),
    /** Cached lengths come in steps above the minimum (OpenAI: 128), or prefix units (DeepSeek: 64). */
    step_tokens: z.number().int().positive().optional(),
    ttl_seconds: z.number().positive(),
    /** The 1-hour TTL option (Anthropic), priced with `write_1h_multiplier` / the price table's cache_write_1h. */
    ttl_1h_seconds: z.number().positive().optional(),
    /** An entry is dropped this long after it was written, however often it is hit. */
    max_lifetime_seconds: z.number().positive().optional(),
    refresh_on_hit: z.boolean(),
    write_multiplier: z.number().nonnegative(),
    write_1h_multiplier: z.number().nonnegative().optional(),
    read_multiplier: z.number().nonnegative(),
    /** When a written entry becomes usable by other requests. */
    available_after: z.enum(['response_start', 'response_end']),
    /** Whether the provider's input token count includes cached tokens (not Anthropic). */
    input_includes_cached: z.boolean(),
    verified: z.boolean(),
    source: z.string(),
  })
  .refine((r) => r.mode === 'automatic_prefix' || (r.breakpoints_at?.length ?? 0) > 0, {
    message: 'breakpoints mode needs breakpoints_at',
  })
  .refine((r) => !r.model_pattern || isValidRegExp(r.model_pattern), { message: 'invalid model_pattern' })

const rulesSchema = z.object({
  version: z.string().min(1),
  notes: z.string().optional(),
  rules: z.array(ruleSchema),
})

export type CacheRule = z.infer<typeof ruleSchema>
export type CacheRules = z.infer<typeof rulesSchema>

function isValidRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern)
    return true
  } catch {
    return false
  }
}

/** Validate a rules document; throws naming the bad entry. */
export function parseCacheRules(input: unknown): CacheRules {
  const result = rulesSchema.safeParse(input)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new Error(
      `invalid caching rules at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'unknown error'}`,
    )
  }
  return result.data
}

/** The built-in rules (`rules.json`). */
export const CACHE_RULES: CacheRules = parseCacheRules(rulesJson)

/**
 * The caching rule for `provider`/`model` in effect at `at`, or null. As for prices: an exact model
 * name wins over a pattern, a pattern over the provider default; among those the newest
 * `effective_from` not after `at`.
 */
export function findCacheRule(
  rules: CacheRules,
  provider: string,
  model: string,
  at: Date,
): CacheRule | null {
  const p = provider.trim().toLowerCase()
  const m = model.trim()
  const time = at.getTime()
  let best: { rule: CacheRule; rank: number; from: number } | null = null
  for (const rule of rules.rules) {
    const providers = [rule.provider, ...(rule.provider_aliases ?? [])].map((x) => x.toLowerCase())
    if (!providers.includes(p)) continue
    const from = Date.parse(`${rule.effective_from}T00:00:00Z`)
    if (from > time) continue
    let rank: number
    if (rule.model !== undefined) {
      if (rule.model.toLowerCase() !== m.toLowerCase()) continue
      rank = 2
    } else if (rule.model_pattern !== undefined) {
      if (!new RegExp(`^(?:${rule.model_pattern})$`, 'i').test(m)) continue
      rank = 1
    } else {
      rank = 0
    }
    if (!best || rank > best.rank || (rank === best.rank && from > best.from)) best = { rule, rank, from }
  }
  return best?.rule ?? null
}
