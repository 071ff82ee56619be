/**
 * The annotation queue: queues (a trace filter, optionally a dataset, and the score configs to
 * give), their traces, one trace as the annotator sees it, and saving a person's scores (source
 * `annotation`). Score configs can be created here too, so a queue can be set up from the page.
 */
import { AnnotationQueueRepository, ScoreRepository } from '@hindsight/quality'
import { z } from 'zod'
import { createTRPCRouter, projectProcedure } from '../trpc'
import { qualityCall } from './quality-errors'

const queueId = z.string().min(1).max(200)
const traceId = z.string().regex(/^[0-9a-f]{32}$/, 'traceId must be 32 lowercase hex characters')
const labels = z.array(z.string().trim().min(1).max(300)).max(50).optional()

export const annotationRouter = createTRPCRouter({
  /** Every queue of the project, oldest first. */
  queues: projectProcedure.query(({ ctx, input }) =>
    new AnnotationQueueRepository(ctx.storage).list(input.projectId),
  ),

  /** Create a queue; bad input names the field (`queue.scoreNames: …`). */
  createQueue: projectProcedure
    .input(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        filter: z
          .object({ name: labels, route: labels, model: labels, release: labels, kind: labels })
          .optional(),
        scoreNames: z.array(z.string()),
        datasetId: z.string().optional(),
        lookbackDays: z.number().int().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { projectId, ...definition } = input
      return qualityCall(() => new AnnotationQueueRepository(ctx.storage).create(projectId, definition))
    }),

  deleteQueue: projectProcedure
    .input(z.object({ queueId }))
    .mutation(({ ctx, input }) =>
      qualityCall(() => new AnnotationQueueRepository(ctx.storage).delete(input.projectId, input.queueId)),
    ),

  /** The queue's traces, newest first, each marked annotated or not. */
  items: projectProcedure
    .input(z.object({ queueId, limit: z.number().int().min(1).max(1000).optional() }))
    .query(({ ctx, input }) =>
      qualityCall(async () => {
        const repo = new AnnotationQueueRepository(ctx.storage)
        const queue = await repo.require(input.projectId, input.queueId)
        return { queue, ...(await repo.items(input.projectId, input.queueId, { limit: input.limit })) }
      }),
    ),

  /** One trace: input, output, the queue's score configs and this queue's scores so far. */
  target: projectProcedure
    .input(z.object({ queueId, traceId }))
    .query(({ ctx, input }) =>
      qualityCall(() =>
        new AnnotationQueueRepository(ctx.storage).target(input.projectId, input.queueId, input.traceId),
      ),
    ),

  /** Store a person's scores of a trace (all or none); scoring again replaces. */
  save: projectProcedure
    .input(
      z.object({
        queueId,
        traceId,
        values: z
          .array(
            z.object({
              name: z.string().min(1).max(200),
              value: z.union([z.number(), z.boolean(), z.string().max(300)]),
              comment: z.string().max(5000).optional(),
            }),
          )
          .min(1, 'pick at least one value')
          .max(20),
      }),
    )
    .mutation(({ ctx, input }) =>
      qualityCall(() =>
        new AnnotationQueueRepository(ctx.storage).annotate(
          input.projectId,
          input.queueId,
          input.traceId,
          input.values,
        ),
      ),
    ),

  /** Skip a trace of the queue: the queue's next item (REST `…/next`, the page's start) passes it. */
  skip: projectProcedure
    .input(z.object({ queueId, traceId }))
    .mutation(({ ctx, input }) =>
      qualityCall(() =>
        new AnnotationQueueRepository(ctx.storage).skip(input.projectId, input.queueId, input.traceId),
      ),
    ),

  /** Create or replace a score config (numeric range, boolean, or categories). */
  upsertConfig: projectProcedure
    .input(
      z.object({
        name: z.string(),
        dataType: z.enum(['numeric', 'boolean', 'categorical']),
        minValue: z.number().nullable().optional(),
        maxValue: z.number().nullable().optional(),
        categories: z.array(z.string()).optional(),
        description: z.string().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { projectId, ...config } = input
      return qualityCall(() => new ScoreRepository(ctx.storage).upsertConfig(projectId, config))
    }),
})
