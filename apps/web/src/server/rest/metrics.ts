import { getMetrics, type MetricsRow } from '@hindsight/dashboards'
import { getScoreMeans, joinScoreMeans, QualityError } from '@hindsight/quality'
import { createRoute } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps, resolveRange, spanFilter } from './context'
import { ERROR_RESPONSES, errorBody, jsonResponse, readModelInputError } from './errors'
import { type GROUP_BY, MetricsQuery, MetricsResponseSchema } from './schemas'

/** Keeps one request from asking for a minute-by-minute year. */
const MAX_BUCKETS = 2000

const route = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Call metrics, optionally grouped and bucketed',
  description:
    'Counts model calls (LLM and embedding spans). With `interval`, rows carry the bucket start; ' +
    `buckets without calls are omitted, never zero. At most ${MAX_BUCKETS} buckets per request.`,
  security: [BEARER],
  request: { query: MetricsQuery },
  responses: {
    200: jsonResponse(MetricsResponseSchema, 'Metric rows.'),
    ...ERROR_RESPONSES,
  },
})

/** The read model's `group` goes out under the groupBy name, e.g. `{ model: 'gpt-4o', ... }`. */
function publicRow(row: MetricsRow, groupBy: (typeof GROUP_BY)[number] | undefined) {
  const { group, ...rest } = row
  return groupBy ? { [groupBy]: group ?? '', ...rest } : rest
}

export function registerMetricsRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  app.openapi(route, async (c) => {
    const query = c.req.valid('query')
    const range = resolveRange(query)
    if (typeof range === 'string') return c.json(errorBody('bad_request', range), 400)
    if (query.groupBy === 'attribute' && !query.attribute) {
      return c.json(
        errorBody('bad_request', 'attribute: the attribute key to group by, with groupBy=attribute'),
        400,
      )
    }
    if (query.interval !== undefined) {
      const buckets = Math.ceil((range.to.getTime() - range.from.getTime()) / 1000 / query.interval)
      if (buckets > MAX_BUCKETS) {
        return c.json(
          errorBody(
            'bad_request',
            `interval: ${buckets} buckets over this range, at most ${MAX_BUCKETS}; use a wider interval or a shorter range`,
          ),
          400,
        )
      }
    }
    try {
      const metricsQuery = {
        ...range,
        groupBy: query.groupBy,
        groupKey: query.attribute,
        intervalSeconds: query.interval,
        filter: spanFilter(query),
      }
      const [rows, means] = await Promise.all([
        getMetrics(deps.storage, c.get('projectId'), metricsQuery),
        query.score
          ? getScoreMeans(deps.storage, c.get('projectId'), { ...metricsQuery, score: query.score })
          : null,
      ])
      const withScores = means ? joinScoreMeans(rows, means) : rows
      return c.json({ data: withScores.map((row) => publicRow(row, query.groupBy)) }, 200)
    } catch (error) {
      const message = readModelInputError(error) ?? (QualityError.isInstance(error) ? error.message : null)
      if (message) return c.json(errorBody('bad_request', message), 400)
      throw error
    }
  })
}
