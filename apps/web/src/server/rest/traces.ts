import { getTrace, listTraces } from '@hindsight/dashboards'
import { createRoute } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps, resolveRange, spanFilter } from './context'
import { ERROR_RESPONSES, ErrorSchema, errorBody, jsonResponse, readModelInputError } from './errors'
import { TraceDetailSchema, TracePageSchema, TraceParams, TracesQuery } from './schemas'

const listRoute = createRoute({
  method: 'get',
  path: '/traces',
  summary: 'List traces, newest first',
  description:
    'Traces with at least one span in the range. Filters match when any span of the trace matches. ' +
    'Cursor-paged: pass `next_cursor` back as `cursor` until it is null.',
  security: [BEARER],
  request: { query: TracesQuery },
  responses: {
    200: jsonResponse(TracePageSchema, 'A page of traces.'),
    ...ERROR_RESPONSES,
  },
})

const getRoute = createRoute({
  method: 'get',
  path: '/traces/{traceId}',
  summary: 'One trace with all its spans',
  security: [BEARER],
  request: { params: TraceParams },
  responses: {
    200: jsonResponse(TraceDetailSchema, 'The trace; spans ordered by start time.'),
    404: jsonResponse(ErrorSchema, "No span with this trace id in the key's project."),
    ...ERROR_RESPONSES,
  },
})

export function registerTraceRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query')
    const range = resolveRange(query)
    if (typeof range === 'string') return c.json(errorBody('bad_request', range), 400)
    try {
      const page = await listTraces(deps.storage, c.get('projectId'), {
        ...range,
        limit: query.limit,
        cursor: query.cursor,
        filter: { ...spanFilter(query), status: query.status },
      })
      return c.json({ data: page.items, next_cursor: page.next_cursor }, 200)
    } catch (error) {
      const message = readModelInputError(error)
      if (message) return c.json(errorBody('bad_request', message), 400)
      throw error
    }
  })

  app.openapi(getRoute, async (c) => {
    const { traceId } = c.req.valid('param')
    const trace = await getTrace(deps.storage, c.get('projectId'), traceId)
    if (!trace) return c.json(errorBody('not_found', `trace ${traceId} not found`), 404)
    return c.json(trace, 200)
  })
}
