import type { AttributeReader } from '../attribute-reader'
import { attributeText } from '../attribute-values'
import { normalizeProvider } from '../providers'

/**
 * The canonical provider from the first present key. The attribute is consumed only when it already
 * held the canonical name; a spelling that was normalized (`openai.chat` → `openai`) stays visible.
 */
export function takeProvider(a: AttributeReader, ...keys: string[]): string {
  const found = a.find(...keys)
  if (!found) return ''
  const raw = attributeText(found.value).trim()
  const canonical = normalizeProvider(raw)
  if (canonical === raw) a.consume(found.keys)
  return canonical
}
