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
  /** Time to first chunk (s) as a span attribute, as `@ai-sdk/otel` sets it (a metric name in the spec). */
  clientTimeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
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
  /** Older content attributes. */
  prompt: 'gen_ai.prompt',
  completion: 'gen_ai.completion',
  toolName: 'gen_ai.tool.name',
  agentName: 'gen_ai.agent.name',
  dataSourceId: 'gen_ai.data_source.id',
  /** Tool call arguments and result (opt-in content of `execute_tool` spans). */
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
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

/** Span events of older GenAI content capture (semconv ≤ 1.27): attribute `gen_ai.prompt` / `gen_ai.completion`. */
export const GEN_AI_CONTENT_EVENTS = {
  prompt: 'gen_ai.content.prompt',
  completion: 'gen_ai.content.completion',
} as const

/** OpenLLMetry / Traceloop names the collector reads. */
export const TRACELOOP = {
  /** Older operation name (`chat`, `completion`, `embedding`, `rerank`). */
  requestType: 'llm.request.type',
  /** Older total (the parts are read; the total stays an attribute). */
  usageTotalTokens: 'llm.usage.total_tokens',
  /** `workflow`, `task`, `agent`, `tool` (decorated functions). */
  spanKind: 'traceloop.span.kind',
  entityInput: 'traceloop.entity.input',
  entityOutput: 'traceloop.entity.output',
  /** `traceloop.association.properties.<name>`: user-chosen properties (user_id, session_id…). */
  associationPrefix: 'traceloop.association.properties.',
  attributePrefix: 'traceloop.',
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

/** OpenAI-specific attributes of the GenAI conventions. */
export const OPENAI = {
  /** Which OpenAI API made the call: `chat_completions` or `responses`. */
  apiType: 'openai.api.type',
} as const

/** Hindsight's own attributes, set by `@hindsight/sdk`. */
export const HINDSIGHT = {
  release: 'hindsight.release',
  /**
   * The part of `gen_ai.usage.cache_creation.input_tokens` written with a 1-hour TTL (Anthropic's
   * `cache_creation.ephemeral_1h_input_tokens`, priced above 5-minute writes). The rest of the
   * cache-creation tokens are 5-minute writes. Absent when the provider does not split them.
   */
  usageCacheCreation1hInputTokens: 'hindsight.usage.cache_creation_1h.input_tokens',
  route: 'hindsight.route',
  spanKind: 'hindsight.span.kind',
  tags: 'hindsight.tags',
  /** Prefix of the SDK's `withAttributes({ metadata })` keys: `hindsight.metadata.<key>`. */
  metadataPrefix: 'hindsight.metadata.',
  /** The SDK's `observe()` input and output (JSON text or a plain string); tool steps use `GEN_AI.toolCall*`. */
  input: 'hindsight.input',
  output: 'hindsight.output',
  /** JSON array of `{ id, score?, content? }` a retrieval step returned. */
  retrievalDocuments: 'hindsight.retrieval.documents',
  /** JSON array of `{ document_id, quote? }` an answer used. */
  citations: 'hindsight.citations',
  /** Added by the collector: which convention dialect the span was read with (see `DIALECTS`). */
  dialect: 'hindsight.dialect',
  /** On an LLM-as-judge call's span (`@hindsight/quality`): the evaluator's name. */
  evaluator: 'hindsight.evaluator',
  /** On an LLM-as-judge call's span: the trace it evaluated. */
  evaluatedTraceId: 'hindsight.evaluation.trace_id',
} as const

/** OpenInference (Arize Phoenix) names the collector reads. */
export const OPENINFERENCE = {
  /** LLM, CHAIN, TOOL, AGENT, RETRIEVER, RERANKER, EMBEDDING, GUARDRAIL, EVALUATOR, PROMPT. */
  spanKind: 'openinference.span.kind',
  modelName: 'llm.model_name',
  requestModelName: 'llm.request.model_name',
  responseModelName: 'llm.response.model_name',
  embeddingModelName: 'embedding.model_name',
  rerankerModelName: 'reranker.model_name',
  /** The model vendor (openai, anthropic, vertexai…). */
  system: 'llm.system',
  /** The hosting provider (openai, azure, aws, google…). */
  provider: 'llm.provider',
  tokenPrompt: 'llm.token_count.prompt',
  tokenCompletion: 'llm.token_count.completion',
  tokenTotal: 'llm.token_count.total',
  tokenCacheRead: 'llm.token_count.prompt_details.cache_read',
  tokenCacheWrite: 'llm.token_count.prompt_details.cache_write',
  tokenReasoning: 'llm.token_count.completion_details.reasoning',
  /** `llm.input_messages.<i>.message.<field>` (role, content, contents.<j>.message_content.*, tool_calls…). */
  inputMessagesPrefix: 'llm.input_messages.',
  outputMessagesPrefix: 'llm.output_messages.',
  invocationParameters: 'llm.invocation_parameters',
  inputValue: 'input.value',
  inputMimeType: 'input.mime_type',
  outputValue: 'output.value',
  outputMimeType: 'output.mime_type',
  scopePrefix: '@arizeai/openinference',
  pythonScopePrefix: 'openinference.instrumentation',
} as const

/** Vercel AI SDK (`ai`, v4–v6 `experimental_telemetry`) names the collector reads. */
export const VERCEL_AI = {
  /** Instrumentation scope of the `ai` package's own spans. */
  scope: 'ai',
  /** Default tracer name of `@ai-sdk/otel` (v7, GenAI convention spans). */
  otelScope: 'gen_ai',
  operationId: 'ai.operationId',
  modelId: 'ai.model.id',
  /** e.g. `openai.chat`, `anthropic.messages`, `amazon-bedrock`, `google.vertex.chat`. */
  modelProvider: 'ai.model.provider',
  responseModel: 'ai.response.model',
  /** v5+ usage names. */
  usageInputTokens: 'ai.usage.inputTokens',
  usageOutputTokens: 'ai.usage.outputTokens',
  usageCachedInputTokens: 'ai.usage.cachedInputTokens',
  usageReasoningTokens: 'ai.usage.reasoningTokens',
  /** v6 breakdown: input = noCache + cacheRead + cacheWrite. */
  usageInputNoCache: 'ai.usage.inputTokenDetails.noCacheTokens',
  usageInputCacheRead: 'ai.usage.inputTokenDetails.cacheReadTokens',
  usageInputCacheWrite: 'ai.usage.inputTokenDetails.cacheWriteTokens',
  usageOutputReasoning: 'ai.usage.outputTokenDetails.reasoningTokens',
  /** Embedding calls' usage. */
  usageTokens: 'ai.usage.tokens',
  /** v4 usage names. */
  usagePromptTokens: 'ai.usage.promptTokens',
  usageCompletionTokens: 'ai.usage.completionTokens',
  /** Time to first chunk in milliseconds (`do*` stream spans). */
  msToFirstChunk: 'ai.response.msToFirstChunk',
  streamMsToFirstChunk: 'ai.stream.msToFirstChunk',
  providerMetadata: 'ai.response.providerMetadata',
  /** Outer spans: `{ system?, prompt?, messages? }` as JSON. */
  prompt: 'ai.prompt',
  /** `do*` spans: the model messages as JSON. */
  promptMessages: 'ai.prompt.messages',
  responseText: 'ai.response.text',
  responseReasoning: 'ai.response.reasoning',
  responseToolCalls: 'ai.response.toolCalls',
  responseObject: 'ai.response.object',
  responseFinishReason: 'ai.response.finishReason',
  /** Embedding spans: the embedded value(s) as JSON. */
  value: 'ai.value',
  values: 'ai.values',
  toolCallName: 'ai.toolCall.name',
  toolCallArgs: 'ai.toolCall.args',
  toolCallInput: 'ai.toolCall.input',
  toolCallResult: 'ai.toolCall.result',
  toolCallOutput: 'ai.toolCall.output',
  /** `ai.telemetry.metadata.<key>`: user-chosen metadata (userId, sessionId…). */
  metadataPrefix: 'ai.telemetry.metadata.',
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

/**
 * Convention dialects the collector reads (recorded per span as `hindsight.dialect`):
 * `hindsight` (`@hindsight/sdk`), `otel_genai` (OpenTelemetry GenAI conventions),
 * `openllmetry` (Traceloop), `openinference` (Arize), `vercel_ai` (the `ai` package's `ai.*`
 * spans), `vercel_ai_otel` (`@ai-sdk/otel`, GenAI conventions), `unknown`.
 */
export const DIALECTS = [
  'hindsight',
  'otel_genai',
  'openllmetry',
  'openinference',
  'vercel_ai',
  'vercel_ai_otel',
  'unknown',
] as const
export type Dialect = (typeof DIALECTS)[number]

/** Attributes the collector adds when a span had to be cut to the ingest limits (`limits/`). */
export const INGEST_LIMITS = {
  /** How many attributes beyond the per-span limit were dropped. */
  droppedAttributes: 'hindsight.dropped_attributes',
  /** `hindsight.truncated.<key>`: the original length of a value that was truncated. */
  truncatedPrefix: 'hindsight.truncated.',
  /** Set when text in the span was not valid UTF-8 (or Unicode) and was repaired with U+FFFD. */
  invalidUtf8: 'hindsight.invalid_utf8',
} as const

/**
 * Attributes that carry message content (prompts, completions, tool I/O) in the dialects the
 * collector reads: they may be longer than other attribute values before being truncated.
 */
export const CONTENT_ATTRIBUTES = {
  keys: [
    'gen_ai.input.messages',
    'gen_ai.output.messages',
    'gen_ai.system_instructions',
    'gen_ai.tool.definitions',
    'gen_ai.prompt',
    'gen_ai.completion',
    'gen_ai.tool.call.arguments',
    'gen_ai.tool.call.result',
    'traceloop.entity.input',
    'traceloop.entity.output',
    'input.value',
    'output.value',
    'ai.prompt',
    'ai.prompt.messages',
    'ai.response.text',
    'ai.response.object',
    'ai.response.toolCalls',
    'ai.toolCall.args',
    'ai.toolCall.result',
  ],
  /** Indexed content (`gen_ai.prompt.0.content`, `llm.input_messages.0.message.content`). */
  prefixes: ['gen_ai.prompt.', 'gen_ai.completion.', 'llm.input_messages.', 'llm.output_messages.'],
} as const
