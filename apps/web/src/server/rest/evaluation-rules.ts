/**
 * Online evaluation rules (`@hindsight/quality`'s online worker runs them): CRUD and each rule's
 * status (backlog, processed, failures with reasons).
 */
import { EvaluationRuleRepository, ruleStatus } from '@hindsight/quality'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, errorBody, IdParam, jsonResponse, notFoundResponse } from './errors'
import { qualityFailure, traceFilterSchema } from './quality-schemas'

const FilterSchema = traceFilterSchema(
  'TraceFilter',
  'A trace matches when one of its spans matches every given field (any of its values).',
)

const EvaluatorSpecSchema = z
  .object({ type: z.enum(['builtin', 'judge', 'custom']) })
  .passthrough()
  .openapi('EvaluatorSpec', {
    description:
      '`{ type: "builtin", evaluator: "valid_json" | "json_schema" | "length_bounds" | "regex_match" | "contains" | ' +
      '"exact_match" | "citation_present" | "citations_resolvable" | "refusal" | "latency_threshold" | "cost_threshold", ' +
      'name?, options? }`, `{ type: "judge", rubric: "helpfulness" | … | { name, prompt, scale }, endpoint: { provider: ' +
      '"openai" | "anthropic", model, baseURL?, apiKeyEnv? }, name?, timeoutMs?, maxAttempts? }` (keys are read from the ' +
      'named environment variable of the server, never stored) or `{ type: "custom", evaluator: "<registered name>" }`.',
    example: { type: 'builtin', evaluator: 'latency_threshold', options: { maxMs: 2000 } },
  })

const RuleBodySchema = z
  .object({
    name: z.string(),
    filter: FilterSchema.optional(),
    samplingRate: z
      .number()
      .openapi({ description: 'Share of matching traces evaluated, 0–1 (hash of the trace id).' }),
    evaluators: z.array(EvaluatorSpecSchema),
    enabled: z.boolean().optional(),
  })
  .openapi('EvaluationRuleInput')

const RulePatchBodySchema = z
  .object({
    name: z.string().optional(),
    filter: FilterSchema.optional(),
    samplingRate: z.number().optional(),
    evaluators: z.array(EvaluatorSpecSchema).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi('EvaluationRulePatch')

const RuleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    filter: FilterSchema,
    sampling_rate: z.number(),
    evaluators: z.array(EvaluatorSpecSchema),
    enabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('EvaluationRule')

const StatusSchema = z
  .object({
    rule_id: z.string(),
    backlog: z.number().openapi({ description: 'Completed matching traces not processed yet.' }),
    pending: z.number().openapi({ description: 'Matching traces still receiving spans.' }),
    processed: z.number(),
    sampled_out: z.number(),
    scored: z.number(),
    failures: z.number(),
    watermark: z.string().nullable(),
    last_run_at: z.string().nullable(),
    last_error: z.string(),
    recent_failures: z.array(
      z.object({ trace_id: z.string(), evaluator: z.string(), reason: z.string(), created_at: z.string() }),
    ),
  })
  .openapi('EvaluationRuleStatus')

const NOT_FOUND = notFoundResponse('No such rule in this project.')
const json = jsonResponse

const routes = {
  list: createRoute({
    method: 'get',
    path: '/evaluation-rules',
    summary: 'Online evaluation rules',
    security: [BEARER],
    responses: {
      200: json(z.object({ data: z.array(RuleSchema) }), 'Every rule of the project.'),
      ...ERROR_RESPONSES,
    },
  }),
  create: createRoute({
    method: 'post',
    path: '/evaluation-rules',
    summary: 'Create an online evaluation rule',
    description:
      'Evaluates production traces completed from now on that match the filter, sampled by a hash of the ' +
      'trace id; results are scores with source `evaluator`.',
    security: [BEARER],
    request: { body: { content: { 'application/json': { schema: RuleBodySchema } }, required: true } },
    responses: { 201: json(RuleSchema, 'The stored rule.'), ...ERROR_RESPONSES },
  }),
  patch: createRoute({
    method: 'patch',
    path: '/evaluation-rules/{id}',
    summary: 'Change a rule (fields given replace the stored ones)',
    security: [BEARER],
    request: {
      params: IdParam,
      body: { content: { 'application/json': { schema: RulePatchBodySchema } }, required: true },
    },
    responses: { 200: json(RuleSchema, 'The changed rule.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/evaluation-rules/{id}',
    summary: 'Delete a rule (its scores stay)',
    security: [BEARER],
    request: { params: IdParam },
    responses: { 204: { description: 'Deleted.' }, ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  status: createRoute({
    method: 'get',
    path: '/evaluation-rules/{id}/status',
    summary: "A rule's backlog, counters and recent failures",
    security: [BEARER],
    request: { params: IdParam },
    responses: { 200: json(StatusSchema, 'The status.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
}

export function registerEvaluationRuleRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const rules = new EvaluationRuleRepository(deps.storage)

  app.openapi(routes.list, async (c) => c.json({ data: await rules.list(c.get('projectId')) }, 200))

  app.openapi(routes.create, async (c) => {
    try {
      return c.json(await rules.create(c.get('projectId'), c.req.valid('json')), 201)
    } catch (error) {
      return c.json(qualityFailure(error).body, 400)
    }
  })

  app.openapi(routes.patch, async (c) => {
    try {
      return c.json(await rules.update(c.get('projectId'), c.req.valid('param').id, c.req.valid('json')), 200)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.remove, async (c) => {
    try {
      await rules.delete(c.get('projectId'), c.req.valid('param').id)
      return c.body(null, 204)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.status, async (c) => {
    const projectId = c.get('projectId')
    const rule = await rules.get(projectId, c.req.valid('param').id)
    if (!rule) return c.json(errorBody('not_found', `no evaluation rule ${c.req.valid('param').id}`), 404)
    return c.json(await ruleStatus(deps.storage, rules, projectId, rule), 200)
  })
}
