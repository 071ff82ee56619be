import { type Channel, channel } from 'node:diagnostics_channel'
import { isPlainObject, isRecord } from '../narrow'

/**
 * Whether anything can read the active OpenTelemetry context while a client's request runs, so
 * whether the request must start inside the call's span context.
 *
 * Starting a request inside a context is not free: undici keeps each request's objects (and with
 * them the async context frame) reachable until a full collection, and a plain `fetch` costs Node
 * ~10–20 µs more inside `AsyncLocalStorage.run` than outside. The context only matters to code
 * that reads it during the request, and that code can only be:
 * - an HTTP instrumentation of Node's built-in `fetch`: those subscribe to undici's diagnostics
 *   channels (OpenTelemetry's undici instrumentation, Sentry, Datadog, Elastic);
 * - a `fetch` other than Node's built-in one (a custom one given to the client, a patched global);
 * - a callback the client was given: a logger, an API-key or token function, a `fetchOptions`
 *   dispatcher, an `Agent`, anything that is not plain data in the client's options or in the
 *   call's `fetchOptions`.
 * When none of these is present nothing can tell whether the context was entered, so it is not.
 * Anything this cannot classify counts as an observer: the answer errs towards entering.
 */
export function requestIsObservable(resource: unknown, requestOptions: unknown): boolean {
  if (!isRecord(resource)) return true
  const client = resource._client
  if (!isRecord(client)) return true
  if (!clientIsQuiet(client)) return true
  if (isRecord(requestOptions) && requestOptions.fetchOptions !== undefined) {
    if (!isPlainData(requestOptions.fetchOptions)) return true
  }
  return httpIsInstrumented()
}

/** undici's channels an HTTP instrumentation subscribes to (any one of them is enough). */
const UNDICI_CHANNELS: readonly Channel[] = [
  'undici:request:create',
  'undici:request:bodySent',
  'undici:request:headers',
  'undici:request:trailers',
  'undici:request:error',
  'undici:client:beforeConnect',
  'undici:client:connected',
  'undici:client:connectError',
  'undici:client:sendHeaders',
].map((name) => channel(name))

/** Whether any diagnostics-channel subscriber watches undici, i.e. Node's built-in `fetch`. */
export function httpIsInstrumented(): boolean {
  for (let i = 0; i < UNDICI_CHANNELS.length; i++) if (UNDICI_CHANNELS[i]?.hasSubscribers) return true
  return false
}

/**
 * Whether `fetch` is Node's own global `fetch` (which loads undici internally), not a wrapper
 * around it. Decided from its source: a patched or custom `fetch` has other source, and on a Node
 * whose built-in reads differently the answer is "no", which only costs the context being entered.
 */
export function isBuiltinFetch(fetch: unknown): boolean {
  if (typeof fetch !== 'function') return false
  try {
    return (
      fetch.name === 'fetch' &&
      Function.prototype.toString.call(fetch).includes('internal/deps/undici/undici')
    )
  } catch {
    return false
  }
}

/**
 * Clients already classified, with the `fetch` they had then (a client's options do not change
 * after it is built; its `fetch` could be replaced, and is then classified again).
 */
const clients = new WeakMap<object, { fetch: unknown; quiet: boolean }>()

/** Whether a client runs no code of anyone's choosing during a request: Node's `fetch`, data-only options. */
function clientIsQuiet(client: Record<string, unknown>): boolean {
  const fetch = client.fetch
  const known = clients.get(client)
  if (known && known.fetch === fetch) return known.quiet
  const options = client._options
  const quiet = isBuiltinFetch(fetch) && (options === undefined || isPlainData(options, 2))
  clients.set(client, { fetch, quiet })
  return quiet
}

/**
 * Primitives, and plain objects (own prototype `Object.prototype` or null) of plain data up to
 * `depth` levels: what cannot run code of its own when the client reads it.
 */
export function isPlainData(value: unknown, depth = 1): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return true
  if (typeof value === 'function' || depth === 0 || !isPlainObject(value)) return false
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(value, key)
    if (!descriptor || descriptor.get || descriptor.set) return false
    if (!isPlainData(descriptor.value, depth - 1)) return false
  }
  return true
}
