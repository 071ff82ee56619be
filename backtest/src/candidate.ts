import { EvaluatorSpecSchema } from '@hindsight/quality'
import { z } from 'zod'

/** A custom price for a model the price table does not know, USD per 1M tokens. */
const priceSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cache_read: z.number().nonnegative().optional(),
  cache_write: z.number().nonnegative().optional(),
  cache_write_1h: z.number().nonnegative().optional(),
})

/**
 * A candidate architecture, declaratively: which model behind which API, with which parameters,
 * prompt changes and caching, and how a replay may call it (concurrency, rate limit, budget).
 * The what-if uses provider, model, prompt.system, caching, price and token_ratio; replay uses
 * all of it.
 */
export const candidateSchema = z
  .object({
    /** A label for reports; defaults to provider/model. */
    name: z.string().trim().min(1).max(200).optional(),
    /** As in `gen_ai.provider.name`: 'openai', 'anthropic', or any OpenAI-compatible provider's name. */
    provider: z.string().trim().toLowerCase().min(1).max(100),
    model: z.string().trim().min(1).max(200),
    /** Wire protocol for replay: the OpenAI Chat Completions API (any compatible base URL) or Anthropic Messages. */
    api: z.enum(['openai', 'anthropic']).default('openai'),
    /** Base URL of an OpenAI-compatible endpoint (replay). */
    base_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Request parameters the replay sends (temperature, top_p, max_tokens, …). */
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
    prompt: z
      .object({
        /** Replace the system prompt of every call with this text. */
        system: z.string().max(1_000_000).optional(),
        /** Template for the last user message; `{{input}}` is the recorded message (replay only). */
        template: z
          .string()
          .max(100_000)
          .refine((t) => t.includes('{{input}}'), 'must contain {{input}}')
          .optional(),
      })
      .default({}),
    /** Simulate (what-if) or request (replay) prompt caching with the provider's rules. */
    caching: z.enum(['on', 'off']).default('off'),
    /** Anthropic's cache lifetime: 5 minutes (default) or 1 hour (2× write price). */
    cache_ttl: z.enum(['5m', '1h']).default('5m'),
    /** Replay: requests in flight at once. */
    concurrency: z.number().int().min(1).max(256).default(8),
    /** Replay: at most this many requests per minute. */
    rate_limit_rpm: z.number().int().positive().optional(),
    /** Replay stops before spending more than this (USD). */
    budget_usd: z.number().positive().optional(),
    /** Price when the price table does not know the model (USD per 1M tokens). */
    price: priceSchema.optional(),
    /** Candidate tokens per recorded token (tokenizers differ: newer ones count ~30% more). @default 1 */
    token_ratio: z.number().positive().max(10).default(1),
  })
  .strict()

export type CandidateSpec = z.output<typeof candidateSchema>
export type CandidateInput = z.input<typeof candidateSchema>

export function candidateLabel(c: Pick<CandidateSpec, 'name' | 'provider' | 'model'>): string {
  return c.name ?? `${c.provider}/${c.model}`
}

/**
 * Objectives defined in advance (STATISTICS.md, "The verdict"), inline in the request. Each is
 * checked against a 95% interval: pass when the whole interval is on the right side, fail when it
 * is wholly on the wrong side, inconclusive otherwise.
 */
export const objectivesSchema = z
  .object({
    /** Candidate cost per call must be at most this ratio of the baseline's (0.8 = 20% cheaper). */
    cost_per_call_max_ratio: z.number().positive().optional(),
    /** Candidate cost per call at most this many USD. */
    cost_per_call_max_usd: z.number().nonnegative().optional(),
    /** Candidate latency p95 at most this many ms (a projection in what-if mode). */
    latency_p95_max_ms: z.number().positive().optional(),
    latency_p50_max_ms: z.number().positive().optional(),
    /**
     * The candidate's mean quality score (pass rate for a pass/fail evaluator) at least this: passes
     * when the lower end of its 95% interval is at or above it (needs replay and evaluators).
     */
    min_quality: z.number().optional(),
    /**
     * Non-inferiority: the candidate may lose at most this much quality against the baseline (same
     * evaluator, paired per call). Passes only when the paired delta's whole 95% interval is above
     * −margin (below +margin for a lower-is-better score such as `refusal`), fails when it is
     * wholly beyond, inconclusive otherwise. 0 means "no regression at all".
     */
    max_quality_regression: z.number().nonnegative().optional(),
    /** The score (evaluator name) the quality objectives use. @default the first evaluator's */
    quality_score: z.string().trim().min(1).max(200).optional(),
  })
  .strict()

export type Objectives = z.output<typeof objectivesSchema>

/** Objectives a check can be made for (every key but `quality_score`, which names the score). */
export type ObjectiveKey = Exclude<keyof Objectives, 'quality_score'>

/**
 * How both arms of a replay are evaluated, with the same evaluators: built-ins (reference
 * comparison, JSON validity, length, refusal, …), LLM judges and custom TypeScript evaluators as
 * in the quality package's online rules (`EvaluatorSpec`), and optionally the project's online
 * evaluation rules themselves. Each (recorded answer, candidate answer) pair is scored and stored
 * as quality scores (source `evaluator`) tagged with the back-test id and the arm.
 */
export const evaluationSchema = z
  .object({
    /**
     * `{ type: 'builtin', evaluator: 'exact_match' | 'valid_json' | 'length_bounds' | 'refusal' | … }`,
     * `{ type: 'judge', rubric, endpoint }`, `{ type: 'custom', evaluator: 'reference_f1' | <registered> }`.
     */
    evaluators: z.array(EvaluatorSpecSchema).max(20).default([]),
    /**
     * Also run the evaluators of the project's online evaluation rules: `'route'` = the enabled
     * rules whose filter names one of the cohort's routes (or has no route and matches the
     * cohort's models), or a list of rule ids.
     */
    rules: z
      .union([z.literal('route'), z.array(z.string().trim().min(1).max(100)).min(1).max(20)])
      .optional(),
    /**
     * What reference evaluators compare an answer with (`expected`: exact_match, reference_f1, a
     * judge rubric's `{{expected}}`): the recorded answer. On the baseline arm that compares the
     * recording with itself, so the paired delta is the candidate's loss of agreement.
     * `none`: no reference (those evaluators fail and say so).
     */
    reference: z.enum(['recorded', 'none']).default('recorded'),
    /** Evaluations in flight at once (an LLM judge is the slow part). */
    concurrency: z.number().int().min(1).max(64).default(4),
  })
  .strict()
  .refine((e) => e.evaluators.length > 0 || e.rules !== undefined, {
    message: 'give evaluators, rules, or both',
  })

export type EvaluationSpec = z.output<typeof evaluationSchema>
export type EvaluationInput = z.input<typeof evaluationSchema>
