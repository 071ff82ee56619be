/**
 * Running back-tests for the API, the dashboard and the CLI: validate the request, check what
 * would make it fail (unknown price, no caching rules, a missing A/B arm) before answering,
 * then freeze the cohort and run the what-if, replay or A/B in the background, recording progress and the
 * report in the `backtests` table.
 */
import { randomUUID } from 'node:crypto'
import { PRICE_TABLE, type PriceTable } from '@hindsight/collector'
import type { Storage } from '@hindsight/collector/storage'
import { runAb } from './ab'
import { withAbCandidate } from './ab-spec'
import { CACHE_RULES, type CacheRules } from './caching/rules'
import { type Cohort, createCohort, getCohort } from './cohort'
import { type EvaluationHooks, evaluateReplay } from './evaluate'
import { candidatePrice } from './pricing'
import { replayReport } from './replay/report'
import { acquireReplaySpanRouting, loadReplayCalls, type ReplaySpanSink, runReplay } from './replay/runner'
import type { BacktestReport } from './report'
import {
  type BacktestRecord,
  type BacktestRequest,
  type BacktestRequestInput,
  BacktestStore,
  backtestRequestSchema,
} from './store'
import { BacktestInputError, checkCandidate, runWhatIf } from './whatif'

export interface BacktestServiceOptions {
  priceTable?: PriceTable
  cacheRules?: CacheRules
  /** Clock (tests). */
  now?: () => Date
  /** Replay: the candidate endpoint's key. @default process.env.OPENAI_API_KEY */
  replayApiKey?: string
  /** Replay: send the candidate spans to this collector (else the process's SDK `init` applies). */
  replayCollector?: { endpoint: string; apiKey?: string }
  /**
   * Replay: hand the candidate spans to this in-process sink under the back-test's project
   * (`hindsight start` wires it to the collector's own ingest). The SDK is `init()`-ed once per
   * process with a routing exporter when the service is created, unless the host process had
   * called `init()` before: then the host's configuration applies (as without a sink).
   * `replayCollector` wins over it.
   */
  spanSink?: ReplaySpanSink
  /**
   * `backtestServiceFor` only: on creation, resume the runs a previous process left `queued` or
   * `running` (see `resumeInterrupted`). @default true
   */
  resumeOnStart?: boolean
  /**
   * A `running` row not updated for this long belongs to no live process (a running replay
   * updates its row at least every `heartbeatMs`). Only used with a ClickHouse server: the
   * embedded engine is opened by one process at a time, so its unfinished rows are orphans.
   * @default 30000
   */
  staleAfterMs?: number
  /** A running replay touches its row at least this often. @default 10000 */
  heartbeatMs?: number
  /** Replay evaluation: custom evaluators, judge keys' environment, judge span sink. */
  evaluation?: EvaluationHooks
}

/** Ids of the runs executing in this process, per storage (whichever service instance runs them). */
const live = new WeakMap<Storage, Set<string>>()
function liveRuns(storage: Storage): Set<string> {
  let ids = live.get(storage)
  if (!ids) {
    ids = new Set()
    live.set(storage, ids)
  }
  return ids
}

/** Message prefix of a run stopped by `close()`: resumed at once by the next `resumeInterrupted`. */
const INTERRUPTED = 'interrupted'

/** Statuses a run ends in with a report. */
const FINISHED_WITH_REPORT = new Set(['done', 'stopped_budget'])

export class BacktestService {
  readonly store: BacktestStore
  private readonly running = new Map<string, Promise<void>>()
  /** Abort controllers of the replays this process runs. */
  private readonly replays = new Map<string, AbortController>()
  /** Heartbeats of the replays this process runs (they run until the report is stored). */
  private readonly heartbeats = new Map<string, ReturnType<typeof setInterval>>()
  private closing = false
  private readonly now: () => Date
  private lastStamp = 0

  constructor(
    private readonly storage: Storage,
    private readonly options: BacktestServiceOptions = {},
  ) {
    this.store = new BacktestStore(storage)
    this.now = options.now ?? (() => new Date())
    // Installed now, so an init() the process makes later (e.g. the Demo fill) is not taken for the host's.
    if (options.spanSink && !options.replayCollector) acquireReplaySpanRouting()
  }

  /** Strictly increasing timestamps, so the newest row of a run always wins under FINAL. */
  private stamp(): string {
    const t = Math.max(this.now().getTime(), this.lastStamp + 1)
    this.lastStamp = t
    return new Date(t).toISOString()
  }

  /** Parse and check a request; throws ZodError or BacktestInputError. */
  validate(input: BacktestRequestInput | unknown): BacktestRequest {
    const request = backtestRequestSchema.parse(withAbCandidate(input))
    if (request.evaluation && request.mode !== 'replay')
      throw new BacktestInputError(
        request.mode === 'ab'
          ? "evaluation: only for mode 'replay'. A live A/B compares the quality scores already stored on the arms' traces (online evaluation rules, annotations); name one with objectives.quality_score"
          : "evaluation: only for mode 'replay'. A what-if makes no model calls, so there are no candidate answers to evaluate; run the same request with mode 'replay' to score both arms",
      )
    if (request.mode === 'ab') {
      // Live A/B: recorded traffic only, no candidate model to price or call.
      if (!request.ab)
        throw new BacktestInputError(
          "ab: mode 'ab' needs { attribute (default 'release'), baseline, candidate }: the two values to compare",
        )
      return request
    }
    if (request.ab) throw new BacktestInputError("ab: only for mode 'ab'")
    const at = 'filter' in request.cohort ? new Date(request.cohort.filter.to) : this.now()
    if (request.mode === 'replay') {
      const c = request.candidate
      if (c.api === 'openai' && !c.base_url)
        throw new BacktestInputError(
          "candidate.base_url: replay through the OpenAI API needs the base URL of an OpenAI-compatible endpoint (e.g. https://api.openai.com/v1); for Claude use api 'anthropic'",
        )
      const table = this.options.priceTable ?? PRICE_TABLE
      if (c.budget_usd !== undefined && !candidatePrice(c, table, at, null))
        throw new BacktestInputError(
          `candidate.price: no price for ${c.provider}/${c.model}; a budget cap needs one (give candidate.price in USD per 1M tokens)`,
        )
      return request
    }
    checkCandidate(
      request.candidate,
      this.options.priceTable ?? PRICE_TABLE,
      this.options.cacheRules ?? CACHE_RULES,
      at,
    )
    return request
  }

  /** Validate, record a queued run and start it in the background. */
  async start(projectId: string, input: BacktestRequestInput | unknown): Promise<BacktestRecord> {
    const request = this.validate(input)
    if ('id' in request.cohort) {
      const cohort = await getCohort(this.storage, projectId, request.cohort.id)
      if (!cohort) throw new BacktestInputError(`cohort.id: no cohort '${request.cohort.id}' in this project`)
    }
    const created = this.stamp()
    const record: BacktestRecord = {
      id: `bt_${randomUUID().replaceAll('-', '')}`,
      project_id: projectId,
      cohort_id: 'id' in request.cohort ? request.cohort.id : '',
      mode: request.mode,
      status: 'queued',
      progress: 0,
      message: 'queued',
      request,
      created_at: created,
      updated_at: created,
    }
    await this.store.save(record)
    this.track(record.id, this.execute({ ...record }))
    return record
  }

  /** Resolves when a run started by this process has finished (tests, CLI). */
  async wait(id: string): Promise<void> {
    await this.running.get(id)
  }

  /** Run a request to completion in this process and return its report (CLI direct mode). */
  async run(
    projectId: string,
    input: BacktestRequestInput | unknown,
    onProgress?: (fraction: number, step: string) => void,
  ): Promise<{ record: BacktestRecord; report: BacktestReport }> {
    const record = await this.start(projectId, input)
    let lastShown = -1
    const poll = onProgress
      ? setInterval(() => {
          void this.store.get(projectId, record.id).then((r) => {
            if (r && r.progress !== lastShown) {
              lastShown = r.progress
              onProgress(r.progress, r.message)
            }
          })
        }, 200)
      : null
    try {
      await this.wait(record.id)
    } finally {
      if (poll) clearInterval(poll)
    }
    const done = await this.store.get(projectId, record.id)
    if (!done || !FINISHED_WITH_REPORT.has(done.status))
      throw new BacktestInputError(done?.message ?? 'the back-test did not finish')
    const report = await this.store.report(projectId, record.id)
    if (!report) throw new Error(`back-test ${record.id} finished without a report`)
    onProgress?.(1, 'done')
    return { record: done, report }
  }

  private async execute(record: BacktestRecord, resumed = false): Promise<void> {
    const update = async (patch: Partial<BacktestRecord>, report: BacktestReport | null = null) => {
      Object.assign(record, patch, { updated_at: this.stamp() })
      await this.store.save(record, report)
    }
    try {
      await update({
        status: 'running',
        progress: resumed ? record.progress : 0.01,
        message: resumed ? 'resumed after a restart' : 'freezing the cohort',
      })
      const request = record.request
      let cohort: Cohort | null
      // A resumed run keeps the cohort it froze before.
      if (record.cohort_id !== '') cohort = await getCohort(this.storage, record.project_id, record.cohort_id)
      else if ('id' in request.cohort)
        cohort = await getCohort(this.storage, record.project_id, request.cohort.id)
      else
        cohort = await createCohort(
          this.storage,
          record.project_id,
          request.cohort.filter,
          request.cohort.sample,
        )
      if (!cohort) throw new BacktestInputError('the cohort disappeared')
      await update({
        cohort_id: cohort.id,
        progress: 0.05,
        message: `cohort of ${cohort.trace_count} traces frozen`,
      })
      if (request.mode === 'replay') {
        try {
          await this.executeReplay(record, cohort, update)
        } finally {
          clearInterval(this.heartbeats.get(record.id))
          this.heartbeats.delete(record.id)
        }
        return
      }
      if (request.mode === 'ab' && request.ab) {
        const report = await runAb(this.storage, {
          projectId: record.project_id,
          cohort,
          spec: request.ab,
          objectives: request.objectives,
          resamples: request.options.resamples,
          seed: request.options.seed,
          backtestId: record.id,
          priceTable: this.options.priceTable,
          now: this.now(),
          onProgress: (fraction, step) => {
            if (fraction < 1) void update({ progress: 0.05 + 0.9 * fraction, message: step }).catch(() => {})
          },
        })
        await update({ status: 'done', progress: 1, message: report.verdict.summary }, report)
        return
      }
      let lastSaved = 0
      const report = await runWhatIf(this.storage, {
        projectId: record.project_id,
        cohort,
        candidate: request.candidate,
        objectives: request.objectives,
        priceTable: this.options.priceTable,
        cacheRules: this.options.cacheRules,
        resamples: request.options.resamples,
        seed: request.options.seed,
        backtestId: record.id,
        now: this.now(),
        onProgress: (fraction, step) => {
          const overall = 0.05 + 0.9 * fraction
          if (overall - lastSaved >= 0.1 && fraction < 1) {
            lastSaved = overall
            void update({ progress: overall, message: step }).catch(() => {})
          }
        },
      })
      const { timings: _timings, ...json } = report
      await update({ status: 'done', progress: 1, message: json.verdict.summary }, json)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (!(error instanceof BacktestInputError)) console.error(`[backtest] ${record.id} failed:`, error)
      await update({ status: 'failed', message }).catch(() => {})
    }
  }

  /**
   * Resume the runs a previous process left `queued` or `running` (it crashed, was killed or was
   * closed mid-run): a replay continues with the calls not yet in `replay_calls`, so no finished
   * call is paid for twice, and keeps its budget (the spent total includes the earlier calls); a
   * what-if (free) runs again. With a ClickHouse server, a row another live process may still be
   * running (updated within `staleAfterMs`) is checked again once it could be stale. Returns the
   * ids resumed now.
   */
  async resumeInterrupted(): Promise<string[]> {
    const staleAfter = this.options.staleAfterMs ?? 30_000
    const resumed: string[] = []
    for (const { project_id, id } of await unfinished(this.storage)) {
      if (liveRuns(this.storage).has(id) || this.closing) continue
      const record = await this.store.get(project_id, id)
      if (!record || (record.status !== 'queued' && record.status !== 'running')) continue
      const age = this.now().getTime() - Date.parse(record.updated_at)
      const orphan =
        this.storage.mode === 'embedded' || record.message.startsWith(INTERRUPTED) || age >= staleAfter
      if (!orphan) {
        const recheck = setTimeout(() => void this.resumeIfUnchanged(record), staleAfter - age + 1000)
        recheck.unref()
        continue
      }
      this.resume(record)
      resumed.push(id)
    }
    return resumed
  }

  private async resumeIfUnchanged(seen: BacktestRecord): Promise<void> {
    if (liveRuns(this.storage).has(seen.id) || this.closing) return
    const now = await this.store.get(seen.project_id, seen.id).catch(() => null)
    if (now && (now.status === 'queued' || now.status === 'running') && now.updated_at === seen.updated_at)
      this.resume(now)
  }

  private resume(record: BacktestRecord): void {
    this.track(record.id, this.execute({ ...record }, true))
  }

  /** Runs of this process, in this service and in the process-wide set of the storage. */
  private track(id: string, execution: Promise<void>): void {
    const live = liveRuns(this.storage)
    live.add(id)
    const job = execution.finally(() => {
      this.running.delete(id)
      live.delete(id)
    })
    this.running.set(id, job)
  }

  /**
   * Stop the replays this process runs (calls in flight finish and are stored; their rows stay
   * `running`, marked interrupted, and the next start resumes them) and wait for every run.
   */
  async close(): Promise<void> {
    this.closing = true
    for (const controller of this.replays.values()) controller.abort()
    await Promise.allSettled([...this.running.values()])
  }

  private async executeReplay(
    record: BacktestRecord,
    cohort: Cohort,
    update: (patch: Partial<BacktestRecord>, report?: BacktestReport | null) => Promise<void>,
  ): Promise<void> {
    const request = record.request
    let lastSaved = 0
    let saving: Promise<void> = Promise.resolve()
    let lastWrite = Date.now()
    const save = (patch: Partial<BacktestRecord>) => {
      lastWrite = Date.now()
      saving = saving.then(() => update(patch)).catch(() => {})
    }
    // Heartbeat: a live run's row never looks orphaned to another process (resumeInterrupted).
    const heartbeatMs = this.options.heartbeatMs ?? 10_000
    const heartbeat = setInterval(
      () => {
        if (Date.now() - lastWrite < heartbeatMs) return
        lastWrite = Date.now()
        // Never after the final write (a heartbeat row carries no report).
        saving = saving.then(() => (record.status === 'running' ? update({}) : undefined)).catch(() => {})
      },
      Math.max(10, heartbeatMs / 2),
    )
    heartbeat.unref()
    // Cleared by execute() once the run (evaluation and report included) has ended.
    this.heartbeats.set(record.id, heartbeat)
    const controller = new AbortController()
    this.replays.set(record.id, controller)
    const run = await runReplay(this.storage, {
      projectId: record.project_id,
      backtestId: record.id,
      cohort,
      candidate: request.candidate,
      apiKey: this.options.replayApiKey,
      collector: this.options.replayCollector,
      spanSink: this.options.spanSink,
      priceTable: this.options.priceTable,
      cacheRules: this.options.cacheRules,
      signal: controller.signal,
      onProgress: (done, total) => {
        // progress = calls done / total, persisted at most every 2% (and at the end).
        const fraction = total > 0 ? done / total : 1
        const overall = 0.05 + 0.9 * fraction
        if (overall - lastSaved >= 0.02 || done === total) {
          lastSaved = overall
          save({ progress: overall, message: `replayed ${done} of ${total} calls` })
        }
      },
    }).finally(() => this.replays.delete(record.id))
    await saving
    if (run.status === 'aborted' && this.closing) {
      // Stopped by close(): the row stays `running`; the next start resumes it without re-spending.
      await update({
        message: `${INTERRUPTED}: stopped by a shutdown after ${run.records.length} of ${run.total} calls; resumes when the service starts again`,
      })
      return
    }
    // Both arms scored by the same evaluators (stored as scores tagged with the back-test and arm).
    const quality =
      request.evaluation && run.status !== 'aborted'
        ? await evaluateReplay(this.storage, {
            ...this.options.evaluation,
            projectId: record.project_id,
            backtestId: record.id,
            cohort,
            records: run.records,
            evaluation: request.evaluation,
            onProgress: (done, total) => {
              if (done === total || done % Math.max(1, Math.ceil(total / 20)) === 0)
                saving = saving
                  .then(() => update({ message: `evaluated ${done} of ${total} calls (both arms)` }))
                  .catch(() => {})
            },
          })
        : undefined
    await saving
    const calls = await loadReplayCalls(this.storage, record.project_id, cohort)
    const report = replayReport({
      quality,
      resamples: request.options.resamples,
      seed: request.options.seed,
      projectId: record.project_id,
      backtestId: record.id,
      cohort,
      candidate: request.candidate,
      objectives: request.objectives,
      run,
      calls,
      priceTableVersion: (this.options.priceTable ?? PRICE_TABLE).version,
      now: this.now(),
    })
    if (run.status === 'aborted') {
      await update({ status: 'failed', message: 'the replay was aborted' }, report)
      return
    }
    const status = run.status === 'stopped_budget' ? 'stopped_budget' : 'done'
    const summary =
      status === 'stopped_budget'
        ? `${run.messages[0] ?? 'stopped at the budget cap'} ${report.verdict.summary}`
        : report.verdict.summary
    await update({ status, progress: status === 'done' ? 1 : record.progress, message: summary }, report)
  }
}

const services = new WeakMap<Storage, BacktestService>()

/** The unfinished runs of every project (statuses `queued` / `running`). */
async function unfinished(storage: Storage): Promise<Array<{ project_id: string; id: string }>> {
  const result = await storage.client.query({
    query: `SELECT project_id, id FROM ${storage.database}.backtests FINAL WHERE status IN ('queued', 'running')`,
    format: 'JSONEachRow',
  })
  return (await result.json()) as Array<{ project_id: string; id: string }>
}

/**
 * The one service per storage in a process, so the REST API and the dashboard share running
 * jobs (`wait`) and timestamps.
 */
export function backtestServiceFor(storage: Storage, options?: BacktestServiceOptions): BacktestService {
  let service = services.get(storage)
  if (!service) {
    service = new BacktestService(storage, options)
    services.set(storage, service)
    if (options?.resumeOnStart !== false) {
      void service.resumeInterrupted().catch((error: unknown) => {
        console.warn(
          `[backtest] could not resume interrupted runs: ${error instanceof Error ? error.message : error}`,
        )
      })
    }
  }
  return service
}
