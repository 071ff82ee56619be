import type { OtlpSpan } from '../../otlp/types'
import type { AttributeReader } from '../attribute-reader'
import { attributeText } from '../attribute-values'
import { type DialectFields, EMPTY_FIELDS, MAPPING_PRICING_NOTES } from './types'

/** Last key segment naming a model (`model`, `llm.model_id`, `request.modelName`…). */
const MODEL_KEY = /(?:^|[._])model(?:[._]?(?:name|id))?$/i
/** Last key segment counting tokens (`usage.prompt_tokens`, `tokens.input`, `totalTokens`…). */
const TOKEN_KEY = /(?:^|[._])(?:\w*_)?tokens?(?:[._](?:input|output|prompt|completion|total))?$|[a-z]Tokens$/i

/**
 * A span from an instrumentation the collector does not know. It lands unchanged (every attribute
 * kept); when its attributes name a model or count tokens it looks like a model call, so it is
 * kept visible as an unpriced `llm` (or `embedding`) call with the reason in `pricing_note`, rather
 * than hidden or priced at $0 from counts whose meaning is unknown.
 */
export function mapUnknown(a: AttributeReader, span: OtlpSpan): DialectFields {
  let modelKey = ''
  let model = ''
  let counts = false
  for (const [key, value] of a.attributes) {
    if (!modelKey && MODEL_KEY.test(key) && typeof value === 'string' && value.trim() !== '') {
      modelKey = key
      model = attributeText(value).trim()
    } else if (!counts && TOKEN_KEY.test(key)) {
      counts = true
    }
  }
  if (!modelKey && !counts) return { ...EMPTY_FIELDS }
  return {
    ...EMPTY_FIELDS,
    kind: /embed/i.test(span.name) ? 'embedding' : 'llm',
    model,
    requestModel: model,
    pricingNote: modelKey
      ? `${MAPPING_PRICING_NOTES.unrecognized}: model from ${modelKey}, token counts not read`
      : MAPPING_PRICING_NOTES.noModel,
  }
}
