/** Request and response schemas of the quality routes (scores, score configs, datasets). */
import { QualityError, SCORE_DATA_TYPES, SCORE_SOURCES, SCORE_STATUSES } from '@hindsight/quality'
import { z } from '@hono/zod-openapi'
import { ErrorSchema, errorBody, jsonResponse } from './errors'
import { timestampParam } from './schemas'

const isoTime = z.string().openapi({ format: 'date-time', example: '2025-01-31T12:00:00.000Z' })

const traceIdText = z
  .string()
  .openapi({ example: '4bf92f3577b34da6a3ce929d0e0e4736', description: '32 hex characters.' })

/**
 * A trace/span filter of the quality layer (annotation queues, evaluation rules, objectives): each
 * field lists the values of one attribute, a span matching every given field (any of its values).
 * Each route names its own OpenAPI component (`name`) and says what the filter selects there.
 */
export function traceFilterSchema(name: string, description: string) {
  const values = z.array(z.string()).optional()
  return z
    .object({ name: values, route: values, model: values, release: values, kind: values })
    .openapi(name, { description, example: { route: ['/chat'] } })
}

/** A quality-layer refusal (`QualityError`) as the API's 404 or 400. */
export type QualityFailure =
  | { status: 400; body: ReturnType<typeof errorBody<'bad_request'>> }
  | { status: 404; body: ReturnType<typeof errorBody<'not_found'>> }

/** `not_found` → 404, any other `QualityError` → 400; any other error is re-thrown (the API's 500). */
export function qualityFailure(error: unknown): QualityFailure {
  if (!QualityError.isInstance(error)) throw error
  if (error.code === 'not_found') return { status: 404, body: errorBody('not_found', error.message) }
  return { status: 400, body: errorBody('bad_request', error.message) }
}

/** Any JSON value (dataset inputs and outputs are free-form). */
const json = z.unknown().openapi({ description: 'Any JSON value.' })

export const CONFLICT_RESPONSE = {
  409: {
    description: 'A dataset with this name already exists.',
    content: {
      'application/json': {
        schema: z
          .object({ error: z.object({ code: z.literal('conflict'), message: z.string() }) })
          .openapi('ConflictError'),
      },
    },
  },
}

export const NOT_FOUND_RESPONSE = {
  404: jsonResponse(ErrorSchema, "No such dataset or item in the key's project."),
}

// Scores ---------------------------------------------------------------------------------------

export const ScoreBodySchema = z
  .object({
    id: z.string().optional().openapi({
      description: 'Your id for the score: sending it again replaces the score (idempotent retries).',
    }),
    traceId: traceIdText,
    spanId: z
      .string()
      .optional()
      .openapi({ description: '16 hex characters: attach the score to one span.' }),
    name: z.string().openapi({ example: 'helpfulness' }),
    value: z.union([z.number(), z.boolean(), z.string()]).openapi({
      description: 'A number (numeric), true/false (boolean) or a label (categorical).',
      example: 0.8,
    }),
    dataType: z
      .enum(SCORE_DATA_TYPES)
      .optional()
      .openapi({ description: "Default: the score config's type, else inferred from `value`." }),
    source: z.enum(SCORE_SOURCES).optional().openapi({ description: "Who scored. Default 'api'." }),
    comment: z.string().optional(),
    author: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .openapi('ScoreInput')

export const ScoreCreateBodySchema = z
  .union([ScoreBodySchema, z.array(ScoreBodySchema).min(1).max(1000)])
  .openapi({ description: 'One score, or an array of up to 1000 (all are stored or none).' })

export const ScoreSchema = z
  .object({
    id: z.string(),
    trace_id: z.string(),
    span_id: z.string().openapi({ description: "'' for a trace-level score." }),
    name: z.string(),
    value: z.number().nullable().openapi({
      description: "Numeric value; booleans as 1/0; a category's index in its config. Null when failed.",
    }),
    string_value: z.string().openapi({ description: "Boolean 'true'/'false' or the category label." }),
    data_type: z.enum(SCORE_DATA_TYPES),
    source: z.enum(SCORE_SOURCES),
    status: z
      .enum(SCORE_STATUSES)
      .openapi({ description: "'failed': an evaluation could not score; see comment." }),
    comment: z.string(),
    author: z.string(),
    evaluator: z.string(),
    config_id: z.string(),
    dataset_id: z.string(),
    dataset_item_id: z.string(),
    dataset_version: z.number().int(),
    eval_model: z.string(),
    eval_input_tokens: z.number().int(),
    eval_output_tokens: z.number().int(),
    eval_cost_usd: z.number().nullable(),
    eval_latency_ms: z.number().nullable(),
    metadata: z.record(z.string(), z.string()),
    created_at: isoTime,
  })
  .openapi('Score')

export const ScoreListSchema = z
  .object({ data: z.array(ScoreSchema), next_cursor: z.string().nullable() })
  .openapi('ScorePage')

export const ScoreBatchSchema = z.object({ data: z.array(ScoreSchema) }).openapi('ScoreBatch')

export const ScoresQuery = z.object({
  traceId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hexadecimal characters')
    .optional()
    .openapi({ param: { name: 'traceId', in: 'query' } }),
  name: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: 'name', in: 'query' } }),
  source: z
    .enum(SCORE_SOURCES)
    .optional()
    .openapi({ param: { name: 'source', in: 'query' } }),
  from: timestampParam('from', 'Scores created at or after this time.'),
  to: timestampParam('to', 'Scores created before this time.'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .openapi({
      param: { name: 'limit', in: 'query' },
      description: 'Page size, 1–1000 (default 100).',
      type: 'integer',
    }),
  cursor: z
    .string()
    .max(1000)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' } }),
})

export const ScoreConfigBodySchema = z
  .object({
    name: z.string().openapi({ example: 'helpfulness' }),
    dataType: z.enum(SCORE_DATA_TYPES),
    minValue: z.number().nullable().optional().openapi({ description: 'numeric: inclusive lower bound.' }),
    maxValue: z.number().nullable().optional().openapi({ description: 'numeric: inclusive upper bound.' }),
    categories: z.array(z.string()).optional().openapi({ description: 'categorical: the allowed labels.' }),
    description: z.string().optional(),
  })
  .openapi('ScoreConfigInput')

export const ScoreConfigSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    data_type: z.enum(SCORE_DATA_TYPES),
    min_value: z.number().nullable(),
    max_value: z.number().nullable(),
    categories: z.array(z.string()),
    description: z.string(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .openapi('ScoreConfig')

export const ScoreConfigListSchema = z.object({ data: z.array(ScoreConfigSchema) }).openapi('ScoreConfigList')

// Datasets -------------------------------------------------------------------------------------

export const DatasetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    version: z
      .number()
      .int()
      .openapi({ description: 'Current version; every change to the items adds one.' }),
    item_count: z.number().int(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .openapi('Dataset')

export const DatasetItemSchema = z
  .object({
    id: z.string(),
    dataset_id: z.string(),
    input: json,
    expected_output: json,
    recorded_output: json,
    metadata: z.record(z.string(), json),
    source_trace_id: z.string(),
    source_span_id: z.string(),
    version: z
      .number()
      .int()
      .openapi({ description: 'The dataset version in which this item last changed.' }),
    created_at: isoTime,
  })
  .openapi('DatasetItem')

export const DatasetSnapshotSchema = z
  .object({
    dataset_id: z.string(),
    version: z.number().int(),
    items: z.array(DatasetItemSchema),
  })
  .openapi('DatasetSnapshot')

export const DatasetChangeSchema = z
  .object({
    dataset_id: z.string(),
    version: z
      .number()
      .int()
      .openapi({ description: 'The version this change created (unchanged if nothing was added).' }),
    items: z.array(DatasetItemSchema),
    skipped: z.number().int().openapi({ description: 'Traces already in the dataset, not added again.' }),
  })
  .openapi('DatasetChange')

export const DatasetParams = z.object({
  datasetId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'not a dataset id')
    .openapi({ param: { name: 'datasetId', in: 'path' }, type: 'string' }),
})

export const DatasetItemParams = DatasetParams.extend({
  itemId: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'not an item id')
    .openapi({ param: { name: 'itemId', in: 'path' }, type: 'string' }),
})

export const DatasetBodySchema = z
  .object({ name: z.string().openapi({ example: 'support-questions' }), description: z.string().optional() })
  .openapi('DatasetInput')

export const DatasetItemBodySchema = z
  .object({
    id: z.string().optional(),
    input: json,
    expected_output: json.optional(),
    metadata: z.record(z.string(), json).optional(),
  })
  .openapi('DatasetItemInput')

export const DatasetItemPatchSchema = z
  .object({
    input: json.optional(),
    expected_output: json.optional(),
    metadata: z.record(z.string(), json).optional(),
  })
  .openapi('DatasetItemPatch')

export const FromTracesBodySchema = z
  .object({
    traceIds: z
      .array(z.string())
      .min(1)
      .max(1000)
      .optional()
      .openapi({ description: 'Exactly these traces.' }),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'Default: 24 hours before `to`.' }),
    to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Default: now.' }),
    model: z.array(z.string()).max(100).optional(),
    provider: z.array(z.string()).max(100).optional(),
    release: z.array(z.string()).max(100).optional(),
    name: z.string().max(500).optional(),
    status: z.enum(['ok', 'error']).optional(),
    limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .openapi({ description: 'Newest traces first; default 100.' }),
  })
  .openapi('TraceSelection', {
    description:
      'Either `traceIds`, or the trace list filters (time range, model, provider, release, name, status).',
  })

export const VersionQuery = z.object({
  version: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({
      param: { name: 'version', in: 'query' },
      description: 'Default: the current version.',
      type: 'integer',
    }),
})

export const FormatQuery = z.object({
  format: z
    .enum(['jsonl', 'csv'])
    .openapi({ param: { name: 'format', in: 'query' }, description: 'File format.' }),
})
