/** Objectives for the dashboard: each with its status (compliance per bucket, budget, alerts); create, delete. */
import { ObjectiveRepository, objectiveStatus } from '@hindsight/quality'
import { z } from 'zod'
import { createTRPCRouter, projectProcedure } from '../trpc'
import { qualityCall } from './quality-errors'

const objectiveId = z.string().min(1).max(200)
const labels = z.array(z.string().trim().min(1).max(300)).max(50).optional()

export const objectivesRouter = createTRPCRouter({
  /** Every objective with its status over its period. */
  list: projectProcedure.query(async ({ ctx, input }) => {
    const objectives = await new ObjectiveRepository(ctx.storage).list(input.projectId)
    return Promise.all(
      objectives.map(async (objective) => ({
        objective,
        status: await objectiveStatus(ctx.storage, input.projectId, objective),
      })),
    )
  }),

  /** Create an objective; errors name the field (`objective.scoreName: …`). */
  create: projectProcedure
    .input(
      z.object({
        name: z.string(),
        filter: z
          .object({ name: labels, route: labels, model: labels, release: labels, kind: labels })
          .optional(),
        kind: z.enum(['latency', 'cost_per_call', 'cost_per_trace', 'min_mean_score']),
        threshold: z.number(),
        percentile: z.number().optional(),
        scoreName: z.string().optional(),
        target: z.number().optional(),
        periodDays: z.number().int().optional(),
        webhookUrl: z.string().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { projectId, ...objective } = input
      return qualityCall(() => new ObjectiveRepository(ctx.storage).create(projectId, objective))
    }),

  delete: projectProcedure
    .input(z.object({ objectiveId }))
    .mutation(({ ctx, input }) =>
      qualityCall(() => new ObjectiveRepository(ctx.storage).delete(input.projectId, input.objectiveId)),
    ),
})
