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
  /** Priced with the collector's price functions; null when the candidate has no price. */
  cost_usd: number | null
  baseline: {
    duration_ms: number
    ttft_ms: number | null
    output_tokens: number
    output_chars: number
    cost_usd: number | null
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
    await this.storage.client.insert({
      table: this.table,
      values: [
        {
          project_id: projectId,
          backtest_id: backtestId,
          trace_id: record.trace_id,
          span_id: record.span_id,
          status: record.status,
          result: JSON.stringify(record.result),
          cost_usd: (record.result.cost_usd ?? 0).toFixed(9),
          updated_at: Date.now(),
        },
      ],
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
