/**
 * Replay progress, one `replay_calls` row per (back-test, trace, span), written as soon as a call
 * is done (migration 6): a crashed or stopped run resumes by skipping these, never paying twice.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'

/** What one replayed call gave, next to the recorded one (the paired item of the report). */
export interface ReplayResult {
  /** The candidate's answer: status, model, time, tokens, length, cost. */
  ok: boolean
  error: string | null
  model: string
  duration_ms: number
  ttft_ms: number | null
  input_tokens: number
  output_tokens: number
  output_chars: number
  /** The candidate's answer text, for the evaluators (backtest/src/evaluate.ts); absent in rows written before it was kept. */
  output_text?: string
  /** Priced with the collector's price functions; null when the candidate has no price. */
  cost_usd: number | null
  /** The candidate's own tool calls (names and JSON arguments), in order. */
  tool_calls?: Array<{ id: string; name: string; arguments: string }>
  finish_reason?: string | null
  /** The candidate was called streaming (so `ttft_ms` was measured). */
  streamed?: boolean
  /** Prompt-cache tokens the candidate reported (read; written, Anthropic only). */
  cache_read_tokens?: number
  cache_write_tokens?: number
  baseline: {
    duration_ms: number
    ttft_ms: number | null
    output_tokens: number
    output_chars: number
    cost_usd: number | null
    /** Names of the tools the recorded answer called. */
    tool_calls?: string[]
  }
}

export interface ReplayCallRecord {
  trace_id: string
  span_id: string
  status: 'done' | 'failed'
  result: ReplayResult
}

const rowSchema = z.object({
  trace_id: z.string(),
  span_id: z.string(),
  status: z.enum(['done', 'failed']),
  result: z.string(),
})

export class ReplayCallStore {
  constructor(private readonly storage: Storage) {}

  private get table(): string {
    return `${this.storage.database}.replay_calls`
  }

  async save(projectId: string, backtestId: string, record: ReplayCallRecord): Promise<void> {
    await this.saveMany(projectId, backtestId, [record])
  }

  /** Many records in one insert. */
  async saveMany(projectId: string, backtestId: string, records: ReplayCallRecord[]): Promise<void> {
    if (records.length === 0) return
    const now = Date.now()
    await this.storage.client.insert({
      table: this.table,
      values: records.map((record) => ({
        project_id: projectId,
        backtest_id: backtestId,
        trace_id: record.trace_id,
        span_id: record.span_id,
        status: record.status,
        result: JSON.stringify(record.result),
        cost_usd: (record.result.cost_usd ?? 0).toFixed(9),
        updated_at: now,
      })),
      format: 'JSONEachRow',
    })
  }

  /** Every call of this back-test already replayed. */
  async list(projectId: string, backtestId: string): Promise<ReplayCallRecord[]> {
    const result = await this.storage.client.query({
      query: `SELECT trace_id, span_id, status, result FROM ${this.table} FINAL
              WHERE project_id = {projectId:String} AND backtest_id = {backtestId:String}`,
      query_params: { projectId, backtestId },
      format: 'JSONEachRow',
    })
    return z
      .array(rowSchema)
      .parse(await result.json())
      .map((r) => ({ ...r, result: JSON.parse(r.result) as ReplayResult }))
  }
}

/**
 * Group commit of `replay_calls` rows. One insert runs at a time; the records finished meanwhile
 * go together in the next one, so at concurrency 64 a run makes a few inserts per second instead
 * of one per call (an embedded insert costs tens of milliseconds whatever its size). `add`
 * resolves once the record is stored; `waitForRoom(limit)` holds a worker back while `limit` or
 * more finished calls are not stored yet, which bounds what a hard crash can lose (and a resume
 * re-issue) to `limit` finished calls besides those in flight. Inserts start at most every
 * `minIntervalMs` (unless `limit` records are already waiting): measured in `pnpm bench:backtest`,
 * back-to-back inserts at ~6 records each cost ~1 ms of CPU per replayed call, more than the SDK
 * and the runner together.
 */
export class ReplayCallWriter {
  private pending: Array<{
    record: ReplayCallRecord
    resolve: () => void
    reject: (error: unknown) => void
  }> = []
  private storing = 0
  private running: Promise<void> | null = null
  private batch: Promise<void> | null = null
  private lastInsertAt = Number.NEGATIVE_INFINITY
  private roomLimit = Number.POSITIVE_INFINITY
  /** Inserts made (for tests and benchmarks). */
  inserts = 0

  constructor(
    private readonly store: ReplayCallStore,
    private readonly projectId: string,
    private readonly backtestId: string,
    /** Least time between the starts of two inserts. @default 100 */
    private readonly minIntervalMs = 100,
  ) {}

  /** Finished calls not stored yet. */
  get unstored(): number {
    return this.pending.length + this.storing
  }

  add(record: ReplayCallRecord): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.pending.push({ record, resolve, reject }))
    if (!this.running) this.running = this.drain().finally(() => (this.running = null))
    return done
  }

  /** Resolves once fewer than `limit` finished calls are waiting to be stored. */
  async waitForRoom(limit: number): Promise<void> {
    this.roomLimit = Math.max(1, limit)
    while (this.unstored >= Math.max(1, limit) && this.batch) await this.batch.catch(() => {})
  }

  /** Resolves when everything added so far is stored (or failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const wait = this.lastInsertAt + this.minIntervalMs - performance.now()
      if (wait > 0 && this.pending.length < this.roomLimit) {
        // Collect more records; workers waiting for room wait on this too.
        this.batch = new Promise<void>((resolve) => setTimeout(resolve, Math.min(wait, 25)))
        await this.batch
        this.batch = null
        continue
      }
      this.lastInsertAt = performance.now()
      const batch = this.pending
      this.pending = []
      this.storing = batch.length
      this.inserts++
      this.batch = this.store.saveMany(
        this.projectId,
        this.backtestId,
        batch.map((b) => b.record),
      )
      try {
        await this.batch
        for (const b of batch) b.resolve()
      } catch (error) {
        for (const b of batch) b.reject(error)
      } finally {
        this.storing = 0
        this.batch = null
      }
    }
  }
}
