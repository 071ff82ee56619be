import type { Dialect } from '../conventions'

/**
 * How a reported count relates to its parts:
 * - `inclusive`: input includes cache reads + writes (output includes reasoning) — the GenAI convention;
 * - `exclusive`: the parts are reported beside it (Anthropic's raw `input_tokens`, Gemini's
 *   `candidatesTokenCount` without thoughts) and must be added;
 * - `auto`: not known for this sender; taken as inclusive unless it cannot be (smaller than its parts).
 */
export type CountSemantics = 'inclusive' | 'exclusive' | 'auto'

/** Token counts as read from a span; any may be missing. */
export interface RawTokenUsage {
  input?: number | undefined
  output?: number | undefined
  cacheRead?: number | undefined
  cacheWrite?: number | undefined
  reasoning?: number | undefined
  /** How `input` relates to `cacheRead + cacheWrite`. @default 'auto' */
  inputSemantics?: CountSemantics | undefined
  /** How `output` relates to `reasoning`. @default 'auto' */
  outputSemantics?: CountSemantics | undefined
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
 * Canonical counts follow the GenAI convention for every provider: input includes cache reads and
 * writes, output includes reasoning. Counts known to be exclusive (see {@link tokenSemantics}) get
 * their parts added once. Counts of unknown semantics (`auto`) are trusted as inclusive unless they
 * cannot be: input smaller than its own cache reads + writes means the sender copied Anthropic's raw
 * `input_tokens`, so the cache tokens are added back; likewise output smaller than reasoning. An
 * exclusive count that happens to be >= its parts cannot be told apart and is taken as inclusive —
 * which is why dialects declare what they know.
 */
export function normalizeTokens(raw: RawTokenUsage): NormalizedTokens {
  const cacheRead = raw.cacheRead ?? 0
  const cacheWrite = raw.cacheWrite ?? 0
  const reasoning = raw.reasoning ?? 0
  let input = raw.input ?? 0
  let output = raw.output ?? 0
  const adjustments: string[] = []
  const inputMode = raw.inputSemantics ?? 'auto'
  const outputMode = raw.outputSemantics ?? 'auto'
  if (
    cacheRead + cacheWrite > 0 &&
    (inputMode === 'exclusive' || (inputMode === 'auto' && input < cacheRead + cacheWrite))
  ) {
    input += cacheRead + cacheWrite
    adjustments.push('input_excluded_cache')
  }
  if (reasoning > 0 && (outputMode === 'exclusive' || (outputMode === 'auto' && output < reasoning))) {
    output += reasoning
    adjustments.push('output_excluded_reasoning')
  }
  return { input, output, cacheRead, cacheWrite, reasoning, adjustments }
}

export interface TokenSemantics {
  input: CountSemantics
  output: CountSemantics
}

const AUTO: TokenSemantics = { input: 'auto', output: 'auto' }
const CLAUDE = /claude/i

/**
 * What each sender is known to report, per dialect and (canonical) provider. Facts, from the
 * instrumentation packages' sources:
 *
 * - OpenTelemetry GenAI (`gen_ai.usage.*`): inclusive by the convention; `auto` still guards
 *   against senders that copy Anthropic's raw count.
 * - OpenLLMetry (`@traceloop/instrumentation-anthropic` and -bedrock, every version so far): sets
 *   `gen_ai.usage.input_tokens` to Anthropic's raw `input_tokens` and the cache counts beside it →
 *   input exclusive for Claude (any host).
 * - OpenInference: `llm.token_count.prompt` includes `prompt_details.*` by its spec; the JS
 *   Anthropic instrumentation sums them since 0.2 and reported no cache counts before → `auto`.
 * - Vercel AI SDK without the v6 input breakdown (v4/v5 `ai.usage.*`): the Anthropic providers
 *   (direct, Vertex) and Bedrock report the raw input (cache excluded), Google the candidates count
 *   (thoughts excluded). With v6's `inputTokenDetails` the dialect computes an exact inclusive count.
 * - OpenAI everywhere: `prompt_tokens` includes `cached_tokens`, `completion_tokens` includes
 *   reasoning → inclusive, and `auto` keeps them.
 */
export function tokenSemantics(dialect: Dialect, provider: string, model: string): TokenSemantics {
  const claude = provider === 'anthropic' || CLAUDE.test(model)
  switch (dialect) {
    case 'openllmetry':
      return claude ? { input: 'exclusive', output: 'auto' } : AUTO
    case 'vercel_ai':
      if (claude || provider === 'aws.bedrock') return { input: 'exclusive', output: 'auto' }
      if (provider === 'gcp.gemini' || provider === 'gcp.vertex_ai')
        return { input: 'auto', output: 'exclusive' }
      return AUTO
    default:
      return AUTO
  }
}
