/**
 * Running back-tests for the API, the dashboard and the CLI: validate the request, check what
 * would make it fail (unknown price, no caching rules, a mode not built yet) before answering,
 * then freeze the cohort and run the what-if in the background, recording progress and the
 * report in the `backtests` table.
 */
import { randomUUID } from 'node:crypto'
import { PRICE_TABLE, type PriceTable } from '@hindsight/collector'
import type { Storage } from '@hindsight/collector/storage'
import { CACHE_RULES, type CacheRules } from './caching/rules'
import { type Cohort, createCohort, getCohort } from './cohort'
import { candidatePrice } from './pricing'
import { replayReport } from './replay/report'
import { loadReplayCalls, runReplay } from './replay/runner'
import type { BacktestReport } from './report'
import {
  type BacktestRecord,
  type BacktestRequest,
  type BacktestRequestInput,
  BacktestStore,
  backtestRequestSchema,
} from './store'
import { BacktestInputError, checkCandidate, runWhatIf } from './whatif'

/** A mode that is specified but not built yet (the API answers 501). */
export class NotImplementedError extends Error {
  override readonly name = 'NotImplementedError'
}

export interface BacktestServiceOptions {
  priceTable?: PriceTable
  cacheRules?: CacheRules
  /** Clock (tests). */
  now?: () => Date
  /** Replay: the candidate endpoint's key. @default process.env.OPENAI_API_KEY */
  replayApiKey?: string
  /** Replay: send the candidate spans to this collector (else the process's SDK `init` applies). */
  replayCollector?: { endpoint: string; apiKey?: string }
}

/** Statuses a run ends in with a report. */
const FINISHED_WITH_REPORT = new Set(['done', 'stopped_budget'])

export class BacktestService {
  readonly store: BacktestStore
  private readonly running = new Map<string, Promise<void>>()
  private readonly now: () => Date
  private lastStamp = 0

  constructor(
    private readonly storage: Storage,
    private readonly options: BacktestServiceOptions = {},
  ) {
    this.store = new BacktestStore(storage)
    this.now = options.now ?? (() => new Date())
  }

  /** Strictly increasing timestamps, so the newest row of a run always wins under FINAL. */
  private stamp(): string {
    const t = Math.max(this.now().getTime(), this.lastStamp + 1)
    this.lastStamp = t
    return new Date(t).toISOString()
  }

  /** Parse and check a request; throws ZodError, BacktestInputError or NotImplementedError. */
  validate(input: BacktestRequestInput | unknown): BacktestRequest {
    const request = backtestRequestSchema.parse(input)
    if (request.mode === 'ab') {
      throw new NotImplementedError(
        "mode 'ab' is not built yet: live A/B comparison of two releases comes in a later slice; use mode 'what_if' (instant, no calls) or 'replay'",
      )
    }
    const at = 'filter' in request.cohort ? new Date(request.cohort.filter.to) : this.now()
    if (request.mode === 'replay') {
      const c = request.candidate
      if (c.api !== 'openai')
        throw new BacktestInputError(
          `candidate.api: replay through the ${c.api} API is not built yet; use an OpenAI-compatible candidate (api 'openai' with base_url)`,
        )
      if (!c.base_url)
        throw new BacktestInputError(
          'candidate.base_url: replay needs the base URL of an OpenAI-compatible endpoint (e.g. https://api.openai.com/v1)',
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
    const job = this.execute({ ...record }).finally(() => this.running.delete(record.id))
    this.running.set(record.id, job)
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

  private async execute(record: BacktestRecord): Promise<void> {
    const update = async (patch: Partial<BacktestRecord>, report: BacktestReport | null = null) => {
      Object.assign(record, patch, { updated_at: this.stamp() })
      await this.store.save(record, report)
    }
    try {
      await update({ status: 'running', progress: 0.01, message: 'freezing the cohort' })
      const request = record.request
      let cohort: Cohort | null
      if ('id' in request.cohort) cohort = await getCohort(this.storage, record.project_id, request.cohort.id)
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
        await this.executeReplay(record, cohort, update)
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

  private async executeReplay(
    record: BacktestRecord,
    cohort: Cohort,
    update: (patch: Partial<BacktestRecord>, report?: BacktestReport | null) => Promise<void>,
  ): Promise<void> {
    const request = record.request
    let lastSaved = 0
    let saving: Promise<void> = Promise.resolve()
    const run = await runReplay(this.storage, {
      projectId: record.project_id,
      backtestId: record.id,
      cohort,
      candidate: request.candidate,
      apiKey: this.options.replayApiKey,
      collector: this.options.replayCollector,
      priceTable: this.options.priceTable,
      onProgress: (done, total) => {
        // progress = calls done / total, persisted at most every 2% (and at the end).
        const fraction = total > 0 ? done / total : 1
        const overall = 0.05 + 0.9 * fraction
        if (overall - lastSaved >= 0.02 || done === total) {
          lastSaved = overall
          saving = saving
            .then(() => update({ progress: overall, message: `replayed ${done} of ${total} calls` }))
            .catch(() => {})
        }
      },
    })
    await saving
    const calls = await loadReplayCalls(this.storage, record.project_id, cohort)
    const report = replayReport({
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

/**
 * The one service per storage in a process, so the REST API and the dashboard share running
 * jobs (`wait`) and timestamps.
 */
export function backtestServiceFor(storage: Storage, options?: BacktestServiceOptions): BacktestService {
  let service = services.get(storage)
  if (!service) {
    service = new BacktestService(storage, options)
    services.set(storage, service)
  }
  return service
}
