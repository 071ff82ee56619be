import { SPAN_KINDS, SPAN_STATUSES } from '@hindsight/collector/conventions'
import { z } from '@hono/zod-openapi'

// Request parameters ---------------------------------------------------------------------------

/** An optional ISO 8601 `from`/`to` query parameter. */
export const timestampParam = (name: 'from' | 'to', description: string) =>
  z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 timestamp such as 2025-01-31T00:00:00Z' })
    .optional()
    .openapi({
      param: { name, in: 'query' },
      description,
      example: '2025-01-31T00:00:00Z',
    })

const rangeParams = {
  from: timestampParam('from', 'Start of the range (inclusive). Default: 24 hours before `to`.'),
  to: timestampParam('to', 'End of the range (exclusive). Default: now.'),
}

/**
 * A list filter that may repeat (`?model=a&model=b`) or be comma-separated (`?model=a,b`).
 * Hono hands a repeated parameter over as an array, a single one as a string.
 */
const listParam = (name: string, description: string) =>
  z
    .union([z.string().max(2000), z.array(z.string().max(2000)).max(100)])
    .optional()
    .transform((value) =>
      value === undefined
        ? undefined
        : (Array.isArray(value) ? value : [value])
            .flatMap((v) => v.split(','))
            .map((v) => v.trim())
            .filter((v) => v !== ''),
    )
    .openapi({
      param: { name, in: 'query', style: 'form', explode: true },
      description,
      type: 'array',
      items: { type: 'string' },
    })

const filterParams = {
  model: listParam('model', 'Model name(s); repeat the parameter or separate with commas.'),
  provider: listParam('provider', 'Provider name(s), e.g. openai; repeat or comma-separate.'),
  release: listParam('release', 'Release(s) of the traced application; repeat or comma-separate.'),
  route: listParam(
    'route',
    'Route(s) of the traced application (`withAttributes({ route })`); repeat or comma-separate.',
  ),
  name: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .openapi({ param: { name: 'name', in: 'query' }, description: 'Exact span name.' }),
}

/** `GET /cache`: a range and the span filters. */
export const CacheQuery = z.object({ ...rangeParams, ...filterParams })

export const TracesQuery = z.object({
  ...rangeParams,
  ...filterParams,
  status: z
    .enum(['ok', 'error'])
    .optional()
    .openapi({
      param: { name: 'status', in: 'query' },
      description: "'error': some span of the trace failed; 'ok': none did.",
    }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .optional()
    .openapi({
      param: { name: 'limit', in: 'query' },
      description: 'Page size, 1–500.',
      example: 50,
      type: 'integer',
      minimum: 1,
      maximum: 500,
    }),
  cursor: z
    .string()
    .max(1000)
    .optional()
    .openapi({
      param: { name: 'cursor', in: 'query' },
      description: '`next_cursor` of the previous page.',
    }),
})

export const TraceParams = z.object({
  traceId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hexadecimal characters')
    .transform((id) => id.toLowerCase())
    .openapi({
      param: { name: 'traceId', in: 'path' },
      example: '4bf92f3577b34da6a3ce929d0e0e4736',
      type: 'string',
      pattern: '^[0-9a-fA-F]{32}$',
    }),
})

export const GROUP_BY = [
  'model',
  'provider',
  'release',
  'route',
  'name',
  'environment',
  'service',
  'user',
  'attribute',
] as const

const INTERVAL_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const

export const MetricsQuery = z.object({
  ...rangeParams,
  ...filterParams,
  groupBy: z
    .enum(GROUP_BY)
    .optional()
    .openapi({
      param: { name: 'groupBy', in: 'query' },
      description:
        'Break the metrics down by this span field, or (`attribute`) by the value of the span attribute named ' +
        'in `attribute` (e.g. `hindsight.metadata.customer`); rows carry the value under the groupBy name.',
    }),
  attribute: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .openapi({
      param: { name: 'attribute', in: 'query' },
      description: 'With `groupBy=attribute`: the attribute key to group by.',
      example: 'hindsight.metadata.customer',
    }),
  interval: z
    .string()
    .regex(/^[1-9]\d{0,7}[smhd]?$/, 'must be a bucket width such as 1m, 5m, 1h, 1d or a number of seconds')
    .optional()
    .transform((text) => {
      if (text === undefined) return undefined
      const unit = text.at(-1) ?? ''
      const factor = unit in INTERVAL_UNITS ? INTERVAL_UNITS[unit as keyof typeof INTERVAL_UNITS] : 1
      return Number.parseInt(text, 10) * factor
    })
    .openapi({
      param: { name: 'interval', in: 'query' },
      description: 'Bucket width (1m, 5m, 1h, 1d, or seconds); rows then carry `bucket`.',
      example: '1h',
      type: 'string',
      pattern: '^[1-9][0-9]{0,7}[smhd]?$',
    }),
  score: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({
      param: { name: 'score', in: 'query' },
      description:
        'A score name: rows then carry `score_mean`, `score_n` and `score_stderr` over the ok numeric and ' +
        "boolean scores of the traces in each row (a trace's scores count once in each group its calls fall in).",
      example: 'helpfulness',
    }),
})

// Responses ------------------------------------------------------------------------------------

const usd = z.number().nullable().openapi({ description: 'USD; null when no call could be priced.' })
const isoTime = z.string().openapi({ format: 'date-time', example: '2025-01-31T12:00:00.000000Z' })

export const TraceSummarySchema = z
  .object({
    trace_id: z.string(),
    name: z.string().openapi({ description: "Root span's name (the earliest span's when no root)." }),
    start_time: isoTime,
    duration_ms: z.number(),
    span_count: z.number().int(),
    llm_calls: z.number().int(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cost_usd: usd,
    status: z.enum(['ok', 'error']),
    models: z.array(z.string()),
    release: z.string(),
    service_name: z.string(),
  })
  .openapi('TraceSummary')

export const TracePageSchema = z
  .object({
    data: z.array(TraceSummarySchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page.' }),
  })
  .openapi('TracePage')

export const SpanSchema = z
  .object({
    trace_id: z.string(),
    span_id: z.string(),
    parent_span_id: z.string().openapi({ description: "'' for a root span." }),
    name: z.string(),
    kind: z.enum(SPAN_KINDS),
    service_name: z.string(),
    environment: z.string(),
    release: z.string(),
    route: z.string(),
    operation: z.string(),
    provider: z.string(),
    model: z.string(),
    request_model: z.string(),
    input_tokens: z.number().int().openapi({ description: 'Including cache reads and writes.' }),
    output_tokens: z.number().int().openapi({ description: 'Including reasoning tokens.' }),
    cache_read_tokens: z.number().int(),
    cache_write_tokens: z.number().int(),
    reasoning_tokens: z.number().int(),
    cost_usd: usd,
    price_version: z.string(),
    pricing_note: z.string(),
    start_time: isoTime,
    end_time: isoTime,
    duration_ms: z.number(),
    ttft_ms: z.number().nullable(),
    status: z.enum(SPAN_STATUSES),
    status_message: z.string(),
    error_type: z.string(),
    user_id: z.string(),
    session_id: z.string(),
    input: z.string(),
    output: z.string(),
    attributes: z.record(z.string(), z.string()),
    resource_attributes: z.record(z.string(), z.string()),
    scope_name: z.string(),
    ingested_at: isoTime,
  })
  .openapi('Span')

export const TraceDetailSchema = z
  .object({
    trace_id: z.string(),
    name: z.string(),
    start_time: isoTime,
    duration_ms: z.number(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cost_usd: usd,
    spans: z.array(SpanSchema).openapi({ description: 'Ordered by start time.' }),
  })
  .openapi('TraceDetail')

const ms = z.number().nullable()

export const MetricsRowSchema = z
  .object({
    model: z.string().optional(),
    provider: z.string().optional(),
    release: z.string().optional(),
    route: z.string().optional(),
    name: z.string().optional(),
    environment: z.string().optional(),
    service: z.string().optional(),
    user: z.string().optional(),
    attribute: z.string().optional(),
    bucket: z.string().optional().openapi({
      format: 'date-time',
      example: '2025-01-31T12:00:00.000Z',
      description: 'Bucket start, when `interval` is given.',
    }),
    calls: z.number().int(),
    errors: z.number().int(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cache_read_tokens: z.number().int(),
    cache_write_tokens: z.number().int(),
    reasoning_tokens: z.number().int(),
    cost_usd: usd,
    unpriced_calls: z.number().int().openapi({
      description:
        'Model calls (llm, embedding) with no price: `cost_usd` is a lower bound when some are not failed calls.',
    }),
    unpriced_failed_calls: z.number().int().openapi({
      description:
        'Of `unpriced_calls`, the failed calls that reported no token usage (providers bill nothing for a rejected request).',
    }),
    p50_ms: ms,
    p95_ms: ms,
    p99_ms: ms,
    ttft_p50_ms: ms,
    score_mean: z
      .number()
      .nullable()
      .optional()
      .openapi({ description: 'With `score`: the mean; null without scores.' }),
    score_n: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'With `score`: how many scores were averaged.' }),
    score_stderr: z
      .number()
      .nullable()
      .optional()
      .openapi({ description: 'With `score`: standard error of the mean; null below 2 scores.' }),
  })
  .openapi('MetricsRow', {
    description: 'Only the `groupBy` field is present; buckets without calls are absent, never zero.',
  })

export const MetricsResponseSchema = z.object({ data: z.array(MetricsRowSchema) }).openapi('MetricsResponse')
