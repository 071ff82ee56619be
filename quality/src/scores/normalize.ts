/**
 * Turning what a caller sent into a stored score row, and checking score configs. Pure: the
 * repository supplies the configs, so the rules are tested without a database.
 */
import { invalid } from '../errors'
import { CLIENT_ID, newId, spanId, traceId } from '../ids'
import {
  SCORE_DATA_TYPES,
  SCORE_SOURCES,
  SCORE_STATUSES,
  type ScoreConfig,
  type ScoreConfigInput,
  type ScoreDataType,
  type ScoreInput,
} from './types'

export const MAX_NAME_LENGTH = 200
export const MAX_COMMENT_LENGTH = 10_000
export const MAX_CATEGORIES = 100

/** The `scores` table row. */
export interface ScoreRow {
  project_id: string
  id: string
  trace_id: string
  span_id: string
  name: string
  value: number
  string_value: string
  data_type: ScoreDataType
  source: string
  status: string
  comment: string
  author: string
  evaluator: string
  config_id: string
  dataset_id: string
  dataset_item_id: string
  dataset_version: number
  eval_model: string
  eval_input_tokens: number
  eval_output_tokens: number
  eval_cost_usd: string | null
  eval_latency_ms: number | null
  metadata: Record<string, string>
  created_at: string
  updated_at: string
}

export function scoreName(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field}: must be a string`)
  const name = value.trim()
  if (name === '' || name.length > MAX_NAME_LENGTH) {
    throw invalid(`${field}: must be 1 to ${MAX_NAME_LENGTH} characters`)
  }
  return name
}

function text(value: string | undefined, field: string, max = MAX_COMMENT_LENGTH): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw invalid(`${field}: must be a string`)
  if (value.length > max) throw invalid(`${field}: at most ${max} characters`)
  return value
}

function inferType(value: ScoreInput['value']): ScoreDataType {
  if (typeof value === 'boolean') return 'boolean'
  if (typeof value === 'string') return 'categorical'
  return 'numeric'
}

/** Value columns of a score of this type, or the error naming what is wrong. */
function valueColumns(
  dataType: ScoreDataType,
  value: ScoreInput['value'],
  config: ScoreConfig | undefined,
  field: string,
): { value: number; string_value: string } {
  switch (dataType) {
    case 'numeric': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalid(`${field}: a numeric score needs a finite number`)
      }
      if (config?.min_value != null && value < config.min_value) {
        throw invalid(`${field}: ${value} is below the minimum ${config.min_value} of score '${config.name}'`)
      }
      if (config?.max_value != null && value > config.max_value) {
        throw invalid(`${field}: ${value} is above the maximum ${config.max_value} of score '${config.name}'`)
      }
      return { value, string_value: '' }
    }
    case 'boolean': {
      if (value === true || value === 1) return { value: 1, string_value: 'true' }
      if (value === false || value === 0) return { value: 0, string_value: 'false' }
      throw invalid(`${field}: a boolean score needs true or false (or 1 or 0)`)
    }
    case 'categorical': {
      if (typeof value !== 'string' || value.trim() === '') {
        throw invalid(`${field}: a categorical score needs a label (a non-empty string)`)
      }
      const label = value.trim()
      if (label.length > MAX_NAME_LENGTH) throw invalid(`${field}: at most ${MAX_NAME_LENGTH} characters`)
      if (!config) return { value: 0, string_value: label }
      const index = config.categories.indexOf(label)
      if (index < 0) {
        throw invalid(
          `${field}: '${label}' is not a category of score '${config.name}' (${config.categories.join(', ')})`,
        )
      }
      return { value: index, string_value: label }
    }
  }
}

function isoToCh(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

/**
 * Validates one score against the config of its name (when there is one) and returns its row.
 * Throws `QualityError('invalid_input')` whose message starts with `field`.
 */
export function toScoreRow(
  projectId: string,
  input: ScoreInput,
  config: ScoreConfig | undefined,
  field: string,
  now: Date = new Date(),
): ScoreRow {
  const id = input.id === undefined ? newId() : input.id
  if (typeof id !== 'string' || !CLIENT_ID.test(id)) {
    throw invalid(`${field}.id: 1 to 128 letters, digits or _ . : -`)
  }
  const name = scoreName(input.name, `${field}.name`)
  if (!SCORE_SOURCES.includes(input.source)) {
    throw invalid(`${field}.source: one of ${SCORE_SOURCES.join(', ')}`)
  }
  const status = input.status ?? 'ok'
  if (!SCORE_STATUSES.includes(status)) throw invalid(`${field}.status: one of ${SCORE_STATUSES.join(', ')}`)
  if (input.dataType !== undefined && !SCORE_DATA_TYPES.includes(input.dataType)) {
    throw invalid(`${field}.dataType: one of ${SCORE_DATA_TYPES.join(', ')}`)
  }
  if (config && input.dataType !== undefined && input.dataType !== config.data_type) {
    throw invalid(
      `${field}.dataType: score '${name}' is configured as ${config.data_type}, not ${input.dataType}`,
    )
  }
  const dataType = config?.data_type ?? input.dataType ?? inferType(input.value)
  const columns =
    status === 'failed'
      ? { value: 0, string_value: '' }
      : valueColumns(dataType, input.value, config, `${field}.value`)
  const usage = input.evalUsage
  if (usage) {
    for (const key of ['inputTokens', 'outputTokens', 'latencyMs'] as const) {
      if (!Number.isFinite(usage[key]) || usage[key] < 0) {
        throw invalid(`${field}.evalUsage.${key}: must be a non-negative number`)
      }
    }
  }
  const metadata = input.metadata ?? {}
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw invalid(`${field}.metadata.${key}: values must be strings`)
  }
  const created = input.createdAt ?? now
  if (Number.isNaN(created.getTime())) throw invalid(`${field}.createdAt: not a valid date`)
  return {
    project_id: projectId,
    id,
    trace_id: traceId(input.traceId ?? '', `${field}.traceId`),
    span_id: spanId(input.spanId, `${field}.spanId`),
    name,
    ...columns,
    data_type: dataType,
    source: input.source,
    status,
    comment: text(input.comment, `${field}.comment`),
    author: text(input.author, `${field}.author`, MAX_NAME_LENGTH),
    evaluator: text(input.evaluator, `${field}.evaluator`, MAX_NAME_LENGTH),
    config_id: config?.id ?? '',
    dataset_id: input.dataset?.id ?? '',
    dataset_item_id: input.dataset?.itemId ?? '',
    dataset_version: input.dataset?.version ?? 0,
    eval_model: usage?.model ?? '',
    eval_input_tokens: Math.round(usage?.inputTokens ?? 0),
    eval_output_tokens: Math.round(usage?.outputTokens ?? 0),
    eval_cost_usd: usage?.costUsd == null ? null : usage.costUsd.toFixed(9),
    eval_latency_ms: usage ? usage.latencyMs : null,
    metadata,
    created_at: isoToCh(created),
    updated_at: isoToCh(now),
  }
}

/** Validates a score config; throws `QualityError('invalid_input')` naming the field. */
export function checkScoreConfig(input: ScoreConfigInput): Required<ScoreConfigInput> {
  const name = scoreName(input.name, 'name')
  if (!SCORE_DATA_TYPES.includes(input.dataType)) {
    throw invalid(`dataType: one of ${SCORE_DATA_TYPES.join(', ')}`)
  }
  const minValue = input.minValue ?? null
  const maxValue = input.maxValue ?? null
  const categories = (input.categories ?? []).map((c) => c.trim())
  if (input.dataType !== 'numeric' && (minValue !== null || maxValue !== null)) {
    throw invalid('minValue: only numeric scores have a range')
  }
  for (const [key, bound] of [
    ['minValue', minValue],
    ['maxValue', maxValue],
  ] as const) {
    if (bound !== null && !Number.isFinite(bound)) throw invalid(`${key}: must be a finite number`)
  }
  if (minValue !== null && maxValue !== null && minValue > maxValue) {
    throw invalid('minValue: must not exceed maxValue')
  }
  if (input.dataType === 'categorical') {
    if (categories.length === 0) throw invalid('categories: a categorical score needs at least one category')
    if (categories.length > MAX_CATEGORIES) throw invalid(`categories: at most ${MAX_CATEGORIES}`)
    if (categories.some((c) => c === '' || c.length > MAX_NAME_LENGTH)) {
      throw invalid(`categories: each label is 1 to ${MAX_NAME_LENGTH} characters`)
    }
    if (new Set(categories).size !== categories.length) throw invalid('categories: labels must be unique')
  } else if (categories.length > 0) {
    throw invalid('categories: only categorical scores have categories')
  }
  return {
    name,
    dataType: input.dataType,
    minValue,
    maxValue,
    categories,
    description: text(input.description, 'description'),
  }
}
