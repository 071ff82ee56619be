import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { registerAnnotationRoutes } from './annotation'
import { registerBacktestRoutes } from './backtests'
import { registerCacheRoutes } from './cache'
import type { PublicApiDeps, PublicApiEnv } from './context'
import { registerDatasetRoutes } from './datasets'
import { describeZodError, errorBody, errorResponse } from './errors'
import { registerEvaluationRuleRoutes } from './evaluation-rules'
import { registerMetricsRoutes } from './metrics'
import { registerObjectiveRoutes } from './objectives'
import { registerPricingRoutes } from './prices'
import { registerScoreRoutes } from './scores'
import { registerSettingsRoutes } from './settings'
import { registerTraceRoutes } from './traces'

export type { PublicApiDeps } from './context'

/** Where the web server mounts the API: `app.route(PUBLIC_API_BASE, createPublicApi(deps))`. */
export const PUBLIC_API_BASE = '/api/public/v1'

const OPENAPI_PATH = '/openapi.json'

/**
 * The public REST API (ARCHITECTURE.md, "Runtime contract"): traces, one trace, metrics and
 * its OpenAPI 3.1 document. Every route but the document needs `Authorization: Bearer <key>`,
 * and every query is scoped to the key's project. Routes are relative to {@link PUBLIC_API_BASE}.
 */
export function createPublicApi(deps: PublicApiDeps): OpenAPIHono<PublicApiEnv> {
  const app = new OpenAPIHono<PublicApiEnv>({
    defaultHook: (result, c) => {
      if (result.success) return undefined
      return c.json(errorBody('bad_request', describeZodError(result.error, result.target)), 400)
    },
  })

  // Registered before the auth middleware, so the document is public; it is generated per request
  // and so still lists the routes registered below.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A Hindsight project key.',
  })
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Hindsight public API',
      version: '1.0.0',
      description: 'Traces and call metrics of the project that the bearer key belongs to.',
    },
    servers: [{ url: PUBLIC_API_BASE }],
  })

  app.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    if (!match?.[1]) {
      return errorResponse(c, 'unauthorized', 'send the project key as "Authorization: Bearer <key>"')
    }
    const projectId = await deps.projects.authenticate(match[1])
    if (!projectId) return errorResponse(c, 'unauthorized', 'unknown or revoked project key')
    c.set('projectId', projectId)
    return next()
  })

  registerTraceRoutes(app, deps)
  registerMetricsRoutes(app, deps)
  registerCacheRoutes(app, deps)
  registerScoreRoutes(app, deps)
  registerDatasetRoutes(app, deps)
  registerPricingRoutes(app, deps)
  registerSettingsRoutes(app, deps)
  registerBacktestRoutes(app, deps)
  registerEvaluationRuleRoutes(app, deps)
  registerObjectiveRoutes(app, deps)
  registerAnnotationRoutes(app, deps)

  // A catch-all route, not only notFound(): once mounted, the parent app's notFound would answer.
  const notFound = (c: Context) => errorResponse(c, 'not_found', `no endpoint ${c.req.method} ${c.req.path}`)
  app.all('*', notFound)
  app.notFound(notFound)
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(errorBody('bad_request', error.message || 'bad request'), 400)
    }
    // The path and the error are enough to debug; headers (the key) are never logged.
    console.error(`[public-api] ${c.req.method} ${c.req.path} failed:`, error)
    return errorResponse(c, 'internal_error', 'internal error; the server log has the details')
  })
  return app
}
