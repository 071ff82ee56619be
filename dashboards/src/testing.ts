/**
 * Test helpers for code that reads spans: build canonical rows by hand and insert them into a
 * real (embedded) ClickHouse. Exported as `@hindsight/dashboards/testing`; never used at runtime.
 */
import type { SpanRow } from '@hindsight/collector/canonical'
import type { Storage } from '@hindsight/collector/storage'
import { testRow } from '@hindsight/collector/testing'

/** Overrides for {@link span}; `start` and `durationMs` derive start_time, end_time and duration_ms. */
export type SpanInit = Partial<Omit<SpanRow, 'start_time' | 'end_time' | 'duration_ms'>> & {
  start: Date
  /** @default 100 */
  durationMs?: number
}

let sequence = 0

/** A deterministic hex id of `length` chars from a number (unique per test run when n is). */
export function hexId(n: number, length: 16 | 32): string {
  return n.toString(16).padStart(length, '0')
}

/** The DateTime64(6) text form ClickHouse stores ('YYYY-MM-DD hh:mm:ss.ffffff', UTC). */
export function clickHouseText(date: Date, extraMicros = 0): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(extraMicros).padStart(3, '0')}`
}

/** A canonical LLM span (the collector's `testRow`, no usage or cost); every field can be overridden. */
export function span(init: SpanInit): SpanRow {
  sequence += 1
  const { start, durationMs = 100, ...rest } = init
  return testRow({
    project_id: 'project-a',
    trace_id: hexId(sequence, 32),
    span_id: hexId(sequence, 16),
    name: 'chat',
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: null,
    price_version: '',
    start_time: clickHouseText(start),
    end_time: clickHouseText(new Date(start.getTime() + durationMs)),
    duration_ms: durationMs,
    attributes: {},
    scope_name: '@hindsight/sdk',
    ingested_at: clickHouseText(new Date()).slice(0, 23),
    ...rest,
  })
}

/** Inserts rows as the collector does (JSONEachRow into `spans`). */
export async function insertSpans(storage: Storage, rows: SpanRow[]): Promise<void> {
  await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
}
