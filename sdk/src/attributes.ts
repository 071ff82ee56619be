/**
 * Attribute keys the SDK writes. The SDK is published on its own, so it cannot import the
 * collector's `conventions.ts`; these are copies of the same names and values. When a key changes
 * there, change it here too.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestFrequencyPenalty: 'gen_ai.request.frequency_penalty',
  requestPresencePenalty: 'gen_ai.request.presence_penalty',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestSeed: 'gen_ai.request.seed',
  requestStream: 'gen_ai.request.stream',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  toolDefinitions: 'gen_ai.tool.definitions',
} as const

/** Attributes that are not GenAI-specific. */
export const COMMON = {
  errorType: 'error.type',
  serviceName: 'service.name',
  deploymentEnvironment: 'deployment.environment.name',
  serviceVersion: 'service.version',
} as const

/** Hindsight's own attributes. */
export const HINDSIGHT = {
  release: 'hindsight.release',
} as const

/** The content attributes: none of them is written when `captureContent` is false. */
export const CONTENT_ATTRIBUTES = [
  GEN_AI.inputMessages,
  GEN_AI.outputMessages,
  GEN_AI.systemInstructions,
  GEN_AI.toolDefinitions,
] as const
