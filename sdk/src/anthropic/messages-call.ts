import { GEN_AI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import {
  ApiCall,
  type AttributeSink,
  type CallStart,
  chatCallStart,
  streamErrorCode,
  writeChatRequest,
  writeInputContent,
} from '../openai/api-call'
import { stopSequences } from '../openai/chat-call'
import {
  MessageAccumulator,
  outputMessages,
  toInputMessages,
  toToolDefinitions,
  writeUsage,
} from './messages'

function writeRequest(sink: AttributeSink, start: CallStart): void {
  const params = start.params ?? {}
  writeChatRequest(sink, start, params)
  sink.put(GEN_AI.requestMaxTokens, asNumber(params.max_tokens))
  sink.put(GEN_AI.requestTopK, asNumber(params.top_k))
  if (params.stop_sequences !== undefined)
    sink.put(GEN_AI.requestStopSequences, stopSequences(params.stop_sequences))
}

function writeContent(sink: AttributeSink, params: UnknownRecord): void {
  const { system, input } = toInputMessages(params.system, params.messages)
  writeInputContent(sink, system, input, toToolDefinitions(params.tools))
}

/** One `messages.create` call (also behind `messages.stream()` and `messages.parse()`). */
export class MessagesCall extends ApiCall {
  readonly #accumulator = new MessageAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    super(hindsight, chatCallStart(params, provider, writeRequest, writeContent))
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
    const sink = this.sink
    sink.put(GEN_AI.responseId, id)
    sink.put(GEN_AI.responseModel, model)
    if (stopReason) sink.put(GEN_AI.responseFinishReasons, [stopReason])
    writeUsage(sink, usage)
    if (this.captureContent) this.putContent(GEN_AI.outputMessages, outputMessages(content, stopReason))
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
