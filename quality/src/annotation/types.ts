import { z } from 'zod'
import type { JsonValue } from '../datasets/types'
import { TraceFilterSchema } from '../online/types'
import type { Score, ScoreConfig } from '../scores/types'

/**
 * An annotation queue: the traces a person scores by hand. Its traces are the production traces
 * that match `filter` in the last `lookbackDays` (newest first), or, with `datasetId`, the source
 * traces of that dataset's current items (then narrowed by the filter if it has fields). Each
 * trace is scored with the score configs named in `scoreNames`.
 */
export const AnnotationQueueInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    filter: TraceFilterSchema.default({}),
    scoreNames: z.array(z.string().trim().min(1).max(200)).min(1, 'name at least one score config').max(20),
    datasetId: z.string().trim().min(1).max(200).optional(),
    /** Filter queues only. @default 7 */
    lookbackDays: z.number().int().min(1).max(90).default(7),
  })
  .strict()
export type AnnotationQueueInput = z.input<typeof AnnotationQueueInputSchema>
export type AnnotationQueueDefinition = z.output<typeof AnnotationQueueInputSchema>

export interface AnnotationQueue {
  id: string
  name: string
  description: string
  filter: AnnotationQueueDefinition['filter']
  score_names: string[]
  dataset_id: string | null
  lookback_days: number
  created_at: string
  updated_at: string
}

/** One trace of a queue. */
export interface AnnotationItem {
  trace_id: string
  /** The trace's first span name. */
  name: string
  start_time: string
  /** Has a score of this queue (source `annotation`). */
  annotated: boolean
  /** Dataset queues: the item made from this trace. */
  dataset_item_id: string | null
  /** Someone skipped it in this queue (`skip`); `next` passes it. */
  skipped: boolean
}

export interface AnnotationItems {
  items: AnnotationItem[]
  /** Traces of the queue (at most the limit). */
  total: number
  annotated: number
  /** Skipped and not annotated. */
  skipped: number
}

/** The queue's next trace to score, as the REST API serves it. */
export interface AnnotationNext {
  /** The first trace of the queue (newest first) neither annotated nor skipped; null when done. */
  item: AnnotationItem | null
  /** What the annotator sees of it. */
  target: AnnotationTarget | null
  total: number
  annotated: number
  skipped: number
  /** Neither annotated nor skipped (this item included). */
  remaining: number
}

/** What the annotator sees of one trace. */
export interface AnnotationTarget {
  trace_id: string
  name: string
  /** The root span's input (else the first span's that has one), parsed when it is JSON. */
  input: JsonValue | null
  /** The root span's output (else the last span's that has one). */
  output: JsonValue | null
  span_count: number
  /** The score configs of the queue, in its order; a name without a config is left out. */
  configs: ScoreConfig[]
  /** Score names of the queue that have no config (the page says to create one). */
  missing_configs: string[]
  /** This queue's scores of the trace, by name. */
  scores: Record<string, Score>
}

/** One value an annotator gave: a number, a boolean or a category label. */
export interface AnnotationValue {
  name: string
  value: number | boolean | string
  comment?: string
}
