import { z } from 'zod'
import { TraceFilterSchema } from '../online/types'

/**
 * An objective, defined in advance per use case (a trace filter such as a route):
 * - `latency`: the `percentile` (default 95) of call latency ≤ `threshold` ms;
 * - `cost_per_call` / `cost_per_trace`: cost ≤ `threshold` USD for at least `target` of them;
 * - `min_mean_score`: the mean of score `scoreName` ≥ `threshold`.
 *
 * Every objective is also an error budget over events (calls, traces or scores): an event is bad
 * when it misses the threshold, and the budget is the share of bad events allowed — `1 −
 * percentile/100` for latency, `1 − target` for cost, and for scores `1 − threshold` for a
 * boolean (pass-rate) score and `1 − target` of scores below the threshold for a numeric one.
 * Alerts fire on the burn rate of that budget (see burn.ts).
 */
export const OBJECTIVE_KINDS = ['latency', 'cost_per_call', 'cost_per_trace', 'min_mean_score'] as const
export type ObjectiveKind = (typeof OBJECTIVE_KINDS)[number]

export const ObjectiveInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    filter: TraceFilterSchema.default({}),
    kind: z.enum(OBJECTIVE_KINDS),
    threshold: z.number().finite(),
    /** latency only. @default 95 */
    percentile: z.number().gt(0).lt(100).optional(),
    /** min_mean_score only: the score name. */
    scoreName: z.string().trim().min(1).max(200).optional(),
    /** Share of good events aimed for (cost, numeric scores). @default 0.99 (cost), 0.9 (scores) */
    target: z.number().gt(0).lt(1).optional(),
    /** Period of the error budget shown on the dashboard. @default 7 */
    periodDays: z.number().int().min(1).max(90).default(7),
    /** Where breach and resolve notifications are POSTed. */
    webhookUrl: z.url().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.kind === 'min_mean_score' && !o.scoreName) {
      ctx.addIssue({ code: 'custom', path: ['scoreName'], message: 'required for min_mean_score' })
    }
    if (o.kind !== 'min_mean_score' && o.threshold < 0) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'must be ≥ 0' })
    }
  })
export type ObjectiveInput = z.input<typeof ObjectiveInputSchema>
export type ObjectiveDefinition = z.output<typeof ObjectiveInputSchema>

export interface Objective {
  id: string
  name: string
  filter: ObjectiveDefinition['filter']
  kind: ObjectiveKind
  threshold: number
  percentile: number | null
  score_name: string | null
  target: number | null
  period_days: number
  webhook_url: string | null
  created_at: string
  updated_at: string
}

export interface ObjectiveAlert {
  id: string
  objective_id: string
  severity: 'fast' | 'slow'
  state: 'firing' | 'resolved'
  detail: string
  started_at: string
  resolved_at: string | null
}
