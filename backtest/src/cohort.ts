/**
 * Cohorts: which recorded traffic a back-test runs on. A filter (time range, route, model,
 * provider, release, tags, score range) picks traces; an optional deterministic sample (a seeded
 * hash of the trace id, optionally stratified by model, route or day with proportional
 * allocation) picks some of them; the result is frozen as a list of trace ids, so the back-test
 * can be re-run on exactly the same traffic.
 */
import { randomUUID } from 'node:crypto'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { type CallQuery, callConditions, chTime, inCohortSql } from './calls'

const MAX_RANGE_MS = 400 * 86_400_000
const labels = z.array(z.string().trim().min(1).max(300)).max(100).optional()

export const cohortFilterSchema = z
  .object({
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    /** Calls of these routes (`hindsight.route`). */
    route: labels,
    /** Calls of these models — the calls a candidate would replace. */
    model: labels,
    provider: labels,
    release: labels,
    /** Traces carrying every one of these tags (`hindsight.tags`, on any span). */
    tags: labels,
    /** Traces with a score `name` in [min, max] (quality scores; failed evaluations excluded). */
    score: z
      .object({
        name: z.string().trim().min(1).max(200),
        min: z.number().optional(),
        max: z.number().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const span = Date.parse(f.to) - Date.parse(f.from)
    if (!(span > 0)) ctx.addIssue({ code: 'custom', message: 'must be before to', path: ['from'] })
    else if (span > MAX_RANGE_MS) ctx.addIssue({ code: 'custom', message: 'at most 400 days', path: ['to'] })
  })

export const sampleSchema = z
  .object({
    /** Traces to keep (all when the filter matches fewer). */
    size: z.number().int().positive().max(10_000_000),
    /** Same seed, same sample. */
    seed: z.union([z.string().max(200), z.number().int()]).default('hindsight'),
    /** Keep each model's, route's or day's share of the traffic (proportional allocation). */
    stratify_by: z.enum(['model', 'route', 'day']).optional(),
  })
  .strict()

export type CohortFilter = z.output<typeof cohortFilterSchema>
export type CohortSample = z.output<typeof sampleSchema>

export interface Cohort {
  id: string
  project_id: string
  filter: CohortFilter
  sample: CohortSample | null
  trace_count: number
  /** Traces per stratum ('' when not stratified). */
  strata: Record<string, number>
  created_at: string
}

/** The span-level part of a cohort's filter: which calls the candidate would replace. */
export function callQuery(projectId: string, filter: CohortFilter, cohortId?: string): CallQuery {
  return {
    projectId,
    from: new Date(filter.from),
    to: new Date(filter.to),
    cohortId,
    model: filter.model,
    provider: filter.provider,
    route: filter.route,
    release: filter.release,
  }
}

/**
 * SQL condition and parameters for every LLM call of the cohort's traces within its time range
 * (what a replay issues and evaluates; the filter's span-level parts do not apply).
 */
export function cohortCallsWhere(
  db: string,
  projectId: string,
  cohort: Cohort,
): { where: string; params: Record<string, string> } {
  return {
    where: `project_id = {projectId:String} AND kind = 'llm'
        AND start_time >= {from:DateTime64(6, 'UTC')} AND start_time < {to:DateTime64(6, 'UTC')}
        AND ${inCohortSql(db)}`,
    params: {
      projectId,
      cohortId: cohort.id,
      from: chTime(new Date(cohort.filter.from)),
      to: chTime(new Date(cohort.filter.to)),
    },
  }
}

const STRATUM: Record<NonNullable<CohortSample['stratify_by']> | 'none', string> = {
  none: "''",
  model: 'argMinIf(model, start_time, is_call)',
  route: 'argMinIf(route, start_time, is_call)',
  day: 'toString(toDate(min(start_time)))',
}

/** Traces matching the filter, one row each with its stratum and seeded hash. */
function tracesQuery(
  storage: Storage,
  projectId: string,
  filter: CohortFilter,
  sample: CohortSample | null,
): { sql: string; params: Record<string, unknown> } {
  const db = storage.database
  const { where, params } = callConditions(callQuery(projectId, filter))
  // Trace-level scan: every span of the range, calls flagged.
  const scope = where.slice(0, 3)
  const call = where.slice(3).join(' AND ')
  const having = ['countIf(is_call) > 0']
  if (filter.tags && filter.tags.length > 0) {
    having.push(
      `arrayAll(t -> has(groupUniqArrayArray(JSONExtract(attributes['${HINDSIGHT.tags}'], 'Array(String)')), t), {f_tags:Array(String)})`,
    )
    params.f_tags = filter.tags
  }
  if (filter.score) {
    const s = filter.score
    const conditions = ['project_id = {projectId:String}', 'name = {s_name:String}', "status != 'failed'"]
    params.s_name = s.name
    if (s.min !== undefined) {
      conditions.push('value >= {s_min:Float64}')
      params.s_min = s.min
    }
    if (s.max !== undefined) {
      conditions.push('value <= {s_max:Float64}')
      params.s_max = s.max
    }
    scope.push(`trace_id IN (SELECT trace_id FROM ${db}.scores FINAL WHERE ${conditions.join(' AND ')})`)
  }
  params.seed = String(sample?.seed ?? '')
  const sql = `
    SELECT trace_id, ${STRATUM[sample?.stratify_by ?? 'none']} AS stratum, sipHash64({seed:String}, trace_id) AS h
    FROM (SELECT trace_id, model, route, start_time, ${filter.tags?.length ? 'attributes, ' : ''}(${call}) AS is_call
          FROM ${db}.spans FINAL WHERE ${scope.join(' AND ')})
    GROUP BY trace_id
    HAVING ${having.join(' AND ')}`
  return { sql, params }
}

/**
 * Proportional allocation of `size` over strata by the largest-remainder method: each stratum
 * gets ⌊size · share⌋, and the leftover units go to the largest remainders (ties by name), so the
 * quotas sum to `size` exactly and never exceed a stratum's count.
 */
export function allocate(counts: Record<string, number>, size: number): Record<string, number> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  if (size >= total) return { ...counts }
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const quota: Record<string, number> = {}
  let given = 0
  const remainders: Array<[string, number]> = []
  for (const [name, count] of entries) {
    const exact = (size * count) / total
    const q = Math.min(count, Math.floor(exact))
    quota[name] = q
    given += q
    remainders.push([name, exact - q])
  }
  remainders.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  for (const [name] of remainders) {
    if (given >= size) break
    if ((quota[name] ?? 0) < (counts[name] ?? 0)) {
      quota[name] = (quota[name] ?? 0) + 1
      given++
    }
  }
  return quota
}

const countRow = z.object({ stratum: z.string(), n: z.union([z.number(), z.string()]).transform(Number) })

/**
 * Freeze a cohort: find the matching traces, sample them deterministically, and store the chosen
 * trace ids. Everything runs in the engine (INSERT … SELECT); only per-stratum counts come back.
 */
export async function createCohort(
  storage: Storage,
  projectId: string,
  filterInput: z.input<typeof cohortFilterSchema>,
  sampleInput?: z.input<typeof sampleSchema> | null,
): Promise<Cohort> {
  const filter = cohortFilterSchema.parse(filterInput)
  const sample = sampleInput ? sampleSchema.parse(sampleInput) : null
  const db = storage.database
  const id = `coh_${randomUUID().replaceAll('-', '')}`
  const traces = tracesQuery(storage, projectId, filter, sample)
  const counts = await storage.client.query({
    query: `SELECT stratum, count() AS n FROM (${traces.sql}) GROUP BY stratum`,
    query_params: traces.params,
    format: 'JSONEachRow',
  })
  const byStratum = Object.fromEntries(
    z
      .array(countRow)
      .parse(await counts.json())
      .map((r) => [r.stratum, r.n]),
  )
  const quota = sample ? allocate(byStratum, sample.size) : byStratum
  const strata = Object.keys(quota)
  const params = {
    ...traces.params,
    cohortId: id,
    q_strata: strata,
    q_quota: strata.map((s) => quota[s] ?? 0),
  }
  await storage.client.command({
    query: `
      INSERT INTO ${db}.cohort_traces (project_id, cohort_id, trace_id, stratum)
      SELECT {projectId:String}, {cohortId:String}, trace_id, stratum FROM (
        SELECT trace_id, stratum, row_number() OVER (PARTITION BY stratum ORDER BY h, trace_id) AS rn
        FROM (${traces.sql})
      ) WHERE rn <= {q_quota:Array(UInt64)}[indexOf({q_strata:Array(String)}, stratum)]`,
    query_params: params,
  })
  const traceCount = Object.values(quota).reduce((a, b) => a + b, 0)
  const createdAt = new Date()
  const cohort: Cohort = {
    id,
    project_id: projectId,
    filter,
    sample,
    trace_count: traceCount,
    strata: quota,
    created_at: createdAt.toISOString(),
  }
  await storage.client.insert({
    table: `${db}.cohorts`,
    values: [
      {
        project_id: projectId,
        id,
        definition: JSON.stringify({ filter, sample, strata: quota }),
        range_from: chTime(new Date(filter.from)),
        range_to: chTime(new Date(filter.to)),
        trace_count: traceCount,
        created_at: createdAt.getTime(),
      },
    ],
    format: 'JSONEachRow',
  })
  return cohort
}

const definitionSchema = z.object({
  filter: cohortFilterSchema,
  sample: sampleSchema.nullable(),
  strata: z.record(z.string(), z.number()),
})

const cohortRow = z.object({
  id: z.string(),
  definition: z.string(),
  trace_count: z.union([z.number(), z.string()]).transform(Number),
  created_at: z.string(),
})

/** A frozen cohort of a project, or null. */
export async function getCohort(storage: Storage, projectId: string, id: string): Promise<Cohort | null> {
  const result = await storage.client.query({
    query: `SELECT id, definition, trace_count, created_at FROM ${storage.database}.cohorts FINAL
            WHERE project_id = {projectId:String} AND id = {id:String}`,
    query_params: { projectId, id },
    format: 'JSONEachRow',
  })
  const [row] = z.array(cohortRow).parse(await result.json())
  if (!row) return null
  const definition = definitionSchema.parse(JSON.parse(row.definition))
  return {
    id: row.id,
    project_id: projectId,
    filter: definition.filter,
    sample: definition.sample,
    trace_count: row.trace_count,
    strata: definition.strata,
    created_at: `${row.created_at.replace(' ', 'T')}Z`,
  }
}

/** The frozen trace ids of a cohort, sorted. */
export async function cohortTraceIds(storage: Storage, projectId: string, id: string): Promise<string[]> {
  const result = await storage.client.query({
    query: `SELECT trace_id FROM ${storage.database}.cohort_traces FINAL
            WHERE project_id = {projectId:String} AND cohort_id = {id:String} ORDER BY trace_id`,
    query_params: { projectId, id },
    format: 'JSONEachRow',
  })
  return z
    .array(z.object({ trace_id: z.string() }))
    .parse(await result.json())
    .map((r) => r.trace_id)
}
