import type { EvalUsage, ScoreDataType } from '../scores/types'

/** The spans of the evaluated trace, as much of them as evaluators read. */
export interface EvalSpan {
  span_id: string
  parent_span_id: string
  name: string
  kind: string
  model: string
  provider: string
  input: string
  output: string
  attributes: Record<string, string>
  duration_ms: number
  cost_usd: number | null
  status: string
}

/** What an evaluator looks at. Only `output` is always there. */
export interface EvalInput {
  /** What was asked: text, messages or any JSON. */
  input?: unknown
  /** The answer to evaluate: text, GenAI/OpenAI messages or any JSON. */
  output: unknown
  /** The reference answer (a dataset item's expected output). */
  expected?: unknown
  /** The trace's spans, for evaluators that read citations, retrievals, latency or cost. */
  spans?: EvalSpan[]
  /** End-to-end latency; default: the envelope of `spans`. */
  latencyMs?: number
  /** Total cost in USD (null: unpriced); default: the sum over `spans`. */
  costUsd?: number | null
  metadata?: Record<string, unknown>
}

/** Where an evaluation runs: the scored trace, for judge spans and scores. */
export interface EvalContext {
  projectId?: string
  traceId?: string
  /** Aborts a running evaluation (e.g. on shutdown). */
  signal?: AbortSignal
}

/** The value type that goes with each score data type. */
export interface EvalValueOf {
  numeric: number
  boolean: boolean
  categorical: string
}

/** What an evaluator function returns: a value and why. */
export interface EvalOutcome<T extends ScoreDataType = ScoreDataType> {
  value: EvalValueOf[T]
  reason: string
  /** The model call behind the value (LLM-as-judge): tokens, cost, latency. */
  usage?: EvalUsage
}

/** A failed evaluation: it ran but could not produce a value (judge timeout, bad output). */
export interface EvalFailure {
  failed: true
  reason: string
  usage?: EvalUsage
}

export interface Evaluator<T extends ScoreDataType = ScoreDataType> {
  /** The score name results are stored under. */
  readonly name: string
  readonly dataType: T
  readonly description?: string
  /**
   * Bounds every numeric score of this evaluator stays within (a judge's scale, 0–1 for an F1).
   * Comparisons use them when scores do not vary (rule-of-three bounds instead of no interval).
   */
  readonly range?: { readonly min: number; readonly max: number }
  evaluate(
    input: EvalInput,
    context: EvalContext,
  ): Promise<EvalOutcome<T> | EvalFailure> | EvalOutcome<T> | EvalFailure
}

/** The result of running an evaluator: never thrown, always recorded. */
export type EvalResult =
  | {
      status: 'ok'
      evaluator: string
      dataType: ScoreDataType
      value: number | boolean | string
      reason: string
      usage?: EvalUsage
      durationMs: number
    }
  | {
      status: 'failed'
      evaluator: string
      dataType: ScoreDataType
      value: null
      reason: string
      usage?: EvalUsage
      durationMs: number
    }
