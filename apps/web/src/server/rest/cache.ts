import { readPriceResolver } from '@hindsight/collector/pricing'
import { getCacheSavings } from '@hindsight/dashboards'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps, resolveRange, spanFilter } from './context'
import { ERROR_RESPONSES, errorBody, jsonResponse, readModelInputError } from './errors'
import { CacheQuery } from './schemas'

const usd = z.number().nullable()

const totals = {
  calls: z
    .number()
    .int()
    .openapi({ description: 'LLM calls in the range (embeddings have no prompt cache).' }),
  cached_calls: z.number().int().openapi({ description: 'Calls that read or wrote the cache.' }),
  input_tokens: z.number().int().openapi({ description: 'Input tokens, cached ones included.' }),
  cache_read_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  hit_rate: z
    .number()
    .nullable()
    .openapi({ description: 'cache_read_tokens / input_tokens; null without input.' }),
  read_savings_usd: usd.openapi({
    description: 'Cache reads × (input price − cache-read price); null when no cached token is priced.',
  }),
  write_premium_usd: usd.openapi({
    description: 'Cache writes × (write price − input price), 1-hour writes at their own price.',
  }),
  net_savings_usd: usd.openapi({ description: 'read_savings_usd − write_premium_usd.' }),
}

const CacheModelSchema = z
  .object({ provider: z.string(), model: z.string(), ...totals })
  .openapi('CacheModel')

const CacheSavingsSchema = z
  .object({
    ...totals,
    unpriced_cache_tokens: z.number().int().openapi({
      description: 'Cache tokens of models missing from the price table: in the tokens, not the dollars.',
    }),
    by_model: z
      .array(CacheModelSchema)
      .openapi({ description: 'Models with cache traffic, largest net savings first.' }),
  })
  .openapi('CacheSavings')

const route = createRoute({
  method: 'get',
  path: '/cache',
  summary: 'Prompt-cache savings',
  description:
    "How much of the LLM calls' input was read from the providers' caches, and what that saved at the " +
    "project's prices (custom prices first, each day's price): reads against the input price, net of what " +
    'cache writes cost above it. Computed when asked, so a price change shows at once.',
  security: [BEARER],
  request: { query: CacheQuery },
  responses: {
    200: jsonResponse(CacheSavingsSchema, 'Savings over the range, overall and by model.'),
    ...ERROR_RESPONSES,
  },
})

export function registerCacheRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const resolver = readPriceResolver(deps.storage)
  app.openapi(route, async (c) => {
    const query = c.req.valid('query')
    const range = resolveRange(query)
    if (typeof range === 'string') return c.json(errorBody('bad_request', range), 400)
    try {
      const projectId = c.get('projectId')
      const table = await resolver.tableFor(projectId)
      const filter = spanFilter(query)
      return c.json(await getCacheSavings(deps.storage, projectId, { ...range, filter }, table), 200)
    } catch (error) {
      const message = readModelInputError(error)
      if (message) return c.json(errorBody('bad_request', message), 400)
      throw error
    }
  })
}
