import type { Storage } from '../storage/client'

/** Retention of a project without its own setting, unless the instance configures another. */
export const DEFAULT_RETENTION_DAYS = 30
/** Largest retention accepted (100 years); 0 means keep forever. */
export const MAX_RETENTION_DAYS = 36_500

/** The `project_settings` row holding the instance default (HINDSIGHT_RETENTION_DAYS). */
const INSTANCE_ROW = ''

export interface RetentionSetting {
  /** Days spans are kept (by start time); 0 = forever. */
  retention_days: number
  /** 'project' when the project set it, 'default' when the instance default applies. */
  source: 'project' | 'default'
  /** The instance default, for display. */
  default_retention_days: number
}

/** Throws a RangeError naming `retention_days` unless `days` is a whole number in 0…36500. */
export function checkRetentionDays(days: number): number {
  if (!Number.isSafeInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
    throw new RangeError(
      `retention_days: must be a whole number of days from 0 (keep forever) to ${MAX_RETENTION_DAYS}, got ${days}`,
    )
  }
  return days
}

/**
 * Per-project settings (`project_settings`, migration 2); today the retention. A project without
 * its own retention follows the instance default, which the collector's retention job records
 * (row with an empty project id) so that every process reading settings reports the same value.
 */
export class ProjectSettingsRepository {
  private lastUpdate = 0

  constructor(private readonly storage: Storage) {}

  private get db(): string {
    return this.storage.database
  }

  /** The instance default retention: as recorded by the collector, else 30 days. */
  async defaultRetentionDays(): Promise<number> {
    return (await this.storedRetention(INSTANCE_ROW)) ?? DEFAULT_RETENTION_DAYS
  }

  /** Record the instance default (done by the retention job when it starts). */
  async recordDefaultRetention(days: number): Promise<void> {
    checkRetentionDays(days)
    if ((await this.storedRetention(INSTANCE_ROW)) === days) return
    await this.write(INSTANCE_ROW, days)
  }

  /** The retention that applies to a project, and where it comes from. */
  async retention(projectId: string): Promise<RetentionSetting> {
    const [own, fallback] = await Promise.all([this.storedRetention(projectId), this.defaultRetentionDays()])
    return own === null
      ? { retention_days: fallback, source: 'default', default_retention_days: fallback }
      : { retention_days: own, source: 'project', default_retention_days: fallback }
  }

  /** Set a project's retention in days (0 = keep forever), or null to follow the default again. */
  async setRetention(projectId: string, days: number | null): Promise<RetentionSetting> {
    if (projectId === INSTANCE_ROW) throw new RangeError('project id must not be empty')
    if (days !== null) checkRetentionDays(days)
    await this.write(projectId, days)
    return this.retention(projectId)
  }

  /** Projects with their own retention (0 included), by project id. */
  async projectRetentions(): Promise<Map<string, number>> {
    const result = await this.storage.client.query({
      query: `SELECT project_id, retention_days FROM ${this.db}.project_settings FINAL
        WHERE project_id != '' AND retention_days IS NOT NULL`,
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ project_id: string; retention_days: number | string }>()
    return new Map(rows.map((r) => [r.project_id, Number(r.retention_days)]))
  }

  private async storedRetention(projectId: string): Promise<number | null> {
    const result = await this.storage.client.query({
      query: `SELECT retention_days FROM ${this.db}.project_settings FINAL WHERE project_id = {projectId:String}`,
      query_params: { projectId },
      format: 'JSONEachRow',
    })
    const value = (await result.json<{ retention_days: number | string | null }>())[0]?.retention_days
    return value === undefined || value === null ? null : Number(value)
  }

  private async write(projectId: string, days: number | null): Promise<void> {
    // Strictly increasing, so two quick writes never tie on the version column.
    this.lastUpdate = Math.max(Date.now(), this.lastUpdate + 1)
    await this.storage.client.insert({
      table: `${this.db}.project_settings`,
      values: [
        {
          project_id: projectId,
          retention_days: days,
          updated_at: new Date(this.lastUpdate).toISOString().replace('T', ' ').slice(0, 23),
        },
      ],
      format: 'JSONEachRow',
    })
  }
}
