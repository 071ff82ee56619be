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
  /** Tokens written to the provider's cache this turn; included in `usageInputTokens`. */
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestTopK: 'gen_ai.request.top_k',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestFrequencyPenalty: 'gen_ai.request.frequency_penalty',
  requestPresencePenalty: 'gen_ai.request.presence_penalty',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestSeed: 'gen_ai.request.seed',
  requestStream: 'gen_ai.request.stream',
  requestEncodingFormats: 'gen_ai.request.encoding_formats',
  embeddingsDimensionCount: 'gen_ai.embeddings.dimension.count',
  conversationId: 'gen_ai.conversation.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  toolDefinitions: 'gen_ai.tool.definitions',
  toolName: 'gen_ai.tool.name',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  agentName: 'gen_ai.agent.name',
  dataSourceId: 'gen_ai.data_source.id',
  /** Older name of `providerName`, still sent by some instrumentations (e.g. the AI SDK's inner spans). */
  system: 'gen_ai.system',
  /** Metric attribute of `gen_ai.client.token.usage`: `input` or `output`. */
  tokenType: 'gen_ai.token.type',
} as const

/** Attributes that are not GenAI-specific. */
export const COMMON = {
  errorType: 'error.type',
  serviceName: 'service.name',
  deploymentEnvironment: 'deployment.environment.name',
  serviceVersion: 'service.version',
  userId: 'user.id',
  sessionId: 'session.id',
} as const

/** OpenAI-specific attributes of the GenAI conventions. */
export const OPENAI = {
  /** Which OpenAI API made the call: `chat_completions` or `responses`. */
  apiType: 'openai.api.type',
} as const

/** Hindsight's own attributes. */
export const HINDSIGHT = {
  release: 'hindsight.release',
  /** The step kind `observe()` recorded: llm, embedding, retrieval, tool, agent, chain, guardrail. */
  spanKind: 'hindsight.span.kind',
  /** `withAttributes({ tags })`: a JSON array of strings. */
  tags: 'hindsight.tags',
  route: 'hindsight.route',
  /** Prefix of `withAttributes({ metadata })` keys: `hindsight.metadata.<key>`. */
  metadataPrefix: 'hindsight.metadata.',
  /** `observe()` input and output (JSON text, or the string itself); tools use the GenAI tool names instead. */
  input: 'hindsight.input',
  output: 'hindsight.output',
  /** JSON array of `{ id, score?, content? }` a retrieval step returned. */
  retrievalDocuments: 'hindsight.retrieval.documents',
  /** JSON array of `{ document_id, quote? }` an answer used. */
  citations: 'hindsight.citations',
  /**
   * The part of `gen_ai.usage.cache_creation.input_tokens` written with a 1-hour TTL (Anthropic
   * prices it above the 5-minute writes); absent when the provider does not split the writes.
   */
  usageCacheCreation1hInputTokens: 'hindsight.usage.cache_creation_1h.input_tokens',
} as const

/** The content attributes: none of them is written when `captureContent` is false. */
export const CONTENT_ATTRIBUTES = [
  GEN_AI.inputMessages,
  GEN_AI.outputMessages,
  GEN_AI.systemInstructions,
  GEN_AI.toolDefinitions,
] as const
