import { context } from '@opentelemetry/api'
import { activeHindsight, type Hindsight } from '../hindsight'
import { isRecord } from '../narrow'
import { requestIsObservable } from '../shared/request-observers'
import type { ApiCall } from './api-call'

const ORIGINAL = Symbol.for('@hindsight/sdk.original')

type Method = (this: unknown, ...args: unknown[]) => unknown

/** Starts the span of one call from the method's first argument (the request body). May throw. */
export type StartCall = (hindsight: Hindsight, params: unknown) => ApiCall

function instrument(original: Method, start: StartCall): Method {
  return function instrumented(this: unknown, ...args: unknown[]): unknown {
    const hindsight = activeHindsight()
    if (!hindsight?.enabled) return original.apply(this, args)
    let call: ApiCall
    try {
      call = start(hindsight, args[0])
    } catch {
      hindsight.recordInternalError()
      return original.apply(this, args)
    }
    let result: unknown
    try {
      // The request starts inside the span's context when anything can read it there (an HTTP
      // instrumentation, a custom fetch, a callback the client was given), so that nests under
      // the call's span; otherwise entering it would only cost time.
      if (requestIsObservable(this, args[1])) {
        result = context.with(call.takeContext(), () => original.apply(this, args))
      } else {
        call.skipContext()
        result = original.apply(this, args)
      }
    } catch (error) {
      call.fail(error)
      throw error
    }
    return call.observe(result)
  }
}

/** Follows a property path (`['chat', 'completions']`) through a client; undefined if any step is missing. */
export function resolvePath(root: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let node: unknown = root
  for (const key of path) {
    if (!isRecord(node)) return undefined
    node = node[key]
  }
  return isRecord(node) ? node : undefined
}

/**
 * Replaces `target[key]` with a traced version, as an own property of that resource object (the
 * client's helpers, such as `stream()` and `parse()`, call it through the same object, so they are
 * traced too). Patching twice is a no-op. Returns whether the method is now traced.
 */
export function patchMethod(
  target: Record<string, unknown> | undefined,
  key: string,
  start: StartCall,
): boolean {
  if (!target) return false
  const original = target[key]
  if (typeof original !== 'function') return false
  if (ORIGINAL in original) return true
  const patched = instrument(original as Method, start)
  Object.defineProperty(patched, ORIGINAL, { value: original })
  Object.defineProperty(target, key, {
    value: patched,
    writable: true,
    configurable: true,
    enumerable: false,
  })
  return true
}

/**
 * Makes `client.withOptions(...)` return a wrapped copy: the copy has its own resource objects,
 * which would otherwise be untraced.
 */
export function patchWithOptions<T extends object>(client: T, wrap: (copy: object) => unknown): void {
  if (!isRecord(client)) return
  const original = client.withOptions
  if (typeof original !== 'function' || ORIGINAL in original) return
  const patched = function withOptions(this: unknown, ...args: unknown[]): unknown {
    const copy: unknown = original.apply(this, args)
    if (typeof copy === 'object' && copy !== null) {
      try {
        wrap(copy)
      } catch {
        // The copy stays untraced rather than failing the call.
      }
    }
    return copy
  }
  Object.defineProperty(patched, ORIGINAL, { value: original })
  Object.defineProperty(client, 'withOptions', {
    value: patched,
    writable: true,
    configurable: true,
    enumerable: false,
  })
}
