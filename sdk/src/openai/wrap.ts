import { context } from '@opentelemetry/api'
import { activeHindsight } from '../hindsight'
import { isRecord } from '../narrow'
import { ChatCall } from './chat-call'

const ORIGINAL = Symbol.for('@hindsight/sdk.original')

type Method = (this: unknown, ...args: unknown[]) => unknown

function providerName(client: object): string {
  // AzureOpenAI subclasses OpenAI; the conventions give Azure its own provider name.
  return client.constructor?.name === 'AzureOpenAI' ? 'azure.ai.openai' : 'openai'
}

function patchCreate(original: Method, provider: string): Method {
  return function create(this: unknown, ...args: unknown[]): unknown {
    const hindsight = activeHindsight()
    if (!hindsight?.enabled) return original.apply(this, args)
    let call: ChatCall
    try {
      call = ChatCall.start(hindsight, args[0], provider)
    } catch {
      hindsight.recordInternalError()
      return original.apply(this, args)
    }
    let result: unknown
    try {
      // The request starts inside the span's context, so HTTP instrumentation nests under it.
      result = context.with(call.context, () => original.apply(this, args))
    } catch (error) {
      call.fail(error)
      throw error
    }
    return call.observe(result)
  }
}

/**
 * Instruments an OpenAI client so every `chat.completions.create` call (and the helpers built on
 * it: `parse`, `stream`, `runTools`) becomes a `chat {model}` span. The client is patched in place
 * and returned, with its type unchanged. Wrapping twice is harmless. Calls made before `init()`
 * or with `enabled: false` go straight to OpenAI.
 */
export function wrapOpenAI<T extends object>(client: T): T {
  try {
    const chat = isRecord(client) ? client.chat : undefined
    const completions = isRecord(chat) ? chat.completions : undefined
    if (!isRecord(completions)) return client
    const original = completions.create
    if (typeof original !== 'function' || ORIGINAL in original) return client
    const patched = patchCreate(original as Method, providerName(client))
    Object.defineProperty(patched, ORIGINAL, { value: original })
    Object.defineProperty(completions, 'create', {
      value: patched,
      writable: true,
      configurable: true,
      enumerable: false,
    })
  } catch {
    // A client we cannot patch is returned as it was: tracing is never worth breaking the app.
  }
  return client
}
