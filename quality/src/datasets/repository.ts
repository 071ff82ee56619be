/**
 * Datasets and their versioned items in ClickHouse.
 *
 * Every change to a dataset's items (add, update, delete, import, add from traces) creates the
 * next version; item rows are append-only and carry the version they were written in, so the
 * snapshot of any version is "per item, its newest row at or below that version, unless it is a
 * deletion". Changes to one dataset are serialized in this process (one process owns the
 * embedded engine), so two changes never claim the same version.
 */
import type { Storage } from '@hindsight/collector/storage'
import { listTraces, type SpanFilter } from '@hindsight/dashboards'
import { z } from 'zod'
import { chDateTime, chTime, count, final, insertRows, queryRows } from '../db'
import { invalid, QualityError } from '../errors'
import { CLIENT_ID, spanId as checkSpanId, traceId as checkTraceId, newId } from '../ids'
import { formatDatasetFile, MAX_IMPORT_ITEMS, parseDatasetFile, parseJson } from './io'
import type {
  Dataset,
  DatasetChange,
  DatasetFormat,
  DatasetItem,
  DatasetItemInput,
  DatasetItemPatch,
  DatasetSnapshot,
  JsonValue,
} from './types'

export const MAX_NAME_LENGTH = 200
/** Traces one "add from traces" call takes at most. */
export const MAX_TRACES_PER_ADD = 1000

const datasetRow = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  version: count,
  created_at: chTime,
  updated_at: chTime,
})

const itemRow = z
  .object({
    id: z.string(),
    item_version: count,
    is_deleted: count,
    item_input: z.string(),
    item_expected: z.string(),
    item_recorded: z.string(),
    item_metadata: z.string(),
    item_trace: z.string(),
    item_span: z.string(),
    first_created: chTime,
  })
  .transform((r) => ({
    id: r.id,
    version: r.item_version,
    input: r.item_input,
    expected_output: r.item_expected,
    recorded_output: r.item_recorded,
    metadata: r.item_metadata,
    source_trace_id: r.item_trace,
    source_span_id: r.item_span,
    created_at: r.first_created,
  }))

/** Stored JSON text → value; '' is "not given". */
function fromText(text: string): JsonValue | null {
  if (text === '') return null
  try {
    return parseJson(text)
  } catch {
    return text
  }
}

function toText(value: JsonValue | null | undefined): string {
  return value === undefined || value === null ? '' : JSON.stringify(value)
}

function metadataOf(text: string): { [key: string]: JsonValue } {
  const value = fromText(text)
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}
}

/** Span content as the dataset item holds it: parsed JSON when it is JSON, the text otherwise. */
function content(text: string): JsonValue | null {
  return text === '' ? null : fromText(text)
}

function datasetName(value: unknown): string {
  if (typeof value !== 'string') throw invalid('name: must be a string')
  const name = value.trim()
  if (name === '' || name.length > MAX_NAME_LENGTH) throw invalid(`name: 1 to ${MAX_NAME_LENGTH} characters`)
  return name
}

interface ItemDbRow {
  project_id: string
  dataset_id: string
  id: string
  version: number
  deleted: number
  input: string
  expected_output: string
  recorded_output: string
  metadata: string
  source_trace_id: string
  source_span_id: string
  created_at: string
}

/** Which production traces to turn into items: explicit ids, or the trace list's filters. */
export type TraceSelection =
  | { traceIds: string[] }
  | { from: Date; to: Date; filter?: SpanFilter; limit?: number }

const shared = new WeakMap<Storage, DatasetRepository>()

export class DatasetRepository {
  readonly #locks = new Map<string, Promise<unknown>>()

  /**
   * The repository of `storage`, shared by every caller in this process (REST, tRPC), so that
   * changes to one dataset are serialized across them.
   */
  static for(storage: Storage): DatasetRepository {
    let repo = shared.get(storage)
    if (!repo) {
      repo = new DatasetRepository(storage)
      shared.set(storage, repo)
    }
    return repo
  }

  constructor(private readonly storage: Storage) {}

  /** Runs `work` after every earlier change to the same dataset has finished. */
  #serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    const tail = next.catch(() => {})
    this.#locks.set(key, tail)
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key)
    })
    return next
  }

  async create(projectId: string, input: { name: string; description?: string }): Promise<Dataset> {
    const name = datasetName(input.name)
    const description = input.description ?? ''
    if (typeof description !== 'string' || description.length > 10_000) {
      throw invalid('description: a string of at most 10000 characters')
    }
    return this.#serialized(`create:${projectId}`, async () => {
      if (await this.getByName(projectId, name)) {
        throw new QualityError('conflict', `name: a dataset named '${name}' already exists`)
      }
      const now = chDateTime(new Date())
      const id = newId()
      await insertRows(this.storage, 'datasets', [
        {
          project_id: projectId,
          id,
          name,
          description,
          version: 0,
          created_at: now,
          updated_at: now,
          deleted: 0,
        },
      ])
      const created = await this.get(projectId, id)
      if (!created) throw new QualityError('not_found', `dataset ${id} vanished after writing`)
      return created
    })
  }

  /** Every dataset of the project, newest change first, with its current item count. */
  async list(projectId: string): Promise<Dataset[]> {
    return this.#datasets(projectId, null)
  }

  async get(projectId: string, datasetId: string): Promise<Dataset | null> {
    return (await this.#datasets(projectId, datasetId))[0] ?? null
  }

  async getByName(projectId: string, name: string): Promise<Dataset | null> {
    const all = await this.#datasets(projectId, null)
    return all.find((d) => d.name === name) ?? null
  }

  async #datasets(projectId: string, datasetId: string | null): Promise<Dataset[]> {
    const rows = await queryRows(
      this.storage,
      `SELECT id, name, description, version, created_at, updated_at
       FROM ${final(this.storage, 'datasets')}
       WHERE project_id = {projectId:String} AND deleted = 0
         ${datasetId === null ? '' : 'AND id = {datasetId:String}'}
       ORDER BY updated_at DESC, id`,
      { projectId, datasetId },
      datasetRow,
    )
    if (rows.length === 0) return []
    const counts = await queryRows(
      this.storage,
      `SELECT dataset_id, countIf(is_deleted = 0) AS items FROM (
         SELECT i.dataset_id AS dataset_id, i.id AS id, argMax(i.deleted, i.version) AS is_deleted
         FROM ${this.storage.database}.dataset_items AS i FINAL
         INNER JOIN (
           SELECT id, version FROM ${final(this.storage, 'datasets')} WHERE project_id = {projectId:String}
         ) AS d ON d.id = i.dataset_id
         WHERE i.project_id = {projectId:String} AND i.version <= d.version
         GROUP BY dataset_id, id
       ) GROUP BY dataset_id`,
      { projectId },
      z.object({ dataset_id: z.string(), items: count }),
    )
    const byId = new Map(counts.map((c) => [c.dataset_id, c.items]))
    return rows.map((r) => ({ ...r, item_count: byId.get(r.id) ?? 0 }))
  }

  async #require(projectId: string, datasetId: string): Promise<Dataset> {
    const dataset = await this.get(projectId, datasetId)
    if (!dataset) throw new QualityError('not_found', `dataset ${datasetId} not found`)
    return dataset
  }

  /** The items of `version` (default: the current one). A version above the current one is an error. */
  async snapshot(projectId: string, datasetId: string, version?: number): Promise<DatasetSnapshot> {
    const dataset = await this.#require(projectId, datasetId)
    const at = version ?? dataset.version
    if (!Number.isInteger(at) || at < 0 || at > dataset.version) {
      throw invalid(`version: dataset '${dataset.name}' has versions 0 to ${dataset.version}`)
    }
    const rows = await queryRows(
      this.storage,
      // Aliases never reuse a column name: ClickHouse would substitute them inside WHERE.
      `SELECT id, max(version) AS item_version, argMax(deleted, version) AS is_deleted,
              argMax(input, version) AS item_input, argMax(expected_output, version) AS item_expected,
              argMax(recorded_output, version) AS item_recorded, argMax(metadata, version) AS item_metadata,
              argMax(source_trace_id, version) AS item_trace, argMax(source_span_id, version) AS item_span,
              min(created_at) AS first_created
       FROM ${final(this.storage, 'dataset_items')}
       WHERE project_id = {projectId:String} AND dataset_id = {datasetId:String} AND version <= {at:UInt64}
       GROUP BY id
       HAVING is_deleted = 0
       ORDER BY first_created, id`,
      { projectId, datasetId, at },
      itemRow,
    )
    return {
      dataset_id: datasetId,
      version: at,
      items: rows.map((r) => ({
        id: r.id,
        dataset_id: datasetId,
        input: fromText(r.input),
        expected_output: fromText(r.expected_output),
        recorded_output: fromText(r.recorded_output),
        metadata: metadataOf(r.metadata),
        source_trace_id: r.source_trace_id,
        source_span_id: r.source_span_id,
        version: r.version,
        created_at: r.created_at,
      })),
    }
  }

  /**
   * Claims the next version and writes `rows` in it. The dataset row is written first, so a
   * crash in between leaves a version equal to the previous one, never a half-visible change.
   */
  async #commit(
    projectId: string,
    dataset: Dataset,
    build: (version: number, now: string) => ItemDbRow[],
  ): Promise<{ version: number; rows: ItemDbRow[] }> {
    const version = dataset.version + 1
    const now = chDateTime(new Date())
    const rows = build(version, now)
    await insertRows(this.storage, 'datasets', [
      {
        project_id: projectId,
        id: dataset.id,
        name: dataset.name,
        description: dataset.description,
        version,
        created_at: chDateTime(new Date(dataset.created_at)),
        updated_at: now,
        deleted: 0,
      },
    ])
    await insertRows(this.storage, 'dataset_items', rows)
    return { version, rows }
  }

  #toRow(
    projectId: string,
    datasetId: string,
    input: DatasetItemInput,
    where: string,
  ): Omit<ItemDbRow, 'version' | 'created_at'> {
    const id = input.id ?? newId()
    if (!CLIENT_ID.test(id)) throw invalid(`${where}.id: 1 to 128 letters, digits or _ . : -`)
    if (input.input === undefined) throw invalid(`${where}.input: required`)
    return {
      project_id: projectId,
      dataset_id: datasetId,
      id,
      deleted: 0,
      input: toText(input.input),
      expected_output: toText(input.expectedOutput),
      recorded_output: toText(input.recordedOutput),
      metadata: input.metadata ? JSON.stringify(input.metadata) : '',
      source_trace_id: input.sourceTraceId ? checkTraceId(input.sourceTraceId, `${where}.sourceTraceId`) : '',
      source_span_id: checkSpanId(input.sourceSpanId, `${where}.sourceSpanId`),
    }
  }

  #itemOf(row: ItemDbRow): DatasetItem {
    return {
      id: row.id,
      dataset_id: row.dataset_id,
      input: fromText(row.input),
      expected_output: fromText(row.expected_output),
      recorded_output: fromText(row.recorded_output),
      metadata: metadataOf(row.metadata),
      source_trace_id: row.source_trace_id,
      source_span_id: row.source_span_id,
      version: row.version,
      created_at: `${row.created_at.replace(' ', 'T')}Z`,
    }
  }

  /**
   * Adds items (an item whose id exists replaces it) in one new version. Items with a source
   * trace already in the dataset are skipped unless `allowDuplicateTraces`.
   */
  addItems(projectId: string, datasetId: string, inputs: DatasetItemInput[]): Promise<DatasetChange> {
    if (inputs.length === 0) throw invalid('items: at least one item')
    if (inputs.length > MAX_IMPORT_ITEMS) throw invalid(`items: at most ${MAX_IMPORT_ITEMS} per change`)
    return this.#serialized(`dataset:${datasetId}`, async () => {
      const dataset = await this.#require(projectId, datasetId)
      const prepared = inputs.map((item, i) => this.#toRow(projectId, datasetId, item, `items.${i}`))
      const current = await this.snapshot(projectId, datasetId)
      const known = new Set(current.items.map((i) => i.source_trace_id).filter(Boolean))
      const fresh = prepared.filter((row) => {
        if (!row.source_trace_id) return true
        if (known.has(row.source_trace_id)) return false
        known.add(row.source_trace_id)
        return true
      })
      const skipped = prepared.length - fresh.length
      if (fresh.length === 0) return { dataset_id: datasetId, version: dataset.version, items: [], skipped }
      const { version, rows } = await this.#commit(projectId, dataset, (v, now) =>
        fresh.map((row) => ({ ...row, version: v, created_at: now })),
      )
      return { dataset_id: datasetId, version, items: rows.map((r) => this.#itemOf(r)), skipped }
    })
  }

  /** Changes one item's input, expected output or metadata (the rest is kept) in a new version. */
  updateItem(
    projectId: string,
    datasetId: string,
    itemId: string,
    patch: DatasetItemPatch,
  ): Promise<DatasetChange> {
    return this.#serialized(`dataset:${datasetId}`, async () => {
      const dataset = await this.#require(projectId, datasetId)
      const current = (await this.snapshot(projectId, datasetId)).items.find((i) => i.id === itemId)
      if (!current) throw new QualityError('not_found', `item ${itemId} is not in dataset ${datasetId}`)
      const { version, rows } = await this.#commit(projectId, dataset, (v, now) => [
        {
          project_id: projectId,
          dataset_id: datasetId,
          id: itemId,
          version: v,
          deleted: 0,
          input: toText(patch.input !== undefined ? patch.input : current.input),
          expected_output: toText(
            patch.expectedOutput !== undefined ? patch.expectedOutput : current.expected_output,
          ),
          recorded_output: toText(current.recorded_output),
          metadata: JSON.stringify(patch.metadata ?? current.metadata),
          source_trace_id: current.source_trace_id,
          source_span_id: current.source_span_id,
          created_at: now,
        },
      ])
      return { dataset_id: datasetId, version, items: rows.map((r) => this.#itemOf(r)), skipped: 0 }
    })
  }

  /** Removes one item from the next version; older versions keep it. */
  deleteItem(projectId: string, datasetId: string, itemId: string): Promise<DatasetChange> {
    return this.#serialized(`dataset:${datasetId}`, async () => {
      const dataset = await this.#require(projectId, datasetId)
      const current = (await this.snapshot(projectId, datasetId)).items.find((i) => i.id === itemId)
      if (!current) throw new QualityError('not_found', `item ${itemId} is not in dataset ${datasetId}`)
      const { version } = await this.#commit(projectId, dataset, (v, now) => [
        {
          project_id: projectId,
          dataset_id: datasetId,
          id: itemId,
          version: v,
          deleted: 1,
          input: '',
          expected_output: '',
          recorded_output: '',
          metadata: '',
          source_trace_id: current.source_trace_id,
          source_span_id: '',
          created_at: now,
        },
      ])
      return { dataset_id: datasetId, version, items: [], skipped: 0 }
    })
  }

  /**
   * Turns production traces into items: input = the root span's input (else the first span
   * with one), recorded output = the root span's output (else the last span's), no expected
   * output. Traces already in the dataset are skipped.
   */
  async addFromTraces(
    projectId: string,
    datasetId: string,
    selection: TraceSelection,
  ): Promise<DatasetChange> {
    await this.#require(projectId, datasetId)
    const ids = await this.#traceIds(projectId, selection)
    if (ids.length === 0) throw invalid('traces: no trace matches the selection')
    const contents = await this.#traceContents(projectId, ids)
    const items: DatasetItemInput[] = ids.map((id) => {
      const c = contents.get(id)
      const metadata: { [key: string]: JsonValue } = c?.name ? { trace_name: c.name } : {}
      return {
        input: c?.input ?? null,
        recordedOutput: c?.output ?? null,
        sourceTraceId: id,
        ...(c?.spanId ? { sourceSpanId: c.spanId } : {}),
        metadata,
      }
    })
    return this.addItems(projectId, datasetId, items)
  }

  async #traceIds(projectId: string, selection: TraceSelection): Promise<string[]> {
    if ('traceIds' in selection) {
      if (selection.traceIds.length > MAX_TRACES_PER_ADD) {
        throw invalid(`traceIds: at most ${MAX_TRACES_PER_ADD}`)
      }
      return [...new Set(selection.traceIds.map((id, i) => checkTraceId(id, `traceIds.${i}`)))]
    }
    const limit = selection.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACES_PER_ADD) {
      throw invalid(`limit: a whole number from 1 to ${MAX_TRACES_PER_ADD}`)
    }
    const ids: string[] = []
    let cursor: string | undefined
    try {
      do {
        const page = await listTraces(this.storage, projectId, {
          from: selection.from,
          to: selection.to,
          ...(selection.filter ? { filter: selection.filter } : {}),
          limit: Math.min(500, limit - ids.length),
          ...(cursor ? { cursor } : {}),
        })
        ids.push(...page.items.map((t) => t.trace_id))
        cursor = page.next_cursor ?? undefined
      } while (cursor && ids.length < limit)
    } catch (error) {
      // The read model reports bad ranges as RangeError('<param>: ...').
      if (error instanceof RangeError) throw invalid(error.message)
      throw error
    }
    return ids
  }

  async #traceContents(
    projectId: string,
    traceIds: string[],
  ): Promise<
    Map<string, { input: JsonValue | null; output: JsonValue | null; spanId: string; name: string }>
  > {
    const rows = await queryRows(
      this.storage,
      `SELECT trace_id, span_id, parent_span_id, name, input, output
       FROM ${final(this.storage, 'spans')}
       WHERE project_id = {projectId:String} AND trace_id IN {ids:Array(String)}
         AND (input != '' OR output != '' OR parent_span_id = '')
       ORDER BY trace_id, start_time, end_time`,
      { projectId, ids: traceIds },
      z.object({
        trace_id: z.string(),
        span_id: z.string(),
        parent_span_id: z.string(),
        name: z.string(),
        input: z.string(),
        output: z.string(),
      }),
    )
    const byTrace = new Map<string, typeof rows>()
    for (const row of rows) {
      const list = byTrace.get(row.trace_id) ?? []
      list.push(row)
      byTrace.set(row.trace_id, list)
    }
    const out = new Map<
      string,
      { input: JsonValue | null; output: JsonValue | null; spanId: string; name: string }
    >()
    for (const [id, spans] of byTrace) {
      const root = spans.find((s) => s.parent_span_id === '')
      const input = root?.input ? root : spans.find((s) => s.input !== '')
      const output = root?.output ? root : [...spans].reverse().find((s) => s.output !== '')
      out.set(id, {
        input: content(input?.input ?? ''),
        output: content(output?.output ?? ''),
        spanId: root?.input || root?.output ? root.span_id : (input?.span_id ?? ''),
        name: root?.name ?? spans[0]?.name ?? '',
      })
    }
    return out
  }

  /** Imports a JSONL or CSV file as one new version. */
  async importFile(
    projectId: string,
    datasetId: string,
    format: DatasetFormat,
    text: string,
  ): Promise<DatasetChange> {
    const items = parseDatasetFile(format, text)
    if (items.length === 0) throw invalid('file: no items in it')
    return this.addItems(projectId, datasetId, items)
  }

  /** Exports the items of `version` (default: current) as JSONL or CSV. */
  async exportFile(
    projectId: string,
    datasetId: string,
    format: DatasetFormat,
    version?: number,
  ): Promise<{ version: number; text: string }> {
    const snap = await this.snapshot(projectId, datasetId, version)
    return { version: snap.version, text: formatDatasetFile(format, snap.items) }
  }
}
