import type { Storage } from '@hindsight/collector/storage'
import { z } from 'zod'

/**
 * The one way the read model talks to ClickHouse: a parameterized query whose rows are decoded
 * by a zod schema, so every caller gets typed values and a wrong column shape fails loudly here
 * instead of as a NaN in a chart.
 */
export async function queryRows<S extends z.ZodType>(
  storage: Storage,
  query: string,
  params: Record<string, unknown>,
  row: S,
): Promise<z.output<S>[]> {
  const result = await storage.client.query({ query, query_params: params, format: 'JSONEachRow' })
  const rows = await result.json<unknown>()
  return z.array(row).parse(rows)
}

/** `db.spans FINAL`: reads always de-duplicate re-ingested spans (ReplacingMergeTree). */
export function spansFinal(storage: Storage): string {
  return `${storage.database}.spans FINAL`
}

// ClickHouse's JSON output quotes 64-bit integers (and the engine's settings decide whether it
// does), so counts are accepted either way.
export const count = z.union([z.number(), z.string()]).transform((v) => Number(v))

/** Decimal sums are selected with toString() so no float ever accumulates money. */
export const decimal = z
  .string()
  .nullable()
  .transform((v) => (v === null ? null : Number(v)))

/** Quantiles of no rows are NaN, which the JSON output renders as null. */
export const float = z
  .number()
  .nullable()
  .transform((v) => (v === null || Number.isNaN(v) ? null : v))

export const quantileTriple = z.array(float).transform((q) => ({
  p50: q[0] ?? null,
  p95: q[1] ?? null,
  p99: q[2] ?? null,
}))

/** 'YYYY-MM-DD hh:mm:ss.ffffff' (DateTime64 text form, UTC) → ISO 8601 with 'Z'. */
export function isoFromClickHouse(text: string): string {
  return `${text.replace(' ', 'T')}Z`
}

export const chTime = z.string().transform(isoFromClickHouse)

/** Binds a JS Date as a DateTime64(6, 'UTC') parameter without losing milliseconds. */
export function clickHouseTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000')
}

/** Parameter type for bound times; the column is DateTime64(6, 'UTC'). */
export const TIME_PARAM = "DateTime64(6, 'UTC')"
