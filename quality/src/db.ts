/**
 * The quality package's one way to talk to ClickHouse: parameterized queries whose rows are
 * decoded by zod, and JSONEachRow inserts. Values are always bound (`{name:Type}`), never
 * concatenated; identifiers come from the validated database name.
 */
import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'

export async function queryRows<S extends z.ZodType>(
  storage: Storage,
  query: string,
  params: Record<string, unknown>,
  row: S,
): Promise<z.output<S>[]> {
  const result = await storage.client.query({ query, query_params: params, format: 'JSONEachRow' })
  return z.array(row).parse(await result.json<unknown>())
}

export async function insertRows(storage: Storage, table: string, values: object[]): Promise<void> {
  if (values.length === 0) return
  await storage.client.insert({ table: `${storage.database}.${table}`, values, format: 'JSONEachRow' })
}

/** `db.table FINAL`: ReplacingMergeTree reads always see the newest row per key. */
export function final(storage: Storage, table: string): string {
  return `${storage.database}.${table} FINAL`
}

// ClickHouse's JSON output may quote 64-bit integers; accept both.
export const count = z.union([z.number(), z.string()]).transform((v) => Number(v))

/** Nullable Decimal columns are selected with toString(); null stays null. */
export const decimal = z
  .string()
  .nullable()
  .transform((v) => (v === null ? null : Number(v)))

/** Aggregates over no rows are NaN, which the JSON output renders as null. */
export const float = z
  .number()
  .nullable()
  .transform((v) => (v === null || Number.isNaN(v) ? null : v))

/** 'YYYY-MM-DD hh:mm:ss.fff' (UTC) → ISO 8601 with 'Z'. */
export const chTime = z.string().transform((text) => `${text.replace(' ', 'T')}Z`)

/** A Date as DateTime64(3|6, 'UTC') text, the form inserts and bound parameters take. */
export function chDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '')
}

/** Bound-parameter type of times compared with DateTime64 columns. */
export const TIME_PARAM = "DateTime64(3, 'UTC')"
