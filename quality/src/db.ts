/**
 * The quality package's one way to talk to ClickHouse: parameterized queries whose rows are
 * decoded by zod, and JSONEachRow inserts. Values are always bound (`{name:Type}`), never
 * concatenated; identifiers come from the validated database name.
 */
import type { Storage } from '@hindsight/collector/storage'

// The typed query helper and the row decoders are the dashboards' (one helper for every read).
export { chTime, count, decimal, float, queryRows } from '@hindsight/dashboards'

export async function insertRows(storage: Storage, table: string, values: object[]): Promise<void> {
  if (values.length === 0) return
  await storage.client.insert({ table: `${storage.database}.${table}`, values, format: 'JSONEachRow' })
}

/** `db.table FINAL`: ReplacingMergeTree reads always see the newest row per key. */
export function final(storage: Storage, table: string): string {
  return `${storage.database}.${table} FINAL`
}

/** A Date as DateTime64(3|6, 'UTC') text, the form inserts and bound parameters take. */
export function chDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

/** A version time after `previous` (and no earlier than now), so the row written with it replaces the one before. */
export function laterThan(previous: string): Date {
  return new Date(Math.max(Date.now(), new Date(previous).getTime() + 1))
}

/** Bound-parameter type of times compared with DateTime64 columns. */
export const TIME_PARAM = "DateTime64(3, 'UTC')"
