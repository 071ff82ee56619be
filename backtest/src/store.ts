/**
 * Back-test runs: the request, status, progress and report of each run, in the `backtests`
 * table (migration 4). Every update writes a newer row; reads use FINAL.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { abSpecSchema } from './ab-spec'
import { candidateSchema, evaluationSchema, objectivesSchema } from './candidate'
import { cohortFilterSchema, sampleSchema } from './cohort'
import type { BacktestReport } from './report'

export const BACKTEST_MODES = ['what_if', 'replay', 'ab'] as const
export type BacktestMode = (typeof BACKTEST_MODES)[number]
export const BACKTEST_STATUSES = ['queued', 'running', 'done', 'stopped_budget', 'failed'] as const
/** `stopped_budget`: a replay stopped at its budget cap; it has a report of the partial results. */
export type BacktestStatus = (typeof BACKTEST_STATUSES)[number]

/** What a caller asks for: a cohort (an existing frozen one, or a filter and sample), a candidate, objectives. */
export const backtestRequestSchema = z
  .object({
    mode: z.enum(BACKTEST_MODES).default('what_if'),
    cohort: z.union([
      z.object({ id: z.string().min(1).max(100) }).strict(),
      z.object({ filter: cohortFilterSchema, sample: sampleSchema.optional() }).strict(),
    ]),
    candidate: candidateSchema,
    objectives: objectivesSchema.default({}),
    /** Replay: evaluate both arms with the same evaluators (backtest/src/evaluate.ts). */
    evaluation: evaluationSchema.optional(),
    /** Live A/B (mode 'ab'): the attribute and its two values (backtest/src/ab-spec.ts). */
    ab: abSpecSchema.optional(),
    options: z
      .object({
        /** Bootstrap resamples (≥ 10,000 recommended). */
        resamples: z.number().int().min(1000).max(100_000).optional(),
        seed: z.union([z.string().max(200), z.number().int()]).optional(),
      })
      .strict()
      .default({}),
  })
  .strict()

export type BacktestRequest = z.output<typeof backtestRequestSchema>
export type BacktestRequestInput = z.input<typeof backtestRequestSchema>

export interface BacktestRecord {
  id: string
  project_id: string
  cohort_id: string
  mode: BacktestMode
  status: BacktestStatus
  /** 0–1. */
  progress: number
  /** The current step, or why the run failed. */
  message: string
  request: BacktestRequest
  created_at: string
  updated_at: string
}

const rowSchema = z.object({
  id: z.string(),
  project_id: z.string(),
  cohort_id: z.string(),
  mode: z.enum(BACKTEST_MODES),
  status: z.enum(BACKTEST_STATUSES),
  progress: z.number(),
  message: z.string(),
  request: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
})

const iso = (text: string) => `${text.replace(' ', 'T')}Z`

export class BacktestStore {
  constructor(private readonly storage: Storage) {}

  private get table(): string {
    return `${this.storage.database}.backtests`
  }

  /** Write the record (and the report, when done). Timestamps are milliseconds, strictly increasing per run. */
  async save(record: BacktestRecord, report: BacktestReport | null = null): Promise<void> {
    await this.storage.client.insert({
      table: this.table,
      values: [
        {
          project_id: record.project_id,
          id: record.id,
          cohort_id: record.cohort_id,
          mode: record.mode,
          status: record.status,
          progress: record.progress,
          message: record.message,
          request: JSON.stringify(record.request),
          report: report ? JSON.stringify(report) : '',
          created_at: Date.parse(record.created_at),
          updated_at: Date.parse(record.updated_at),
        },
      ],
      format: 'JSONEachRow',
    })
  }

  async get(projectId: string, id: string): Promise<BacktestRecord | null> {
    const result = await this.storage.client.query({
      query: `SELECT id, project_id, cohort_id, mode, status, progress, message, request, created_at, updated_at
              FROM ${this.table} FINAL WHERE project_id = {projectId:String} AND id = {id:String}`,
      query_params: { projectId, id },
      format: 'JSONEachRow',
    })
    const [row] = z.array(rowSchema).parse(await result.json())
    return row ? toRecord(row) : null
  }

  /** The newest runs of a project, newest first. */
  async list(projectId: string, limit = 50): Promise<BacktestRecord[]> {
    const result = await this.storage.client.query({
      query: `SELECT id, project_id, cohort_id, mode, status, progress, message, request, created_at, updated_at
              FROM ${this.table} FINAL WHERE project_id = {projectId:String}
              ORDER BY created_at DESC LIMIT {limit:UInt32}`,
      query_params: { projectId, limit },
      format: 'JSONEachRow',
    })
    return z
      .array(rowSchema)
      .parse(await result.json())
      .map(toRecord)
  }

  /** The report JSON of a finished run, or null. */
  async report(projectId: string, id: string): Promise<BacktestReport | null> {
    const result = await this.storage.client.query({
      query: `SELECT report FROM ${this.table} FINAL WHERE project_id = {projectId:String} AND id = {id:String}`,
      query_params: { projectId, id },
      format: 'JSONEachRow',
    })
    const [row] = z.array(z.object({ report: z.string() })).parse(await result.json())
    if (!row || row.report === '') return null
    return JSON.parse(row.report) as BacktestReport
  }
}

function toRecord(row: z.infer<typeof rowSchema>): BacktestRecord {
  return {
    id: row.id,
    project_id: row.project_id,
    cohort_id: row.cohort_id,
    mode: row.mode,
    status: row.status,
    progress: row.progress,
    message: row.message,
    request: backtestRequestSchema.parse(JSON.parse(row.request)),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  }
}
