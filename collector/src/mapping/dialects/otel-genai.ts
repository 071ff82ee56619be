import {
  type Dialect,
  GEN_AI,
  GEN_AI_CONTENT_EVENTS,
  HINDSIGHT,
  type SpanKind,
  TRACELOOP,
} from '../../conventions'
import type { AttributeValue, OtlpSpan } from '../../otlp/types'
import type { AttributeReader } from '../attribute-reader'
import { attributeNumber } from '../attribute-values'
import { contentText, indexedMessages, messagesJson, withSystemInstructions } from '../content'
import { tokenSemantics } from '../tokens'
import { takeProvider } from './common'
import { type DialectFields, toMs, type UsageReading, usageReading } from './types'

/** `gen_ai.operation.name` (or OpenLLMetry's `llm.request.type`) → canonical kind. */
export const OPERATION_KINDS: Readonly<Record<string, SpanKind>> = {
  chat: 'llm',
  text_completion: 'llm',
  generate_content: 'llm',
  completion: 'llm',
  embeddings: 'embedding',
  embedding: 'embedding',
  execute_tool: 'tool',
  invoke_agent: 'agent',
  create_agent: 'agent',
  retrieval: 'retrieval',
  rerank: 'retrieval',
  invoke_workflow: 'chain',
  /** `@ai-sdk/otel`'s step spans between `invoke_agent` and `chat`. */
  agent_step: 'chain',
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
/** `gen_ai.prompt.<index>.<field>`: groups are the index and the field path. */
const INDEXED_PROMPT = new RegExp(`^${escapeRegExp(TRACELOOP.indexedPromptPrefix)}(\\d+)\\.(.+)$`)
const INDEXED_COMPLETION = new RegExp(`^${escapeRegExp(TRACELOOP.indexedCompletionPrefix)}(\\d+)\\.(.+)$`)

/** OpenLLMetry's older indexed content (`gen_ai.prompt.N.role`, `…content`, `…tool_calls.K.name`) → messages. */
function indexed(a: AttributeReader, pattern: RegExp): string {
  const entries: Array<[string, AttributeValue]> = a
    .takeMatching(pattern)
    .map(({ match, value }) => [`${match[1]}.${match[2]}`, value])
  return entries.length === 0 ? '' : messagesJson(indexedMessages(entries))
}

/** GenAI usage: current and older names, both cache spellings and the `cache_write` rename. */
export function readGenAiUsage(a: AttributeReader, dialect: Dialect, provider: string, model: string) {
  return usageReading(
    {
      input: a.find(GEN_AI.usageInputTokens, GEN_AI.usagePromptTokens),
      output: a.find(GEN_AI.usageOutputTokens, GEN_AI.usageCompletionTokens),
      cacheRead: a.find(GEN_AI.usageCacheReadInputTokens, GEN_AI.usageCacheReadInputTokensOld),
      cacheWrite: a.find(
        GEN_AI.usageCacheCreationInputTokens,
        GEN_AI.usageCacheWriteInputTokens,
        GEN_AI.usageCacheCreationInputTokensOld,
      ),
      reasoning: a.find(GEN_AI.usageReasoningOutputTokens),
    },
    tokenSemantics(dialect, provider, model),
  )
}

/** Content of the older span events (`gen_ai.content.prompt` with attribute `gen_ai.prompt`). */
function eventContent(span: OtlpSpan, eventName: string, key: string): string {
  const event = span.events.find((e) => e.name === eventName)
  return event ? contentText(event.attributes.get(key)) : ''
}

export function deriveGenAiKind(
  operation: string,
  requestType: string,
  usage: UsageReading | null,
): SpanKind {
  const fromOperation = OPERATION_KINDS[operation] ?? OPERATION_KINDS[requestType]
  if (fromOperation) return fromOperation
  // A span reporting token usage is a model call even when the instrumentation leaves out the
  // operation name (e.g. the AI SDK's inner `do*` spans with older gen_ai names).
  return usage ? 'llm' : 'unknown'
}

/**
 * OpenTelemetry GenAI conventions, current and older names (also `@hindsight/sdk`, `@ai-sdk/otel`,
 * and the base of OpenLLMetry). Input is `gen_ai.system_instructions` (as a leading system message)
 * plus `gen_ai.input.messages`, else `gen_ai.prompt`, else indexed `gen_ai.prompt.N.*` (rebuilt into
 * messages), else the `gen_ai.content.prompt` event, else a
 * tool's `gen_ai.tool.call.arguments`, else the SDK's `hindsight.input` (likewise for output).
 */
export function mapOtelGenAi(a: AttributeReader, span: OtlpSpan, dialect: Dialect): DialectFields {
  const operation = a.text(GEN_AI.operationName)
  const provider = takeProvider(a, GEN_AI.providerName, GEN_AI.system)
  const requestModel = a.text(GEN_AI.requestModel)
  const model = a.text(GEN_AI.responseModel) || requestModel
  const usage = readGenAiUsage(a, dialect, provider, model)
  const kind = deriveGenAiKind(operation, a.peekText(TRACELOOP.requestType), usage)

  const ttftSeconds = attributeNumber(a.take(GEN_AI.responseTimeToFirstChunk, GEN_AI.clientTimeToFirstChunk))

  let input = contentText(a.take(GEN_AI.inputMessages))
  const instructions = a.find(GEN_AI.systemInstructions)
  if (instructions) {
    const merged = withSystemInstructions(input, contentText(instructions.value))
    if (merged !== undefined) {
      input = merged
      a.consume(instructions.keys)
    }
  }
  if (!input) input = contentText(a.take(GEN_AI.prompt))
  if (!input) input = indexed(a, INDEXED_PROMPT)
  if (!input) input = eventContent(span, GEN_AI_CONTENT_EVENTS.prompt, GEN_AI.prompt)
  if (!input) input = contentText(a.take(GEN_AI.toolCallArguments))
  // `@hindsight/sdk`'s observe() steps: the function's input and return value.
  if (!input) input = contentText(a.take(HINDSIGHT.input))

  let output = contentText(a.take(GEN_AI.outputMessages))
  if (!output) output = contentText(a.take(GEN_AI.completion))
  if (!output) output = indexed(a, INDEXED_COMPLETION)
  if (!output) output = eventContent(span, GEN_AI_CONTENT_EVENTS.completion, GEN_AI.completion)
  if (!output) output = contentText(a.take(GEN_AI.toolCallResult))
  if (!output) output = contentText(a.take(HINDSIGHT.output))

  return {
    kind,
    operation,
    provider,
    model,
    requestModel,
    usage,
    ttftMs: toMs(ttftSeconds, 's'),
    input,
    output,
    userKeys: [],
    sessionKeys: [GEN_AI.conversationId],
    pricingNote: '',
  }
}
