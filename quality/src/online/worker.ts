/**
 * The online evaluation worker: polls, per enabled rule, for production traces completed since
 * the rule's persisted watermark (complete = no new span for `quietSeconds`), samples them
 * deterministically, runs the rule's evaluators with bounded concurrency and writes the results
 * as scores (source `evaluator`; a failed evaluation is a `failed` score plus a failure record
 * with its reason). It reads what the collector stored and never sits in the ingestion path, so
 * a slow or failing judge delays only its own rule.
 */
import { createHash } from 'node:crypto'
import type { Storage } from '@hindsight/collector/storage'
import { getTrace } from '@hindsight/dashboards'
import { z } from 'zod'
import { chDateTime, count, final, queryRows } from '../db'
import { judgeSpanSinkFor } from '../evaluators/judge'
import { resultToScore, runEvaluator } from '../evaluators/run'
import { evalInputFromTrace } from '../evaluators/trace-input'
import type { EvalResult, Evaluator } from '../evaluators/types'
import { Poller } from '../poller'
import { ScoreRepository } from '../scores/repository'
import { type BuildContext, buildEvaluator } from './build'
import { NOT_EVALUATOR_SPAN, spanFilterSql } from './filter'
import { EvaluationRuleRepository, type RuleState } from './rules'
import { isSampled } from './sampling'
import type { EvaluationRule, RuleFailure, RuleStatus } from './types'

export interface OnlineEvaluationOptions {
  storage: Storage
  /** Pause between polls. @default 5000 */
  pollIntervalMs?: number
  /** A trace is complete once no span arrived for this long. @default 30 */
  quietSeconds?: number
  /** Traces evaluated at once, per rule. @default 4 */
  concurrency?: number
  /** Traces taken per rule and poll. @default 200 */
  batchSize?: number
  /** Time limit of one evaluation. @default 60000 */
  evalTimeoutMs?: number
  /** Defaults for judge evaluators (per-spec values win). */
  judge?: BuildContext['judge']
  /** Custom evaluators rules may name (more with `registerCustom`). */
  custom?: Evaluator[]
  /** Where judge API keys are read from. @default process.env */
  env?: Record<string, string | undefined>
  /** Record judge calls as spans of the project. @default true */
  recordJudgeSpans?: boolean
  /** Reports worker-level errors (a rule's errors are in its status). @default console.error */
  onError?: (error: unknown) => void
  /** Clock in ms. @default Date.now */
  now?: () => number
}

export interface RunSummary {
  rules: number
  processed: number
  scored: number
  failures: number
  sampledOut: number
}

const candidateRow = z.object({ trace_id: z.string(), last_ingest: z.string() })

/** A score id per (rule, trace, score name): re-evaluating a trace replaces, never duplicates. */
function scoreId(ruleId: string, traceId: string, name: string): string {
  return `online:${createHash('sha256').update(`${ruleId}\n${traceId}\n${name}`).digest('hex').slice(0, 40)}`
}

/**
 * `FROM … GROUP BY trace_id HAVING …` over the traces past a rule's watermark (binds `projectId`,
 * `wmTime`, `wmTrace` and the filter's params) that match its filter and hold no judge span.
 */
function afterWatermarkSql(storage: Storage, filterSql: string): string {
  return `FROM ${final(storage, 'spans')}
       WHERE project_id = {projectId:String} AND ingested_at >= {wmTime:DateTime64(6, 'UTC')}
       GROUP BY trace_id
       HAVING countIf(${filterSql}) > 0 AND countIf(NOT (${NOT_EVALUATOR_SPAN})) = 0
         AND (max(ingested_at), trace_id) > ({wmTime:DateTime64(6, 'UTC')}, {wmTrace:String})`
}

async function pool<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await run(item)
    }
  })
  await Promise.all(lanes)
}

export class OnlineEvaluationWorker {
  readonly rules: EvaluationRuleRepository
  private readonly scores: ScoreRepository
  private readonly custom = new Map<string, Evaluator>()
  private readonly o: Required<
    Pick<
      OnlineEvaluationOptions,
      'pollIntervalMs' | 'quietSeconds' | 'concurrency' | 'batchSize' | 'evalTimeoutMs' | 'now' | 'onError'
    >
  >
  private readonly poller: Poller

  constructor(private readonly options: OnlineEvaluationOptions) {
    this.rules = new EvaluationRuleRepository(options.storage)
    this.scores = new ScoreRepository(options.storage)
    for (const evaluator of options.custom ?? []) this.registerCustom(evaluator)
    this.o = {
      pollIntervalMs: options.pollIntervalMs ?? 5000,
      quietSeconds: options.quietSeconds ?? 30,
      concurrency: Math.max(1, options.concurrency ?? 4),
      batchSize: options.batchSize ?? 200,
      evalTimeoutMs: options.evalTimeoutMs ?? 60_000,
      now: options.now ?? Date.now,
      onError: options.onError ?? ((error) => console.error('[online-evaluation]', error)),
    }
    this.poller = new Poller(() => this.runOnce(), this.o.pollIntervalMs, this.o.onError)
  }

  /** Makes a custom evaluator available to rules as `{ type: 'custom', evaluator: name }`. */
  registerCustom(evaluator: Evaluator): void {
    this.custom.set(evaluator.name, evaluator)
  }

  /** Polls until {@link stop}. */
  start(): void {
    this.poller.start()
  }

  /** Stops polling and waits for the current poll to finish. */
  async stop(): Promise<void> {
    await this.poller.stop()
  }

  /** One poll over every enabled rule of every project. */
  async runOnce(): Promise<RunSummary> {
    const summary: RunSummary = { rules: 0, processed: 0, scored: 0, failures: 0, sampledOut: 0 }
    for (const rule of await this.rules.listEnabled()) {
      if (this.poller.halted) break
      const s = await this.processRule(rule.project_id, rule)
      summary.rules++
      summary.processed += s.processed
      summary.scored += s.scored
      summary.failures += s.failures
      summary.sampledOut += s.sampledOut
    }
    return summary
  }

  private cutoff(): Date {
    return new Date(this.o.now() - this.o.quietSeconds * 1000)
  }

  /** Evaluates one batch of the rule's completed traces and advances its watermark. */
  async processRule(
    projectId: string,
    rule: EvaluationRule,
  ): Promise<{ processed: number; scored: number; failures: number; sampledOut: number }> {
    const state = await this.rules.stateOrInitial(projectId, rule)
    const delta = { processed: 0, scored: 0, failures: 0, sampledOut: 0 }
    let lastError = ''
    try {
      const candidates = await this.candidates(projectId, rule, state)
      const sampled = candidates.filter((c) => isSampled(c.trace_id, rule.sampling_rate))
      delta.sampledOut = candidates.length - sampled.length
      const context: BuildContext = {
        custom: this.custom,
        ...(this.options.recordJudgeSpans === false
          ? {}
          : { spanSink: judgeSpanSinkFor(this.options.storage) }),
        ...(this.options.env ? { env: this.options.env } : {}),
        ...(this.options.judge ? { judge: this.options.judge } : {}),
      }
      const built = rule.evaluators.map((spec) => buildEvaluator(spec, context))
      const failures: Omit<RuleFailure, 'created_at'>[] = []
      await pool(sampled, this.o.concurrency, async ({ trace_id }) => {
        const r = await this.evaluateTrace(projectId, rule, trace_id, built)
        delta.scored += r.scored
        delta.failures += r.failures.length
        failures.push(...r.failures)
      })
      if (failures.length > 0) await this.rules.recordFailures(projectId, rule.id, failures)
      delta.processed = candidates.length
      const last = candidates.at(-1)
      if (last) {
        state.watermarkTime = last.last_ingest
        state.watermarkTrace = last.trace_id
      }
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error)
    }
    await this.rules.saveState(projectId, rule.id, {
      ...state,
      processed: state.processed + delta.processed,
      sampledOut: state.sampledOut + delta.sampledOut,
      scored: state.scored + delta.scored,
      failures: state.failures + delta.failures,
      lastRunAt: new Date(this.o.now()).toISOString(),
      lastError,
    })
    return delta
  }

  private async evaluateTrace(
    projectId: string,
    rule: EvaluationRule,
    traceId: string,
    built: ReturnType<typeof buildEvaluator>[],
  ): Promise<{ scored: number; failures: Omit<RuleFailure, 'created_at'>[] }> {
    const failures: Omit<RuleFailure, 'created_at'>[] = []
    const trace = await getTrace(this.options.storage, projectId, traceId)
    if (!trace) return { scored: 0, failures }
    const input = evalInputFromTrace(trace)
    const results: EvalResult[] = await Promise.all(
      built.map((b) =>
        b.ok
          ? runEvaluator(b.evaluator, input, { projectId, traceId }, { timeoutMs: this.o.evalTimeoutMs })
          : Promise.resolve<EvalResult>({
              status: 'failed',
              evaluator: b.name,
              dataType: 'numeric',
              value: null,
              reason: b.reason,
              durationMs: 0,
            }),
      ),
    )
    let scored = 0
    for (const result of results) {
      const score = {
        ...resultToScore(result, { traceId }),
        id: scoreId(rule.id, traceId, result.evaluator),
        metadata: { rule_id: rule.id, rule: rule.name },
      }
      try {
        await this.scores.create(projectId, [score], { field: 'score' })
        if (result.status === 'ok') scored++
        else failures.push({ trace_id: traceId, evaluator: result.evaluator, reason: result.reason })
      } catch (error) {
        // E.g. a value outside the score config's range: store the failure with the reason.
        const reason = `score rejected: ${(error as Error).message}`
        failures.push({ trace_id: traceId, evaluator: result.evaluator, reason })
        await this.scores
          .create(projectId, [{ ...score, status: 'failed', value: null, comment: reason }], {
            field: 'score',
          })
          .catch(() => {})
      }
    }
    return { scored, failures }
  }

  private async candidates(projectId: string, rule: EvaluationRule, state: RuleState) {
    const filter = spanFilterSql(rule.filter)
    return queryRows(
      this.options.storage,
      `SELECT trace_id, toString(max(ingested_at)) AS last_ingest
       ${afterWatermarkSql(this.options.storage, filter.sql)}
         AND max(ingested_at) <= {cutoff:DateTime64(3, 'UTC')}
       ORDER BY max(ingested_at), trace_id
       LIMIT {limit:UInt32}`,
      {
        ...filter.params,
        projectId,
        wmTime: state.watermarkTime,
        wmTrace: state.watermarkTrace,
        cutoff: chDateTime(this.cutoff()),
        limit: this.o.batchSize,
      },
      candidateRow,
    )
  }

  /** Backlog, pending traces, counters and recent failures of one rule. */
  async status(projectId: string, ruleId: string): Promise<RuleStatus> {
    const rule = await this.rules.mustGet(projectId, ruleId)
    return ruleStatus(this.options.storage, this.rules, projectId, rule, this.o.quietSeconds, this.o.now())
  }
}

/** A rule's status; usable without a worker (the web server reads it from storage). */
export async function ruleStatus(
  storage: Storage,
  rules: EvaluationRuleRepository,
  projectId: string,
  rule: EvaluationRule,
  quietSeconds = 30,
  nowMs = Date.now(),
): Promise<RuleStatus> {
  const state = await rules.stateOrInitial(projectId, rule)
  const filter = spanFilterSql(rule.filter)
  const cutoff = chDateTime(new Date(nowMs - quietSeconds * 1000))
  const [counts] = await queryRows(
    storage,
    `SELECT countIf(last <= {cutoff:DateTime64(3, 'UTC')}) AS backlog,
            countIf(last > {cutoff:DateTime64(3, 'UTC')}) AS pending
     FROM (
       SELECT trace_id, max(ingested_at) AS last
       ${afterWatermarkSql(storage, filter.sql)}
     )`,
    { ...filter.params, projectId, wmTime: state.watermarkTime, wmTrace: state.watermarkTrace, cutoff },
    z.object({ backlog: count, pending: count }),
  )
  return {
    rule_id: rule.id,
    backlog: counts?.backlog ?? 0,
    pending: counts?.pending ?? 0,
    processed: state.processed,
    sampled_out: state.sampledOut,
    scored: state.scored,
    failures: state.failures,
    watermark:
      state.watermarkTrace || state.processed > 0 ? `${state.watermarkTime.replace(' ', 'T')}Z` : null,
    last_run_at: state.lastRunAt,
    last_error: state.lastError,
    recent_failures: await rules.recentFailures(projectId, rule.id),
  }
}
