import type { Storage } from '../storage/client'
import { checkRetentionDays, DEFAULT_RETENTION_DAYS, ProjectSettingsRepository } from './settings'

const DAY_MS = 86_400_000

export interface RetentionRunOptions {
  /** Retention of projects without their own setting; 0 keeps them forever. @default 30 */
  defaultDays?: number
  /** Clock in ms since the epoch. @default Date.now */
  now?: () => number
}

export interface RetentionRunResult {
  /** Span rows deleted (versions not yet merged away count separately). */
  deleted_rows: number
  /** Per rule that deleted something: the project (or '*' for every project on the default). */
  deleted: Array<{ project: string; retention_days: number; rows: number }>
}

/** DateTime64(6) text of a millisecond timestamp, UTC. */
function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '000')
}

/**
 * Delete spans older than their project's retention (by start time): each project with its own
 * setting (0 = keep forever), then every other project on `defaultDays`. Lightweight `DELETE`
 * with bound parameters; a rule with nothing to delete runs no mutation.
 */
export async function enforceRetention(
  storage: Storage,
  options: RetentionRunOptions = {},
): Promise<RetentionRunResult> {
  const defaultDays = checkRetentionDays(options.defaultDays ?? DEFAULT_RETENTION_DAYS)
  const now = (options.now ?? Date.now)()
  const own = await new ProjectSettingsRepository(storage).projectRetentions()
  const result: RetentionRunResult = { deleted_rows: 0, deleted: [] }
  const spans = `${storage.database}.spans`

  async function deleteWhere(
    condition: string,
    params: Record<string, unknown>,
    label: string,
    days: number,
  ) {
    const counted = await storage.client.query({
      query: `SELECT count() AS n FROM ${spans} WHERE ${condition}`,
      query_params: params,
      format: 'JSONEachRow',
    })
    const rows = Number((await counted.json<{ n: number | string }>())[0]?.n ?? 0)
    if (rows === 0) return
    await storage.client.command({ query: `DELETE FROM ${spans} WHERE ${condition}`, query_params: params })
    result.deleted_rows += rows
    result.deleted.push({ project: label, retention_days: days, rows })
  }

  for (const [projectId, days] of own) {
    if (days === 0) continue
    await deleteWhere(
      "project_id = {projectId:String} AND start_time < {cutoff:DateTime64(6, 'UTC')}",
      { projectId, cutoff: chTime(now - days * DAY_MS) },
      projectId,
      days,
    )
  }
  if (defaultDays > 0) {
    await deleteWhere(
      "NOT has({own:Array(String)}, project_id) AND start_time < {cutoff:DateTime64(6, 'UTC')}",
      { own: [...own.keys()], cutoff: chTime(now - defaultDays * DAY_MS) },
      '*',
      defaultDays,
    )
  }
  return result
}

export interface RetentionJobOptions extends RetentionRunOptions {
  /** Time between runs; the first run starts at once. @default 3600000 (hourly) */
  intervalMs?: number
  /** Called after each run that deleted something. @default a console.log line */
  onRun?: (result: RetentionRunResult) => void
  /** Where failed runs are reported (the job keeps running). @default console.error */
  onError?: (error: unknown) => void
}

export interface RetentionJob {
  /** Run now (or join the run in progress). */
  runNow(): Promise<RetentionRunResult>
  /** Stop the timer and wait for a run in progress. */
  stop(): Promise<void>
}

/**
 * Enforce retention in the background: records `defaultDays` as the instance default (so the
 * REST API reports it), runs at once and then every `intervalMs`. The timer is unref'd, so it
 * never keeps the process alive; runs never overlap.
 */
export function startRetentionJob(storage: Storage, options: RetentionJobOptions = {}): RetentionJob {
  const defaultDays = checkRetentionDays(options.defaultDays ?? DEFAULT_RETENTION_DAYS)
  const onError =
    options.onError ?? ((error: unknown) => console.error('[hindsight retention] run failed', error))
  const onRun =
    options.onRun ??
    ((r: RetentionRunResult) =>
      console.log(`[hindsight retention] deleted ${r.deleted_rows} span rows older than their retention`))
  const settings = new ProjectSettingsRepository(storage)
  let running: Promise<RetentionRunResult> | null = null
  let stopped = false

  const run = (): Promise<RetentionRunResult> => {
    running ??= (async () => {
      try {
        await settings.recordDefaultRetention(defaultDays)
        const result = await enforceRetention(storage, {
          defaultDays,
          ...(options.now && { now: options.now }),
        })
        if (result.deleted_rows > 0) onRun(result)
        return result
      } finally {
        running = null
      }
    })()
    return running
  }
  const background = () => {
    if (!stopped) run().catch(onError)
  }

  const timer = setInterval(background, options.intervalMs ?? 3_600_000)
  timer.unref()
  setImmediate(background)

  return {
    runNow: run,
    async stop() {
      stopped = true
      clearInterval(timer)
      await running?.catch(() => {})
    },
  }
}
