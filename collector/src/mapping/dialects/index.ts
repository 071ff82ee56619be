import type { Dialect } from '../../conventions'
import { mapOpenInference } from './openinference'
import { mapOpenLlmetry } from './openllmetry'
import { mapOtelGenAi } from './otel-genai'
import type { DialectMapper } from './types'
import { mapUnknown } from './unknown'
import { mapVercelAi } from './vercel-ai'

export { detectDialect } from './detect'
export { type DialectFields, type DialectMapper, MAPPING_PRICING_NOTES, type UsageReading } from './types'

/** One mapper per dialect; the GenAI-convention family shares one. */
export const DIALECT_MAPPERS: Readonly<Record<Dialect, DialectMapper>> = {
  hindsight: mapOtelGenAi,
  otel_genai: mapOtelGenAi,
  vercel_ai_otel: mapOtelGenAi,
  openllmetry: mapOpenLlmetry,
  openinference: mapOpenInference,
  vercel_ai: mapVercelAi,
  unknown: mapUnknown,
}
