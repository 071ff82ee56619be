import { hasSpans } from '@hindsight/dashboards'
import { createTRPCRouter, projectProcedure, publicProcedure } from '../trpc'

export const projectsRouter = createTRPCRouter({
  /** Every project, oldest first (the switcher's default is the first one). */
  list: publicProcedure.query(async ({ ctx }) => {
    const projects = await ctx.projects.list()
    return projects.map((p) => ({ id: p.id, name: p.name, createdAt: p.created_at }))
  }),

  /**
   * What the empty state needs to show a working two-line SDK setup: the OTLP endpoint, the key
   * when this process knows it (it is stored only hashed), and whether any span arrived yet.
   */
  setup: projectProcedure.query(async ({ ctx, input }) => ({
    projectId: ctx.project.id,
    projectName: ctx.project.name,
    endpoint: ctx.otlpEndpoint,
    apiKey: ctx.knownKeys[input.projectId] ?? null,
    hasData: await hasSpans(ctx.storage, input.projectId),
  })),
})
