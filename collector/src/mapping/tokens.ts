/** Token counts as read from a span; any may be missing. */
export interface RawTokenUsage {
  input?: number | undefined
  output?: number | undefined
  cacheRead?: number | undefined
  cacheWrite?: number | undefined
  reasoning?: number | undefined
}

/**
 * Canonical token counts (the GenAI convention): `input` includes cache reads and writes,
 * `output` includes reasoning.
 */
export interface TokenUsage {
  input: number
  output: number
  cacheRead: number
  cacheWrite: number
  reasoning: number
}

export interface NormalizedTokens extends TokenUsage {
  /** What had to be corrected, e.g. 'input_excluded_cache'; empty when the counts were canonical. */
  adjustments: string[]
}

/**
 * The one place token semantics are normalized, so cost is never double counted.
 *
 * `gen_ai.*` usage follows the GenAI convention for every provider (OpenAI, Anthropic, Bedrock,
 * Gemini…): input includes cache reads and writes, output includes reasoning. That is trusted.
 * The only correction is for counts that cannot be inclusive: input smaller than its own cache
 * reads + writes means the sender copied Anthropic's raw `input_tokens` (which excludes cache
 * tokens), so the cache tokens are added back; likewise output smaller than reasoning.
 * An exclusive Anthropic count that happens to be >= its cache tokens cannot be told apart from an
 * inclusive one and is taken as inclusive.
 */
export function normalizeTokens(raw: RawTokenUsage): NormalizedTokens {
  const cacheRead = raw.cacheRead ?? 0
  const cacheWrite = raw.cacheWrite ?? 0
  const reasoning = raw.reasoning ?? 0
  let input = raw.input ?? 0
  let output = raw.output ?? 0
  const adjustments: string[] = []
  if (input < cacheRead + cacheWrite) {
    input += cacheRead + cacheWrite
    adjustments.push('input_excluded_cache')
  }
  if (output < reasoning) {
    output += reasoning
    adjustments.push('output_excluded_reasoning')
  }
  return { input, output, cacheRead, cacheWrite, reasoning, adjustments }
}
