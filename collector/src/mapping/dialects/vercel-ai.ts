import { type Dialect, GEN_AI, type SpanKind, VERCEL_AI } from '../../conventions'
import type { AttributeValue, OtlpSpan } from '../../otlp/types'
import type { AttributeReader, Found } from '../attribute-reader'
import { attributeNumber, attributeText } from '../attribute-values'
import {
  aiSdkMessagesJson,
  aiSdkOutputJson,
  aiSdkPromptJson,
  contentText,
  parseJson,
  textPart,
} from '../content'
import { type TokenSemantics, tokenSemantics } from '../tokens'
import { takeProvider } from './common'
import { type DialectFields, toMs, usageReading } from './types'

/** Outer calls of the `ai` package: their usage repeats the inner `do*` spans'. */
const OUTER: Readonly<Record<string, readonly [SpanKind, string]>> = {
  // Like `@ai-sdk/otel` (v7), which names these spans `invoke_agent`: they run the tool loop.
  'ai.generateText': ['agent', 'invoke_agent'],
  'ai.streamText': ['agent', 'invoke_agent'],
  'ai.generateObject': ['chain', ''],
  'ai.streamObject': ['chain', ''],
  'ai.embed': ['chain', ''],
  'ai.embedMany': ['chain', ''],
}

function classify(operationId: string): readonly [SpanKind, string] {
  if (operationId.endsWith('.doGenerate') || operationId.endsWith('.doStream')) return ['llm', 'chat']
  if (operationId.endsWith('.doEmbed')) return ['embedding', 'embeddings']
  if (operationId === 'ai.toolCall') return ['tool', 'execute_tool']
  return OUTER[operationId] ?? ['unknown', '']
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * v5 reports Anthropic's and Bedrock's cache writes only in the provider metadata
 * (`{ anthropic: { cacheCreationInputTokens } }`, `{ bedrock: { usage: { cacheWriteInputTokens } } }`).
 * The attribute itself is kept; only the count is read.
 */
function cacheWriteFromMetadata(a: AttributeReader): Found | undefined {
  const text = attributeText(a.peek(VERCEL_AI.providerMetadata))
  if (!text.includes('cacheCreationInputTokens') && !text.includes('cacheWriteInputTokens')) return undefined
  const metadata = parseJson(text)
  if (!isRecord(metadata)) return undefined
  const anthropic = metadata.anthropic
  const bedrock = metadata.bedrock
  const value =
    (isRecord(anthropic) ? anthropic.cacheCreationInputTokens : undefined) ??
    (isRecord(bedrock) && isRecord(bedrock.usage) ? bedrock.usage.cacheWriteInputTokens : undefined)
  return typeof value === 'number' ? { value, keys: [] } : undefined
}

/** `ai.values` is an array of JSON texts (`["\"hello\""]`): one JSON array of the values. */
function embeddingInput(value: AttributeValue | undefined): string {
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    const joined = `[${value.join(',')}]`
    if (parseJson(joined) !== undefined) return joined
  }
  return contentText(value)
}

/**
 * Vercel AI SDK `ai.*` spans (v4–v6 `experimental_telemetry`). The inner `ai.*.doGenerate` /
 * `doStream` span is the model call (`llm`), `doEmbed` the embedding call, `ai.toolCall` a tool; the
 * outer `ai.generateText` / `ai.streamText` span is an `agent`, `generateObject` / `streamObject` /
 * `embed` / `embedMany` a `chain`: their usage totals the inner calls, so it is not counted again.
 * Provider ids such as `openai.chat` are normalized; usage reads v4 (`promptTokens`), v5
 * (`inputTokens`, `cachedInputTokens`, `reasoningTokens`) and v6 (`inputTokenDetails.*`) names;
 * `ai.response.msToFirstChunk` is already milliseconds.
 */
export function mapVercelAi(a: AttributeReader, span: OtlpSpan, dialect: Dialect): DialectFields {
  const operationId = a.peekText(VERCEL_AI.operationId) || span.name
  const [kind, operation] = classify(operationId)

  const provider = takeProvider(a, VERCEL_AI.modelProvider, GEN_AI.system)
  const requestModel = a.text(VERCEL_AI.modelId, GEN_AI.requestModel)
  const model = a.text(VERCEL_AI.responseModel, GEN_AI.responseModel) || requestModel

  // v6 breaks input down (noCache + cacheRead + cacheWrite = input): then the count is exact.
  const breakdown = a.find(VERCEL_AI.usageInputNoCache)
  const semantics: TokenSemantics = breakdown
    ? { input: 'inclusive', output: a.find(VERCEL_AI.usageOutputReasoning) ? 'inclusive' : 'auto' }
    : tokenSemantics(dialect, provider, model)
  const usage = usageReading(
    {
      input: a.find(
        VERCEL_AI.usageInputTokens,
        VERCEL_AI.usagePromptTokens,
        VERCEL_AI.usageTokens,
        GEN_AI.usageInputTokens,
        GEN_AI.usagePromptTokens,
      ),
      output: a.find(
        VERCEL_AI.usageOutputTokens,
        VERCEL_AI.usageCompletionTokens,
        GEN_AI.usageOutputTokens,
        GEN_AI.usageCompletionTokens,
      ),
      cacheRead: a.find(VERCEL_AI.usageInputCacheRead, VERCEL_AI.usageCachedInputTokens),
      cacheWrite: a.find(VERCEL_AI.usageInputCacheWrite) ?? cacheWriteFromMetadata(a),
      reasoning: a.find(VERCEL_AI.usageOutputReasoning, VERCEL_AI.usageReasoningTokens),
    },
    semantics,
  )

  const ttft = toMs(attributeNumber(a.take(VERCEL_AI.msToFirstChunk, VERCEL_AI.streamMsToFirstChunk)), 'ms')

  let input = ''
  let output = ''
  if (kind === 'tool') {
    input = contentText(a.take(VERCEL_AI.toolCallArgs, VERCEL_AI.toolCallInput))
    output = contentText(a.take(VERCEL_AI.toolCallResult, VERCEL_AI.toolCallOutput))
  } else if (kind === 'embedding' || operationId === 'ai.embed' || operationId === 'ai.embedMany') {
    input = embeddingInput(a.take(VERCEL_AI.values, VERCEL_AI.value))
  } else {
    const messages = contentText(a.take(VERCEL_AI.promptMessages))
    if (messages) input = aiSdkMessagesJson(messages)
    else {
      const prompt = contentText(a.take(VERCEL_AI.prompt))
      if (prompt) input = aiSdkPromptJson(prompt)
    }
    const text = contentText(a.find(VERCEL_AI.responseText)?.value)
    const reasoning = contentText(a.find(VERCEL_AI.responseReasoning)?.value)
    const toolCalls = contentText(a.find(VERCEL_AI.responseToolCalls)?.value)
    output = aiSdkOutputJson({
      text,
      reasoning,
      toolCalls,
      finishReason: a.peekText(VERCEL_AI.responseFinishReason),
    })
    if (output) a.consume([VERCEL_AI.responseText, VERCEL_AI.responseReasoning, VERCEL_AI.responseToolCalls])
    else {
      const object = contentText(a.take(VERCEL_AI.responseObject))
      if (object) output = JSON.stringify([{ role: 'assistant', parts: [textPart(object)] }])
    }
  }

  const metadata = (name: string) => `${VERCEL_AI.metadataPrefix}${name}`
  return {
    kind,
    operation,
    provider,
    model,
    requestModel: requestModel || model,
    usage,
    ttftMs: ttft,
    input,
    output,
    userKeys: [metadata('userId'), metadata('user_id')],
    sessionKeys: [metadata('sessionId'), metadata('session_id')],
    pricingNote: '',
  }
}
