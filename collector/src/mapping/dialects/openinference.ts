import { COMMON, type Dialect, OPENINFERENCE, type SpanKind } from '../../conventions'
import type { OtlpSpan } from '../../otlp/types'
import type { AttributeReader } from '../attribute-reader'
import { attributeText } from '../attribute-values'
import { contentText, messagesJson, openInferenceMessages } from '../content'
import { openInferenceProvider } from '../providers'
import { tokenSemantics } from '../tokens'
import { type DialectFields, usageReading } from './types'

/** `openinference.span.kind` → canonical kind and GenAI operation name. */
const KINDS: Readonly<Record<string, readonly [SpanKind, string]>> = {
  LLM: ['llm', 'chat'],
  EMBEDDING: ['embedding', 'embeddings'],
  RETRIEVER: ['retrieval', 'retrieval'],
  RERANKER: ['retrieval', 'rerank'],
  TOOL: ['tool', 'execute_tool'],
  AGENT: ['agent', 'invoke_agent'],
  CHAIN: ['chain', ''],
  PROMPT: ['chain', ''],
  GUARDRAIL: ['guardrail', ''],
}

/**
 * OpenInference (Arize Phoenix instrumentations): kind from `openinference.span.kind` (EVALUATOR
 * and unknown values stay `unknown`, the attribute kept), model from `llm.model_name` (or the
 * embedding/reranker model), provider from the host `llm.provider` else the vendor `llm.system`,
 * `llm.token_count.*` with prompt/completion details, flattened `llm.input_messages.N.message.*`
 * rebuilt into canonical messages (else `input.value`), likewise output.
 */
export function mapOpenInference(a: AttributeReader, _span: OtlpSpan, dialect: Dialect): DialectFields {
  const rawKind = a.peekText(OPENINFERENCE.spanKind)
  const known = KINDS[rawKind.toUpperCase()]
  if (known) a.consume([OPENINFERENCE.spanKind])

  const hostFound = a.find(OPENINFERENCE.provider)
  const vendorFound = a.find(OPENINFERENCE.system)
  const host = attributeText(hostFound?.value).trim()
  const vendor = attributeText(vendorFound?.value).trim()
  const provider = openInferenceProvider(host, vendor)
  // Keep whichever spelling the canonical name does not reproduce (e.g. `aws` → aws.bedrock).
  if (hostFound && provider === host) a.consume(hostFound.keys)
  if (vendorFound && provider === vendor) a.consume(vendorFound.keys)

  const requestModel = a.text(OPENINFERENCE.requestModelName, OPENINFERENCE.modelName)
  const model =
    a.text(
      OPENINFERENCE.responseModelName,
      OPENINFERENCE.modelName,
      OPENINFERENCE.embeddingModelName,
      OPENINFERENCE.rerankerModelName,
    ) || requestModel

  const usage = usageReading(
    {
      input: a.find(OPENINFERENCE.tokenPrompt),
      output: a.find(OPENINFERENCE.tokenCompletion),
      cacheRead: a.find(OPENINFERENCE.tokenCacheRead),
      cacheWrite: a.find(OPENINFERENCE.tokenCacheWrite),
      reasoning: a.find(OPENINFERENCE.tokenReasoning),
    },
    tokenSemantics(dialect, provider, model),
  )
  const kind: SpanKind = known ? known[0] : usage && model ? 'llm' : 'unknown'

  const inputMessages = a.takePrefixed(OPENINFERENCE.inputMessagesPrefix)
  let input = inputMessages.length > 0 ? messagesJson(openInferenceMessages(inputMessages)) : ''
  if (!input) input = contentText(a.take(OPENINFERENCE.inputValue))
  const outputMessages = a.takePrefixed(OPENINFERENCE.outputMessagesPrefix)
  let output = outputMessages.length > 0 ? messagesJson(openInferenceMessages(outputMessages)) : ''
  if (!output) output = contentText(a.take(OPENINFERENCE.outputValue))

  return {
    kind,
    operation: known ? known[1] : '',
    provider,
    model,
    requestModel: requestModel || model,
    usage,
    ttftMs: null,
    input,
    output,
    userKeys: [COMMON.userId],
    sessionKeys: [COMMON.sessionId],
    pricingNote: '',
  }
}
