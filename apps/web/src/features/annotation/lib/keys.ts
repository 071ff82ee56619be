/**
 * The annotation page's keyboard: J/K next/previous trace, a number key picks a value of the active
 * score (a category by its 1-based position, 1/0 yes/no, a number in range), Enter saves, S
 * skips, Esc leaves. Pure, so it is unit-tested without a browser.
 */

export interface KeyConfig {
  name: string
  data_type: 'numeric' | 'boolean' | 'categorical'
  min_value: number | null
  max_value: number | null
  categories: string[]
}

export type KeyAction =
  | { type: 'next' }
  | { type: 'previous' }
  | { type: 'skip' }
  | { type: 'save' }
  | { type: 'leave' }
  | { type: 'pick'; value: number | boolean | string }
  | null

/** What a key does (`inField`: focus is in a text input, where only Enter and Esc act). */
export function keyAction(key: string, config: KeyConfig | undefined, inField = false): KeyAction {
  if (key === 'Enter') return { type: 'save' }
  if (key === 'Escape') return { type: 'leave' }
  if (inField) return null
  const k = key.length === 1 ? key.toLowerCase() : key
  if (k === 'j') return { type: 'next' }
  if (k === 'k') return { type: 'previous' }
  if (k === 's') return { type: 'skip' }
  if (!/^[0-9]$/.test(k) || !config) return null
  const digit = Number(k)
  if (config.data_type === 'boolean') {
    if (digit === 1) return { type: 'pick', value: true }
    if (digit === 0 || digit === 2) return { type: 'pick', value: false }
    return null
  }
  if (config.data_type === 'categorical') {
    const label = config.categories[digit - 1]
    return label === undefined ? null : { type: 'pick', value: label }
  }
  if (config.min_value !== null && digit < config.min_value) return null
  if (config.max_value !== null && digit > config.max_value) return null
  return { type: 'pick', value: digit }
}
