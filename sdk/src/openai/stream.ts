import { asArray, asNumber, asRecord, asString, isRecord } from '../narrow'
import { type GenAIMessage, streamedOutputMessage, type ToolCallState } from './messages'

interface ChoiceState {
  role: string
  content: string
  refusal: string
  /** Keyed by the delta's `index`, which is how OpenAI ties argument fragments to their call. */
  toolCalls: Map<number, ToolCallState>
  finishReason: string | undefined
}

/** Rebuilds a streamed completion from its chunks: ids, text, tool calls, finish reasons and usage. */
export class StreamAccumulator {
  id: string | undefined
  model: string | undefined
  usage: unknown
  chunks = 0
  readonly #choices = new Map<number, ChoiceState>()

  #choice(index: number): ChoiceState {
    let state = this.#choices.get(index)
    if (!state) {
      state = { role: 'assistant', content: '', refusal: '', toolCalls: new Map(), finishReason: undefined }
      this.#choices.set(index, state)
    }
    return state
  }

  add(chunk: unknown): void {
    this.chunks += 1
    if (!isRecord(chunk)) return
    this.id ??= asString(chunk.id)
    this.model ??= asString(chunk.model)
    if (isRecord(chunk.usage)) this.usage = chunk.usage
    for (const rawChoice of asArray(chunk.choices)) {
      if (!isRecord(rawChoice)) continue
      const state = this.#choice(asNumber(rawChoice.index) ?? 0)
      const delta = asRecord(rawChoice.delta)
      if (delta) {
        const role = asString(delta.role)
        if (role) state.role = role
        const content = asString(delta.content)
        if (content) state.content += content
        const refusal = asString(delta.refusal)
        if (refusal) state.refusal += refusal
        for (const rawCall of asArray(delta.tool_calls)) {
          if (!isRecord(rawCall)) continue
          const callIndex = asNumber(rawCall.index) ?? state.toolCalls.size
          let call = state.toolCalls.get(callIndex)
          if (!call) {
            call = { name: '', arguments: '' }
            state.toolCalls.set(callIndex, call)
          }
          const id = asString(rawCall.id)
          if (id) call.id = id
          const fn = asRecord(rawCall.function)
          const name = asString(fn?.name)
          if (name) call.name += name
          const args = asString(fn?.arguments)
          if (args) call.arguments += args
        }
      }
      const finishReason = asString(rawChoice.finish_reason)
      if (finishReason) state.finishReason = finishReason
    }
  }

  #sortedChoices(): ChoiceState[] {
    return [...this.#choices.entries()].sort(([a], [b]) => a - b).map(([, state]) => state)
  }

  finishReasons(): string[] {
    return this.#sortedChoices().flatMap((choice) => (choice.finishReason ? [choice.finishReason] : []))
  }

  outputMessages(): GenAIMessage[] {
    return this.#sortedChoices().map((choice) =>
      streamedOutputMessage({
        role: choice.role,
        content: choice.content,
        refusal: choice.refusal,
        toolCalls: [...choice.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call),
        finishReason: choice.finishReason,
      }),
    )
  }
}

/** How a stream's iteration ended, as seen by {@link observeIterator}. */
export type StreamEnd = { kind: 'completed' } | { kind: 'returned' } | { kind: 'failed'; error: unknown }

export interface StreamObserver {
  streamChunk(value: unknown): void
  streamEnd(how: StreamEnd): void
}

/**
 * Wraps an async iterator so every chunk is seen and the end is reported exactly once: when the
 * source is exhausted, throws, or the consumer stops early (`break` calls `return()`). Values and
 * errors pass through untouched; the observer must not throw.
 */
export function observeIterator<T>(
  inner: AsyncIterator<T>,
  observer: StreamObserver,
): AsyncIterableIterator<T> {
  let finished = false
  const finish = (how: StreamEnd) => {
    if (finished) return
    finished = true
    observer.streamEnd(how)
  }
  // One pair of callbacks per stream, registered on the source's own promise, and that very promise
  // is what the caller gets: our reaction was registered first, so it sees each chunk before the
  // caller does, without a promise of ours in the caller's path (no extra hop per chunk). The
  // reactions never throw, so the promise `then` derives can never be an unhandled rejection.
  const onResult = (result: IteratorResult<T>): void => {
    try {
      if (result.done) finish({ kind: 'completed' })
      else if (!finished) observer.streamChunk(result.value)
    } catch {
      // The observer must not throw; if it does, the caller's stream is unaffected.
    }
  }
  const onError = (error: unknown): void => {
    try {
      finish({ kind: 'failed', error })
    } catch {
      // As above.
    }
  }
  const iterator: AsyncIterableIterator<T> = {
    next(value?: undefined): Promise<IteratorResult<T>> {
      let pending: Promise<IteratorResult<T>>
      try {
        // `for await` calls next() without an argument (no rest array per chunk then).
        const result = value === undefined ? inner.next() : inner.next(value)
        pending = result instanceof Promise ? result : Promise.resolve(result)
      } catch (error) {
        finish({ kind: 'failed', error })
        return Promise.reject(error)
      }
      pending.then(onResult, onError)
      return pending
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      finish({ kind: 'returned' })
      if (typeof inner.return === 'function') return inner.return(value)
      return { done: true, value: undefined }
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish({ kind: 'failed', error })
      if (typeof inner.throw === 'function') return inner.throw(error)
      throw error
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }
  return iterator
}
