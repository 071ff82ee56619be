import {
  type AttributeValue,
  INVALID_SPAN_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import { COMMON } from './attributes'
import { LeanSpan } from './lean-span'
import { keepShape } from './shape-anchor'

/** A value we may try to set; anything not an OTel attribute value is dropped, not coerced. */
export type LooseAttributes = Record<string, unknown>

function isPrimitiveAttribute(value: unknown): value is string | number | boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  )
}

/** Whether `value` is a valid OTel attribute value: a primitive, or a non-empty homogeneous primitive array. */
function isCleanAttribute(value: unknown): value is AttributeValue {
  if (isPrimitiveAttribute(value)) return true
  if (!Array.isArray(value) || value.length === 0) return false
  const kind = typeof value[0]
  for (const item of value) {
    if (typeof item !== kind || !isPrimitiveAttribute(item)) return false
  }
  return true
}

/** Keeps only valid OTel attribute values: primitives and homogeneous primitive arrays. */
export function sanitizeAttributes(attributes: LooseAttributes): Record<string, AttributeValue> {
  const clean: Record<string, AttributeValue> = {}
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue
    const value = attributes[key]
    if (isCleanAttribute(value)) clean[key] = value
  }
  return clean
}

/**
 * The low-cardinality `error.type`: the error's class name (`RateLimitError`, `APIConnectionError`),
 * else its HTTP status for generic classes, else `_OTHER` as the conventions ask.
 */
export function errorType(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '_OTHER'
  const name: unknown = error.constructor?.name
  const status: unknown = Reflect.get(error, 'status')
  // openai's base `APIError` stands for any status without its own class: the status says more.
  const generic = name === '' || name === 'Error' || name === 'Object' || name === 'APIError'
  if (typeof name === 'string' && !generic) return name
  if (typeof status === 'number') return String(status)
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : '_OTHER'
}

/** What a recorder holds once its span has ended: a non-recording span. */
const ENDED_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT)

/**
 * Owns one span until it ends: sets sanitized attributes, records errors, and ends exactly once,
 * so every code path (result, error, early stream exit) can call `end()` without bookkeeping.
 * Once ended it lets go of the span: the client may keep the objects a call hooked into (its
 * promise, its stream) alive for a while, and the span's attributes (content included) must not
 * live, and be copied by the garbage collector, as long as they do.
 */
export class SpanRecorder {
  #ended = false
  #span: Span
  /** The span when it is ours: values checked here are stored without a second check. */
  #lean: LeanSpan | undefined

  constructor(span: Span) {
    this.#span = span
    this.#lean = span instanceof LeanSpan ? span : undefined
    keepShape(SpanRecorder, this)
  }

  /** The span, until it ends (then a non-recording stand-in). */
  get span(): Span {
    return this.#span
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Sets the valid attributes (see {@link sanitizeAttributes}) straight on the span, skipping the rest. */
  set(attributes: LooseAttributes): void {
    if (this.#ended) return
    for (const key in attributes) {
      if (Object.hasOwn(attributes, key)) this.put(key, attributes[key])
    }
  }

  /**
   * Sets one attribute if `value` is a valid attribute value (undefined and anything else are
   * skipped). Wrappers on the hot path write their attributes one by one with it: an object
   * literal with ~12 computed keys (`{ [GEN_AI.requestModel]: … }`) is built through the runtime
   * as a dictionary, and walking it with `for…in` is slow too, most of all before the JIT has
   * optimized it (the first thousands of calls).
   */
  put(key: string, value: unknown): void {
    if (this.#ended || value === undefined || !isCleanAttribute(value)) return
    if (this.#lean) this.#lean.setValidAttribute(key, value)
    else this.#span.setAttribute(key, value)
  }

  /** Sets one attribute the caller knows to be valid (a string, finite number or boolean). */
  setOne(key: string, value: AttributeValue): void {
    if (this.#ended) return
    if (this.#lean) this.#lean.setValidAttribute(key, value)
    else this.span.setAttribute(key, value)
  }

  /** Sets one attribute to the JSON text of `value` (skipped when `value` is undefined). */
  setJson(key: string, value: unknown): void {
    if (this.#ended || value === undefined) return
    const text = JSON.stringify(value)
    if (typeof text === 'string') this.setOne(key, text)
  }

  fail(error: unknown): void {
    if (this.#ended) return
    const message = error instanceof Error ? error.message : String(error)
    if (error instanceof Error) this.span.recordException(error)
    else this.span.recordException(message)
    this.span.setAttribute(COMMON.errorType, errorType(error))
    this.span.setStatus({ code: SpanStatusCode.ERROR, message })
    this.end()
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    const span = this.#span
    this.#span = ENDED_SPAN
    this.#lean = undefined
    span.end()
  }
}
