import { randomFillSync } from 'node:crypto'
import {
  type Attributes,
  type AttributeValue,
  type Context,
  diag,
  type Exception,
  type HrTime,
  type Link,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  trace,
} from '@opentelemetry/api'
import { isAttributeValue } from '@opentelemetry/core'
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan, Span, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base'
import { keepShape } from './shape-anchor'

/**
 * The span of a wrapped LLM call when the SDK runs its own (private) provider: a plain record that
 * is a complete OTel `Span` and `ReadableSpan` (processors and exporters see nothing different from
 * the stock span), with the stock span's semantics (limits of 128 attributes, events and links,
 * status rules, exception events, end once) but without its per-span bookkeeping: ids come from a
 * pool of random bytes, times are kept as epoch milliseconds and turned into `HrTime` only when
 * read, and attribute values the wrappers already validated are stored without a second check.
 */

const COUNT_LIMIT = 128

/**
 * Random bytes for ids, refilled a few KiB at a time, and their hex text, made once per refill: an
 * id is a slice of that text (V8 shares the characters) instead of a `toString('hex')` per id.
 */
const POOL_SIZE = 4096
const pool = Buffer.allocUnsafe(POOL_SIZE)
let poolHex = ''
let poolOffset = POOL_SIZE

function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool)
    poolHex = pool.toString('hex')
    poolOffset = 0
  }
  const start = poolOffset
  poolOffset += bytes
  for (let i = start; i < start + bytes; i++) {
    if (pool[i] !== 0) return poolHex.slice(2 * start, 2 * (start + bytes))
  }
  // All zero is not a valid id (probability 2^-64 or less): make it one.
  return `${'0'.repeat(2 * bytes - 1)}1`
}

const timeOrigin = performance.timeOrigin

function nowMillis(): number {
  return timeOrigin + performance.now()
}

function millisToHrTime(epochMillis: number): HrTime {
  const seconds = Math.trunc(epochMillis / 1000)
  const nanos = Math.round((epochMillis - seconds * 1000) * 1e6)
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos]
}

function hrTimeToMillis(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6
}

/** A `TimeInput` as epoch milliseconds; numbers below `performance.now()` are performance timestamps, as in the stock span. */
function toMillis(input: TimeInput): number {
  if (typeof input === 'number') return input <= performance.now() ? timeOrigin + input : input
  if (input instanceof Date) return input.getTime()
  return hrTimeToMillis(input)
}

function isTimeInput(value: unknown): value is TimeInput {
  return (
    typeof value === 'number' ||
    value instanceof Date ||
    (Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'number' &&
      typeof value[1] === 'number')
  )
}

/** What every lean span of one instance shares. */
export interface LeanSpanScope {
  resource: Resource
  instrumentationScope: ReadableSpan['instrumentationScope']
  processor: SpanProcessor
}

/** Keys an object would order before the others (array indexes): see {@link LeanSpan.attributeKeys}. */
function isIndexKey(key: string): boolean {
  const first = key.charCodeAt(0)
  return first >= 48 && first <= 57 && /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1
}

export class LeanSpan implements Span {
  readonly links: Link[] = []
  readonly events: TimedEvent[] = []
  status: SpanStatus = { code: SpanStatusCode.UNSET }
  name: string
  readonly kind: SpanKind
  readonly parentSpanContext: SpanContext | undefined
  readonly resource: Resource
  readonly instrumentationScope: ReadableSpan['instrumentationScope']
  droppedAttributesCount = 0
  droppedEventsCount = 0
  droppedLinksCount = 0
  readonly #context: SpanContext
  readonly #processor: SpanProcessor
  readonly #startMillis: number
  #endMillis = 0
  /** An end time given as HrTime, kept exactly. */
  #endHrTime: HrTime | undefined
  #ended = false
  /**
   * Attributes as two lists in insertion order, not as an object: a span has ~25, and an object
   * given that many keys one by one turns into a hash table (slower to fill and to walk, and
   * several times the memory). `attributes` builds the object when someone reads it.
   */
  readonly #keys: string[] = []
  readonly #values: AttributeValue[] = []
  /** Whether a key is an array index (an object would list it first, out of insertion order). */
  #indexKeys = false
  /** The object `attributes` returned after the span ended (it is built once then). */
  #attributes: Attributes | undefined

  constructor(scope: LeanSpanScope, name: string, kind: SpanKind, parent: Context) {
    const parentContext = trace.getSpan(parent)?.spanContext()
    const validParent = parentContext !== undefined && trace.isSpanContextValid(parentContext)
    this.#context = {
      traceId: validParent ? parentContext.traceId : randomHex(16),
      spanId: randomHex(8),
      traceFlags: TraceFlags.SAMPLED,
      traceState: validParent ? parentContext.traceState : undefined,
    }
    this.parentSpanContext = validParent ? parentContext : undefined
    this.name = name
    this.kind = kind
    this.resource = scope.resource
    this.instrumentationScope = scope.instrumentationScope
    this.#processor = scope.processor
    this.#startMillis = nowMillis()
    scope.processor.onStart(this, parent)
    keepShape(LeanSpan, this)
  }

  spanContext(): SpanContext {
    return this.#context
  }

  get startTime(): HrTime {
    return millisToHrTime(this.#startMillis)
  }

  get endTime(): HrTime {
    if (!this.#ended) return [0, 0]
    return this.#endHrTime ?? millisToHrTime(this.#endMillis)
  }

  get duration(): HrTime {
    if (!this.#ended) return [-1, -1]
    const ms = this.#endMillis - this.#startMillis
    const seconds = Math.trunc(ms / 1000)
    return [seconds, Math.round((ms - seconds * 1000) * 1e6)]
  }

  get ended(): boolean {
    return this.#ended
  }

  isRecording(): boolean {
    return !this.#ended
  }

  /** The attributes as an object (a copy while the span is recording; the same object once it ended). */
  get attributes(): Attributes {
    if (this.#attributes) return this.#attributes
    const out: Attributes = {}
    const keys = this.#keys
    const values = this.#values
    for (let i = 0; i < keys.length; i++) out[keys[i] as string] = values[i]
    if (this.#ended) this.#attributes = out
    return out
  }

  /**
   * The attribute keys in the order `attributes` lists them, with {@link attributeValues}, for
   * the encoder to read without building the object; undefined when the object must be read
   * instead (it was handed out after the end, or an array-index key changes its order). @internal
   */
  get attributeKeys(): readonly string[] | undefined {
    return this.#attributes || this.#indexKeys ? undefined : this.#keys
  }

  /** See {@link attributeKeys}. @internal */
  get attributeValues(): readonly AttributeValue[] {
    return this.#values
  }

  /** Stores a value the caller already knows to be a valid attribute value. @internal */
  setValidAttribute(key: string, value: AttributeValue): void {
    if (this.#ended) return
    const keys = this.#keys
    const at = keys.indexOf(key)
    if (at >= 0) {
      this.#values[at] = value
      return
    }
    if (keys.length >= COUNT_LIMIT) {
      this.droppedAttributesCount++
      return
    }
    if (!this.#indexKeys && isIndexKey(key)) this.#indexKeys = true
    keys.push(key)
    this.#values.push(value)
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value == null || this.#ended) return this
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`)
      return this
    }
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`)
      return this
    }
    this.setValidAttribute(key, value)
    return this
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue)
    }
    return this
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.#ended) return this
    let attributes: Attributes | undefined
    let at = time
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) at = attributesOrTime
    } else {
      attributes = attributesOrTime
    }
    if (this.events.length >= COUNT_LIMIT) {
      this.events.shift()
      this.droppedEventsCount++
    }
    const clean: Attributes = {}
    let count = 0
    let dropped = 0
    if (attributes) {
      for (const key in attributes) {
        if (!Object.hasOwn(attributes, key)) continue
        const value = attributes[key]
        if (key.length === 0 || value == null || !isAttributeValue(value)) continue
        if (count >= COUNT_LIMIT) {
          dropped++
          continue
        }
        clean[key] = value
        count++
      }
    }
    this.events.push({
      name,
      attributes: clean,
      time: millisToHrTime(at === undefined ? nowMillis() : toMillis(at)),
      droppedAttributesCount: dropped,
    })
    return this
  }

  addLink(link: Link): this {
    if (this.#ended) return this
    if (this.links.length >= COUNT_LIMIT) {
      this.links.shift()
      this.droppedLinksCount++
    }
    const processed: Link = { context: link.context }
    if (link.attributes) {
      const clean: Attributes = {}
      let count = 0
      for (const key in link.attributes) {
        const value = link.attributes[key]
        if (!Object.hasOwn(link.attributes, key) || value == null || !isAttributeValue(value)) continue
        clean[key] = value
        count++
      }
      if (count > 0) processed.attributes = clean
    }
    this.links.push(processed)
    return this
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link)
    return this
  }

  setStatus(status: SpanStatus): this {
    if (this.#ended || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK)
      return this
    const next: SpanStatus = { code: status.code }
    if (status.code === SpanStatusCode.ERROR && typeof status.message === 'string')
      next.message = status.message
    this.status = next
    return this
  }

  updateName(name: string): this {
    if (!this.#ended) this.name = name
    return this
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {}
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception
    } else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString()
      else if (exception.name) attributes['exception.type'] = exception.name
      if (exception.message) attributes['exception.message'] = exception.message
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack
    }
    if (attributes['exception.type'] || attributes['exception.message'])
      this.addEvent('exception', attributes, time)
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) return
    const end = endTime === undefined ? nowMillis() : toMillis(endTime)
    this.#endMillis = Math.max(end, this.#startMillis)
    if (Array.isArray(endTime) && end >= this.#startMillis) this.#endHrTime = endTime
    this.#ended = true
    this.#processor.onEnd(this)
  }
}
