import { asNumber, asRecord, asString, isRecord } from '../narrow'
import { type GenAIMessage, streamedOutputMessage, type ToolCallState } from './messages'

interface ChoiceState {
  role: string
  content: string
  refusal: string
  /**
   * Keyed by the delta's `index`, which is how OpenAI ties argument fragments to their call;
   * created with the first tool call (most streams have none).
   */
  toolCalls: Map<number, ToolCallState> | undefined
  finishReason: string | undefined
}

function newChoice(): ChoiceState {
  return { role: 'assistant', content: '', refusal: '', toolCalls: undefined, finishReason: undefined }
}

function byIndex<T>(map: Map<number, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => a - b).map(([, value]) => value)
}

/**
 * Rebuilds a streamed completion from its chunks: ids, text, tool calls, finish reasons and usage.
 * It runs once per chunk, so the common case is kept cheap: choice 0 has its own field (the map
 * holds only other choices, for `n > 1`), and a delta without tool calls touches no map.
 */
export class StreamAccumulator {
  id: string | undefined
  model: string | undefined
  usage: unknown
  chunks = 0
  /** Choice 0, the only one unless the request asked for `n > 1`. */
  #first: ChoiceState | undefined
  /** Choices other than 0, by index. */
  #others: Map<number, ChoiceState> | undefined

  #choice(index: number): ChoiceState {
    if (index === 0) {
      this.#first ??= newChoice()
      return this.#first
    }
    this.#others ??= new Map()
    let state = this.#others.get(index)
    if (!state) {
      state = newChoice()
      this.#others.set(index, state)
    }
    return state
  }

  add(chunk: unknown): void {
    this.chunks += 1
    if (!isRecord(chunk)) return
    if (this.id === undefined && typeof chunk.id === 'string') this.id = chunk.id
    if (this.model === undefined && typeof chunk.model === 'string') this.model = chunk.model
    const usage = chunk.usage
    if (isRecord(usage)) this.usage = usage
    const choices = chunk.choices
    if (!Array.isArray(choices)) return
    for (let c = 0; c < choices.length; c++) {
      const rawChoice: unknown = choices[c]
      if (!isRecord(rawChoice)) continue
      const state = this.#choice(asNumber(rawChoice.index) ?? 0)
      const delta = rawChoice.delta
      if (isRecord(delta)) {
        const role = delta.role
        if (typeof role === 'string' && role) state.role = role
        const content = delta.content
        if (typeof content === 'string' && content) state.content += content
        const refusal = delta.refusal
        if (typeof refusal === 'string' && refusal) state.refusal += refusal
        const toolCalls = delta.tool_calls
        if (Array.isArray(toolCalls) && toolCalls.length > 0) addToolCalls(state, toolCalls)
      }
      const finishReason = rawChoice.finish_reason
      if (typeof finishReason === 'string' && finishReason) state.finishReason = finishReason
    }
  }

  /** The choices in index order. */
  #sortedChoices(): ChoiceState[] {
    const others = this.#others
    if (!others) return this.#first ? [this.#first] : []
    const all = new Map(others)
    if (this.#first) all.set(0, this.#first)
    return byIndex(all)
  }

  finishReasons(): string[] {
    const reasons: string[] = []
    for (const choice of this.#sortedChoices()) if (choice.finishReason) reasons.push(choice.finishReason)
    return reasons
  }

  outputMessages(): GenAIMessage[] {
    return this.#sortedChoices().map((choice) =>
      streamedOutputMessage({
        role: choice.role,
        content: choice.content,
        refusal: choice.refusal,
        toolCalls: choice.toolCalls ? byIndex(choice.toolCalls) : [],
        finishReason: choice.finishReason,
      }),
    )
  }
}

function addToolCalls(state: ChoiceState, rawCalls: readonly unknown[]): void {
  for (const rawCall of rawCalls) {
    if (!isRecord(rawCall)) continue
    state.toolCalls ??= new Map()
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
