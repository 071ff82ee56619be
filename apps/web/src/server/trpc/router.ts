import { annotationRouter } from './routers/annotation'
import { backtestsRouter } from './routers/backtests'
import { datasetsRouter } from './routers/datasets'
import { evaluationsRouter } from './routers/evaluations'
import { objectivesRouter } from './routers/objectives'
import { overviewRouter } from './routers/overview'
import { projectsRouter } from './routers/projects'
import { scoresRouter } from './routers/scores'
import { tracesRouter } from './routers/traces'
import { createTRPCRouter } from './trpc'

/** The dashboard's API. Pages import only its type. */
export const appRouter = createTRPCRouter({
  projects: projectsRouter,
  overview: overviewRouter,
  traces: tracesRouter,
  scores: scoresRouter,
  datasets: datasetsRouter,
  backtests: backtestsRouter,
  annotation: annotationRouter,
  evaluations: evaluationsRouter,
  objectives: objectivesRouter,
})

export type AppRouter = typeof appRouter
