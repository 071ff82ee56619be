/**
 * Back-tests for the dashboard: start a what-if, a replay (real calls to the candidate, both arms
 * evaluated) or a live A/B on the page's time range and filters, poll it, read its report. The same
 * service (and table) as the REST API.
 */
import {
  BacktestInputError,
  type BacktestReport,
  backtestServiceFor,
  evaluationSchema,
} from '@hindsight/backtest'
import { getFilterValues } from '@hindsight/dashboards'
import { TRPCError } from '@trpc/server'
import { z } from 'zod'
import { toRange } from '../inputs'
import { createTRPCRouter, projectProcedure } from '../trpc'

const backtestId = z.string().regex(/^bt_[0-9a-f]{32}$/, 'not a back-test id')
const iso = z.iso.datetime({ offset: true })
const labels = z.array(z.string().trim().min(1).max(300)).max(50).optional()

const startInput = z.object({
  from: iso,
  to: iso,
  model: labels,
  route: labels,
  release: labels,
  sampleSize: z.number().int().positive().max(1_000_000).optional(),
  seed: z.string().max(100).optional(),
  /**
   * `what_if`: re-price and simulate (no calls); `replay`: re-issue the recorded calls to the
   * candidate (and evaluate both arms); `ab`: live A/B of two attribute values (no candidate model).
   */
  mode: z.enum(['what_if', 'replay', 'ab']).default('what_if'),
  ab: z
    .object({
      attribute: z.string().trim().min(1).max(300),
      baseline: z.string().trim().min(1).max(300),
      candidate: z.string().trim().min(1).max(300),
    })
    .optional(),
  candidate: z
    .object({
      provider: z.string().trim().min(1).max(100),
      model: z.string().trim().min(1).max(200),
      caching: z.enum(['on', 'off']),
      system: z.string().max(100_000).optional(),
      /** Replay: the wire protocol, endpoint, spend cap and parallelism. */
      api: z.enum(['openai', 'anthropic']).optional(),
      base_url: z.url({ protocol: /^https?$/ }).optional(),
      budget_usd: z.number().positive().optional(),
      concurrency: z.number().int().min(1).max(256).optional(),
      /** Replay: stream the candidate calls (measures its time to first token). */
      stream: z.boolean().optional(),
    })
    .optional(),
  objectives: z
    .object({
      cost_per_call_max_ratio: z.number().positive().optional(),
      latency_p95_max_ms: z.number().positive().optional(),
      min_quality: z.number().optional(),
      max_quality_regression: z.number().nonnegative().optional(),
      quality_score: z.string().trim().min(1).max(200).optional(),
    })
    .default({}),
  /** Replay: evaluators for both arms (built-ins, LLM judge, custom, the route's online rules). */
  evaluation: evaluationSchema.optional(),
})

function mapError(error: unknown): never {
  if (error instanceof BacktestInputError)
    throw new TRPCError({ code: 'BAD_REQUEST', message: error.message })
  if (error instanceof z.ZodError) {
    const issue = error.issues[0]
    throw new TRPCError({ code: 'BAD_REQUEST', message: `${issue?.path.join('.')}: ${issue?.message}` })
  }
  throw error
}

export const backtestsRouter = createTRPCRouter({
  /** The newest back-tests of the project. */
  list: projectProcedure.query(async ({ ctx, input }) => {
    const records = await backtestServiceFor(ctx.storage).store.list(input.projectId, 20)
    return records.map((r) => ({
      id: r.id,
      status: r.status,
      progress: r.progress,
      message: r.message,
      created_at: r.created_at,
      mode: r.mode,
      candidate: r.request.ab
        ? `A/B ${r.request.ab.attribute}: ${r.request.ab.baseline} → ${r.request.ab.candidate}`
        : `${r.mode === 'replay' ? 'replay → ' : ''}${r.request.candidate.provider}/${r.request.candidate.model}${r.request.candidate.caching === 'on' ? ' + caching' : ''}${r.request.evaluation ? ' (evaluated)' : ''}`,
    }))
  }),

  /** Models seen in the range, for the pickers. */
  models: projectProcedure
    .input(z.object({ from: iso, to: iso }))
    .query(
      async ({ ctx, input }) => (await getFilterValues(ctx.storage, input.projectId, toRange(input))).models,
    ),

  /** Releases seen in the range, for the live A/B pickers. */
  releases: projectProcedure
    .input(z.object({ from: iso, to: iso }))
    .query(
      async ({ ctx, input }) =>
        (await getFilterValues(ctx.storage, input.projectId, toRange(input))).releases,
    ),

  /** Start a what-if, a replay or a live A/B; answers at once with the queued run. */
  start: projectProcedure.input(startInput).mutation(async ({ ctx, input }) => {
    try {
      const cohort = {
        filter: {
          from: input.from,
          to: input.to,
          model: input.model,
          route: input.route,
          release: input.release,
        },
        sample: input.sampleSize ? { size: input.sampleSize, seed: input.seed ?? 'hindsight' } : undefined,
      }
      if (input.mode === 'ab') {
        if (!input.ab)
          throw new TRPCError({ code: 'BAD_REQUEST', message: 'ab: name the attribute and both values' })
        const record = await backtestServiceFor(ctx.storage).start(input.projectId, {
          mode: 'ab',
          cohort,
          ab: input.ab,
          objectives: input.objectives,
        })
        return { id: record.id }
      }
      const c = input.candidate
      if (!c) throw new TRPCError({ code: 'BAD_REQUEST', message: 'candidate: name the candidate model' })
      const replay = input.mode === 'replay'
      const record = await backtestServiceFor(ctx.storage).start(input.projectId, {
        mode: input.mode,
        cohort,
        candidate: {
          provider: c.provider,
          model: c.model,
          caching: c.caching,
          prompt: c.system ? { system: c.system } : {},
          ...(replay
            ? {
                api: c.api ?? (c.provider === 'anthropic' ? 'anthropic' : 'openai'),
                ...(c.base_url ? { base_url: c.base_url } : {}),
                ...(c.budget_usd !== undefined ? { budget_usd: c.budget_usd } : {}),
                ...(c.concurrency !== undefined ? { concurrency: c.concurrency } : {}),
                ...(c.stream !== undefined ? { parameters: { stream: c.stream } } : {}),
              }
            : {}),
        },
        objectives: input.objectives,
        // The service refuses an evaluation on a what-if with a clear message (BAD_REQUEST).
        ...(input.evaluation ? { evaluation: input.evaluation } : {}),
      })
      return { id: record.id }
    } catch (error) {
      return mapError(error)
    }
  }),

  /** Status and progress. */
  get: projectProcedure.input(z.object({ id: backtestId })).query(async ({ ctx, input }) => {
    const record = await backtestServiceFor(ctx.storage).store.get(input.projectId, input.id)
    if (!record) throw new TRPCError({ code: 'NOT_FOUND', message: `back-test ${input.id} not found` })
    return { id: record.id, status: record.status, progress: record.progress, message: record.message }
  }),

  /** The report JSON once done (null before). */
  report: projectProcedure
    .input(z.object({ id: backtestId }))
    .query(
      async ({ ctx, input }): Promise<BacktestReport | null> =>
        backtestServiceFor(ctx.storage).store.report(input.projectId, input.id),
    ),
})
