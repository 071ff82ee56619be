import { readPriceResolver } from '@hindsight/collector/pricing'
import {
  chooseInterval,
  countGroups,
  getCacheSavings,
  getErrorBreakdown,
  getMetrics,
  getOverview,
  getTopCalls,
} from '@hindsight/dashboards'
import { getScoreDistributions, getScoreMeansByName } from '@hindsight/quality'
import { z } from 'zod'
import {
  BREAKDOWN_DIMENSIONS,
  buildBreakdown,
  MAX_BREAKDOWN_ROWS,
} from '../../../features/overview/lib/breakdown'
import { MAX_TRENDS } from '../../../features/overview/lib/quality-limits'
import { buildQualitySeries, qualityInterval } from '../../../features/overview/lib/quality-series'
import { buildOverviewSeries } from '../../../features/overview/lib/series'
import { rangeInput, toRange } from '../inputs'
import { createTRPCRouter, projectProcedure } from '../trpc'
import { qualityCall } from './quality-errors'

/** Score trends drawn at once when the caller names none: the most scored names. */
const DEFAULT_TRENDS = 3

export const overviewRouter = createTRPCRouter({
  /** Headline numbers for the range and for the previous period of the same length. */
  kpis: projectProcedure
    .input(rangeInput)
    .query(({ ctx, input }) => getOverview(ctx.storage, input.projectId, toRange(input), input.filter)),

  /** Cost by model, latency percentiles and tokens per bucket; the bucket follows the range. */
  series: projectProcedure.input(rangeInput).query(async ({ ctx, input }) => {
    const range = toRange(input)
    const intervalSeconds = chooseInterval(range)
    const query = { ...range, intervalSeconds, filter: input.filter }
    const [byModel, total] = await Promise.all([
      getMetrics(ctx.storage, input.projectId, { ...query, groupBy: 'model' }),
      getMetrics(ctx.storage, input.projectId, query),
    ])
    return buildOverviewSeries(range, intervalSeconds, byModel, total)
  }),

  /** One row per model over the whole range, most expensive first. */
  byModel: projectProcedure.input(rangeInput).query(async ({ ctx, input }) => {
    const rows = await getMetrics(ctx.storage, input.projectId, {
      ...toRange(input),
      groupBy: 'model',
      filter: input.filter,
    })
    return rows
      .map((row) => ({ ...row, model: row.group ?? '' }))
      .sort((a, b) => (b.cost_usd ?? 0) - (a.cost_usd ?? 0) || b.calls - a.calls)
  }),

  /**
   * One row per model or release over the whole range (most expensive first): calls, errors,
   * tokens, cost, latency, and the mean (with n) of every score name on its traces — the same
   * read path as `GET /metrics?score=` — plus the score names of the range, most scored first.
   */
  breakdown: projectProcedure
    .input(
      rangeInput.and(
        z
          .object({
            dimension: z.enum(BREAKDOWN_DIMENSIONS),
            groupKey: z.string().trim().min(1).max(200).optional(),
            /** List the range's score names too (the picker's list; one table of the page asks). */
            withScoreNames: z.boolean().optional(),
          })
          .refine((i) => i.dimension !== 'attribute' || i.groupKey !== undefined, {
            message: 'groupKey: the attribute key to group by',
            path: ['groupKey'],
          }),
      ),
    )
    .query(async ({ ctx, input }) => {
      const query = {
        ...toRange(input),
        groupBy: input.dimension,
        ...(input.dimension === 'attribute' ? { groupKey: input.groupKey } : {}),
        filter: input.filter,
      }
      // Only the most expensive groups are listed (a breakdown by user can have thousands); their
      // score means are read for those groups alone, and the rest are counted.
      const [metrics, totalGroups, names] = await Promise.all([
        getMetrics(ctx.storage, input.projectId, { ...query, limit: MAX_BREAKDOWN_ROWS }),
        countGroups(ctx.storage, input.projectId, query),
        input.withScoreNames === false
          ? []
          : getScoreMeansByName(ctx.storage, input.projectId, { ...toRange(input), filter: input.filter }),
      ])
      const means = await getScoreMeansByName(ctx.storage, input.projectId, {
        ...query,
        groupValues: metrics.map((m) => m.group ?? ''),
      })
      return buildBreakdown(
        input.dimension,
        metrics,
        means,
        names,
        input.dimension === 'attribute' ? input.groupKey : undefined,
        totalGroups,
      )
    }),

  /** The most expensive priced model calls of the range (10), with their tokens and ids. */
  topCalls: projectProcedure
    .input(rangeInput)
    .query(({ ctx, input }) =>
      getTopCalls(ctx.storage, input.projectId, { ...toRange(input), filter: input.filter }),
    ),

  /** Failed calls by error type (count, traces, models, last seen, an example trace). */
  errors: projectProcedure
    .input(rangeInput)
    .query(({ ctx, input }) =>
      getErrorBreakdown(ctx.storage, input.projectId, { ...toRange(input), filter: input.filter }),
    ),

  /**
   * Prompt-cache savings over the range: hit rate, cached tokens, what reads saved and writes cost
   * against the input price (the project's prices, custom ones first), overall and by model.
   */
  cache: projectProcedure.input(rangeInput).query(async ({ ctx, input }) => {
    const table = await readPriceResolver(ctx.storage).tableFor(input.projectId)
    return getCacheSavings(ctx.storage, input.projectId, { ...toRange(input), filter: input.filter }, table)
  }),

  /**
   * Score trends: per name (the given ones in their order, else the three most scored), the mean
   * per bucket with its 95% interval, in buckets coarser than the other charts' (quality-series.ts).
   */
  quality: projectProcedure
    .input(
      rangeInput.and(
        z.object({
          names: z
            .array(z.string().trim().min(1).max(200))
            .max(MAX_TRENDS)
            .refine((names) => new Set(names).size === names.length, 'names: each name once')
            .optional(),
        }),
      ),
    )
    .query(({ ctx, input }) =>
      qualityCall(async () => {
        const range = toRange(input)
        const intervalSeconds = qualityInterval(range, chooseInterval(range))
        const all = await getScoreMeansByName(ctx.storage, input.projectId, {
          ...range,
          filter: input.filter,
        })
        const totals = input.names
          ? input.names.flatMap((name) => all.filter((r) => r.name === name))
          : [...all].sort((a, b) => b.score_n - a.score_n).slice(0, DEFAULT_TRENDS)
        if (totals.length === 0) return { intervalSeconds, trends: [] }
        const numeric = totals.filter((t) => !t.rate).map((t) => t.name)
        const [rows, distributions] = await Promise.all([
          getScoreMeansByName(ctx.storage, input.projectId, {
            ...range,
            intervalSeconds,
            filter: input.filter,
            names: totals.map((t) => t.name),
          }),
          getScoreDistributions(ctx.storage, input.projectId, {
            ...range,
            filter: input.filter,
            names: numeric,
          }),
        ])
        return buildQualitySeries(range, intervalSeconds, rows, totals, distributions)
      }),
    ),
})
