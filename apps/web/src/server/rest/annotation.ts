/**
 * Annotation queues over REST (`@hindsight/quality`'s AnnotationQueueRepository, the same one the
 * `/annotate` page uses): list and create queues, a queue's traces, the next trace to score with
 * what the annotator sees of it, scores for a trace (source `annotation`; scoring again replaces)
 * and skipping a trace.
 */
import { AnnotationQueueRepository } from '@hindsight/quality'
import { createRoute, z } from '@hono/zod-openapi'
import { BEARER, type PublicApiApp, type PublicApiDeps } from './context'
import { ERROR_RESPONSES, errorBody, IdParam, jsonResponse, notFoundResponse } from './errors'
import {
  qualityFailure,
  ScoreBatchSchema,
  ScoreConfigSchema,
  ScoreSchema,
  traceFilterSchema,
} from './quality-schemas'

const FilterSchema = traceFilterSchema(
  'AnnotationQueueFilter',
  'Traces with a span matching every given field (any of its values).',
)

const QueueBodySchema = z
  .object({
    name: z.string(),
    description: z.string().optional(),
    filter: FilterSchema.optional(),
    scoreNames: z
      .array(z.string())
      .openapi({ description: 'The score configs to ask for (1–20), in this order.', example: ['helpful'] }),
    datasetId: z
      .string()
      .optional()
      .openapi({ description: "Queue the source traces of this dataset's current items instead." }),
    lookbackDays: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Filter queues: traces of the last N days (1–90); default 7.' }),
  })
  .openapi('AnnotationQueueInput')

const QueueSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    filter: FilterSchema,
    score_names: z.array(z.string()),
    dataset_id: z.string().nullable(),
    lookback_days: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('AnnotationQueue')

const ItemSchema = z
  .object({
    trace_id: z.string(),
    name: z.string().openapi({ description: "The trace's first span name." }),
    start_time: z.string(),
    annotated: z.boolean().openapi({ description: 'Has a score from this queue.' }),
    skipped: z.boolean().openapi({ description: 'Skipped in this queue; `next` passes it.' }),
    dataset_item_id: z.string().nullable(),
  })
  .openapi('AnnotationItem')

const progress = {
  total: z.number().int().openapi({ description: 'Traces of the queue (at most 1000).' }),
  annotated: z.number().int(),
  skipped: z.number().int().openapi({ description: 'Skipped and not annotated.' }),
}

const ItemsSchema = z
  .object({ data: z.array(ItemSchema), ...progress })
  .openapi('AnnotationItems', { description: 'Newest traces first.' })

const TargetSchema = z
  .object({
    trace_id: z.string(),
    name: z.string(),
    input: z.unknown().openapi({ description: "The root span's input, parsed when it is JSON." }),
    output: z.unknown().openapi({ description: "The root span's output (else the last span's)." }),
    span_count: z.number().int(),
    configs: z.array(ScoreConfigSchema).openapi({ description: "The queue's score configs, in its order." }),
    missing_configs: z
      .array(z.string())
      .openapi({ description: 'Score names of the queue without a config.' }),
    scores: z
      .record(z.string(), ScoreSchema)
      .openapi({ description: "This queue's scores of the trace, by name." }),
  })
  .openapi('AnnotationTarget')

const NextSchema = z
  .object({
    item: ItemSchema.nullable().openapi({ description: 'null when every trace is annotated or skipped.' }),
    target: TargetSchema.nullable(),
    remaining: z.number().int().openapi({ description: 'Neither annotated nor skipped, this one included.' }),
    ...progress,
  })
  .openapi('AnnotationNext')

const AnnotateBodySchema = z
  .object({
    scores: z
      .array(
        z.object({
          name: z.string().openapi({ description: 'One of the queue’s score names.' }),
          value: z.union([z.number(), z.boolean(), z.string()]).openapi({
            description: 'A number, true/false or a category label, checked against the score config.',
          }),
          comment: z.string().optional(),
        }),
      )
      .min(1)
      .max(20),
    author: z.string().max(200).optional(),
  })
  .openapi('AnnotationInput', { example: { scores: [{ name: 'helpful', value: 'great' }], author: 'ana' } })

const SkipBodySchema = z.object({ author: z.string().max(200).optional() }).openapi('AnnotationSkip')

const ItemParams = IdParam.extend({
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hexadecimal characters')
    .openapi({ param: { name: 'traceId', in: 'path' } }),
})

const NOT_FOUND = notFoundResponse('No such queue in this project, or the trace is not in the queue.')
const json = jsonResponse

const routes = {
  list: createRoute({
    method: 'get',
    path: '/annotation-queues',
    summary: 'Annotation queues',
    security: [BEARER],
    responses: {
      200: json(z.object({ data: z.array(QueueSchema) }), 'Every queue, oldest first.'),
      ...ERROR_RESPONSES,
    },
  }),
  create: createRoute({
    method: 'post',
    path: '/annotation-queues',
    summary: 'Create an annotation queue',
    description: 'A trace filter (or a dataset) and the score configs a person gives each trace.',
    security: [BEARER],
    request: { body: { content: { 'application/json': { schema: QueueBodySchema } }, required: true } },
    responses: { 201: json(QueueSchema, 'The stored queue.'), ...ERROR_RESPONSES },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/annotation-queues/{id}',
    summary: 'Delete a queue (its scores stay)',
    security: [BEARER],
    request: { params: IdParam },
    responses: { 204: { description: 'Deleted.' }, ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  items: createRoute({
    method: 'get',
    path: '/annotation-queues/{id}/items',
    summary: "A queue's traces, each annotated, skipped or open",
    security: [BEARER],
    request: {
      params: IdParam,
      query: z.object({
        limit: z.coerce
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .openapi({ param: { name: 'limit', in: 'query' }, description: 'Default 200, at most 1000.' }),
      }),
    },
    responses: { 200: json(ItemsSchema, 'The traces.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  next: createRoute({
    method: 'get',
    path: '/annotation-queues/{id}/next',
    summary: 'The next trace to score',
    description:
      'The first trace of the queue (newest first) neither annotated nor skipped, with its input, output, the ' +
      "queue's score configs and the scores given so far; `item: null` when the queue is done.",
    security: [BEARER],
    request: { params: IdParam },
    responses: { 200: json(NextSchema, 'The next item and the progress.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  annotate: createRoute({
    method: 'post',
    path: '/annotation-queues/{id}/items/{traceId}/scores',
    summary: 'Score a trace of the queue',
    description:
      'Stores the scores (source `annotation`, `metadata.queue_id`), all or none; each name must be one of the ' +
      "queue's and each value valid for its config. Scoring a trace again in the same queue replaces its scores.",
    security: [BEARER],
    request: {
      params: ItemParams,
      body: { content: { 'application/json': { schema: AnnotateBodySchema } }, required: true },
    },
    responses: { 201: json(ScoreBatchSchema, 'The stored scores.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
  skip: createRoute({
    method: 'post',
    path: '/annotation-queues/{id}/items/{traceId}/skip',
    summary: 'Skip a trace of the queue',
    description: '`next` passes a skipped trace (for every annotator of the queue); it can still be scored.',
    security: [BEARER],
    request: {
      params: ItemParams,
      body: { content: { 'application/json': { schema: SkipBodySchema } }, required: false },
    },
    responses: { 200: json(ItemSchema, 'The skipped item.'), ...NOT_FOUND, ...ERROR_RESPONSES },
  }),
}

export function registerAnnotationRoutes(app: PublicApiApp, deps: PublicApiDeps): void {
  const queues = new AnnotationQueueRepository(deps.storage)

  app.openapi(routes.list, async (c) => c.json({ data: await queues.list(c.get('projectId')) }, 200))

  app.openapi(routes.create, async (c) => {
    try {
      return c.json(await queues.create(c.get('projectId'), c.req.valid('json')), 201)
    } catch (error) {
      return c.json(qualityFailure(error).body, 400)
    }
  })

  app.openapi(routes.remove, async (c) => {
    try {
      await queues.delete(c.get('projectId'), c.req.valid('param').id)
      return c.body(null, 204)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.items, async (c) => {
    try {
      const { limit } = c.req.valid('query')
      const { items, ...counts } = await queues.items(c.get('projectId'), c.req.valid('param').id, {
        ...(limit !== undefined ? { limit } : {}),
      })
      return c.json({ data: items, ...counts }, 200)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.next, async (c) => {
    try {
      return c.json(await queues.next(c.get('projectId'), c.req.valid('param').id), 200)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.annotate, async (c) => {
    const { id, traceId } = c.req.valid('param')
    const body = c.req.valid('json')
    try {
      const stored = await queues.annotate(
        c.get('projectId'),
        id,
        traceId,
        body.scores.map((s) => ({
          name: s.name,
          value: s.value,
          ...(s.comment ? { comment: s.comment } : {}),
        })),
        body.author ? { author: body.author } : {},
      )
      return c.json({ data: stored }, 201)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })

  app.openapi(routes.skip, async (c) => {
    const { id, traceId } = c.req.valid('param')
    // The body is optional: an empty request skips without naming who.
    const text = await c.req.text()
    let author: string | undefined
    if (text.trim() !== '') {
      let raw: unknown
      try {
        raw = JSON.parse(text)
      } catch {
        return c.json(errorBody('bad_request', 'body: not JSON'), 400)
      }
      const parsed = SkipBodySchema.safeParse(raw)
      if (!parsed.success) {
        return c.json(errorBody('bad_request', 'author: a string of at most 200 characters'), 400)
      }
      author = parsed.data.author
    }
    try {
      return c.json(await queues.skip(c.get('projectId'), id, traceId, author ? { author } : {}), 200)
    } catch (error) {
      const f = qualityFailure(error)
      return c.json(f.body, f.status)
    }
  })
}
