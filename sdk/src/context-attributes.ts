import { type AttributeValue, type Context, context, createContextKey } from '@opentelemetry/api'
import { COMMON, HINDSIGHT } from './attributes'
import { ensureContextManager } from './context-manager'

/** Attributes that describe a whole request or job; every span started inside {@link withAttributes} gets them. */
export interface TraceAttributes {
  /** Your end user: `user.id`. */
  userId?: string
  /** A conversation or session: `session.id`. */
  sessionId?: string
  /** Free labels, `hindsight.tags` (a JSON array). Nested calls add to the outer tags. */
  tags?: readonly string[]
  /** The app version or experiment arm: `hindsight.release`. Overrides `init({ release })` for these spans. */
  release?: string
  /** The entry point (`/api/chat`, `nightly-summary`): `hindsight.route`. */
  route?: string
  /** Anything else, as `hindsight.metadata.<key>`. Objects are stored as JSON text. */
  metadata?: Readonly<Record<string, unknown>>
}

/** What the context carries: the merged attributes, and their span-attribute form computed once. */
interface ContextEntry {
  readonly merged: TraceAttributes
  readonly attributes: Readonly<Record<string, AttributeValue>>
}

const KEY = createContextKey('@hindsight/sdk trace attributes')

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  return undefined
}

function metadataValue(value: unknown): AttributeValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'bigint') return value.toString()
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return undefined
  }
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return undefined
  }
}

/** Inner values win; tags are the union (outer first); metadata keys merge. Bad values are ignored, never thrown. */
function merge(outer: TraceAttributes | undefined, inner: TraceAttributes): TraceAttributes {
  const tags = new Set<string>(outer?.tags ?? [])
  if (Array.isArray(inner.tags)) {
    for (const tag of inner.tags) {
      const t = text(tag)
      if (t !== undefined) tags.add(t)
    }
  }
  const metadata: Record<string, unknown> = { ...outer?.metadata }
  if (typeof inner.metadata === 'object' && inner.metadata !== null) {
    for (const [key, value] of Object.entries(inner.metadata)) {
      if (value !== undefined) metadata[key] = value
    }
  }
  return {
    userId: text(inner.userId) ?? outer?.userId,
    sessionId: text(inner.sessionId) ?? outer?.sessionId,
    release: text(inner.release) ?? outer?.release,
    route: text(inner.route) ?? outer?.route,
    tags: [...tags],
    metadata,
  }
}

function toSpanAttributes(merged: TraceAttributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {}
  if (merged.userId !== undefined) out[COMMON.userId] = merged.userId
  if (merged.sessionId !== undefined) out[COMMON.sessionId] = merged.sessionId
  if (merged.release !== undefined) out[HINDSIGHT.release] = merged.release
  if (merged.route !== undefined) out[HINDSIGHT.route] = merged.route
  if (merged.tags && merged.tags.length > 0) out[HINDSIGHT.tags] = JSON.stringify(merged.tags)
  for (const [key, value] of Object.entries(merged.metadata ?? {})) {
    const v = metadataValue(value)
    if (v !== undefined) out[`${HINDSIGHT.metadataPrefix}${key}`] = v
  }
  return out
}

/**
 * Runs `fn` with these attributes on every span started inside it, across `await`, `Promise.all`,
 * timers and nested calls, including the spans of wrapped clients and `observe()` steps. Nested
 * calls merge: inner values win, tags accumulate. Returns what `fn` returns (a promise stays the
 * same promise). Works before `init()` too; the attributes apply to spans made once it has run.
 */
export function withAttributes<T>(attributes: TraceAttributes, fn: () => T): T {
  let next: Context
  try {
    ensureContextManager()
    const active = context.active()
    const merged = merge((active.getValue(KEY) as ContextEntry | undefined)?.merged, attributes ?? {})
    const entry: ContextEntry = { merged, attributes: toSpanAttributes(merged) }
    next = active.setValue(KEY, entry)
  } catch {
    // Attributes are a nicety; the caller's function must run regardless.
    return fn()
  }
  return context.with(next, fn)
}

/** The trace attributes in effect (of `ctx`, default the active context), merged over every enclosing call. */
export function currentTraceAttributes(ctx: Context = context.active()): TraceAttributes | undefined {
  return (ctx.getValue(KEY) as ContextEntry | undefined)?.merged
}

/** The span-attribute form of the trace attributes in `ctx`, computed once per `withAttributes` call. @internal */
export function traceSpanAttributes(ctx: Context): Readonly<Record<string, AttributeValue>> | undefined {
  return (ctx.getValue(KEY) as ContextEntry | undefined)?.attributes
}
