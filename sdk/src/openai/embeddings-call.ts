import { GEN_AI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import type { LooseAttributes } from '../record-span'
import { ApiCall } from './api-call'
import type { GenAIMessage } from './messages'

function requestAttributes(params: UnknownRecord, provider: string): LooseAttributes {
  const format = asString(params.encoding_format)
  return {
    [GEN_AI.operationName]: 'embeddings',
    [GEN_AI.providerName]: provider,
    [GEN_AI.requestModel]: asString(params.model),
    [GEN_AI.requestEncodingFormats]: format ? [format] : undefined,
    [GEN_AI.embeddingsDimensionCount]: asNumber(params.dimensions),
  }
}

/** The texts to embed, as one user message with a text part per input; token-id inputs have no text to show. */
function inputMessages(input: unknown): GenAIMessage[] | undefined {
  const texts =
    typeof input === 'string' ? [input] : asArray(input).filter((item) => typeof item === 'string')
  if (texts.length === 0) return undefined
  return [{ role: 'user', parts: texts.map((content) => ({ type: 'text', content: String(content) })) }]
}

/** One `embeddings.create` call: an `embeddings {model}` span with the input token count. */
function embeddingsContent(params: UnknownRecord): Record<string, unknown> {
  return { [GEN_AI.inputMessages]: inputMessages(params.input) }
}

export class EmbeddingsCall extends ApiCall {
  readonly #dimensionsRequested: boolean

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    const model = asString(params.model)
    super(hindsight, {
      spanName: model ? `embeddings ${model}` : 'embeddings',
      attributes: requestAttributes(params, provider),
      stream: false,
      params,
      content: embeddingsContent,
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
    this.set({
      [GEN_AI.responseModel]: asString(response.model),
      [GEN_AI.usageInputTokens]: asNumber(usage?.prompt_tokens),
      // The vector length, when the caller did not ask for one (base64 vectors are left uncounted).
      [GEN_AI.embeddingsDimensionCount]:
        !this.#dimensionsRequested && Array.isArray(first?.embedding) ? first.embedding.length : undefined,
    })
  }

  protected recordChunk(): void {}

  protected recordStreamEnd(): void {}
}
