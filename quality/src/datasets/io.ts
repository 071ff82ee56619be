/**
 * Dataset import and export as JSONL and CSV.
 *
 * JSONL: one object per line, `{ input, expected_output?, metadata?, id? }` (camelCase
 * `expectedOutput` is accepted too); blank lines are skipped.
 * CSV: a header row naming `input` (required), `expected_output`, `metadata`, `id`; a cell that
 * holds a JSON object or array is parsed, anything else stays a string (so `42` stays "42").
 * Export writes `id, input, expected_output, recorded_output, metadata, source_trace_id`;
 * string values are written as they are, other values as JSON.
 */
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { invalid } from '../errors'
import type { DatasetFormat, DatasetItem, DatasetItemInput, JsonValue } from './types'

export const MAX_IMPORT_ITEMS = 10_000

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON.parse, typed: the result of parsing text is always a JSON value. */
export function parseJson(text: string): JsonValue {
  return JSON.parse(text) as JsonValue
}

function itemFromObject(value: unknown, where: string): DatasetItemInput {
  if (!isObject(value)) throw invalid(`${where}: each item must be a JSON object`)
  if (!('input' in value)) throw invalid(`${where}: an item needs an "input"`)
  const expected = value.expected_output ?? value.expectedOutput
  const metadata = value.metadata
  if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
    throw invalid(`${where}: "metadata" must be an object`)
  }
  const id = value.id
  if (id !== undefined && id !== null && typeof id !== 'string')
    throw invalid(`${where}: "id" must be a string`)
  return {
    input: value.input ?? null,
    ...(expected !== undefined ? { expectedOutput: expected } : {}),
    ...(isObject(metadata) ? { metadata } : {}),
    ...(typeof id === 'string' && id !== '' ? { id } : {}),
  }
}

function parseJsonl(text: string): DatasetItemInput[] {
  const items: DatasetItemInput[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? ''
    if (line === '') continue
    let value: JsonValue
    try {
      value = parseJson(line)
    } catch {
      throw invalid(`line ${i + 1}: not valid JSON`)
    }
    items.push(itemFromObject(value, `line ${i + 1}`))
    if (items.length > MAX_IMPORT_ITEMS) throw invalid(`file: at most ${MAX_IMPORT_ITEMS} items per import`)
  }
  return items
}

/** A CSV cell: JSON objects and arrays are parsed, everything else is the string itself. */
function cellValue(cell: string): JsonValue {
  const trimmed = cell.trim()
  if (
    (trimmed.startsWith('{') && trimmed.endsWith('}')) ||
    (trimmed.startsWith('[') && trimmed.endsWith(']'))
  ) {
    try {
      return parseJson(trimmed)
    } catch {
      return cell
    }
  }
  return cell
}

function parseCsv(text: string): DatasetItemInput[] {
  let records: Record<string, string>[]
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, bom: true, trim: false })
  } catch (error) {
    throw invalid(`file: not valid CSV (${(error as Error).message})`)
  }
  if (records.length > MAX_IMPORT_ITEMS) throw invalid(`file: at most ${MAX_IMPORT_ITEMS} items per import`)
  const items: DatasetItemInput[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i] ?? {}
    const where = `row ${i + 2}`
    if (!('input' in record)) throw invalid('file: the CSV header needs an "input" column')
    const expected = record.expected_output ?? record.expectedOutput
    const metadata = record.metadata ? cellValue(record.metadata) : undefined
    if (metadata !== undefined && !isObject(metadata))
      throw invalid(`${where}: "metadata" must be a JSON object`)
    items.push({
      input: cellValue(record.input ?? ''),
      ...(expected !== undefined && expected !== '' ? { expectedOutput: cellValue(expected) } : {}),
      ...(metadata ? { metadata } : {}),
      ...(record.id ? { id: record.id } : {}),
    })
  }
  return items
}

/** Parses an import file; errors name the line or row. */
export function parseDatasetFile(format: DatasetFormat, text: string): DatasetItemInput[] {
  return format === 'jsonl' ? parseJsonl(text) : parseCsv(text)
}

function cellText(value: JsonValue | null): string {
  if (value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** Writes items as JSONL or CSV (see the module comment for the columns). */
export function formatDatasetFile(format: DatasetFormat, items: DatasetItem[]): string {
  if (format === 'jsonl') {
    return items
      .map((item) =>
        JSON.stringify({
          id: item.id,
          input: item.input,
          expected_output: item.expected_output,
          recorded_output: item.recorded_output,
          metadata: item.metadata,
          source_trace_id: item.source_trace_id,
        }),
      )
      .map((line) => `${line}\n`)
      .join('')
  }
  return stringify(
    items.map((item) => [
      item.id,
      cellText(item.input),
      cellText(item.expected_output),
      cellText(item.recorded_output),
      Object.keys(item.metadata).length > 0 ? JSON.stringify(item.metadata) : '',
      item.source_trace_id,
    ]),
    {
      header: true,
      columns: ['id', 'input', 'expected_output', 'recorded_output', 'metadata', 'source_trace_id'],
    },
  )
}
