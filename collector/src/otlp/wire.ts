// A protobuf reader for the fixed OTLP trace schema (opentelemetry-proto collector/trace/v1,
// trace/v1, common/v1, resource/v1), decoding straight into the plain `OtlpSpan` shape: no
// intermediate message objects, no Long, strings decoded and checked by the runtime's native
// UTF-8 code, 64-bit integers read as bigint directly. The collector's hot path: every span of
// every OTLP/protobuf request goes through `readSpan`.
//
// Wire semantics follow the protobuf spec: fields in any order, unknown fields (and known field
// numbers with an unexpected wire type) skipped, the last value of a non-repeated field wins,
// groups skipped. Structural damage (a length past the end, a bad varint, an invalid wire type)
// throws `WireError`.
import { isUtf8 } from 'node:buffer'
import { CollectorError } from '../errors'
import type { AttributeValue, OtlpEvent, OtlpLink, OtlpSpan } from './types'

/** The bytes are not a valid encoding of the expected message. */
export class WireError extends Error {
  override name = 'WireError'
}

/** AnyValue nesting (arrays, kvlists) beyond which a value is refused. */
export const MAX_VALUE_DEPTH = 32
/** Groups nested deeper than this are refused (they are skipped, but recursively). */
const MAX_GROUP_DEPTH = 32

const VARINT = 0
const I64 = 1
const LEN = 2
const SGROUP = 3
const EGROUP = 4
const I32 = 5

const REPLACEMENT = '\uFFFD'
const EMPTY_BYTES = new Uint8Array(0)

/** Node's Buffer slicing methods (what `toString` calls after checking its arguments). */
interface BufferSlices {
  utf8Slice(start: number, end: number): string
  hexSlice(start: number, end: number): string
}

/*
 * Attribute keys and short values repeat from span to span (`gen_ai.usage.input_tokens`, `chat`,
 * `gpt-4o`): their bytes are looked up in a small direct-mapped table of recently decoded strings,
 * so a repeated one is the same string object as last time instead of a new one. Besides the
 * allocation, that makes every later Map / Set lookup and comparison with it cheap (its hash is
 * already computed and equal strings are the same object). Only valid UTF-8 is kept.
 */
const INTERN_SLOTS = 4096
/** Longest key (bytes) looked up in the table. */
const INTERN_MAX_BYTES = 64
/**
 * Longest other string looked up: names, models, providers, operations repeat; longer values are
 * mostly unique (response ids, messages) and would only churn the table.
 */
const INTERN_VALUE_MAX_BYTES = 32
const internBytes: (Uint8Array | undefined)[] = new Array(INTERN_SLOTS)
const internText: string[] = new Array(INTERN_SLOTS).fill('')

/** Strings shorter than this (bytes) are not recorded in `WireStrings`. */
const WIRE_STRING_MIN_BYTES = 128

/**
 * Where the long strings of one span came from in the request body: each was decoded from valid
 * UTF-8 bytes `[start, end)` of `buf`, so its JSON form can be written from those bytes (see
 * `ingest/json-escape.ts`) instead of from the string. Reused span after span (`clear`).
 */
export class WireStrings {
  count = 0
  readonly texts: string[] = []
  readonly starts: number[] = []
  readonly ends: number[] = []

  constructor(readonly buf: Buffer) {}

  clear(): void {
    for (let i = 0; i < this.count; i++) this.texts[i] = ''
    this.count = 0
  }

  add(text: string, start: number, end: number): void {
    const i = this.count++
    this.texts[i] = text
    this.starts[i] = start
    this.ends[i] = end
  }

  /** The index of `text` (usually the very same string object), or -1. */
  indexOf(text: string): number {
    for (let i = 0; i < this.count; i++) if (this.texts[i] === text) return i
    return -1
  }
}

/**
 * A cursor over `buf` from `pos` to `end`. `invalidUtf8` is set when a string was not valid
 * UTF-8 (it is then decoded with U+FFFD replacements, as proto3 requires strings to be UTF-8).
 * With `wireStrings`, long strings decoded from valid UTF-8 are recorded there.
 */
export class WireReader {
  invalidUtf8 = false
  wireStrings: WireStrings | null = null
  /** High 32 bits of the last varint read by `varint` (its low 32 bits are returned). */
  private hi = 0

  constructor(
    readonly buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  /** Read a varint; returns its low 32 bits as an unsigned number (the high bits in `this.hi`). */
  varint(): number {
    const buf = this.buf
    // One byte: tags and most lengths.
    if (this.pos < this.end) {
      const first = buf[this.pos] as number
      if (first < 0x80) {
        this.pos += 1
        this.hi = 0
        return first
      }
    }
    let lo = 0
    let hi = 0
    let shift = 0
    let i = 0
    for (; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint')
      const byte = buf[this.pos++] as number
      if (i < 4) lo |= (byte & 0x7f) << shift
      else if (i === 4) {
        lo |= (byte & 0x0f) << 28
        hi = (byte & 0x70) >>> 4
      } else hi |= (byte & 0x7f) << (3 + 7 * (i - 5))
      shift += 7
      if (byte < 0x80) break
    }
    if (i === 10) throw new WireError('varint longer than 10 bytes')
    this.hi = hi >>> 0
    return lo >>> 0
  }

  /** A varint that must fit in 32 bits unsigned (lengths, tags). */
  uint32(): number {
    const lo = this.varint()
    if (this.hi !== 0) throw new WireError('length or tag out of range')
    return lo
  }

  /** A varint read as an int32 (enums): the low 32 bits, two's complement. */
  int32(): number {
    return this.varint() | 0
  }

  /** A varint read as a signed 64-bit integer. */
  int64(): bigint {
    const lo = this.varint()
    const hi = this.hi
    if (hi === 0) return BigInt(lo)
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo))
  }

  /** A varint read as a bool: true when any bit is set. */
  bool(): boolean {
    const lo = this.varint()
    return lo !== 0 || this.hi !== 0
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new WireError('truncated fixed64')
    const value = this.buf.readBigUInt64LE(this.pos)
    this.pos += 8
    return value
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('truncated double')
    const value = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return value
  }

  /** Start and end of a length-delimited field's payload; moves past it. */
  span(): number {
    const length = this.uint32()
    const start = this.pos
    if (length > this.end - start) throw new WireError(`length ${length} past the end of the message`)
    this.pos = start + length
    return start
  }

  /** An attribute key: looked up in the table of recent strings up to `INTERN_MAX_BYTES`. */
  key(): string {
    const start = this.span()
    const end = this.pos
    if (start === end) return ''
    return end - start <= INTERN_MAX_BYTES ? this.interned(start, end) : this.decode(start, end)
  }

  string(): string {
    const start = this.span()
    const end = this.pos
    if (start === end) return ''
    if (end - start <= INTERN_VALUE_MAX_BYTES) return this.interned(start, end)
    const wireStrings = this.wireStrings
    if (wireStrings === null || end - start < WIRE_STRING_MIN_BYTES) return this.decode(start, end)
    const before = this.invalidUtf8
    this.invalidUtf8 = false
    const text = this.decode(start, end)
    if (this.invalidUtf8) return text
    this.invalidUtf8 = before
    wireStrings.add(text, start, end)
    return text
  }

  private decode(start: number, end: number): string {
    const text = (this.buf as unknown as BufferSlices).utf8Slice(start, end)
    // A U+FFFD in the result is either a replaced invalid sequence or an encoded U+FFFD.
    if (text.includes(REPLACEMENT) && !isUtf8(this.buf.subarray(start, end))) this.invalidUtf8 = true
    return text
  }

  /** A short string, from the table of recent ones when the same bytes were seen before. */
  private interned(start: number, end: number): string {
    const buf = this.buf
    const length = end - start
    // Slot from the length and three sampled bytes (no loop); the bytes are compared in full.
    // Two ways per set, so two strings that sample alike do not evict each other.
    const mix =
      Math.imul(length, 0x9e3779b1) ^
      Math.imul(buf[start] as number, 0x85ebca6b) ^
      Math.imul(buf[start + (length >> 1)] as number, 0xc2b2ae35) ^
      Math.imul(buf[end - 1] as number, 0x27d4eb2f) ^
      Math.imul(buf[start + (length >> 2)] as number, 0x165667b1)
    const set = (mix ^ (mix >>> 13)) & (INTERN_SLOTS - 1) & ~1
    for (let slot = set; slot < set + 2; slot++) {
      const known = internBytes[slot]
      if (known === undefined || known.length !== length) continue
      let i = 0
      while (i < length && known[i] === buf[start + i]) i++
      if (i === length) return internText[slot] as string
    }
    const before = this.invalidUtf8
    this.invalidUtf8 = false
    const text = this.decode(start, end)
    if (this.invalidUtf8) return text
    this.invalidUtf8 = before
    // Fill an empty way, else replace the older one (the way filled second moves to the first).
    const slot = internBytes[set] === undefined ? set : set + 1
    if (slot === set + 1 && internBytes[set + 1] !== undefined) {
      internBytes[set] = internBytes[set + 1]
      internText[set] = internText[set + 1] as string
    }
    internBytes[slot] = Uint8Array.prototype.slice.call(buf, start, end)
    internText[slot] = text
    return text
  }

  hex(): string {
    const start = this.span()
    return start === this.pos ? '' : (this.buf as unknown as BufferSlices).hexSlice(start, this.pos)
  }

  bytes(): Uint8Array {
    const start = this.span()
    return start === this.pos ? EMPTY_BYTES : this.buf.subarray(start, this.pos)
  }

  /** Skip a field of `wireType` (its tag already read). */
  skip(wireType: number, depth = 0): void {
    switch (wireType) {
      case VARINT:
        this.varint()
        return
      case I64:
        if (this.pos + 8 > this.end) throw new WireError('truncated fixed64')
        this.pos += 8
        return
      case LEN:
        this.span()
        return
      case I32:
        if (this.pos + 4 > this.end) throw new WireError('truncated fixed32')
        this.pos += 4
        return
      case SGROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new WireError('groups nested too deeply')
        for (;;) {
          const tag = this.uint32()
          const type = tag & 7
          if (type === EGROUP) return
          if (tag >>> 3 === 0) throw new WireError('field number 0')
          this.skip(type, depth + 1)
        }
      }
      default:
        throw new WireError(`invalid wire type ${wireType} at offset ${this.pos}`)
    }
  }

  /** Read a tag; returns field number * 8 + wire type (0 when the message ends). */
  tag(): number {
    if (this.pos >= this.end) return 0
    const tag = this.uint32()
    if (tag >>> 3 === 0) throw new WireError('field number 0')
    if ((tag & 7) === EGROUP) throw new WireError('unexpected end-group')
    return tag
  }

  /** Continue inside the length-delimited field just read by `span()`; returns the outer end. */
  enter(start: number): number {
    const outerEnd = this.end
    this.end = this.pos
    this.pos = start
    return outerEnd
  }

  /** Back to the outer message, after the embedded one. */
  leave(outerEnd: number): void {
    this.pos = this.end
    this.end = outerEnd
  }
}

const tagOf = (field: number, wireType: number) => field * 8 + wireType

// common.v1.AnyValue
const ANY_STRING = tagOf(1, LEN)
const ANY_BOOL = tagOf(2, VARINT)
const ANY_INT = tagOf(3, VARINT)
const ANY_DOUBLE = tagOf(4, I64)
const ANY_ARRAY = tagOf(5, LEN)
const ANY_KVLIST = tagOf(6, LEN)
const ANY_BYTES = tagOf(7, LEN)
// common.v1.KeyValue, ArrayValue, KeyValueList
const KV_KEY = tagOf(1, LEN)
const KV_VALUE = tagOf(2, LEN)
const LIST_VALUES = tagOf(1, LEN)

function tooDeep(): CollectorError {
  return new CollectorError('malformed_request', `attribute values nested deeper than ${MAX_VALUE_DEPTH}`)
}

/** An AnyValue message (the reader positioned inside it). An unset value is null. */
function readAnyValue(r: WireReader, depth: number): AttributeValue {
  if (depth > MAX_VALUE_DEPTH) throw tooDeep()
  let value: AttributeValue = null
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    switch (tag) {
      case ANY_STRING:
        value = r.string()
        break
      case ANY_BOOL:
        value = r.bool()
        break
      case ANY_INT:
        value = r.int64()
        break
      case ANY_DOUBLE:
        value = r.double()
        break
      case ANY_BYTES:
        value = r.bytes()
        break
      case ANY_ARRAY: {
        const start = r.span()
        const outer = r.enter(start)
        const items: AttributeValue[] = []
        for (let t = r.tag(); t !== 0; t = r.tag()) {
          if (t === LIST_VALUES) items.push(readEmbeddedAnyValue(r, depth + 1))
          else r.skip(t & 7)
        }
        r.leave(outer)
        value = items
        break
      }
      case ANY_KVLIST: {
        const start = r.span()
        const outer = r.enter(start)
        const map = new Map<string, AttributeValue>()
        for (let t = r.tag(); t !== 0; t = r.tag()) {
          if (t === LIST_VALUES) readKeyValueInto(r, map, depth + 1)
          else r.skip(t & 7)
        }
        r.leave(outer)
        value = map
        break
      }
      default:
        r.skip(tag & 7)
    }
  }
  return value
}

function readEmbeddedAnyValue(r: WireReader, depth: number): AttributeValue {
  const start = r.span()
  const outer = r.enter(start)
  const value = readAnyValue(r, depth)
  r.leave(outer)
  return value
}

/** A KeyValue (length-delimited, tag already read) added to `map` (a repeated key: last wins). */
function readKeyValueInto(r: WireReader, map: Map<string, AttributeValue>, depth: number): void {
  const start = r.span()
  const outer = r.enter(start)
  let key = ''
  let value: AttributeValue = null
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === KV_KEY) key = r.key()
    else if (tag === KV_VALUE) value = readEmbeddedAnyValue(r, depth)
    else r.skip(tag & 7)
  }
  r.leave(outer)
  map.set(key, value)
}

/** Read one `repeated KeyValue` element into `map` (for messages with an attributes field). */
export function readAttribute(r: WireReader, map: Map<string, AttributeValue>): void {
  readKeyValueInto(r, map, 0)
}

// trace.v1.Span
const SPAN_TRACE_ID = tagOf(1, LEN)
const SPAN_SPAN_ID = tagOf(2, LEN)
const SPAN_TRACE_STATE = tagOf(3, LEN)
const SPAN_PARENT_SPAN_ID = tagOf(4, LEN)
const SPAN_NAME = tagOf(5, LEN)
const SPAN_KIND = tagOf(6, VARINT)
const SPAN_START = tagOf(7, I64)
const SPAN_END = tagOf(8, I64)
const SPAN_ATTRIBUTES = tagOf(9, LEN)
const SPAN_EVENTS = tagOf(11, LEN)
const SPAN_LINKS = tagOf(13, LEN)
const SPAN_STATUS = tagOf(15, LEN)
// trace.v1.Span.Event
const EVENT_TIME = tagOf(1, I64)
const EVENT_NAME = tagOf(2, LEN)
const EVENT_ATTRIBUTES = tagOf(3, LEN)
// trace.v1.Span.Link
const LINK_TRACE_ID = tagOf(1, LEN)
const LINK_SPAN_ID = tagOf(2, LEN)
const LINK_TRACE_STATE = tagOf(3, LEN)
const LINK_ATTRIBUTES = tagOf(4, LEN)
// trace.v1.Status
const STATUS_MESSAGE = tagOf(2, LEN)
const STATUS_CODE = tagOf(3, VARINT)

function readEvent(r: WireReader): OtlpEvent {
  const start = r.span()
  const outer = r.enter(start)
  let timeUnixNano = 0n
  let name = ''
  const attributes = new Map<string, AttributeValue>()
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === EVENT_TIME) timeUnixNano = r.fixed64()
    else if (tag === EVENT_NAME) name = r.string()
    else if (tag === EVENT_ATTRIBUTES) readKeyValueInto(r, attributes, 0)
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { timeUnixNano, name, attributes }
}

function readLink(r: WireReader): OtlpLink {
  const start = r.span()
  const outer = r.enter(start)
  let traceId = ''
  let spanId = ''
  let traceState = ''
  const attributes = new Map<string, AttributeValue>()
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === LINK_TRACE_ID) traceId = r.hex()
    else if (tag === LINK_SPAN_ID) spanId = r.hex()
    else if (tag === LINK_TRACE_STATE) traceState = r.string()
    else if (tag === LINK_ATTRIBUTES) readKeyValueInto(r, attributes, 0)
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { traceId, spanId, traceState, attributes }
}

function readStatus(r: WireReader): { code: number; message: string } {
  const start = r.span()
  const outer = r.enter(start)
  let code = 0
  let message = ''
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    if (tag === STATUS_CODE) code = r.int32()
    else if (tag === STATUS_MESSAGE) message = r.string()
    else r.skip(tag & 7)
  }
  r.leave(outer)
  return { code, message }
}

/**
 * Decode one `Span` message occupying `r` from `r.pos` to `r.end`, attached to `resource` and
 * `scope`. Check `r.invalidUtf8` afterwards for text that had to be repaired.
 */
export function readSpan(r: WireReader, resource: OtlpSpan['resource'], scope: OtlpSpan['scope']): OtlpSpan {
  let traceId = ''
  let spanId = ''
  let parentSpanId = ''
  let traceState = ''
  let name = ''
  let kind = 0
  let startTimeUnixNano = 0n
  let endTimeUnixNano = 0n
  const attributes = new Map<string, AttributeValue>()
  const events: OtlpEvent[] = []
  const links: OtlpLink[] = []
  let status = { code: 0, message: '' }
  for (let tag = r.tag(); tag !== 0; tag = r.tag()) {
    switch (tag) {
      case SPAN_TRACE_ID:
        traceId = r.hex()
        break
      case SPAN_SPAN_ID:
        spanId = r.hex()
        break
      case SPAN_TRACE_STATE:
        traceState = r.string()
        break
      case SPAN_PARENT_SPAN_ID:
        parentSpanId = r.hex()
        break
      case SPAN_NAME:
        name = r.string()
        break
      case SPAN_KIND:
        kind = r.int32()
        break
      case SPAN_START:
        startTimeUnixNano = r.fixed64()
        break
      case SPAN_END:
        endTimeUnixNano = r.fixed64()
        break
      case SPAN_ATTRIBUTES:
        readKeyValueInto(r, attributes, 0)
        break
      case SPAN_EVENTS:
        events.push(readEvent(r))
        break
      case SPAN_LINKS:
        links.push(readLink(r))
        break
      case SPAN_STATUS:
        status = readStatus(r)
        break
      default:
        r.skip(tag & 7)
    }
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    events,
    links,
    status,
    resource,
    scope,
  }
}
