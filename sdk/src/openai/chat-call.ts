import { GEN_AI, OPENAI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import {
  ApiCall,
  type AttributeSink,
  type CallStart,
  chatCallStart,
  writeChatRequest,
  writeInputContent,
} from './api-call'
import { completionOutputMessages, toInputMessages, toToolDefinitions } from './messages'
import { StreamAccumulator } from './stream'

export function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop]
  const list = asArray(stop).filter((item): item is string => typeof item === 'string')
  return list.length > 0 ? list : undefined
}

/** OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens, as the conventions do. */
function writeUsage(sink: AttributeSink, usage: unknown): void {
  const u = asRecord(usage)
  if (!u) return
  sink.put(GEN_AI.usageInputTokens, asNumber(u.prompt_tokens))
  sink.put(GEN_AI.usageOutputTokens, asNumber(u.completion_tokens))
  sink.put(GEN_AI.usageCacheReadInputTokens, asNumber(asRecord(u.prompt_tokens_details)?.cached_tokens))
  sink.put(
    GEN_AI.usageReasoningOutputTokens,
    asNumber(asRecord(u.completion_tokens_details)?.reasoning_tokens),
  )
}

// The attributes are written one by one, not gathered in an object first: see `SpanRecorder.put`.
function writeRequest(sink: AttributeSink, start: CallStart): void {
  const params = start.params ?? {}
  writeChatRequest(sink, start, params)
  sink.put(OPENAI.apiType, 'chat_completions')
  sink.put(GEN_AI.requestMaxTokens, asNumber(params.max_completion_tokens) ?? asNumber(params.max_tokens))
  sink.put(GEN_AI.requestFrequencyPenalty, asNumber(params.frequency_penalty))
  sink.put(GEN_AI.requestPresencePenalty, asNumber(params.presence_penalty))
  if (params.stop !== undefined) sink.put(GEN_AI.requestStopSequences, stopSequences(params.stop))
  sink.put(GEN_AI.requestSeed, asNumber(params.seed))
}

function writeContent(sink: AttributeSink, params: UnknownRecord): void {
  const { system, input } = toInputMessages(params.messages)
  writeInputContent(sink, system, input, toToolDefinitions(params.tools))
}

/** One `chat.completions.create` call: its span, and the observation of its completion or stream. */
export class ChatCall extends ApiCall {
  readonly #accumulator = new StreamAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string) {
    super(hindsight, chatCallStart(params, provider, writeRequest, writeContent))
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
    const sink = this.sink
    sink.put(GEN_AI.responseId, asString(completion.id))
    sink.put(GEN_AI.responseModel, asString(completion.model))
    sink.put(GEN_AI.responseFinishReasons, finishReasons)
    writeUsage(sink, completion.usage)
    if (this.captureContent)
      this.putContent(GEN_AI.outputMessages, completionOutputMessages(completion.choices))
  }

  protected recordChunk(chunk: unknown): void {
    // Time to the first chunk of any kind: OpenAI sends the role chunk with the first token.
    this.markFirstChunk()
    this.#accumulator.add(chunk)
  }

  protected recordStreamEnd(): void {
    const acc = this.#accumulator
    const sink = this.sink
    sink.put(GEN_AI.responseId, acc.id)
    sink.put(GEN_AI.responseModel, acc.model)
    sink.put(GEN_AI.responseFinishReasons, acc.finishReasons())
    writeUsage(sink, acc.usage)
    if (this.captureContent && acc.chunks > 0) this.putContent(GEN_AI.outputMessages, acc.outputMessages())
  }
}
