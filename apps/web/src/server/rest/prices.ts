import {
  MAX_PROJECT_PRICES,
  PRICE_TABLE,
  type ProjectPrice,
  ProjectPriceRepository,
  readPriceResolver,
  repriceSpans,
} from '@hindsight/collector/pricing'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, ErrorSchema, errorBody } from './errors'

// Schemas ---------------------------------------------------------------------------------------

const rate = (description: string, example: number) =>
  z
    .number()
    .nonnegative()
    .openapi({ description: `${description} USD per 1M tokens, at most 6 decimals.`, example })

const rates = {
  input: rate('Uncached input tokens.', 2.5),
  output: rate('Output tokens (reasoning included).', 10),
  cache_read: rate('Cache reads; default `input`.', 1.25).optional(),
  cache_write: rate('Cache writes (5-minute); default `input`.', 3.75).optional(),
  cache_write_1h: rate('1-hour cache writes; default `cache_write`.', 6).optional(),
}

const TierSchema = z
  .strictObject({
    above_input_tokens: z
      .number()
      .int()
      .positive()
      .openapi({ description: 'Applies when input tokens (cache included) exceed this.', example: 200_000 }),
    ...rates,
  })
  .openapi('PriceTier', {
    description: 'Prices for the whole call when its input is above the threshold (long context).',
  })

const entryFields = {
  provider: z
    .string()
    .min(1)
    .max(200)
    .openapi({ example: 'openai', description: 'As in gen_ai.provider.name.' }),
  model: z.string().min(1).max(500).openapi({ example: 'gpt-4o', description: 'Exact model name.' }),
  model_pattern: z.string().min(1).max(200).optional().openapi({
    example: 'gpt-4o-\\d{4}-\\d{2}-\\d{2}',
    description: 'Full-match regular expression for other spellings (no nested repetition).',
  }),
  provider_aliases: z
    .array(z.string().min(1).max(200))
    .max(20)
    .optional()
    .openapi({ example: ['azure.ai.openai'] }),
  effective_from: z.iso
    .date()
    .openapi({ example: '2026-03-01', description: 'First day (UTC) the price applies.' }),
  ...rates,
  tiers: z.array(TierSchema).max(20).optional(),
}

const PriceInputSchema = z.strictObject(entryFields).openapi('CustomPriceInput')

const CustomPriceSchema = z
  .object({
    ...entryFields,
    created_at: z.string().openapi({ format: 'date-time', example: '2026-03-01T09:00:00.000Z' }),
    updated_at: z.string().openapi({ format: 'date-time', example: '2026-03-01T09:00:00.000Z' }),
  })
  .openapi('CustomPrice')

const PriceListSchema = z
  .object({
    data: z.array(CustomPriceSchema),
    builtin_version: z.string().openapi({ description: 'Version of the built-in price table.' }),
  })
  .openapi('CustomPriceList')

const PriceKeyQuery = z.object({
  provider: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: 'provider', in: 'query' }, example: 'openai' }),
  model: z
    .string()
    .min(1)
    .max(500)
    .openapi({ param: { name: 'model', in: 'query' }, example: 'gpt-4o' }),
  effective_from: z.iso
    .date()
    .openapi({ param: { name: 'effective_from', in: 'query' }, example: '2026-03-01' }),
})

const timestamp = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 timestamp such as 2025-01-31T00:00:00Z' })
  .openapi({ example: '2026-03-01T00:00:00Z' })

const RepriceInputSchema = z
  .strictObject({
    from: timestamp.openapi({ description: 'Start of the range (inclusive), on span start time.' }),
    to: timestamp.openapi({ description: 'End of the range (exclusive).' }),
  })
  .openapi('RepriceInput')

const RepriceResultSchema = z
  .object({
    spans_scanned: z.number().int(),
    spans_changed: z
      .number()
      .int()
      .openapi({ description: 'Spans whose cost, price version or note changed.' }),
    cost_before_usd: z
      .string()
      .openapi({ example: '12.500000000', description: 'Sum over the scanned spans.' }),
    cost_after_usd: z.string().openapi({ example: '11.250000000' }),
  })
  .openapi('RepriceResult')

// Routes ----------------------------------------------------------------------------------------

/** Stored times ('YYYY-MM-DD hh:mm:ss.fff', UTC) as ISO 8601, like every time the API returns. */
function withIsoTimes(price: ProjectPrice): ProjectPrice {
  const iso = (text: string) => `${text.replace(' ', 'T')}Z`
  return { ...price, created_at: iso(price.created_at), updated_at: iso(price.updated_at) }
}

const json = <S extends z.ZodType>(schema: S) => ({ 'application/json': { schema } })

const listRoute = createRoute({
  method: 'get',
  path: '/prices',
  summary: "The project's custom prices",
  description:
    'Custom prices take precedence over the built-in table for this project: a custom entry in effect at ' +
    "a span's start time prices it. They apply to spans ingested from now on; `POST /reprice` applies them to history.",
  security: [BEARER],
  responses: { 200: { description: 'Custom prices.', content: json(PriceListSchema) }, ...ERROR_RESPONSES },
})

const putRoute = createRoute({
  method: 'put',
  path: '/prices',
  summary: 'Add or replace one custom price',
  description:
    `Identified by provider, model and effective date: the same three replace the stored price. ` +
    `At most ${MAX_PROJECT_PRICES} custom prices per project.`,
  security: [BEARER],
  request: { body: { content: json(PriceInputSchema), required: true } },
  responses: {
    200: { description: 'The stored price.', content: json(CustomPriceSchema) },
    ...ERROR_RESPONSES,
  },
})

const deleteRoute = createRoute({
  method: 'delete',
  path: '/prices',
  summary: 'Remove one custom price',
  security: [BEARER],
  request: { query: PriceKeyQuery },
  responses: {
    200: { description: 'Removed.', content: json(z.object({ deleted: z.literal(true) })) },
    404: { description: 'The project has no such custom price.', content: json(ErrorSchema) },
    ...ERROR_RESPONSES,
  },
})

const repriceRoute = createRoute({
  method: 'post',
  path: '/reprice',
  summary: "Recompute the stored cost of the project's spans in a range",
  description:
    'Re-prices every span whose start time is in [from, to) from its stored tokens with the prices in effect ' +
    "today (built-in table and this project's custom prices), so a price fix also fixes history.",
  security: [BEARER],
  request: { body: { content: json(RepriceInputSchema), required: true } },
  responses: {
    200: { description: 'What changed.', content: json(RepriceResultSchema) },
    ...ERROR_RESPONSES,
  },
})

export function registerPricingRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const prices = new ProjectPriceRepository(deps.storage)
  const resolver = readPriceResolver(deps.storage)

  app.openapi(listRoute, async (c) => {
    const data = (await prices.list(c.get('projectId'))).map(withIsoTimes)
    return c.json({ data, builtin_version: PRICE_TABLE.version }, 200)
  })

  app.openapi(putRoute, async (c) => {
    try {
      return c.json(withIsoTimes(await prices.upsert(c.get('projectId'), c.req.valid('json'))), 200)
    } catch (error) {
      if (error instanceof RangeError) return c.json(errorBody('bad_request', error.message), 400)
      throw error
    }
  })

  app.openapi(deleteRoute, async (c) => {
    const key = c.req.valid('query')
    if (await prices.delete(c.get('projectId'), key)) return c.json({ deleted: true as const }, 200)
    return c.json(
      errorBody('not_found', `no custom price for ${key.provider}/${key.model} from ${key.effective_from}`),
      404,
    )
  })

  app.openapi(repriceRoute, async (c) => {
    const body = c.req.valid('json')
    const from = new Date(body.from)
    const to = new Date(body.to)
    if (from.getTime() >= to.getTime())
      return c.json(errorBody('bad_request', 'from: must be before to'), 400)
    const { projects: _projects, ...result } = await repriceSpans(deps.storage, {
      projectId: c.get('projectId'),
      from,
      to,
      resolver,
    })
    return c.json(result, 200)
  })
}
