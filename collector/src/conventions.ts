/**
 * Attribute keys of the GenAI conventions Hindsight reads and writes.
 * The SDK emits the `GEN_AI` (current) names; the collector's mappers accept these and the older
 * spellings listed beside them. Keep every attribute key used anywhere in the codebase here.
 */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** Older name of `gen_ai.provider.name`. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  /** Older names of input/output tokens. */
  usagePromptTokens: 'gen_ai.usage.prompt_tokens',
  usageCompletionTokens: 'gen_ai.usage.completion_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageCacheWriteInputTokens: 'gen_ai.usage.cache_write.input_tokens',
  /** Older underscore spellings of the cache token counts. */
  usageCacheReadInputTokensOld: 'gen_ai.usage.cache_read_input_tokens',
  usageCacheCreationInputTokensOld: 'gen_ai.usage.cache_creation_input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  usageCost: 'gen_ai.usage.cost',
  responseTimeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestFrequencyPenalty: 'gen_ai.request.frequency_penalty',
  requestPresencePenalty: 'gen_ai.request.presence_penalty',
  requestStopSequences: 'gen_ai.request.stop_sequences',
  requestSeed: 'gen_ai.request.seed',
  requestStream: 'gen_ai.request.stream',
  conversationId: 'gen_ai.conversation.id',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  toolDefinitions: 'gen_ai.tool.definitions',
  /** Older content attributes. */
  prompt: 'gen_ai.prompt',
  completion: 'gen_ai.completion',
  toolName: 'gen_ai.tool.name',
  agentName: 'gen_ai.agent.name',
  dataSourceId: 'gen_ai.data_source.id',
} as const

/** Attributes that are not GenAI-specific but that the canonical row reads. */
export const COMMON = {
  errorType: 'error.type',
  serviceName: 'service.name',
  deploymentEnvironment: 'deployment.environment.name',
  deploymentEnvironmentOld: 'deployment.environment',
  serviceVersion: 'service.version',
  userId: 'user.id',
  sessionId: 'session.id',
  /** Attributes of the OTel `exception` span event. */
  exceptionType: 'exception.type',
} as const

/** Span event names the collector reads. */
export const EVENTS = {
  exception: 'exception',
} as const

/** OpenLLMetry / Traceloop names the collector reads. */
export const TRACELOOP = {
  /** Older operation name (`chat`, `completion`, `embedding`, `rerank`). */
  requestType: 'llm.request.type',
  /** Prefixes of the indexed content attributes (`gen_ai.prompt.0.role`, `gen_ai.completion.0.content`). */
  indexedPromptPrefix: 'gen_ai.prompt.',
  indexedCompletionPrefix: 'gen_ai.completion.',
} as const

/**
 * Keys the collector adds to a stored span's `attributes` for OTLP fields that have no column,
 * so nothing the sender sent is lost.
 */
export const OTLP_EXTRA = {
  /** OTLP span kind, lowercased without prefix: 'internal', 'server', 'client', 'producer', 'consumer'. */
  spanKind: 'otel.span.kind',
  /** Span events as a JSON array of `{ name, time_unix_nano, attributes }`. */
  events: 'otel.events',
  /** Span links as a JSON array of `{ trace_id, span_id, attributes }`. */
  links: 'otel.links',
  traceState: 'otel.trace_state',
  scopeVersion: 'otel.scope.version',
} as const

/** Hindsight's own attributes, set by `@hindsight/sdk`. */
export const HINDSIGHT = {
  release: 'hindsight.release',
  route: 'hindsight.route',
  spanKind: 'hindsight.span.kind',
  tags: 'hindsight.tags',
} as const

/** Values of `gen_ai.operation.name`. */
export const GEN_AI_OPERATIONS = [
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
  'retrieval',
  'execute_tool',
  'invoke_agent',
  'create_agent',
  'invoke_workflow',
] as const

/** The canonical span kinds every dialect maps to. */
export const SPAN_KINDS = [
  'llm',
  'embedding',
  'retrieval',
  'tool',
  'agent',
  'chain',
  'guardrail',
  'unknown',
] as const
export type SpanKind = (typeof SPAN_KINDS)[number]

/** Values of the canonical `status` column. */
export const SPAN_STATUSES = ['unset', 'ok', 'error'] as const
export type SpanStatus = (typeof SPAN_STATUSES)[number]
