/**
 * Objectives (success criteria defined in advance per use case, `@hindsight/quality`'s objective
 * monitor alerts on their burn rate): create, list, delete, and an objective's status over its
 * period (compliance per bucket, error budget remaining, open alert).
 */
import { ObjectiveRepository, objectiveStatus } from '@hindsight/quality'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, errorBody, IdParam, jsonResponse, notFoundResponse } from './errors'
import { qualityFailure, traceFilterSchema } from './quality-schemas'

const FilterSchema = traceFilterSchema(
  'ObjectiveFilter',
  'The use case: spans matching every given field (any of its values).',
)

const KindSchema = z.enum(['latency', 'cost_per_call', 'cost_per_trace', 'min_mean_score']).openapi({
  description:
    '`latency`: the percentile of call latency ≤ threshold ms; `cost_per_call` / `cost_per_trace`: cost ≤ ' +
    'threshold USD for at least `target` of them; `min_mean_score`: mean of `scoreName` ≥ threshold.',
})

const ObjectiveBodySchema = z
  .object({
    name: z.string(),
    filter: FilterSchema.optional(),
    kind: KindSchema,
    threshold: z.number(),
    percentile: z.number().optional().openapi({ description: 'latency only; default 95.' }),
    scoreName: z.string().optional().openapi({ description: 'min_mean_score only (required there).' }),
    target: z
      .number()
      .optional()
      .openapi({ description: 'Share of good events aimed for; default 0.99 (cost), 0.9 (numeric scores).' }),
    periodDays: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Error-budget period, 1–90 days; default 7.' }),
    webhookUrl: z
      .string()
      .optional()
      .openapi({ description: 'POSTed `objective.breached` / `objective.resolved` (burn-rate alerts).' }),
  })
  .openapi('ObjectiveInput', {
    example: { name: 'chat p95', filter: { route: ['/chat'] }, kind: 'latency', threshold: 2000 },
  })

const ObjectiveSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    filter: FilterSchema,
    kind: KindSchema,
    threshold: z.number(),
    percentile: z.number().nullable(),
    score_name: z.string().nullable(),
    target: z.number().nullable(),
    period_days: z.number(),
    webhook_url: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Objective')

const AlertSchema = z
  .object({
    id: z.string(),
    objective_id: z.string(),
    severity: z.enum(['fast', 'slow']),
    state: z.enum(['firing', 'resolved']),
    detail: z.string(),
    started_at: z.string(),
    resolved_at: z.string().nullable(),
  })
  .openapi('ObjectiveAlert')

const BurnSchema = z
  .object({
    severity: z.enum(['fast', 'slow']).nullable(),
    windows: z.array(
      z.object({
        severity: z.enum(['fast', 'slow']),
        long: z.number().nullable(),
        short: z.number().nullable(),
        factor: z.number(),
        firing: z.boolean(),
      }),
    ),
  })
  .openapi('ObjectiveBurn', {
    description: 'Current burn rates per alert window; `severity` is the firing one.',
  })

const StatusSchema = z
  .object({
    objective_id: z.string(),
    met: z.boolean().nullable().openapi({ description: 'Met over the whole period; null without events.' }),
    value: z
      .number()
      .nullable()
      .openapi({ description: "The period's measure (percentile ms, mean USD or score)." }),
    events: z.number(),
    bad_events: z.number(),
    error_budget_remaining: z
      .number()
      .nullable()
      .openapi({ description: '1 untouched, 0 spent, negative overspent; null without events.' }),
    budget: z.number().openapi({ description: 'Share of bad events allowed.' }),
    interval_seconds: z.number(),
    buckets: z.array(
      z.object({
        bucket: z.string(),
        start: z.number(),
        total: z.number(),
        bad: z.number(),
        value: z.number().nullable(),
        compliant: z.boolean().nullable(),
      }),
    ),
    burn: BurnSchema,
    open_alert: AlertSchema.nullable(),
    recent_alerts: z.array(AlertSchema),
  })
  .openapi('ObjectiveStatus')

const NOT_FOUND = notFoundResponse('No such objective in this project.')
const json = jsonResponse

const routes = {
  list: createRoute({
    method: 'get',
    path: '/objectives',
    summary: 'Objectives',
    security: [BEARER],
    responses: {
      200: json(z.object({ data: z.array(ObjectiveSchema) }), 'Every objective of the project.'),
      ...ERROR_RESPONSES,
    },
  }),
  create: createRoute({
    method: 'post',
    path: '/objectives',
    summary: 'Define an objective',
    description:
      'An error budget over calls, traces or scores of the traces the filter matches; the monitor alerts ' +
      '(and calls the webhook) on its burn rate, not on every spike.',
    security: [BEARER],
    request: { body: { content: { 'application/json': { schema: ObjectiveBodySchema } }, required: true } },
    responses: { 201: json(ObjectiveSchema, 'The stored objective.'), ...ERROR_RESPONSES },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/objectives/{id}',
    summary: 'Delete an objective',
    security: [BEARER],
    request: { params: IdParam },
    responses: { 204: { description: 'Deleted.' }, ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  status: createRoute({
    method: 'get',
    path: '/objectives/{id}/status',
    summary: "An objective's compliance per bucket, error budget remaining and open alert",
    security: [BEARER],
    request: { params: IdParam },
    responses: { 200: json(StatusSchema, 'The status over the period.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
}

export function registerObjectiveRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const objectives = new ObjectiveRepository(deps.storage)

  app.openapi(routes.list, async (c) => c.json({ data: await objectives.list(c.get('projectId')) }, 200))

  app.openapi(routes.create, async (c) => {
    try {
      return c.json(await objectives.create(c.get('projectId'), c.req.valid('json')), 201)
    } catch (error) {
      return c.json(qualityFailure(error).body, 400)
    }
  })

  app.openapi(routes.remove, async (c) => {
    try {
      await objectives.delete(c.get('projectId'), c.req.valid('param').id)
      return c.body(null, 204)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.status, async (c) => {
    const projectId = c.get('projectId')
    const id = c.req.valid('param').id
    const objective = await objectives.get(projectId, id)
    if (!objective) return c.json(errorBody('not_found', `no objective ${id}`), 404)
    return c.json(await objectiveStatus(deps.storage, projectId, objective), 200)
  })
}
