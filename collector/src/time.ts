/** Nanoseconds since the epoch for 2000-01-01T00:00:00Z: spans older than this are rejected. */
export const MIN_START_UNIX_NANO = 946_684_800_000_000_000n

const NANOS_PER_MS = 1_000_000n
const NANOS_PER_S = 1_000_000_000n

/*
 * Spans of a batch fall within a few seconds of each other: the 'YYYY-MM-DD hh:mm:ss' part is
 * formatted once per second and reused (formatting a Date is most of the cost of a row's times).
 */
const SECOND_CACHE_MAX = 1024
const secondText = new Map<number, string>()

function secondPrefix(second: number): string {
  const known = secondText.get(second)
  if (known !== undefined) return known
  const iso = new Date(second * 1000).toISOString()
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`
  if (secondText.size >= SECOND_CACHE_MAX) secondText.clear()
  secondText.set(second, text)
  return text
}

const pad6 = (n: number) => (n < 100_000 ? n.toString().padStart(6, '0') : n.toString())
const pad3 = (n: number) => (n < 100 ? n.toString().padStart(3, '0') : n.toString())

/** ClickHouse DateTime64(6) text form, UTC: 'YYYY-MM-DD hh:mm:ss.ffffff'. Exact for any bigint nanos. */
export function nanosToDateTime64(nanos: bigint): string {
  if (nanos >= 0n && nanos < 253_402_300_800_000_000_000n) {
    const seconds = nanos / NANOS_PER_S
    const micros = Math.floor(Number(nanos - seconds * NANOS_PER_S) / 1000)
    return `${secondPrefix(Number(seconds))}.${pad6(micros)}`
  }
  const ms = nanos / NANOS_PER_MS
  const micros = (nanos / 1000n) % 1_000_000n
  const iso = new Date(Number(ms)).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${micros.toString().padStart(6, '0')}`
}

/** ClickHouse DateTime64(3) text form, UTC: 'YYYY-MM-DD hh:mm:ss.fff'. */
export function msToDateTime3(ms: number): string {
  if (ms >= 0 && ms < 253_402_300_800_000) {
    const whole = Math.floor(ms)
    const second = Math.floor(whole / 1000)
    return `${secondPrefix(second)}.${pad3(whole - second * 1000)}`
  }
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
}

/** Parse a DateTime64 text form (UTC) back into a Date (millisecond precision). */
export function dateTimeTextToDate(text: string): Date {
  return new Date(`${text.slice(0, 10)}T${text.slice(11, 23)}Z`)
}
