import { GEN_AI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import { ApiCall, chatCallStart, inputContent, streamErrorCode } from '../openai/api-call'
import { stopSequences } from '../openai/chat-call'
import type { LooseAttributes } from '../record-span'
import {
  MessageAccumulator,
  outputMessages,
  toInputMessages,
  toToolDefinitions,
  usageAttributes,
} from './messages'

function requestAttributes(params: UnknownRecord, provider: string, stream: boolean): LooseAttributes {
  return {
    [GEN_AI.operationName]: 'chat',
    [GEN_AI.providerName]: provider,
    [GEN_AI.requestModel]: asString(params.model),
    [GEN_AI.requestMaxTokens]: asNumber(params.max_tokens),
    [GEN_AI.requestTemperature]: asNumber(params.temperature),
    [GEN_AI.requestTopP]: asNumber(params.top_p),
    [GEN_AI.requestTopK]: asNumber(params.top_k),
    [GEN_AI.requestStopSequences]: stopSequences(params.stop_sequences),
    [GEN_AI.requestStream]: stream,
  }
}

function contentAttributes(params: UnknownRecord): Record<string, unknown> {
  const { system, input } = toInputMessages(params.system, params.messages)
  const tools = toToolDefinitions(params.tools)
  return inputContent(system, input, tools)
}

/** One `messages.create` call (also behind `messages.stream()` and `messages.parse()`). */
export class MessagesCall extends ApiCall {
  readonly #accumulator = new MessageAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    super(hindsight, chatCallStart(params, provider, requestAttributes, contentAttributes))
  }

  /** Starts the span as a child of the active context. May throw. */
  static start(hindsight: Hindsight, params: unknown, provider: string): MessagesCall {
    return new MessagesCall(hindsight, isRecord(params) ? params : {}, provider)
  }

  #record(
    id: string | undefined,
    model: string | undefined,
    stopReason: string | undefined,
    usage: unknown,
    content: unknown,
  ): void {
    this.set({
      [GEN_AI.responseId]: id,
      [GEN_AI.responseModel]: model,
      [GEN_AI.responseFinishReasons]: stopReason ? [stopReason] : undefined,
      ...usageAttributes(usage),
    })
    if (this.captureContent) this.setContent({ [GEN_AI.outputMessages]: outputMessages(content, stopReason) })
  }

  protected recordResult(data: unknown): void {
    const message = asRecord(data)
    if (!message) return
    this.#record(
      asString(message.id),
      asString(message.model),
      asString(message.stop_reason),
      message.usage,
      message.content,
    )
  }

  /**
   * An error event mid-stream reaches the caller as a bare `APIError` without status; its Anthropic
   * error type (`overloaded_error`, `api_error`) says more than the class name.
   */
  protected override errorType(error: unknown): string {
    const type = streamErrorCode(
      error,
      (e) => asString(e.type) ?? asString(asRecord(asRecord(e.error)?.error)?.type),
    )
    return type ?? super.errorType(error)
  }

  protected recordChunk(chunk: unknown): void {
    // Time to the first token: `message_start` arrives before the model has produced anything.
    if (isRecord(chunk) && chunk.type === 'content_block_delta') this.markFirstChunk()
    this.#accumulator.add(chunk)
  }

  protected recordStreamEnd(): void {
    const acc = this.#accumulator
    if (acc.events === 0) return
    this.#record(acc.id, acc.model, acc.stopReason, acc.finalUsage(), acc.content())
  }
}
