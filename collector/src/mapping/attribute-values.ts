import type { Attributes, AttributeValue } from '../otlp/types'

/** A JSON-ready copy of an attribute value: bigints become numbers when exact, else strings. */
export function toJsonValue(value: AttributeValue): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (Array.isArray(value)) return value.map(toJsonValue)
  return attributesToJson(value as Attributes)
}

export function attributesToJson(attributes: Attributes): Record<string, unknown> {
  // fromEntries defines own properties, so a `__proto__` key stays an ordinary key.
  return Object.fromEntries([...attributes].map(([k, v]) => [k, toJsonValue(v)]))
}

/** The stored (string) form of an attribute: scalars as text, arrays and maps as JSON. */
export function stringifyAttribute(value: AttributeValue): string {
  if (value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return JSON.stringify(toJsonValue(value))
}

/** A number from an int, double or numeric-string attribute; undefined otherwise. */
export function attributeNumber(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

/** A token count: a non-negative integer, else undefined. */
export function attributeCount(value: AttributeValue | undefined): number | undefined {
  const n = attributeNumber(value)
  return n === undefined || n < 0 ? undefined : Math.round(n)
}

/** A string form for text columns (model, provider, ids…); '' for null or missing. */
export function attributeText(value: AttributeValue | undefined): string {
  return value === undefined ? '' : stringifyAttribute(value)
}
