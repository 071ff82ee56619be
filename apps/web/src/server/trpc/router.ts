import { overviewRouter } from './routers/overview'
import { projectsRouter } from './routers/projects'
import { tracesRouter } from './routers/traces'
import { createTRPCRouter } from './trpc'

/** The dashboard's API. Pages import only its type. */
export const appRouter = createTRPCRouter({
  projects: projectsRouter,
  overview: overviewRouter,
  traces: tracesRouter,
})

export type AppRouter = typeof appRouter
