/** Small guards for reading provider payloads, which are untrusted and change shape between versions. */

export type UnknownRecord = Record<string, unknown>

export function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

const EMPTY: readonly unknown[] = Object.freeze([])

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : EMPTY
}

/** An object whose prototype is `Object.prototype` or null (a literal, `JSON.parse` output), not a class instance. */
export function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

export function asRecord(value: unknown): UnknownRecord | undefined {
  return isRecord(value) ? value : undefined
}
