/** Nanoseconds since the epoch for 2000-01-01T00:00:00Z: spans older than this are rejected. */
export const MIN_START_UNIX_NANO = 946_684_800_000_000_000n

const NANOS_PER_MS = 1_000_000n

/** ClickHouse DateTime64(6) text form, UTC: 'YYYY-MM-DD hh:mm:ss.ffffff'. Exact for any bigint nanos. */
export function nanosToDateTime64(nanos: bigint): string {
  const ms = nanos / NANOS_PER_MS
  const micros = (nanos / 1000n) % 1_000_000n
  const iso = new Date(Number(ms)).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros.toString().padStart(6, '0')}`
}

/** ClickHouse DateTime64(3) text form, UTC: 'YYYY-MM-DD hh:mm:ss.fff'. */
export function msToDateTime3(ms: number): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
}

/** Parse a DateTime64 text form (UTC) back into a Date (millisecond precision). */
export function dateTimeTextToDate(text: string): Date {
  return new Date(`${text.slice(0, 10)}T${text.slice(11, 23)}Z`)
}
