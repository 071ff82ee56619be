import { type Context, context, SpanKind, trace } from '@opentelemetry/api'
import { GEN_AI } from '../attributes'
import type { Hindsight } from '../hindsight'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import { type LooseAttributes, SpanRecorder } from '../record-span'
import { completionOutputMessages, toInputMessages, toToolDefinitions } from './messages'
import { observeIterator, StreamAccumulator, type StreamEnd, type StreamObserver } from './stream'

type AnyObject = Record<PropertyKey, unknown>

/** The parts of openai's `APIPromise` we rely on; both have existed since openai v4. */
interface APIPromiseLike {
  _thenUnwrap(transform: (data: unknown) => unknown): unknown
  asResponse(): PromiseLike<unknown>
}

function isAPIPromiseLike(value: unknown): value is APIPromiseLike {
  return isRecord(value) && typeof value._thenUnwrap === 'function' && typeof value.asResponse === 'function'
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return isRecord(value) && typeof value.then === 'function'
}

function isAsyncIterable(value: unknown): value is AnyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, Symbol.asyncIterator) === 'function'
  )
}

function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop]
  const list = asArray(stop).filter((item): item is string => typeof item === 'string')
  return list.length > 0 ? list : undefined
}

/** OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens, as the conventions do. */
function usageAttributes(usage: unknown): LooseAttributes {
  const u = asRecord(usage)
  if (!u) return {}
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

function contentAttributes(params: UnknownRecord): LooseAttributes {
  const { system, input } = toInputMessages(params.messages)
  const tools = toToolDefinitions(params.tools)
  return {
    [GEN_AI.inputMessages]: JSON.stringify(input),
    [GEN_AI.systemInstructions]: system.length > 0 ? JSON.stringify(system) : undefined,
    [GEN_AI.toolDefinitions]: tools.length > 0 ? JSON.stringify(tools) : undefined,
  }
}

/**
 * One `chat.completions.create` call: its span, and the observation of its result (a completion,
 * a stream, or an error). Every method swallows its own failures: telemetry must never change
 * what the caller gets back.
 */
export class ChatCall {
  readonly context: Context
  readonly #hindsight: Hindsight
  readonly #recorder: SpanRecorder
  readonly #streamRequested: boolean
  readonly #startedAt = performance.now()
  readonly #accumulator = new StreamAccumulator()

  private constructor(hindsight: Hindsight, params: UnknownRecord, provider: string, parent: Context) {
    this.#hindsight = hindsight
    this.#streamRequested = params.stream === true
    const model = asString(params.model)
    const attributes = requestAttributes(params, provider, this.#streamRequested)
    if (hindsight.captureContent) Object.assign(attributes, contentAttributes(params))
    const span = hindsight
      .getTracer()
      .startSpan(model ? `chat ${model}` : 'chat', { kind: SpanKind.CLIENT }, parent)
    this.#recorder = new SpanRecorder(span)
    this.#recorder.set(attributes)
    this.context = trace.setSpan(parent, span)
  }

  /** Starts the span as a child of the active context (a user's own span, if any). May throw. */
  static start(hindsight: Hindsight, params: unknown, provider: string): ChatCall {
    return new ChatCall(hindsight, isRecord(params) ? params : {}, provider, context.active())
  }

  /**
   * Attaches to what `create` returned and gives back what the caller should get. For openai's
   * APIPromise that is a sibling APIPromise (same request, `withResponse()`/`asResponse()` kept,
   * parsed lazily as before); for other thenables the original object itself.
   */
  observe(result: unknown): unknown {
    try {
      if (isAPIPromiseLike(result)) {
        // `asResponse()` waits for the HTTP response without reading the body, so it reports
        // request failures (the same error object the caller gets) without consuming anything.
        result.asResponse().then(undefined, (error: unknown) => this.fail(error))
        return result._thenUnwrap((data) => this.#onResult(data))
      }
      if (isThenable(result)) {
        result.then(
          (data) => this.#onResult(data),
          (error: unknown) => this.fail(error),
        )
        return result
      }
      return this.#onResult(result)
    } catch {
      this.#internalError()
      return result
    }
  }

  /** Records a failed call: exception event, status ERROR and `error.type`, then ends the span. */
  fail(error: unknown): void {
    try {
      this.#recorder.fail(error)
    } catch {
      this.#internalError()
    }
  }

  #internalError(): void {
    this.#hindsight.recordInternalError()
    try {
      this.#recorder.end()
    } catch {
      // The span is lost; nothing more can be done without risking the caller.
    }
  }

  #onResult(data: unknown): unknown {
    try {
      if (this.#streamRequested && isAsyncIterable(data)) {
        this.#instrumentStream(data)
      } else {
        this.#recordCompletion(data)
        this.#recorder.end()
      }
    } catch {
      this.#internalError()
    }
    return data
  }

  #recordCompletion(data: unknown): void {
    const completion = asRecord(data)
    if (!completion) return
    const finishReasons = asArray(completion.choices).flatMap((choice) => {
      const reason = isRecord(choice) ? asString(choice.finish_reason) : undefined
      return reason ? [reason] : []
    })
    this.#recorder.set({
      [GEN_AI.responseId]: asString(completion.id),
      [GEN_AI.responseModel]: asString(completion.model),
      [GEN_AI.responseFinishReasons]: finishReasons,
      ...usageAttributes(completion.usage),
    })
    if (this.#hindsight.captureContent) {
      this.#recorder.set({
        [GEN_AI.outputMessages]: JSON.stringify(completionOutputMessages(completion.choices)),
      })
    }
  }

  /**
   * Wraps the stream's iterator in place so the caller keeps the very same `Stream` object (with
   * `controller`, `tee()`, `toReadableStream()`). openai's `Stream` keeps its source in an
   * `iterator` property that `Symbol.asyncIterator`, `tee()` and `toReadableStream()` all go
   * through, so wrapping it covers every way of reading; other async iterables get their
   * `Symbol.asyncIterator` wrapped.
   */
  #instrumentStream(stream: AnyObject): void {
    const observer: StreamObserver = {
      chunk: (value) => this.#onChunk(value),
      end: (how) => this.#onStreamEnd(how),
    }
    const key: PropertyKey = typeof stream.iterator === 'function' ? 'iterator' : Symbol.asyncIterator
    const original = stream[key]
    if (typeof original !== 'function') return
    stream[key] = function observedIterator(this: unknown, ...args: unknown[]) {
      const inner: unknown = original.apply(this, args)
      if (!isRecord(inner) || typeof inner.next !== 'function') return inner
      return observeIterator(inner as unknown as AsyncIterator<unknown>, observer)
    }
  }

  #onChunk(chunk: unknown): void {
    try {
      if (this.#accumulator.chunks === 0) {
        this.#recorder.set({
          [GEN_AI.responseTimeToFirstChunk]: (performance.now() - this.#startedAt) / 1000,
        })
      }
      this.#accumulator.add(chunk)
    } catch {
      this.#hindsight.recordInternalError()
    }
  }

  /** Ends the span with whatever the stream delivered, whether it completed, broke off or failed. */
  #onStreamEnd(how: StreamEnd): void {
    try {
      const acc = this.#accumulator
      this.#recorder.set({
        [GEN_AI.responseId]: acc.id,
        [GEN_AI.responseModel]: acc.model,
        [GEN_AI.responseFinishReasons]: acc.finishReasons(),
        ...usageAttributes(acc.usage),
      })
      if (this.#hindsight.captureContent && acc.chunks > 0) {
        this.#recorder.set({ [GEN_AI.outputMessages]: JSON.stringify(acc.outputMessages()) })
      }
    } catch {
      this.#hindsight.recordInternalError()
    }
    if (how.kind === 'failed') this.fail(how.error)
    else this.#recorder.end()
  }
}
