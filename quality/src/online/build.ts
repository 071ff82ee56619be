/**
 * Turns a rule's evaluator specs into evaluators: built-ins with their options, LLM judges
 * (keys read from the environment variable the spec names, never stored) and custom evaluators
 * registered in the process by name. A spec that cannot be built is reported, not thrown, so
 * one bad evaluator fails its evaluations with the reason instead of stopping the rule.
 */
import {
  citationPresent,
  citationsResolvable,
  contains,
  costThreshold,
  exactMatch,
  jsonSchema,
  latencyThreshold,
  lengthBounds,
  refusal,
  regexMatch,
  validJson,
} from '../evaluators/builtin'
import { type JudgeSpanSink, llmJudge } from '../evaluators/judge'
import { RUBRICS, type Rubric } from '../evaluators/rubrics'
import type { Evaluator } from '../evaluators/types'
import type { BuiltinEvaluatorName, EvaluatorSpec } from './types'

type Options = Record<string, unknown>

/** The factories check their own options (JSON from a rule) and throw a TypeError naming the problem. */
function cast<T>(options: Options): T {
  return options as unknown as T
}

// Options come from JSON; each factory validates what it needs and throws a TypeError otherwise.
const BUILTINS: Record<BuiltinEvaluatorName, (o: Options) => Evaluator> = {
  exact_match: (o) => exactMatch(cast<Parameters<typeof exactMatch>[0]>(o)),
  contains: (o) => contains(cast<Parameters<typeof contains>[0]>(o)),
  regex_match: (o) => {
    if (typeof o.pattern !== 'string') throw new TypeError('regex_match: options.pattern must be a string')
    return regexMatch(cast<Parameters<typeof regexMatch>[0]>(o))
  },
  valid_json: (o) => validJson(cast<Parameters<typeof validJson>[0]>(o)),
  json_schema: (o) => {
    if (typeof o.schema !== 'object' || o.schema === null) {
      throw new TypeError('json_schema: options.schema must be an object')
    }
    return jsonSchema(cast<Parameters<typeof jsonSchema>[0]>(o))
  },
  length_bounds: (o) => lengthBounds(cast<Parameters<typeof lengthBounds>[0]>(o)),
  citation_present: (o) => citationPresent(cast<Parameters<typeof citationPresent>[0]>(o)),
  citations_resolvable: (o) => citationsResolvable(cast<Parameters<typeof citationsResolvable>[0]>(o)),
  refusal: (o) => refusal({ ...(typeof o.name === 'string' ? { name: o.name } : {}) }),
  latency_threshold: (o) => {
    if (typeof o.maxMs !== 'number') throw new TypeError('latency_threshold: options.maxMs must be a number')
    return latencyThreshold(cast<Parameters<typeof latencyThreshold>[0]>(o))
  },
  cost_threshold: (o) => {
    if (typeof o.maxUsd !== 'number') throw new TypeError('cost_threshold: options.maxUsd must be a number')
    return costThreshold(cast<Parameters<typeof costThreshold>[0]>(o))
  },
}

export interface BuildContext {
  /** Custom evaluators by name (`OnlineEvaluationWorker.registerCustom`). */
  custom: ReadonlyMap<string, Evaluator>
  /** Records judge calls as spans. */
  spanSink?: JudgeSpanSink
  /** Environment the judge keys are read from. @default process.env */
  env?: Record<string, string | undefined>
  /** Judge defaults (tests shorten them). */
  judge?: { timeoutMs?: number; maxAttempts?: number; retryDelayMs?: number }
}

export type Built = { ok: true; evaluator: Evaluator } | { ok: false; name: string; reason: string }

/** The score name a spec writes under, without building it. */
export function specName(spec: EvaluatorSpec): string {
  if (spec.type === 'custom') return spec.evaluator
  if (spec.name) return spec.name
  if (spec.type === 'judge') return typeof spec.rubric === 'string' ? spec.rubric : spec.rubric.name
  return spec.evaluator
}

export function buildEvaluator(spec: EvaluatorSpec, context: BuildContext): Built {
  const name = specName(spec)
  try {
    switch (spec.type) {
      case 'builtin': {
        const options = { ...(spec.options ?? {}), ...(spec.name ? { name: spec.name } : {}) }
        return { ok: true, evaluator: BUILTINS[spec.evaluator](options) }
      }
      case 'custom': {
        const evaluator = context.custom.get(spec.evaluator)
        if (!evaluator)
          return { ok: false, name, reason: `no custom evaluator '${spec.evaluator}' is registered` }
        return { ok: true, evaluator }
      }
      case 'judge': {
        const env = context.env ?? process.env
        const apiKey = spec.endpoint.apiKeyEnv ? env[spec.endpoint.apiKeyEnv] : 'not-needed'
        if (!apiKey)
          return { ok: false, name, reason: `environment variable ${spec.endpoint.apiKeyEnv} is not set` }
        const rubric: Rubric = typeof spec.rubric === 'string' ? RUBRICS[spec.rubric] : spec.rubric
        const timeoutMs = spec.timeoutMs ?? context.judge?.timeoutMs
        const maxAttempts = spec.maxAttempts ?? context.judge?.maxAttempts
        return {
          ok: true,
          evaluator: llmJudge({
            endpoint: {
              provider: spec.endpoint.provider,
              model: spec.endpoint.model,
              apiKey,
              ...(spec.endpoint.baseURL ? { baseURL: spec.endpoint.baseURL } : {}),
              ...(spec.endpoint.priceProvider ? { priceProvider: spec.endpoint.priceProvider } : {}),
            },
            rubric,
            name,
            ...(timeoutMs !== undefined ? { timeoutMs } : {}),
            ...(maxAttempts !== undefined ? { maxAttempts } : {}),
            ...(context.judge?.retryDelayMs !== undefined
              ? { retryDelayMs: context.judge.retryDelayMs }
              : {}),
            ...(context.spanSink ? { spanSink: context.spanSink } : {}),
          }),
        }
      }
    }
  } catch (error) {
    return { ok: false, name, reason: `cannot build evaluator: ${(error as Error).message}` }
  }
}
