export type { HindsightOptions } from './config'
export { HindsightError, type HindsightErrorCode } from './errors'
export {
  flush,
  getStats,
  getTracer,
  type Hindsight,
  init,
  type ShutdownOptions,
  shutdown,
} from './hindsight'
export { wrapOpenAI } from './openai/wrap'
export type { HindsightStats } from './pipeline'
