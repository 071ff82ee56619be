/**
 * tRPC setup (create-t3-app layout): the context every procedure sees, the procedure builders,
 * and how read-model errors map to tRPC codes.
 */
import type { ProjectRepository, Storage } from '@hindsight/collector/storage'
import { initTRPC, TRPCError } from '@trpc/server'
import { z } from 'zod'

/** What the server hands to every request. There is no login yet: the server binds to loopback. */
export interface TrpcContext {
  storage: Storage
  projects: ProjectRepository
  /** OTLP/HTTP base URL shown in the setup snippet. */
  otlpEndpoint: string
  /** projectId → plaintext API key known to this process (for the setup snippet). */
  knownKeys: Readonly<Record<string, string>>
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    // A zod failure names the bad field, so the UI can say which parameter to fix.
    const issues = error.cause instanceof z.ZodError ? z.flattenError(error.cause).fieldErrors : null
    return { ...shape, data: { ...shape.data, issues } }
  },
})

export const createTRPCRouter = t.router
export const createCallerFactory = t.createCallerFactory

/** The read model throws RangeError for bad input (e.g. from ≥ to): that is the caller's 400. */
const badInputIsBadRequest = t.middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok && result.error.cause instanceof RangeError) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: result.error.cause.message,
      cause: result.error.cause,
    })
  }
  return result
})

export const publicProcedure = t.procedure.use(badInputIsBadRequest)

export const projectIdSchema = z
  .string()
  .min(1, 'projectId is required')
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'projectId has characters a project id never has')

/**
 * Every data procedure is scoped to one existing project: the id is validated, looked up, and an
 * unknown id is a NOT_FOUND that names it (rather than an empty dashboard that looks healthy).
 */
export const projectProcedure = publicProcedure
  .input(z.object({ projectId: projectIdSchema }))
  .use(async ({ ctx, input, next }) => {
    const project = await ctx.projects.get(input.projectId)
    if (!project) {
      throw new TRPCError({ code: 'NOT_FOUND', message: `project '${input.projectId}' does not exist` })
    }
    return next({ ctx: { project } })
  })
