/** Objectives and their alerts in ClickHouse (migration 5); every query binds its values. */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { chDateTime, chTime, final, insertRows, laterThan, queryRows } from '../db'
import { invalid, QualityError } from '../errors'
import { newId } from '../ids'
import {
  type Objective,
  type ObjectiveAlert,
  type ObjectiveDefinition,
  type ObjectiveInput,
  ObjectiveInputSchema,
} from './types'

const objectiveRow = z.object({
  id: z.string(),
  name: z.string(),
  definition: z.string(),
  created_at: chTime,
  updated_at: chTime,
})

const alertRow = z.object({
  id: z.string(),
  objective_id: z.string(),
  severity: z.enum(['fast', 'slow']),
  state: z.enum(['firing', 'resolved']),
  detail: z.string(),
  started_at: chTime,
  resolved_at: chTime.nullable(),
})

function toObjective(row: z.output<typeof objectiveRow>): Objective {
  const d = JSON.parse(row.definition) as ObjectiveDefinition
  return {
    id: row.id,
    name: row.name,
    filter: d.filter,
    kind: d.kind,
    threshold: d.threshold,
    percentile: d.kind === 'latency' ? (d.percentile ?? 95) : null,
    score_name: d.scoreName ?? null,
    target: d.target ?? null,
    period_days: d.periodDays,
    webhook_url: d.webhookUrl ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

export class ObjectiveRepository {
  constructor(private readonly storage: Storage) {}

  /** Validates `input` (an {@link ObjectiveInput}); bad input is `QualityError('invalid_input')`. */
  async create(projectId: string, input: ObjectiveInput | unknown): Promise<Objective> {
    const parsed = ObjectiveInputSchema.safeParse(input)
    if (!parsed.success) {
      throw invalid(
        parsed.error.issues
          .map((i) => `${['objective', ...i.path.map(String)].join('.')}: ${i.message}`)
          .join('; '),
      )
    }
    const id = newId()
    const now = chDateTime(new Date())
    await insertRows(this.storage, 'objectives', [
      {
        project_id: projectId,
        id,
        name: parsed.data.name,
        definition: JSON.stringify(parsed.data),
        deleted: 0,
        created_at: now,
        updated_at: now,
      },
    ])
    const created = await this.get(projectId, id)
    if (!created) throw new QualityError('not_found', `objective ${id} vanished after writing`)
    return created
  }

  async delete(projectId: string, id: string): Promise<void> {
    const current = await this.get(projectId, id)
    if (!current) throw new QualityError('not_found', `no objective ${id}`)
    await insertRows(this.storage, 'objectives', [
      {
        project_id: projectId,
        id,
        name: current.name,
        definition: '{}',
        deleted: 1,
        created_at: chDateTime(new Date(current.created_at)),
        updated_at: chDateTime(laterThan(current.updated_at)),
      },
    ])
  }

  async list(projectId: string): Promise<Objective[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, created_at, updated_at FROM ${final(this.storage, 'objectives')}
       WHERE project_id = {projectId:String} AND deleted = 0 ORDER BY created_at, id`,
      { projectId },
      objectiveRow,
    )
    return rows.map(toObjective)
  }

  async listAll(): Promise<(Objective & { project_id: string })[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT project_id, id, name, definition, created_at, updated_at FROM ${final(this.storage, 'objectives')}
       WHERE deleted = 0 ORDER BY project_id, created_at, id`,
      {},
      objectiveRow.extend({ project_id: z.string() }),
    )
    return rows.map((r) => ({ ...toObjective(r), project_id: r.project_id }))
  }

  async get(projectId: string, id: string): Promise<Objective | null> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, created_at, updated_at FROM ${final(this.storage, 'objectives')}
       WHERE project_id = {projectId:String} AND id = {id:String} AND deleted = 0`,
      { projectId, id },
      objectiveRow,
    )
    return rows[0] ? toObjective(rows[0]) : null
  }

  /** Alerts of an objective, newest first. */
  alerts(projectId: string, objectiveId: string, limit = 50): Promise<ObjectiveAlert[]> {
    return queryRows(
      this.storage,
      `SELECT id, objective_id, severity, state, detail, started_at, resolved_at
       FROM ${final(this.storage, 'objective_alerts')}
       WHERE project_id = {projectId:String} AND objective_id = {objectiveId:String}
       ORDER BY started_at DESC LIMIT {limit:UInt32}`,
      { projectId, objectiveId, limit },
      alertRow,
    )
  }

  async saveAlert(projectId: string, alert: ObjectiveAlert): Promise<void> {
    await insertRows(this.storage, 'objective_alerts', [
      {
        project_id: projectId,
        objective_id: alert.objective_id,
        id: alert.id,
        severity: alert.severity,
        state: alert.state,
        detail: alert.detail,
        started_at: chDateTime(new Date(alert.started_at)),
        resolved_at: alert.resolved_at ? chDateTime(new Date(alert.resolved_at)) : null,
        updated_at: chDateTime(new Date(alert.resolved_at ?? alert.started_at)),
      },
    ])
  }
}
