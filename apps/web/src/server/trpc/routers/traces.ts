import { getFilterValues, getTrace, listTraces } from '@hindsight/dashboards'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { rangeInput, toRange } from '../inputs'
import { createTRPCRouter, projectProcedure } from '../trpc'

export const tracesRouter = createTRPCRouter({
  /** Newest first, cursor-paged (the cursor is opaque and comes from the previous page). */
  list: projectProcedure
    .input(rangeInput)
    .input(
      z.object({
        limit: z.number().int().min(1).max(500).default(50),
        cursor: z.string().max(1000).nullish(),
      }),
    )
    .query(({ ctx, input }) =>
      listTraces(ctx.storage, input.projectId, {
        ...toRange(input),
        filter: input.filter,
        limit: input.limit,
        ...(input.cursor ? { cursor: input.cursor } : {}),
      }),
    ),

  /** One trace with all its spans. */
  get: projectProcedure
    .input(
      z.object({
        traceId: z.string().regex(/^[0-9a-f]{32}$/, 'traceId must be 32 lowercase hex characters'),
      }),
    )
    .query(async ({ ctx, input }) => {
      const trace = await getTrace(ctx.storage, input.projectId, input.traceId)
      if (!trace) {
        throw new TRPCError({
          code: 'NOT_FOUND',
          message: `trace ${input.traceId} is not in this project (it may not have arrived yet, or belongs to another project)`,
        })
      }
      return trace
    }),

  /** Values the filter controls offer: models, providers, releases and names seen in the range. */
  filterValues: projectProcedure
    .input(z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }))
    .query(({ ctx, input }) => getFilterValues(ctx.storage, input.projectId, toRange(input))),
})
