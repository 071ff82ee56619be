/** Score kinds: a number, a pass/fail, or one label out of a set. */
export const SCORE_DATA_TYPES = ['numeric', 'boolean', 'categorical'] as const
export type ScoreDataType = (typeof SCORE_DATA_TYPES)[number]

/** Who produced a score. */
export const SCORE_SOURCES = ['api', 'sdk', 'annotation', 'evaluator'] as const
export type ScoreSource = (typeof SCORE_SOURCES)[number]

/** `failed`: an evaluation ran but could not score (judge timeout, bad output); `comment` says why. */
export const SCORE_STATUSES = ['ok', 'failed'] as const
export type ScoreStatus = (typeof SCORE_STATUSES)[number]

/** Tokens, cost and latency of the model call that produced an evaluator's score (LLM-as-judge). */
export interface EvalUsage {
  model: string
  inputTokens: number
  outputTokens: number
  /** USD; null when the judge model has no price. */
  costUsd: number | null
  latencyMs: number
}

/** A score to write. Validated (and checked against the score config of its name) on write. */
export interface ScoreInput {
  /** Re-sending the same id replaces the score instead of adding one. @default a random UUID */
  id?: string
  traceId: string
  /** Attach to one span of the trace. @default '' (the whole trace) */
  spanId?: string
  name: string
  /**
   * numeric: a finite number; boolean: true/false (or 1/0); categorical: the label.
   * Ignored for `status: 'failed'`.
   */
  value: number | boolean | string | null
  /** @default the config's type, else inferred from `value` (boolean, string → categorical, number) */
  dataType?: ScoreDataType
  source: ScoreSource
  /** @default 'ok' */
  status?: ScoreStatus
  comment?: string
  author?: string
  /** Name of the evaluator that produced it (source `evaluator`). */
  evaluator?: string
  /** The dataset item (and the dataset version) an evaluation ran on. */
  dataset?: { id: string; itemId: string; version: number }
  evalUsage?: EvalUsage
  metadata?: Record<string, string>
  /** @default now */
  createdAt?: Date
}

/** A stored score, as the APIs return it (snake_case, the public contract). */
export interface Score {
  id: string
  trace_id: string
  /** '' for a trace-level score. */
  span_id: string
  name: string
  /** numeric: the number; boolean: 1 or 0; categorical: the label's index in its config (0 without one). Null when failed. */
  value: number | null
  /** boolean: 'true'/'false'; categorical: the label; '' for numeric. */
  string_value: string
  data_type: ScoreDataType
  source: ScoreSource
  status: ScoreStatus
  comment: string
  author: string
  evaluator: string
  config_id: string
  dataset_id: string
  dataset_item_id: string
  /** 0 when not computed on a dataset item. */
  dataset_version: number
  eval_model: string
  eval_input_tokens: number
  eval_output_tokens: number
  eval_cost_usd: number | null
  eval_latency_ms: number | null
  metadata: Record<string, string>
  created_at: string
}

/** What a score of a given name may hold. */
export interface ScoreConfigInput {
  name: string
  dataType: ScoreDataType
  /** numeric only: inclusive bounds. */
  minValue?: number | null
  maxValue?: number | null
  /** categorical only: the allowed labels (at least one, unique). */
  categories?: string[]
  description?: string
}

export interface ScoreConfig {
  id: string
  name: string
  data_type: ScoreDataType
  min_value: number | null
  max_value: number | null
  categories: string[]
  description: string
  created_at: string
  updated_at: string
}

export interface ScoreListQuery {
  traceId?: string
  name?: string
  source?: ScoreSource
  /** Inclusive lower bound on `created_at`. */
  from?: Date
  /** Exclusive upper bound on `created_at`. */
  to?: Date
  /** @default 100 (at most 1000) */
  limit?: number
  cursor?: string
}

export interface ScorePage {
  items: Score[]
  next_cursor: string | null
}
