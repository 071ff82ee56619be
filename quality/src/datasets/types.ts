/** JSON values as parsed from untrusted input: typed, never `any`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface Dataset {
  id: string
  name: string
  description: string
  /**
   * The current version: 0 for a new, empty dataset, incremented on every change to its items.
   * A version is an immutable snapshot: reading items at version N always returns the same items.
   */
  version: number
  /** Items in the current version. */
  item_count: number
  created_at: string
  updated_at: string
}

export interface DatasetItem {
  id: string
  dataset_id: string
  input: JsonValue
  /** What a good answer looks like; null when not given. */
  expected_output: JsonValue | null
  /** What production answered (items made from traces); null otherwise. */
  recorded_output: JsonValue | null
  metadata: { [key: string]: JsonValue }
  source_trace_id: string
  source_span_id: string
  /** The dataset version in which this item last changed. */
  version: number
  created_at: string
}

/** Items of one dataset version: results computed on them name `dataset_id` and `version`. */
export interface DatasetSnapshot {
  dataset_id: string
  version: number
  items: DatasetItem[]
}

export interface DatasetItemInput {
  /** @default a random UUID */
  id?: string
  input: JsonValue
  expectedOutput?: JsonValue | null
  recordedOutput?: JsonValue | null
  metadata?: { [key: string]: JsonValue }
  sourceTraceId?: string
  sourceSpanId?: string
}

export interface DatasetItemPatch {
  input?: JsonValue
  expectedOutput?: JsonValue | null
  metadata?: { [key: string]: JsonValue }
}

/** The result of a change: the new version it created. */
export interface DatasetChange {
  dataset_id: string
  version: number
  /** Items written (added or changed) by the change. */
  items: DatasetItem[]
  /** Items not added because the dataset already held them (same source trace). */
  skipped: number
}

export const DATASET_FORMATS = ['jsonl', 'csv'] as const
export type DatasetFormat = (typeof DATASET_FORMATS)[number]
