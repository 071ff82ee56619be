/**
 * Evaluation rules, their persisted state (watermark and counters) and recent failures, in
 * ClickHouse (migration 5). Every query is scoped by project and binds its values.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { chDateTime, chTime, count, final, insertRows, laterThan, queryRows } from '../db'
import { invalid, QualityError } from '../errors'
import { newId } from '../ids'
import {
  type EvaluationRule,
  EvaluatorSpecSchema,
  type RuleFailure,
  type RuleInput,
  RuleInputSchema,
  type RulePatch,
  RulePatchSchema,
  TraceFilterSchema,
} from './types'

const DefinitionSchema = z.object({
  filter: TraceFilterSchema,
  samplingRate: z.number(),
  evaluators: z.array(EvaluatorSpecSchema),
})

const ruleRow = z.object({
  id: z.string(),
  name: z.string(),
  definition: z.string(),
  enabled: z.number(),
  created_at: chTime,
  updated_at: chTime,
})

const stateRow = z.object({
  rule_id: z.string(),
  watermark_time: z.string(),
  watermark_trace: z.string(),
  processed: count,
  sampled_out: count,
  scored: count,
  failures: count,
  last_run_at: chTime,
  last_error: z.string(),
})

export interface RuleState {
  /** Last processed trace: its last span's ingestion time (ClickHouse text, microseconds) and id. */
  watermarkTime: string
  watermarkTrace: string
  processed: number
  sampledOut: number
  scored: number
  failures: number
  lastRunAt: string | null
  lastError: string
}

/** The state of a rule that never ran: its watermark at `since`, every counter zero. */
function initialRuleState(since: Date): RuleState {
  return {
    watermarkTime: chMicros(since),
    watermarkTrace: '',
    processed: 0,
    sampledOut: 0,
    scored: 0,
    failures: 0,
    lastRunAt: null,
    lastError: '',
  }
}

interface Issue {
  code: string
  path: PropertyKey[]
  message: string
  errors?: Issue[][]
}

/**
 * One `path: message` per problem. A failed union (a rubric is a name or an object) would only say
 * "Invalid input": the branch the caller meant — the one failing below its root — is described.
 */
function flatten(issue: Issue, prefix: PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    const branch = issue.errors.find((b) => b.some((i) => i.path.length > 0)) ?? issue.errors[0] ?? []
    if (branch.length > 0) return branch.flatMap((i) => flatten(i, [...prefix, ...issue.path]))
  }
  return [{ path: [...prefix, ...issue.path], message: issue.message }]
}

function issues(error: z.ZodError, root: string): string {
  return (error.issues as readonly Issue[])
    .flatMap((i) => flatten(i, []))
    .map((i) => `${[root, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ')
}

function toRule(row: z.output<typeof ruleRow>): EvaluationRule {
  const d = DefinitionSchema.parse(JSON.parse(row.definition))
  return {
    id: row.id,
    name: row.name,
    filter: d.filter,
    sampling_rate: d.samplingRate,
    evaluators: d.evaluators,
    enabled: row.enabled === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

/** ClickHouse DateTime64(6) text of a Date (microseconds zero). */
function chMicros(date: Date): string {
  return `${chDateTime(date)}000`
}

let lastStamp = 0

/** A strictly increasing DateTime64(6) text, so a newer state row always replaces the older one. */
function monotonicMicros(): string {
  lastStamp = Math.max(lastStamp + 1, Date.now() * 1000)
  const ms = Math.floor(lastStamp / 1000)
  return `${chDateTime(new Date(ms))}${String(lastStamp % 1000).padStart(3, '0')}`
}

export class EvaluationRuleRepository {
  constructor(private readonly storage: Storage) {}

  /** Validates `input` (a {@link RuleInput}; bad input is `QualityError('invalid_input')` naming the field). */
  async create(projectId: string, input: RuleInput | unknown): Promise<EvaluationRule> {
    const parsed = RuleInputSchema.safeParse(input)
    if (!parsed.success) throw invalid(issues(parsed.error, 'rule'))
    const now = new Date()
    const id = newId()
    await this.write(projectId, id, parsed.data, now, now)
    // The watermark starts at creation: a rule evaluates traces completed from now on.
    await this.saveState(projectId, id, initialRuleState(now))
    return this.mustGet(projectId, id)
  }

  async update(projectId: string, id: string, patch: RulePatch | unknown): Promise<EvaluationRule> {
    const parsed = RulePatchSchema.safeParse(patch)
    if (!parsed.success) throw invalid(issues(parsed.error, 'rule'))
    const current = await this.mustGet(projectId, id)
    const p = parsed.data
    await this.write(
      projectId,
      id,
      {
        name: p.name ?? current.name,
        filter: p.filter ?? current.filter,
        samplingRate: p.samplingRate ?? current.sampling_rate,
        evaluators: p.evaluators ?? current.evaluators,
        enabled: p.enabled ?? current.enabled,
      },
      new Date(current.created_at),
      laterThan(current.updated_at),
    )
    return this.mustGet(projectId, id)
  }

  async delete(projectId: string, id: string): Promise<void> {
    const current = await this.mustGet(projectId, id)
    await insertRows(this.storage, 'evaluation_rules', [
      {
        project_id: projectId,
        id,
        name: current.name,
        definition: '{}',
        enabled: 0,
        deleted: 1,
        created_at: chDateTime(new Date(current.created_at)),
        updated_at: chDateTime(laterThan(current.updated_at)),
      },
    ])
  }

  private async write(
    projectId: string,
    id: string,
    r: z.output<typeof RuleInputSchema>,
    createdAt: Date,
    updatedAt: Date,
  ): Promise<void> {
    await insertRows(this.storage, 'evaluation_rules', [
      {
        project_id: projectId,
        id,
        name: r.name,
        definition: JSON.stringify({
          filter: r.filter,
          samplingRate: r.samplingRate,
          evaluators: r.evaluators,
        }),
        enabled: r.enabled ? 1 : 0,
        deleted: 0,
        created_at: chDateTime(createdAt),
        updated_at: chDateTime(updatedAt),
      },
    ])
  }

  async list(projectId: string): Promise<EvaluationRule[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, enabled, created_at, updated_at
       FROM ${final(this.storage, 'evaluation_rules')}
       WHERE project_id = {projectId:String} AND deleted = 0 ORDER BY created_at, id`,
      { projectId },
      ruleRow,
    )
    return rows.map(toRule)
  }

  /** Enabled rules of every project, for the worker. */
  async listEnabled(): Promise<(EvaluationRule & { project_id: string })[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT project_id, id, name, definition, enabled, created_at, updated_at
       FROM ${final(this.storage, 'evaluation_rules')}
       WHERE deleted = 0 AND enabled = 1 ORDER BY project_id, created_at, id`,
      {},
      ruleRow.extend({ project_id: z.string() }),
    )
    return rows.map((r) => ({ ...toRule(r), project_id: r.project_id }))
  }

  async get(projectId: string, id: string): Promise<EvaluationRule | null> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, enabled, created_at, updated_at
       FROM ${final(this.storage, 'evaluation_rules')}
       WHERE project_id = {projectId:String} AND id = {id:String} AND deleted = 0`,
      { projectId, id },
      ruleRow,
    )
    return rows[0] ? toRule(rows[0]) : null
  }

  async mustGet(projectId: string, id: string): Promise<EvaluationRule> {
    const rule = await this.get(projectId, id)
    if (!rule) throw new QualityError('not_found', `no evaluation rule ${id}`)
    return rule
  }

  async state(projectId: string, ruleId: string): Promise<RuleState | null> {
    const rows = await queryRows(
      this.storage,
      `SELECT rule_id, toString(watermark_time) AS watermark_time, watermark_trace, processed, sampled_out,
         scored, failures, last_run_at, last_error
       FROM ${final(this.storage, 'evaluation_rule_state')}
       WHERE project_id = {projectId:String} AND rule_id = {ruleId:String}`,
      { projectId, ruleId },
      stateRow,
    )
    const r = rows[0]
    if (!r) return null
    return {
      watermarkTime: r.watermark_time,
      watermarkTrace: r.watermark_trace,
      processed: r.processed,
      sampledOut: r.sampled_out,
      scored: r.scored,
      failures: r.failures,
      lastRunAt: r.last_run_at.startsWith('1970-') ? null : r.last_run_at,
      lastError: r.last_error,
    }
  }

  /** The rule's stored state, or (none stored) its initial state with the watermark at its creation. */
  async stateOrInitial(projectId: string, rule: EvaluationRule): Promise<RuleState> {
    return (await this.state(projectId, rule.id)) ?? initialRuleState(new Date(rule.created_at))
  }

  async saveState(projectId: string, ruleId: string, s: RuleState): Promise<void> {
    await insertRows(this.storage, 'evaluation_rule_state', [
      {
        project_id: projectId,
        rule_id: ruleId,
        watermark_time: s.watermarkTime,
        watermark_trace: s.watermarkTrace,
        processed: s.processed,
        sampled_out: s.sampledOut,
        scored: s.scored,
        failures: s.failures,
        last_run_at: s.lastRunAt ? chDateTime(new Date(s.lastRunAt)) : chDateTime(new Date(0)),
        last_error: s.lastError.slice(0, 2000),
        updated_at: monotonicMicros(),
      },
    ])
  }

  async recordFailures(projectId: string, ruleId: string, failures: Omit<RuleFailure, 'created_at'>[]) {
    const now = chDateTime(new Date())
    await insertRows(
      this.storage,
      'evaluation_failures',
      failures.map((f) => ({
        project_id: projectId,
        rule_id: ruleId,
        trace_id: f.trace_id,
        evaluator: f.evaluator,
        reason: f.reason.slice(0, 2000),
        created_at: now,
      })),
    )
  }

  recentFailures(projectId: string, ruleId: string, limit = 20): Promise<RuleFailure[]> {
    return queryRows(
      this.storage,
      `SELECT trace_id, evaluator, reason, created_at FROM ${this.storage.database}.evaluation_failures
       WHERE project_id = {projectId:String} AND rule_id = {ruleId:String}
       ORDER BY created_at DESC LIMIT {limit:UInt32}`,
      { projectId, ruleId, limit },
      z.object({ trace_id: z.string(), evaluator: z.string(), reason: z.string(), created_at: chTime }),
    )
  }
}
