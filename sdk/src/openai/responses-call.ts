import { GEN_AI, OPENAI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import {
  ApiCall,
  type AttributeSink,
  type CallStart,
  chatCallStart,
  streamErrorCode,
  writeChatRequest,
  writeInputContent,
} from './api-call'
import {
  responseFinishReason,
  responseOutputMessages,
  toResponsesInput,
  toResponsesToolDefinitions,
} from './responses-messages'

/** Responses usage, like Chat Completions: input includes cached tokens, output includes reasoning. */
function writeUsage(sink: AttributeSink, usage: unknown): void {
  const u = asRecord(usage)
  if (!u) return
  sink.put(GEN_AI.usageInputTokens, asNumber(u.input_tokens))
  sink.put(GEN_AI.usageOutputTokens, asNumber(u.output_tokens))
  sink.put(GEN_AI.usageCacheReadInputTokens, asNumber(asRecord(u.input_tokens_details)?.cached_tokens))
  sink.put(GEN_AI.usageReasoningOutputTokens, asNumber(asRecord(u.output_tokens_details)?.reasoning_tokens))
}

function conversationId(conversation: unknown): string | undefined {
  return asString(conversation) ?? asString(asRecord(conversation)?.id)
}

function writeRequest(sink: AttributeSink, start: CallStart): void {
  const params = start.params ?? {}
  writeChatRequest(sink, start, params)
  sink.put(OPENAI.apiType, 'responses')
  sink.put(GEN_AI.requestMaxTokens, asNumber(params.max_output_tokens))
  sink.put(GEN_AI.conversationId, conversationId(params.conversation))
}

function writeContent(sink: AttributeSink, params: UnknownRecord): void {
  const { system, input } = toResponsesInput(params.input, params.instructions)
  writeInputContent(sink, system, input, toResponsesToolDefinitions(params.tools))
}

/**
 * Rebuilds a streamed response from its events. The terminal event (`response.completed`,
 * `.incomplete`, `.failed`) carries the whole response and wins; until then, output items are
 * assembled from `output_item.added`/`.done` and the text and argument deltas, so a stream left
 * early still records what it delivered.
 */
class ResponseAccumulator {
  events = 0
  /** The latest response snapshot (`response.created`, then the terminal event's). */
  response: UnknownRecord | undefined
  terminal = false
  readonly #items = new Map<number, UnknownRecord>()

  #item(index: number): UnknownRecord {
    let item = this.#items.get(index)
    if (!item) {
      item = {}
      this.#items.set(index, item)
    }
    return item
  }

  #contentPart(event: UnknownRecord, type: string, field: string): UnknownRecord {
    const item = this.#item(asNumber(event.output_index) ?? 0)
    if (!Array.isArray(item.content)) item.content = []
    const content = item.content as unknown[]
    const index = asNumber(event.content_index) ?? 0
    let part = asRecord(content[index])
    if (!part) {
      part = { type, [field]: '' }
      content[index] = part
    }
    return part
  }

  #append(target: UnknownRecord, field: string, delta: unknown): void {
    if (typeof delta === 'string') target[field] = (asString(target[field]) ?? '') + delta
  }

  add(event: UnknownRecord): void {
    this.events += 1
    const type = asString(event.type) ?? ''
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
      case 'response.queued':
        if (!this.terminal && isRecord(event.response)) this.response = event.response
        break
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        if (isRecord(event.response)) this.response = event.response
        this.terminal = true
        break
      case 'response.output_item.added':
      case 'response.output_item.done':
        if (isRecord(event.item)) {
          const index = asNumber(event.output_index) ?? this.#items.size
          // `added` items arrive empty; keep text already streamed into them until `done` replaces it.
          this.#items.set(index, { ...this.#items.get(index), ...event.item })
        }
        break
      case 'response.content_part.added':
        if (isRecord(event.part)) {
          const item = this.#item(asNumber(event.output_index) ?? 0)
          if (!Array.isArray(item.content)) item.content = []
          ;(item.content as unknown[])[asNumber(event.content_index) ?? 0] = { ...event.part }
        }
        break
      case 'response.output_text.delta':
        this.#append(this.#contentPart(event, 'output_text', 'text'), 'text', event.delta)
        break
      case 'response.refusal.delta':
        this.#append(this.#contentPart(event, 'refusal', 'refusal'), 'refusal', event.delta)
        break
      case 'response.function_call_arguments.delta':
        this.#append(this.#item(asNumber(event.output_index) ?? 0), 'arguments', event.delta)
        break
      case 'response.custom_tool_call_input.delta':
        this.#append(this.#item(asNumber(event.output_index) ?? 0), 'input', event.delta)
        break
    }
  }

  /** The output items: the terminal response's, else the ones assembled from events. */
  output(): readonly unknown[] {
    if (this.terminal && Array.isArray(this.response?.output)) return this.response.output
    return [...this.#items.entries()].sort(([a], [b]) => a - b).map(([, item]) => item)
  }
}

/** One `responses.create` call (also behind `responses.stream()` and `responses.parse()`). */
export class ResponsesCall extends ApiCall {
  readonly #accumulator = new ResponseAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    super(hindsight, chatCallStart(params, provider, writeRequest, writeContent))
  }

  /** Starts the span as a child of the active context. May throw. */
  static start(hindsight: Hindsight, params: unknown, provider: string): ResponsesCall {
    return new ResponsesCall(hindsight, isRecord(params) ? params : {}, provider)
  }

  #recordResponse(response: UnknownRecord | undefined, output: readonly unknown[]): void {
    const finishReason = responseFinishReason(response, output)
    const sink = this.sink
    sink.put(GEN_AI.responseId, asString(response?.id))
    sink.put(GEN_AI.responseModel, asString(response?.model))
    if (finishReason) sink.put(GEN_AI.responseFinishReasons, [finishReason])
    writeUsage(sink, response?.usage)
    if (asString(response?.status) === 'failed') {
      const error = asRecord(response?.error)
      this.reportFailure(
        asString(error?.code) ?? 'response_failed',
        asString(error?.message) ?? 'The response failed',
      )
    }
    if (this.captureContent)
      this.putContent(GEN_AI.outputMessages, responseOutputMessages(output, finishReason))
  }

  protected recordResult(data: unknown): void {
    const response = asRecord(data)
    if (response) this.#recordResponse(response, asArray(response.output))
  }

  /**
   * openai v7 throws an `error` event mid-stream as a bare `APIError` without status; its `code`
   * (`server_error`) is what v5 and v6 report for the same event (see `recordChunk`).
   */
  protected override errorType(error: unknown): string {
    return streamErrorCode(error, (e) => asString(e.code)) ?? super.errorType(error)
  }

  protected recordChunk(chunk: unknown): void {
    if (!isRecord(chunk)) return
    const type = asString(chunk.type) ?? ''
    // Time to the first token: `response.created` arrives before the model has produced anything.
    if (type.endsWith('.delta')) this.markFirstChunk()
    if (type === 'error') {
      // openai v5 and v6 yield an `error` event as an item instead of throwing it.
      this.reportFailure(asString(chunk.code) ?? 'error', asString(chunk.message) ?? 'Stream error')
    }
    this.#accumulator.add(chunk)
  }

  protected recordStreamEnd(): void {
    const acc = this.#accumulator
    if (acc.events === 0) return
    this.#recordResponse(acc.response, acc.output())
  }
}
