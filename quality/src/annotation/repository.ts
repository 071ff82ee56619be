/**
 * Annotation queues (migration 5's `annotation_queues`) and the scores people give in them.
 * Scores are written through the {@link ScoreRepository} with source `annotation`, the queue's id
 * in `metadata.queue_id`, and an id derived from (queue, trace, name): scoring a trace again in
 * the same queue replaces the score instead of adding one.
 */
import { createHash } from 'node:crypto'
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'
import { DatasetRepository } from '../datasets/repository'
import type { JsonValue } from '../datasets/types'
import { chDateTime, chTime, final, insertRows, laterThan, queryRows, TIME_PARAM } from '../db'
import { invalid, QualityError } from '../errors'
import { traceId as checkTraceId, newId } from '../ids'
import { NOT_EVALUATOR_SPAN, spanFilterSql } from '../online/filter'
import { ScoreRepository } from '../scores/repository'
import type { Score } from '../scores/types'
import {
  type AnnotationItem,
  type AnnotationItems,
  type AnnotationNext,
  type AnnotationQueue,
  type AnnotationQueueDefinition,
  type AnnotationQueueInput,
  AnnotationQueueInputSchema,
  type AnnotationTarget,
  type AnnotationValue,
} from './types'

/** Traces listed per queue at most. */
export const MAX_QUEUE_ITEMS = 1000

const queueRow = z.object({
  id: z.string(),
  name: z.string(),
  definition: z.string(),
  created_at: chTime,
  updated_at: chTime,
})

function toQueue(row: z.output<typeof queueRow>): AnnotationQueue {
  const d = JSON.parse(row.definition) as AnnotationQueueDefinition
  return {
    id: row.id,
    name: row.name,
    description: d.description,
    filter: d.filter,
    score_names: d.scoreNames,
    dataset_id: d.datasetId ?? null,
    lookback_days: d.lookbackDays,
    created_at: row.created_at,
    updated_at: row.updated_at,
  }
}

function parseJson(text: string): JsonValue | null {
  if (text === '') return null
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

/** The stored id of a queue's score of a trace: stable, so re-scoring replaces. */
export function annotationScoreId(queueId: string, traceId: string, name: string): string {
  return `ann:${createHash('sha256').update(`${queueId}\u0000${traceId}\u0000${name}`).digest('hex').slice(0, 40)}`
}

export class AnnotationQueueRepository {
  readonly scores: ScoreRepository

  constructor(private readonly storage: Storage) {
    this.scores = new ScoreRepository(storage)
  }

  /** Validates `input`; bad input is `QualityError('invalid_input')` naming the field (`queue.scoreNames: …`). */
  async create(projectId: string, input: AnnotationQueueInput | unknown): Promise<AnnotationQueue> {
    const parsed = AnnotationQueueInputSchema.safeParse(input)
    if (!parsed.success) {
      throw invalid(
        parsed.error.issues
          .map((i) => `${['queue', ...i.path.map(String)].join('.')}: ${i.message}`)
          .join('; '),
      )
    }
    const definition = { ...parsed.data, scoreNames: [...new Set(parsed.data.scoreNames)] }
    if (definition.datasetId) {
      const dataset = await DatasetRepository.for(this.storage).get(projectId, definition.datasetId)
      if (!dataset) throw invalid(`queue.datasetId: no dataset ${definition.datasetId}`)
    }
    const id = newId()
    const now = chDateTime(new Date())
    await insertRows(this.storage, 'annotation_queues', [
      {
        project_id: projectId,
        id,
        name: definition.name,
        definition: JSON.stringify(definition),
        deleted: 0,
        created_at: now,
        updated_at: now,
      },
    ])
    const created = await this.get(projectId, id)
    if (!created) throw new QualityError('not_found', `annotation queue ${id} vanished after writing`)
    return created
  }

  async list(projectId: string): Promise<AnnotationQueue[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, created_at, updated_at FROM ${final(this.storage, 'annotation_queues')}
       WHERE project_id = {projectId:String} AND deleted = 0 ORDER BY created_at, id`,
      { projectId },
      queueRow,
    )
    return rows.map(toQueue)
  }

  async get(projectId: string, id: string): Promise<AnnotationQueue | null> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, definition, created_at, updated_at FROM ${final(this.storage, 'annotation_queues')}
       WHERE project_id = {projectId:String} AND id = {id:String} AND deleted = 0`,
      { projectId, id },
      queueRow,
    )
    return rows[0] ? toQueue(rows[0]) : null
  }

  /** Deletes the queue; its scores stay. */
  async delete(projectId: string, id: string): Promise<void> {
    const current = await this.require(projectId, id)
    await insertRows(this.storage, 'annotation_queues', [
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

  async require(projectId: string, id: string): Promise<AnnotationQueue> {
    const queue = await this.get(projectId, id)
    if (!queue) throw new QualityError('not_found', `no annotation queue ${id}`)
    return queue
  }

  /** The queue's traces (newest first, at most `limit`), each marked annotated or not. */
  async items(
    projectId: string,
    queueId: string,
    options: { limit?: number; now?: Date } = {},
  ): Promise<AnnotationItems> {
    const queue = await this.require(projectId, queueId)
    const limit = Math.min(Math.max(1, options.limit ?? 200), MAX_QUEUE_ITEMS)
    const filter = spanFilterSql(queue.filter)
    const params: Record<string, unknown> = { ...filter.params, projectId, limit }
    let scope: string
    const itemOfTrace = new Map<string, string>()
    if (queue.dataset_id) {
      const snapshot = await DatasetRepository.for(this.storage).snapshot(projectId, queue.dataset_id)
      for (const item of snapshot.items) {
        if (item.source_trace_id && !itemOfTrace.has(item.source_trace_id)) {
          itemOfTrace.set(item.source_trace_id, item.id)
        }
      }
      if (itemOfTrace.size === 0) return { items: [], total: 0, annotated: 0, skipped: 0 }
      params.traceIds = [...itemOfTrace.keys()]
      scope = 'trace_id IN {traceIds:Array(String)}'
    } else {
      const now = options.now ?? new Date()
      params.from = chDateTime(new Date(now.getTime() - queue.lookback_days * 86_400_000))
      scope = `start_time >= {from:${TIME_PARAM}}`
    }
    const traces = await queryRows(
      this.storage,
      `SELECT trace_id, argMin(name, start_time) AS name, toString(min(start_time)) AS first_start
       FROM ${final(this.storage, 'spans')}
       WHERE project_id = {projectId:String} AND ${scope} AND ${NOT_EVALUATOR_SPAN}
         AND trace_id IN (SELECT trace_id FROM ${final(this.storage, 'spans')}
                          WHERE project_id = {projectId:String} AND ${scope} AND ${filter.sql})
       GROUP BY trace_id ORDER BY first_start DESC, trace_id LIMIT {limit:UInt32}`,
      params,
      z.object({ trace_id: z.string(), name: z.string(), first_start: chTime }),
    )
    const [done, skips] = await Promise.all([
      this.annotatedTraces(projectId, queueId),
      this.skippedTraces(projectId, queueId),
    ])
    const items = traces.map((t) => ({
      trace_id: t.trace_id,
      name: t.name,
      start_time: t.first_start,
      annotated: done.has(t.trace_id),
      dataset_item_id: itemOfTrace.get(t.trace_id) ?? null,
      skipped: skips.has(t.trace_id),
    }))
    return {
      items,
      total: items.length,
      annotated: items.filter((i) => i.annotated).length,
      skipped: items.filter((i) => i.skipped && !i.annotated).length,
    }
  }

  /**
   * The queue's next trace to score: the first (newest first) neither annotated nor skipped, with
   * what the annotator sees of it; `item: null` once every trace is done or skipped.
   */
  async next(projectId: string, queueId: string, options: { now?: Date } = {}): Promise<AnnotationNext> {
    const all = await this.items(projectId, queueId, { limit: MAX_QUEUE_ITEMS, ...options })
    const open = all.items.filter((i) => !i.annotated && !i.skipped)
    const item = open[0] ?? null
    return {
      item,
      target: item ? await this.target(projectId, queueId, item.trace_id) : null,
      total: all.total,
      annotated: all.annotated,
      skipped: all.skipped,
      remaining: open.length,
    }
  }

  /**
   * Marks a trace of the queue skipped, so `next` passes it (for every annotator of the queue);
   * scoring it later still works. A trace not in the queue is `QualityError('not_found')`.
   */
  async skip(
    projectId: string,
    queueId: string,
    traceId: string,
    options: { author?: string; now?: Date } = {},
  ): Promise<AnnotationItem> {
    const id = checkTraceId(traceId, 'traceId')
    const all = await this.items(projectId, queueId, { limit: MAX_QUEUE_ITEMS, ...options })
    const item = all.items.find((i) => i.trace_id === id)
    if (!item) throw new QualityError('not_found', `trace ${id} is not in this annotation queue`)
    await insertRows(this.storage, 'annotation_skips', [
      {
        project_id: projectId,
        queue_id: queueId,
        trace_id: id,
        author: (options.author ?? '').slice(0, 200),
        created_at: chDateTime(new Date()),
      },
    ])
    return { ...item, skipped: true }
  }

  private async skippedTraces(projectId: string, queueId: string): Promise<Set<string>> {
    const rows = await queryRows(
      this.storage,
      `SELECT DISTINCT trace_id FROM ${this.storage.database}.annotation_skips
       WHERE project_id = {projectId:String} AND queue_id = {queueId:String}`,
      { projectId, queueId },
      z.object({ trace_id: z.string() }),
    )
    return new Set(rows.map((r) => r.trace_id))
  }

  private async annotatedTraces(projectId: string, queueId: string): Promise<Set<string>> {
    const rows = await queryRows(
      this.storage,
      `SELECT DISTINCT trace_id FROM ${final(this.storage, 'scores')}
       WHERE project_id = {projectId:String} AND source = 'annotation' AND metadata['queue_id'] = {queueId:String}`,
      { projectId, queueId },
      z.object({ trace_id: z.string() }),
    )
    return new Set(rows.map((r) => r.trace_id))
  }

  /** One trace as the annotator sees it: input, output, the queue's configs and its scores so far. */
  async target(projectId: string, queueId: string, traceId: string): Promise<AnnotationTarget> {
    const queue = await this.require(projectId, queueId)
    const id = checkTraceId(traceId, 'traceId')
    const spans = await queryRows(
      this.storage,
      `SELECT name, parent_span_id, input, output FROM ${final(this.storage, 'spans')}
       WHERE project_id = {projectId:String} AND trace_id = {traceId:String}
       ORDER BY start_time, span_id`,
      { projectId, traceId: id },
      z.object({ name: z.string(), parent_span_id: z.string(), input: z.string(), output: z.string() }),
    )
    if (spans.length === 0) throw new QualityError('not_found', `no trace ${id}`)
    const root = spans.find((s) => s.parent_span_id === '') ?? spans[0]
    const input = root?.input || spans.find((s) => s.input !== '')?.input || ''
    const output = root?.output || spans.findLast((s) => s.output !== '')?.output || ''
    const configs = await this.scores.configsByName(projectId, queue.score_names)
    const byName = new Map(configs.map((c) => [c.name, c]))
    const scores: Record<string, Score> = {}
    for (const s of await this.scores.forTrace(projectId, id)) {
      if (s.source === 'annotation' && s.metadata.queue_id === queueId && s.span_id === '') scores[s.name] = s
    }
    return {
      trace_id: id,
      name: root?.name ?? '',
      input: parseJson(input),
      output: parseJson(output),
      span_count: spans.length,
      configs: queue.score_names.flatMap((n) => byName.get(n) ?? []),
      missing_configs: queue.score_names.filter((n) => !byName.has(n)),
      scores,
    }
  }

  /**
   * Stores a person's scores of a trace (source `annotation`), all or none: each name must be one
   * of the queue's, and the value is checked against its config. Scoring again replaces.
   */
  async annotate(
    projectId: string,
    queueId: string,
    traceId: string,
    values: AnnotationValue[],
    options: { author?: string } = {},
  ): Promise<Score[]> {
    const queue = await this.require(projectId, queueId)
    const id = checkTraceId(traceId, 'traceId')
    if (values.length === 0) throw invalid('values: give at least one score')
    const names = new Set(queue.score_names)
    values.forEach((v, i) => {
      if (!names.has(v.name)) {
        throw invalid(`values.${i}.name: '${v.name}' is not a score of queue '${queue.name}'`)
      }
    })
    let dataset: { id: string; itemId: string; version: number } | undefined
    if (queue.dataset_id) {
      const snapshot = await DatasetRepository.for(this.storage).snapshot(projectId, queue.dataset_id)
      const item = snapshot.items.find((it) => it.source_trace_id === id)
      if (item) dataset = { id: queue.dataset_id, itemId: item.id, version: snapshot.version }
    }
    return this.scores.create(
      projectId,
      values.map((v) => ({
        id: annotationScoreId(queueId, id, v.name),
        traceId: id,
        name: v.name,
        value: v.value,
        source: 'annotation' as const,
        ...(v.comment ? { comment: v.comment } : {}),
        ...(options.author ? { author: options.author } : {}),
        ...(dataset ? { dataset } : {}),
        metadata: { queue_id: queueId },
      })),
      { field: 'values', indexed: true },
    )
  }
}
