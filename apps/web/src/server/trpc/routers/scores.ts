import { ScoreRepository } from '@hindsight/quality'
import { z } from 'zod'
import { createTRPCRouter, projectProcedure } from '../trpc'
import { qualityCall } from './quality-errors'

const traceId = z.string().regex(/^[0-9a-f]{32}$/, 'traceId must be 32 lowercase hex characters')

export const scoresRouter = createTRPCRouter({
  /** Every score of one trace (trace-level and span-level), oldest first. */
  forTrace: projectProcedure
    .input(z.object({ traceId }))
    .query(({ ctx, input }) => new ScoreRepository(ctx.storage).forTrace(input.projectId, input.traceId)),

  /** Delete one score (a tombstone; it leaves the trace and every mean). */
  delete: projectProcedure
    .input(z.object({ scoreId: z.string().min(1).max(128) }))
    .mutation(({ ctx, input }) =>
      qualityCall(() => new ScoreRepository(ctx.storage).delete(input.projectId, input.scoreId)),
    ),

  /** The project's score configs, by name. */
  configs: projectProcedure.query(({ ctx, input }) =>
    new ScoreRepository(ctx.storage).listConfigs(input.projectId),
  ),
})
