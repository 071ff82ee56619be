/**
 * Online evaluation rules for the dashboard: each rule with its status (backlog, processed,
 * failures with reasons); create, pause/resume and delete. The same repository as the REST API.
 */
import { EvaluationRuleRepository, RUBRICS, ruleStatus } from '@hindsight/quality'
import { z } from 'zod'
import { createTRPCRouter, projectProcedure } from '../trpc'
import { qualityCall } from './quality-errors'

const ruleId = z.string().min(1).max(200)
const labels = z.array(z.string().trim().min(1).max(300)).max(50).optional()
const filter = z.object({ name: labels, route: labels, model: labels, release: labels, kind: labels })

export const evaluationsRouter = createTRPCRouter({
  /** The built-in rubric templates a judge rule can name or start its own template from. */
  rubrics: projectProcedure.query(() =>
    Object.entries(RUBRICS).map(([id, r]) => ({
      id,
      name: r.name,
      description: r.description ?? '',
      scale: r.scale,
      prompt: r.prompt,
    })),
  ),

  /** Every rule with its status. */
  list: projectProcedure.query(async ({ ctx, input }) => {
    const rules = new EvaluationRuleRepository(ctx.storage)
    const all = await rules.list(input.projectId)
    return Promise.all(
      all.map(async (rule) => ({
        rule,
        status: await ruleStatus(ctx.storage, rules, input.projectId, rule),
      })),
    )
  }),

  /** Create a rule; validated by the repository, errors name the field (`rule.samplingRate: …`). */
  create: projectProcedure
    .input(
      z.object({
        name: z.string(),
        filter: filter.optional(),
        samplingRate: z.number(),
        evaluators: z.array(z.record(z.string(), z.unknown())),
        enabled: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { projectId, ...rule } = input
      return qualityCall(() => new EvaluationRuleRepository(ctx.storage).create(projectId, rule))
    }),

  /** Pause or resume. */
  setEnabled: projectProcedure.input(z.object({ ruleId, enabled: z.boolean() })).mutation(({ ctx, input }) =>
    qualityCall(() =>
      new EvaluationRuleRepository(ctx.storage).update(input.projectId, input.ruleId, {
        enabled: input.enabled,
      }),
    ),
  ),

  delete: projectProcedure
    .input(z.object({ ruleId }))
    .mutation(({ ctx, input }) =>
      qualityCall(() => new EvaluationRuleRepository(ctx.storage).delete(input.projectId, input.ruleId)),
    ),
})
