import { GEN_AI, OPENAI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import type { LooseAttributes } from '../record-span'
import { ApiCall, chatCallStart, inputContent } from './api-call'
import { completionOutputMessages, toInputMessages, toToolDefinitions } from './messages'
import { StreamAccumulator } from './stream'

export function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop]
  const list = asArray(stop).filter((item): item is string => typeof item === 'string')
  return list.length > 0 ? list : undefined
}

const NO_ATTRIBUTES: LooseAttributes = Object.freeze({})

/** OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens, as the conventions do. */
function usageAttributes(usage: unknown): LooseAttributes {
  const u = asRecord(usage)
  if (!u) return NO_ATTRIBUTES
  return {
    [GEN_AI.usageInputTokens]: asNumber(u.prompt_tokens),
    [GEN_AI.usageOutputTokens]: asNumber(u.completion_tokens),
    [GEN_AI.usageCacheReadInputTokens]: asNumber(asRecord(u.prompt_tokens_details)?.cached_tokens),
    [GEN_AI.usageReasoningOutputTokens]: asNumber(asRecord(u.completion_tokens_details)?.reasoning_tokens),
  }
}

function requestAttributes(params: UnknownRecord, provider: string, stream: boolean): LooseAttributes {
  return {
    [GEN_AI.operationName]: 'chat',
    [GEN_AI.providerName]: provider,
    [OPENAI.apiType]: 'chat_completions',
    [GEN_AI.requestModel]: asString(params.model),
    [GEN_AI.requestTemperature]: asNumber(params.temperature),
    [GEN_AI.requestTopP]: asNumber(params.top_p),
    [GEN_AI.requestMaxTokens]: asNumber(params.max_completion_tokens) ?? asNumber(params.max_tokens),
    [GEN_AI.requestFrequencyPenalty]: asNumber(params.frequency_penalty),
    [GEN_AI.requestPresencePenalty]: asNumber(params.presence_penalty),
    [GEN_AI.requestStopSequences]: stopSequences(params.stop),
    [GEN_AI.requestSeed]: asNumber(params.seed),
    [GEN_AI.requestStream]: stream,
  }
}

function contentAttributes(params: UnknownRecord): Record<string, unknown> {
  const { system, input } = toInputMessages(params.messages)
  const tools = toToolDefinitions(params.tools)
  return inputContent(system, input, tools)
}

/** One `chat.completions.create` call: its span, and the observation of its completion or stream. */
export class ChatCall extends ApiCall {
  readonly #accumulator = new StreamAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    super(hindsight, chatCallStart(params, provider, requestAttributes, contentAttributes))
  }

  /** Starts the span as a child of the active context (a user's own span, if any). May throw. */
  static start(hindsight: Hindsight, params: unknown, provider: string): ChatCall {
    return new ChatCall(hindsight, isRecord(params) ? params : {}, provider)
  }

  protected recordResult(data: unknown): void {
    const completion = asRecord(data)
    if (!completion) return
    const finishReasons: string[] = []
    for (const choice of asArray(completion.choices)) {
      const reason = isRecord(choice) ? asString(choice.finish_reason) : undefined
      if (reason) finishReasons.push(reason)
    }
    this.set({
      [GEN_AI.responseId]: asString(completion.id),
      [GEN_AI.responseModel]: asString(completion.model),
      [GEN_AI.responseFinishReasons]: finishReasons,
    })
    this.set(usageAttributes(completion.usage))
    if (this.captureContent) {
      this.setContent({ [GEN_AI.outputMessages]: completionOutputMessages(completion.choices) })
    }
  }

  protected recordChunk(chunk: unknown): void {
    // Time to the first chunk of any kind: OpenAI sends the role chunk with the first token.
    this.markFirstChunk()
    this.#accumulator.add(chunk)
  }

  protected recordStreamEnd(): void {
    const acc = this.#accumulator
    this.set({
      [GEN_AI.responseId]: acc.id,
      [GEN_AI.responseModel]: acc.model,
      [GEN_AI.responseFinishReasons]: acc.finishReasons(),
    })
    this.set(usageAttributes(acc.usage))
    if (this.captureContent && acc.chunks > 0) {
      this.setContent({ [GEN_AI.outputMessages]: acc.outputMessages() })
    }
  }
}
