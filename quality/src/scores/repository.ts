/**
 * Scores and score configs in ClickHouse. Every query is scoped by project and binds its values;
 * reads use FINAL, so a score re-sent with the same id (an SDK retry) counts once.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { chDateTime, chTime, count, decimal, final, float, insertRows, queryRows, TIME_PARAM } from '../db'
import { invalid, QualityError } from '../errors'
import { CLIENT_ID, traceId as checkTraceId, newId } from '../ids'
import { checkScoreConfig, type ScoreRow, scoreName, toScoreRow } from './normalize'
import {
  SCORE_DATA_TYPES,
  SCORE_SOURCES,
  SCORE_STATUSES,
  type Score,
  type ScoreConfig,
  type ScoreConfigInput,
  type ScoreInput,
  type ScoreListQuery,
  type ScorePage,
} from './types'

/** Scores per write at most. */
export const MAX_SCORES_PER_WRITE = 1000
export const MAX_LIST_LIMIT = 1000
const DEFAULT_LIST_LIMIT = 100

/**
 * A deleted score is a tombstone: a newer row under the same `(project_id, id)` key with status
 * `deleted` and empty trace, span, name and metadata, so FINAL reads that select by trace, name or
 * queue never see it, and the ones that do not (the list) exclude the status.
 */
export const DELETED_STATUS = 'deleted'
const NOT_DELETED = `status != '${DELETED_STATUS}'`

const SCORE_COLUMNS = `id, trace_id, span_id, name, value, string_value, data_type, source, status, comment,
  author, evaluator, config_id, dataset_id, dataset_item_id, dataset_version, eval_model,
  eval_input_tokens, eval_output_tokens, toString(eval_cost_usd) AS eval_cost_text, eval_latency_ms,
  metadata, created_at`

const scoreColumns = z.object({
  id: z.string(),
  trace_id: z.string(),
  span_id: z.string(),
  name: z.string(),
  value: z.number(),
  string_value: z.string(),
  data_type: z.enum(SCORE_DATA_TYPES),
  source: z.enum(SCORE_SOURCES),
  status: z.enum(SCORE_STATUSES),
  comment: z.string(),
  author: z.string(),
  evaluator: z.string(),
  config_id: z.string(),
  dataset_id: z.string(),
  dataset_item_id: z.string(),
  dataset_version: count,
  eval_model: z.string(),
  eval_input_tokens: count,
  eval_output_tokens: count,
  eval_cost_text: decimal,
  eval_latency_ms: float,
  metadata: z.record(z.string(), z.string()),
  created_at: chTime,
})

function toScore({ eval_cost_text, ...r }: z.output<typeof scoreColumns>): Score {
  return { ...r, value: r.status === 'failed' ? null : r.value, eval_cost_usd: eval_cost_text }
}

const scoreRow = scoreColumns.transform(toScore)

const configRow = z.object({
  id: z.string(),
  name: z.string(),
  data_type: z.enum(SCORE_DATA_TYPES),
  min_value: float,
  max_value: float,
  categories: z.array(z.string()),
  description: z.string(),
  created_at: chTime,
  updated_at: chTime,
})

/** A stored row as the API returns it, without reading it back. */
function rowToScore(row: ScoreRow): Score {
  return {
    id: row.id,
    trace_id: row.trace_id,
    span_id: row.span_id,
    name: row.name,
    value: row.status === 'failed' ? null : row.value,
    string_value: row.string_value,
    data_type: row.data_type,
    source: row.source as Score['source'],
    status: row.status as Score['status'],
    comment: row.comment,
    author: row.author,
    evaluator: row.evaluator,
    config_id: row.config_id,
    dataset_id: row.dataset_id,
    dataset_item_id: row.dataset_item_id,
    dataset_version: row.dataset_version,
    eval_model: row.eval_model,
    eval_input_tokens: row.eval_input_tokens,
    eval_output_tokens: row.eval_output_tokens,
    eval_cost_usd: row.eval_cost_usd === null ? null : Number(row.eval_cost_usd),
    eval_latency_ms: row.eval_latency_ms,
    metadata: row.metadata,
    created_at: `${row.created_at.replace(' ', 'T')}Z`,
  }
}

interface Cursor {
  t: string
  id: string
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

function decodeCursor(text: string): Cursor {
  try {
    const parsed = z
      .object({ t: z.string().regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/), id: z.string().max(200) })
      .parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')))
    return parsed
  } catch {
    throw invalid('cursor: not a cursor this API returned')
  }
}

export class ScoreRepository {
  constructor(private readonly storage: Storage) {}

  /**
   * Validates and stores scores, all or none: one invalid score rejects the write with a
   * `QualityError('invalid_input')` naming it (`scores.3.value: ...`; `options.field` replaces
   * `scores`, and a single score is not indexed unless `options.indexed`). Scores whose name has
   * a config are checked against it (type, range, categories) and carry its id.
   */
  async create(
    projectId: string,
    inputs: ScoreInput[],
    options: { field?: string; indexed?: boolean } = {},
  ): Promise<Score[]> {
    const field = options.field ?? 'scores'
    const indexed = options.indexed ?? inputs.length > 1
    if (inputs.length === 0) return []
    if (inputs.length > MAX_SCORES_PER_WRITE) {
      throw invalid(`${field}: at most ${MAX_SCORES_PER_WRITE} scores per request, got ${inputs.length}`)
    }
    const names = [
      ...new Set(inputs.map((s) => (typeof s.name === 'string' ? s.name.trim() : '')).filter(Boolean)),
    ]
    const configs = new Map((await this.configsByName(projectId, names)).map((c) => [c.name, c]))
    const now = new Date()
    const rows = inputs.map((input, i) => {
      const name = typeof input.name === 'string' ? input.name.trim() : ''
      return toScoreRow(projectId, input, configs.get(name), indexed ? `${field}.${i}` : field, now)
    })
    await insertRows(this.storage, 'scores', rows)
    return rows.map(rowToScore)
  }

  /** Newest first (by `created_at`, then id), cursor-paged. */
  async list(projectId: string, q: ScoreListQuery = {}): Promise<ScorePage> {
    const limit = q.limit ?? DEFAULT_LIST_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw invalid(`limit: a whole number from 1 to ${MAX_LIST_LIMIT}`)
    }
    const conditions = ['project_id = {projectId:String}', NOT_DELETED]
    const params: Record<string, unknown> = { projectId, limit: limit + 1 }
    if (q.traceId !== undefined) {
      conditions.push('trace_id = {traceId:String}')
      params.traceId = checkTraceId(q.traceId, 'traceId')
    }
    if (q.name !== undefined) {
      conditions.push('name = {name:String}')
      params.name = scoreName(q.name, 'name')
    }
    if (q.source !== undefined) {
      if (!SCORE_SOURCES.includes(q.source)) throw invalid(`source: one of ${SCORE_SOURCES.join(', ')}`)
      conditions.push('source = {source:String}')
      params.source = q.source
    }
    if (q.from) {
      if (Number.isNaN(q.from.getTime())) throw invalid('from: not a valid date')
      conditions.push(`created_at >= {from:${TIME_PARAM}}`)
      params.from = chDateTime(q.from)
    }
    if (q.to) {
      if (Number.isNaN(q.to.getTime())) throw invalid('to: not a valid date')
      conditions.push(`created_at < {to:${TIME_PARAM}}`)
      params.to = chDateTime(q.to)
    }
    if (q.from && q.to && q.from.getTime() >= q.to.getTime()) throw invalid('from: must be before to')
    if (q.cursor) {
      const cursor = decodeCursor(q.cursor)
      conditions.push(`(created_at, id) < ({c_time:${TIME_PARAM}}, {c_id:String})`)
      params.c_time = chDateTime(new Date(cursor.t))
      params.c_id = cursor.id
    }
    const rows = await queryRows(
      this.storage,
      `SELECT ${SCORE_COLUMNS} FROM ${final(this.storage, 'scores')}
       WHERE ${conditions.join(' AND ')}
       ORDER BY created_at DESC, id DESC
       LIMIT {limit:UInt32}`,
      params,
      scoreRow,
    )
    const items = rows.slice(0, limit)
    const last = items.at(-1)
    return {
      items,
      next_cursor: rows.length > limit && last ? encodeCursor({ t: last.created_at, id: last.id }) : null,
    }
  }

  /**
   * Deletes a score of the project (a correction is a re-sent score with the same `id`). The row is
   * replaced by a tombstone (see {@link DELETED_STATUS}) written with a later `updated_at`, so reads
   * with FINAL, means and objectives drop it at once and merges drop the old row. Re-sending the id
   * afterwards stores the score again. Unknown (or already deleted) id: `QualityError('not_found')`.
   */
  async delete(projectId: string, id: string): Promise<Score> {
    if (typeof id !== 'string' || !CLIENT_ID.test(id)) {
      throw new QualityError('not_found', `no score ${String(id).slice(0, 140)}`)
    }
    const rows = await queryRows(
      this.storage,
      `SELECT ${SCORE_COLUMNS}, toUnixTimestamp64Milli(updated_at) AS updated_ms
       FROM ${final(this.storage, 'scores')}
       WHERE project_id = {projectId:String} AND id = {id:String} AND ${NOT_DELETED}`,
      { projectId, id },
      scoreColumns
        .extend({ updated_ms: count })
        .transform(({ updated_ms, ...r }) => ({ updated_ms, score: toScore(r) })),
    )
    const current = rows[0]
    if (!current) throw new QualityError('not_found', `no score ${id}`)
    const { updated_ms, score } = current
    await insertRows(this.storage, 'scores', [
      {
        project_id: projectId,
        id,
        trace_id: '',
        span_id: '',
        name: '',
        value: 0,
        string_value: '',
        data_type: score.data_type,
        source: score.source,
        status: DELETED_STATUS,
        comment: '',
        author: '',
        evaluator: '',
        config_id: '',
        dataset_id: '',
        dataset_item_id: '',
        dataset_version: 0,
        eval_model: '',
        eval_input_tokens: 0,
        eval_output_tokens: 0,
        eval_cost_usd: null,
        eval_latency_ms: null,
        metadata: {},
        created_at: chDateTime(new Date(score.created_at)),
        updated_at: chDateTime(new Date(Math.max(Date.now(), updated_ms + 1))),
      },
    ])
    return score
  }

  /** Every score of one trace (trace-level and span-level), oldest first. */
  async forTrace(projectId: string, traceId: string): Promise<Score[]> {
    return queryRows(
      this.storage,
      `SELECT ${SCORE_COLUMNS} FROM ${final(this.storage, 'scores')}
       WHERE project_id = {projectId:String} AND trace_id = {traceId:String} AND ${NOT_DELETED}
       ORDER BY created_at, id`,
      { projectId, traceId: checkTraceId(traceId, 'traceId') },
      scoreRow,
    )
  }

  /**
   * Creates the config of `input.name`, or replaces it (keeping its id). Scores written later are
   * validated against it; stored scores are not rewritten.
   */
  async upsertConfig(projectId: string, input: ScoreConfigInput): Promise<ScoreConfig> {
    const checked = checkScoreConfig(input)
    const existing = (await this.configsByName(projectId, [checked.name]))[0]
    const now = chDateTime(new Date())
    const row = {
      project_id: projectId,
      name: checked.name,
      id: existing?.id ?? newId(),
      data_type: checked.dataType,
      min_value: checked.minValue,
      max_value: checked.maxValue,
      categories: checked.categories,
      description: checked.description,
      created_at: existing ? chDateTime(new Date(existing.created_at)) : now,
      updated_at: now,
    }
    await insertRows(this.storage, 'score_configs', [row])
    const stored = (await this.configsByName(projectId, [checked.name]))[0]
    if (!stored) throw new QualityError('not_found', `score config '${checked.name}' vanished after writing`)
    return stored
  }

  /** Every score config of the project, by name. */
  listConfigs(projectId: string): Promise<ScoreConfig[]> {
    return queryRows(
      this.storage,
      `SELECT id, name, data_type, min_value, max_value, categories, description, created_at, updated_at
       FROM ${final(this.storage, 'score_configs')} WHERE project_id = {projectId:String} ORDER BY name`,
      { projectId },
      configRow,
    )
  }

  async configsByName(projectId: string, names: string[]): Promise<ScoreConfig[]> {
    if (names.length === 0) return []
    return queryRows(
      this.storage,
      `SELECT id, name, data_type, min_value, max_value, categories, description, created_at, updated_at
       FROM ${final(this.storage, 'score_configs')}
       WHERE project_id = {projectId:String} AND name IN {names:Array(String)}`,
      { projectId, names },
      configRow,
    )
  }
}
