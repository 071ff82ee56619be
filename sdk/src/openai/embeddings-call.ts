import { GEN_AI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import { ApiCall, type AttributeSink, type CallStart } from './api-call'
import type { GenAIMessage } from './messages'

// The attributes are written one by one, not gathered in an object first: see `SpanRecorder.put`.
function writeRequest(sink: AttributeSink, start: CallStart): void {
  const params = start.params ?? {}
  const format = asString(params.encoding_format)
  sink.put(GEN_AI.operationName, 'embeddings')
  sink.put(GEN_AI.providerName, start.provider)
  sink.put(GEN_AI.requestModel, asString(params.model))
  if (format) sink.put(GEN_AI.requestEncodingFormats, [format])
  sink.put(GEN_AI.embeddingsDimensionCount, asNumber(params.dimensions))
}

/** The texts to embed, as one user message with a text part per input; token-id inputs have no text to show. */
function inputMessages(input: unknown): GenAIMessage[] | undefined {
  const texts =
    typeof input === 'string' ? [input] : asArray(input).filter((item) => typeof item === 'string')
  if (texts.length === 0) return undefined
  return [{ role: 'user', parts: texts.map((content) => ({ type: 'text', content: String(content) })) }]
}

function writeContent(sink: AttributeSink, params: UnknownRecord): void {
  sink.setJson(GEN_AI.inputMessages, inputMessages(params.input))
}

/** One `embeddings.create` call: an `embeddings {model}` span with the input token count. */
export class EmbeddingsCall extends ApiCall {
  readonly #dimensionsRequested: boolean

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    const model = asString(params.model)
    super(hindsight, {
      spanName: model ? `embeddings ${model}` : 'embeddings',
      writeAttributes: writeRequest,
      provider,
      stream: false,
      params,
      writeContent,
    })
    this.#dimensionsRequested = asNumber(params.dimensions) !== undefined
  }

  /** Starts the span as a child of the active context. May throw. */
  static start(hindsight: Hindsight, params: unknown, provider: string): EmbeddingsCall {
    return new EmbeddingsCall(hindsight, isRecord(params) ? params : {}, provider)
  }

  protected recordResult(data: unknown): void {
    const response = asRecord(data)
    if (!response) return
    const usage = asRecord(response.usage)
    const first = asRecord(asArray(response.data)[0])
    const sink = this.sink
    sink.put(GEN_AI.responseModel, asString(response.model))
    sink.put(GEN_AI.usageInputTokens, asNumber(usage?.prompt_tokens))
    // The vector length, when the caller did not ask for one (base64 vectors are left uncounted).
    if (!this.#dimensionsRequested && Array.isArray(first?.embedding))
      sink.put(GEN_AI.embeddingsDimensionCount, first.embedding.length)
  }

  protected recordChunk(): void {}

  protected recordStreamEnd(): void {}
}
