/** Input schemas shared by the routers: untrusted query-string values, validated at the edge. */
import { z } from 'zod'

const MAX_RANGE_MS = 400 * 86_400_000

const label = z.string().trim().min(1).max(300)

/** The filters that mean the same on every panel (DASHBOARD-UX.md, "What every page does" 3). */
export const filterSchema = z
  .object({
    model: z.array(label).max(50).optional(),
    provider: z.array(label).max(50).optional(),
    release: z.array(label).max(50).optional(),
    route: z.array(label).max(50).optional(),
    name: z.string().trim().max(500).optional(),
    status: z.enum(['ok', 'error']).optional(),
  })
  .optional()

const iso = z.iso.datetime({ offset: true })

/** An ISO 8601 time range plus the global filters; `from` must come before `to`. */
export const rangeInput = z
  .object({ from: iso, to: iso, filter: filterSchema })
  .superRefine(({ from, to }, ctx) => {
    const span = Date.parse(to) - Date.parse(from)
    if (!(span > 0)) ctx.addIssue({ code: 'custom', message: 'from must be before to', path: ['from'] })
    else if (span > MAX_RANGE_MS) {
      ctx.addIssue({ code: 'custom', message: 'the time range may span at most 400 days', path: ['to'] })
    }
  })

/** The validated range as Dates, the shape the read model takes. */
export function toRange(input: { from: string; to: string }): { from: Date; to: Date } {
  return { from: new Date(input.from), to: new Date(input.to) }
}
