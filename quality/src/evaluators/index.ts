export {
  citationPresent,
  citationsResolvable,
  citedIds,
  contains,
  costThreshold,
  exactMatch,
  jsonSchema,
  latencyThreshold,
  lengthBounds,
  REFUSAL_PATTERNS,
  refusal,
  regexMatch,
  retrievedIds,
  validJson,
} from './builtin'
export {
  type JudgeEndpoint,
  type JudgeOptions,
  type JudgeSpanSink,
  judgeSpanSinkFor,
  judgeSystemPrompt,
  llmJudge,
  parseJudgeReply,
} from './judge'
export { RUBRICS, type Rubric, type RubricScale, renderRubric } from './rubrics'
export {
  DEFAULT_EVAL_TIMEOUT_MS,
  defineEvaluator,
  evalFailure,
  resultToScore,
  runEvaluator,
  runEvaluators,
} from './run'
export { extractJson, stripCodeFence, textOf } from './text'
export { evalInputFromTrace } from './trace-input'
export type * from './types'
