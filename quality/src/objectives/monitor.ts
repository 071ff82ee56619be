/**
 * The objective monitor: every poll, for each objective, the burn rates of its error budget over
 * the alert windows (minute buckets of the last 6 hours); a breach opens an alert and POSTs it to
 * the objective's webhook, once; when no window fires any more the alert resolves and a resolved
 * notification follows. Also computes an objective's status over time for the dashboard.
 */
import type { Storage } from '@hindsight/collector/storage'
import { newId } from '../ids'
import { Poller } from '../poller'
import {
  type BurnEvaluation,
  type BurnWindowRule,
  DEFAULT_BURN_RULES,
  evaluateBurn,
  nextTransition,
} from './burn'
import { budgetOf, type ObjectiveBucket, objectiveBuckets } from './events'
import { ObjectiveRepository } from './repository'
import type { Objective, ObjectiveAlert } from './types'

export interface ObjectiveMonitorOptions {
  storage: Storage
  /** @default 60000 */
  pollIntervalMs?: number
  /** @default DEFAULT_BURN_RULES */
  burnRules?: readonly BurnWindowRule[]
  /** A long window with fewer events never fires. @default 10 */
  minEvents?: number
  /** Webhook time limit. @default 5000 */
  webhookTimeoutMs?: number
  onError?: (error: unknown) => void
  /** Clock in ms. @default Date.now */
  now?: () => number
}

/** The JSON body POSTed to an objective's webhook. */
export interface ObjectiveNotification {
  type: 'objective.breached' | 'objective.resolved'
  project_id: string
  objective: Pick<Objective, 'id' | 'name' | 'kind' | 'threshold' | 'filter'>
  alert: ObjectiveAlert
  burn: BurnEvaluation
  sent_at: string
}

export interface ObjectiveStatus {
  objective_id: string
  /** Over the whole period: is the objective met? null without events. */
  met: boolean | null
  /** The period's measure: latency percentile, mean cost or mean score. */
  value: number | null
  events: number
  bad_events: number
  /** 1 − (bad share / budget) over the period: 1 untouched, 0 spent, negative overspent. */
  error_budget_remaining: number | null
  budget: number
  interval_seconds: number
  /** Per bucket: events, the measure and whether the bucket complied. */
  buckets: (ObjectiveBucket & { bucket: string; compliant: boolean | null })[]
  burn: BurnEvaluation
  open_alert: ObjectiveAlert | null
  recent_alerts: ObjectiveAlert[]
}

function complies(
  o: Objective,
  b: { total: number; bad: number; value: number | null },
  budget: number,
): boolean | null {
  if (b.total === 0 || b.value === null) return null
  if (o.kind === 'latency') return b.value <= o.threshold
  if (o.kind === 'min_mean_score') return b.value >= o.threshold
  return b.bad / b.total <= budget
}

export class ObjectiveMonitor {
  readonly objectives: ObjectiveRepository
  private readonly poller: Poller
  private readonly now: () => number

  constructor(private readonly options: ObjectiveMonitorOptions) {
    this.objectives = new ObjectiveRepository(options.storage)
    this.now = options.now ?? Date.now
    this.poller = new Poller(
      () => this.runOnce(),
      options.pollIntervalMs ?? 60_000,
      (error) => (options.onError ?? console.error)(error),
    )
  }

  start(): void {
    this.poller.start()
  }

  async stop(): Promise<void> {
    await this.poller.stop()
  }

  private async burn(projectId: string, o: Objective, nowMs: number): Promise<BurnEvaluation> {
    const rules = this.options.burnRules ?? DEFAULT_BURN_RULES
    const longest = Math.max(...rules.map((r) => r.longMs))
    const { buckets, booleanScore } = await objectiveBuckets(
      this.options.storage,
      projectId,
      o,
      new Date(nowMs - longest),
      new Date(nowMs),
      60,
    )
    return evaluateBurn(buckets, nowMs, budgetOf(o, booleanScore), rules, this.options.minEvents ?? 10)
  }

  /** One poll: returns the notifications sent (or attempted). */
  async runOnce(): Promise<ObjectiveNotification[]> {
    const sent: ObjectiveNotification[] = []
    const nowMs = this.now()
    for (const o of await this.objectives.listAll()) {
      try {
        const burn = await this.burn(o.project_id, o, nowMs)
        const open =
          (await this.objectives.alerts(o.project_id, o.id, 1)).find((a) => a.state === 'firing') ?? null
        const t = nextTransition(open !== null, burn)
        let alert: ObjectiveAlert | null = null
        if (t.action === 'fire') {
          alert = {
            id: newId(),
            objective_id: o.id,
            severity: t.severity,
            state: 'firing',
            detail: JSON.stringify(burn.windows),
            started_at: new Date(nowMs).toISOString(),
            resolved_at: null,
          }
        } else if (t.action === 'resolve' && open) {
          alert = { ...open, state: 'resolved', resolved_at: new Date(nowMs).toISOString() }
        }
        if (!alert) continue
        await this.objectives.saveAlert(o.project_id, alert)
        const notification: ObjectiveNotification = {
          type: alert.state === 'firing' ? 'objective.breached' : 'objective.resolved',
          project_id: o.project_id,
          objective: { id: o.id, name: o.name, kind: o.kind, threshold: o.threshold, filter: o.filter },
          alert,
          burn,
          sent_at: new Date(nowMs).toISOString(),
        }
        sent.push(notification)
        if (o.webhook_url) await this.post(o.webhook_url, notification)
      } catch (error) {
        ;(this.options.onError ?? console.error)(error)
      }
    }
    return sent
  }

  private async post(url: string, body: ObjectiveNotification): Promise<void> {
    const signal = AbortSignal.timeout(this.options.webhookTimeoutMs ?? 5000)
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'hindsight-objectives' },
          body: JSON.stringify(body),
          signal,
        })
        if (res.ok) return
        if (res.status < 500 && res.status !== 429) throw new Error(`webhook answered ${res.status}`)
      } catch (error) {
        if (attempt === 3 || signal.aborted) throw error
      }
      await new Promise((r) => setTimeout(r, 200 * attempt))
    }
  }

  /** Status over the objective's period (hourly buckets up to 7 days, else 6-hourly). */
  async status(projectId: string, o: Objective): Promise<ObjectiveStatus> {
    return objectiveStatus(this.options.storage, projectId, o, this.now(), this.options)
  }
}

export async function objectiveStatus(
  storage: Storage,
  projectId: string,
  o: Objective,
  nowMs = Date.now(),
  options: Pick<ObjectiveMonitorOptions, 'burnRules' | 'minEvents'> = {},
): Promise<ObjectiveStatus> {
  const interval = o.period_days <= 7 ? 3600 : 6 * 3600
  const to = new Date(Math.ceil(nowMs / (interval * 1000)) * interval * 1000)
  const from = new Date(to.getTime() - o.period_days * 86_400_000)
  const { buckets, booleanScore } = await objectiveBuckets(storage, projectId, o, from, to, interval)
  const budget = budgetOf(o, booleanScore)
  const events = buckets.reduce((n, b) => n + b.total, 0)
  const bad = buckets.reduce((n, b) => n + b.bad, 0)
  // The period's measure: events-weighted (exact for means; an approximation for percentiles).
  const value = events === 0 ? null : buckets.reduce((s, b) => s + (b.value ?? 0) * b.total, 0) / events
  const repository = new ObjectiveRepository(storage)
  const recent = await repository.alerts(projectId, o.id, 20)
  const rules = options.burnRules ?? DEFAULT_BURN_RULES
  const longest = Math.max(...rules.map((r) => r.longMs))
  const minute = await objectiveBuckets(storage, projectId, o, new Date(nowMs - longest), new Date(nowMs), 60)
  return {
    objective_id: o.id,
    met: complies(o, { total: events, bad, value }, budget),
    value,
    events,
    bad_events: bad,
    error_budget_remaining: events === 0 || budget <= 0 ? null : 1 - bad / events / budget,
    budget,
    interval_seconds: interval,
    buckets: buckets.map((b) => ({
      ...b,
      bucket: new Date(b.start).toISOString(),
      compliant: complies(o, b, budget),
    })),
    burn: evaluateBurn(
      minute.buckets,
      nowMs,
      budgetOf(o, minute.booleanScore),
      rules,
      options.minEvents ?? 10,
    ),
    open_alert: recent.find((a) => a.state === 'firing') ?? null,
    recent_alerts: recent,
  }
}
