export { wrapAnthropic } from './anthropic/wrap'
export type { HindsightOptions } from './config'
export { currentTraceAttributes, type TraceAttributes, withAttributes } from './context-attributes'
export { HindsightError, type HindsightErrorCode } from './errors'
export {
  flush,
  getStats,
  getTracer,
  type Hindsight,
  hindsightSpanProcessor,
  init,
  type ShutdownOptions,
  shutdown,
} from './hindsight'
export { applyMask, MASK_FAILED, type MaskContext, type MaskFunction } from './mask'
export { DURATION_BUCKETS, GEN_AI_METRICS, TOKEN_BUCKETS } from './metrics'
export {
  type Citation,
  type ObserveOptions,
  observe,
  type RetrievedDocument,
  type StepKind,
  type StepSpan,
} from './observe'
export { wrapOpenAI } from './openai/wrap'
export type { HindsightStats } from './pipeline'
export { isGenAiSpan } from './processor'
export { type ScoreCallOptions, type ScoreOptions, type ScoreResult, score } from './score'
