/**
 * Online evaluation rules: which production traces (a span filter), how many of them (a
 * deterministic sampling rate) and what to run on them (built-in, LLM-judge or registered custom
 * evaluators). Definitions are validated with zod, so the REST API and tRPC share one contract.
 */
import { z } from 'zod'
import { RUBRICS } from '../evaluators/rubrics'

/** The built-in evaluators a rule can name, with the options each one takes. */
export const BUILTIN_EVALUATORS = [
  'exact_match',
  'contains',
  'regex_match',
  'valid_json',
  'json_schema',
  'length_bounds',
  'citation_present',
  'citations_resolvable',
  'refusal',
  'latency_threshold',
  'cost_threshold',
] as const
export type BuiltinEvaluatorName = (typeof BUILTIN_EVALUATORS)[number]

const list = z.array(z.string().min(1).max(500)).max(100)

/**
 * Which traces a rule (or a queue, or an objective) is about: a trace matches when one of its
 * spans matches every given field (each field: any of its values).
 */
export const TraceFilterSchema = z
  .object({
    name: list.optional(),
    route: list.optional(),
    model: list.optional(),
    release: list.optional(),
    kind: list.optional(),
  })
  .strict()
export type TraceFilter = z.infer<typeof TraceFilterSchema>

const scoreName = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:/ -]+$/, 'letters, digits, spaces and _.:/-')

const BuiltinSpecSchema = z
  .object({
    type: z.literal('builtin'),
    evaluator: z.enum(BUILTIN_EVALUATORS),
    /** The score name. @default the evaluator's */
    name: scoreName.optional(),
    /** The factory's options, e.g. `{ "maxMs": 2000 }` for latency_threshold. */
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

const RubricSchema = z
  .object({
    name: scoreName,
    prompt: z
      .string()
      .min(1)
      .max(20_000)
      .refine((p) => /\{\{\s*output\s*\}\}/.test(p), 'must contain {{output}} (the answer being judged)'),
    scale: z.discriminatedUnion('type', [
      z.object({ type: z.literal('numeric'), min: z.number(), max: z.number() }),
      z.object({ type: z.literal('boolean') }),
      z.object({ type: z.literal('categorical'), categories: z.array(z.string().min(1)).min(1) }),
    ]),
    description: z.string().max(2000).optional(),
  })
  .strict()

const JudgeSpecSchema = z
  .object({
    type: z.literal('judge'),
    /** A built-in rubric's name or a rubric of your own. */
    rubric: z.union([
      z.enum(Object.keys(RUBRICS) as [keyof typeof RUBRICS, ...(keyof typeof RUBRICS)[]]),
      RubricSchema,
    ]),
    endpoint: z
      .object({
        provider: z.enum(['openai', 'anthropic']),
        model: z.string().min(1).max(200),
        baseURL: z.url().optional(),
        /** Name of the environment variable holding the key (keys are never stored). */
        apiKeyEnv: z
          .string()
          .regex(
            /^[A-Z_][A-Z0-9_]{0,127}$/,
            'the name of an environment variable of the server holding the key (e.g. OPENAI_API_KEY), not the key itself',
          )
          .optional(),
        priceProvider: z.string().max(100).optional(),
      })
      .strict(),
    name: scoreName.optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    maxAttempts: z.number().int().min(1).max(5).optional(),
  })
  .strict()

const CustomSpecSchema = z
  .object({
    type: z.literal('custom'),
    /** The name a custom evaluator was registered under (`registerCustom`). */
    evaluator: z.string().min(1).max(200),
  })
  .strict()

export const EvaluatorSpecSchema = z.discriminatedUnion('type', [
  BuiltinSpecSchema,
  JudgeSpecSchema,
  CustomSpecSchema,
])
export type EvaluatorSpec = z.infer<typeof EvaluatorSpecSchema>

export const RuleInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    filter: TraceFilterSchema.default({}),
    /** Share of matching traces evaluated, 0–1, chosen by a hash of the trace id. */
    samplingRate: z.number().min(0).max(1),
    evaluators: z.array(EvaluatorSpecSchema).min(1).max(20),
    enabled: z.boolean().default(true),
  })
  .strict()
export type RuleInput = z.input<typeof RuleInputSchema>

export const RulePatchSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    filter: TraceFilterSchema.optional(),
    samplingRate: z.number().min(0).max(1).optional(),
    evaluators: z.array(EvaluatorSpecSchema).min(1).max(20).optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
export type RulePatch = z.input<typeof RulePatchSchema>

export interface EvaluationRule {
  id: string
  name: string
  filter: TraceFilter
  sampling_rate: number
  evaluators: EvaluatorSpec[]
  enabled: boolean
  created_at: string
  updated_at: string
}

export interface RuleFailure {
  trace_id: string
  evaluator: string
  reason: string
  created_at: string
}

/** What a rule has done and what is waiting: the status endpoint and the dashboard page. */
export interface RuleStatus {
  rule_id: string
  /** Completed traces matching the rule past its watermark, not yet processed. */
  backlog: number
  /** Matching traces still receiving spans (not complete yet). */
  pending: number
  /** Traces the rule has looked at (sampled in or out). */
  processed: number
  sampled_out: number
  /** Scores written with status ok. */
  scored: number
  /** Evaluations that failed (a failed score was written; reasons in `recent_failures`). */
  failures: number
  watermark: string | null
  last_run_at: string | null
  last_error: string
  recent_failures: RuleFailure[]
}
