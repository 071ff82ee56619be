import type { Attributes, AttributeValue } from '../otlp/types'
import { attributeText, stringifyAttribute } from './attribute-values'

/** A value found under one of several alias keys, with every alias that carries the same value. */
export interface Found {
  value: AttributeValue
  /** The key the value came from, then the aliases holding the same value. */
  keys: string[]
}

/** Consumed keys kept in an array up to this many; a Set beyond. */
const USED_ARRAY_MAX = 32

/**
 * Reads span attributes by key and remembers which were mapped to a column, so that everything
 * else ends up in `attributes`. For aliases (current and older names) the first present key wins;
 * an alias with a different value is not consumed and stays visible.
 */
export class AttributeReader {
  /**
   * Keys consumed so far: a span usually maps a dozen or so, and a short array is cheaper to fill
   * and search than a Set (a key may appear more than once). Past `USED_ARRAY_MAX` keys (flattened
   * messages) they move to `usedSet`.
   */
  private used: string[] = []
  private usedSet: Set<string> | null = null

  constructor(readonly attributes: Attributes) {}

  /** First present (non-empty) value among `keys`, without consuming anything. */
  find(...keys: string[]): Found | undefined {
    if (keys.length === 1) {
      const key = keys[0] as string
      const value = this.attributes.get(key)
      return value === undefined || value === null || value === '' ? undefined : { value, keys: [key] }
    }
    let found: Found | undefined
    let foundText: string | undefined
    for (const key of keys) {
      const value = this.attributes.get(key)
      if (value === undefined || value === null || value === '') continue
      if (found === undefined) {
        found = { value, keys: [key] }
        continue
      }
      foundText ??= stringifyAttribute(found.value)
      if (stringifyAttribute(value) === foundText) found.keys.push(key)
    }
    return found
  }

  /** First present value among `keys`, consuming every alias that carries the same value. */
  take(...keys: string[]): AttributeValue | undefined {
    const found = this.find(...keys)
    if (found) this.consume(found.keys)
    return found?.value
  }

  /** `take` as trimmed text ('' when absent). */
  text(...keys: string[]): string {
    return attributeText(this.take(...keys)).trim()
  }

  /** The raw value of one key, not consumed. */
  peek(key: string): AttributeValue | undefined {
    return this.attributes.get(key)
  }

  /** Trimmed text of one key, not consumed. */
  peekText(key: string): string {
    return attributeText(this.attributes.get(key)).trim()
  }

  consume(keys: Iterable<string>): void {
    for (const key of keys) this.use(key)
  }

  release(...keys: string[]): void {
    for (const key of keys) {
      if (this.usedSet) this.usedSet.delete(key)
      else this.used = this.used.filter((k) => k !== key)
    }
  }

  private use(key: string): void {
    if (this.usedSet) {
      this.usedSet.add(key)
      return
    }
    this.used.push(key)
    if (this.used.length > USED_ARRAY_MAX) this.usedSet = new Set(this.used)
  }

  private isUsed(key: string): boolean {
    return this.usedSet ? this.usedSet.has(key) : this.used.includes(key)
  }

  /** Consume the keys matching `pattern` and return them with their match groups. */
  takeMatching(pattern: RegExp): Array<{ match: RegExpExecArray; value: AttributeValue }> {
    const out: Array<{ match: RegExpExecArray; value: AttributeValue }> = []
    for (const [key, value] of this.attributes) {
      const match = pattern.exec(key)
      if (!match) continue
      this.use(key)
      out.push({ match, value })
    }
    return out
  }

  /** Consume the keys starting with `prefix`; returns `[rest of the key, value]` pairs. */
  takePrefixed(prefix: string): Array<[string, AttributeValue]> {
    const out: Array<[string, AttributeValue]> = []
    for (const [key, value] of this.attributes) {
      if (!key.startsWith(prefix)) continue
      this.use(key)
      out.push([key.slice(prefix.length), value])
    }
    return out
  }

  /** Every attribute not consumed, stringified. */
  rest(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [key, value] of this.attributes) {
      if (!this.isUsed(key)) defineKey(out, key, stringifyAttribute(value))
    }
    return out
  }
}

export function defineKey(target: Record<string, string>, key: string, value: string): void {
  // Plain assignment to `__proto__` would replace the prototype; define it as an ordinary key.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

export function allAttributes(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of attributes) defineKey(out, key, stringifyAttribute(value))
  return out
}
