import { CONTENT_ATTRIBUTES, INGEST_LIMITS } from '../conventions'
import type { Attributes, AttributeValue, OtlpEvent, OtlpLink, OtlpResource, OtlpSpan } from '../otlp/types'

/** Per-request and per-span limits applied at ingest. */
export interface IngestLimits {
  /** Spans in one request; a larger request is refused whole (413). @default 10_000 */
  maxSpansPerRequest: number
  /**
   * Attributes kept per span (and per event, link and resource). Beyond it, attributes the
   * convention mappers read (`gen_ai.*`, `llm.*`, `ai.*`, …) are kept first, the others dropped,
   * and their number recorded in `hindsight.dropped_attributes`. @default 256
   */
  maxAttributesPerSpan: number
  /**
   * Longest attribute value, span name or status message, in characters (UTF-16 code units;
   * bytes for byte values). Longer values keep their first characters and end with
   * `…[truncated N chars]`; `hindsight.truncated.<key>` records the original length.
   * @default 65_536 (64 KiB)
   */
  maxValueLength: number
  /** The same for content attributes (messages, prompts, completions). @default 1_048_576 (1 MiB) */
  maxContentValueLength: number
  /** Longest attribute key, in characters; longer keys are cut. @default 1024 */
  maxKeyLength: number
}

export const DEFAULT_LIMITS: Readonly<IngestLimits> = {
  maxSpansPerRequest: 10_000,
  maxAttributesPerSpan: 256,
  maxValueLength: 64 * 1024,
  maxContentValueLength: 1024 * 1024,
  maxKeyLength: 1024,
}

/** Fill unset limits with the defaults; every limit is at least 1. */
export function resolveLimits(limits: Partial<IngestLimits> = {}): IngestLimits {
  const pick = (key: keyof IngestLimits) => {
    const value = limits[key]
    return value !== undefined && Number.isFinite(value)
      ? Math.max(1, Math.floor(value))
      : DEFAULT_LIMITS[key]
  }
  return {
    maxSpansPerRequest: pick('maxSpansPerRequest'),
    maxAttributesPerSpan: pick('maxAttributesPerSpan'),
    maxValueLength: pick('maxValueLength'),
    maxContentValueLength: pick('maxContentValueLength'),
    maxKeyLength: pick('maxKeyLength'),
  }
}

const CONTENT_KEYS: ReadonlySet<string> = new Set(CONTENT_ATTRIBUTES.keys)
/** Attribute namespaces the convention mappers read: kept first when a span has too many attributes. */
const PRIORITY_PREFIXES = [
  'gen_ai.',
  'llm.',
  'ai.',
  'hindsight.',
  'openinference.',
  'traceloop.',
  'input.',
  'output.',
  'embedding.',
  'retrieval.',
  'tool.',
  'session.',
  'user.',
  'error.',
  'service.',
  'deployment.',
  'operation.',
  'resource.',
]

/** Answers of `isContentKey` for keys seen recently (attribute keys repeat across spans). */
const contentKeyCache = new Map<string, boolean>()
const CONTENT_KEY_CACHE_MAX = 4096

function isContentKey(key: string): boolean {
  const known = contentKeyCache.get(key)
  if (known !== undefined) return known
  let content = CONTENT_KEYS.has(key)
  if (!content)
    for (const prefix of CONTENT_ATTRIBUTES.prefixes)
      if (key.startsWith(prefix)) {
        content = true
        break
      }
  if (contentKeyCache.size >= CONTENT_KEY_CACHE_MAX) contentKeyCache.clear()
  contentKeyCache.set(key, content)
  return content
}

function isPriorityKey(key: string): boolean {
  for (const prefix of PRIORITY_PREFIXES) if (key.startsWith(prefix)) return true
  return false
}

// String.prototype.isWellFormed / toWellFormed (ES2024; Node 20+), typed here for the ES2023 lib.
interface WellFormedString {
  isWellFormed(): boolean
  toWellFormed(): string
}
const isWellFormed = (text: string) => (text as unknown as WellFormedString).isWellFormed()
const toWellFormed = (text: string) => (text as unknown as WellFormedString).toWellFormed()

/** Cut `text` to `limit` characters plus the marker, without splitting a surrogate pair. */
export function truncateText(text: string, limit: number): string {
  let cut = limit
  const last = text.charCodeAt(cut - 1)
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1
  return `${text.slice(0, cut)}…[truncated ${text.length - cut} chars]`
}

/** What happened while limiting one span (turned into attributes on the span). */
interface Changes {
  invalidText: boolean
  dropped: number
  /** Original lengths of truncated top-level values by key; null until one is truncated. */
  truncated: Map<string, number> | null
}

class Limiter {
  constructor(private readonly limits: IngestLimits) {}

  /** A repaired, length-limited string (same string when nothing had to change). */
  text(value: string, limit: number, changes: Changes): string {
    let text = value
    if (!isWellFormed(text)) {
      text = toWellFormed(text)
      changes.invalidText = true
    }
    return text.length > limit ? truncateText(text, limit) : text
  }

  value(value: AttributeValue, limit: number, changes: Changes): AttributeValue {
    if (typeof value === 'string') return this.text(value, limit, changes)
    if (value instanceof Uint8Array) return value.length > limit ? value.subarray(0, limit) : value
    if (Array.isArray(value)) {
      let changed = false
      const out = value.map((item: AttributeValue) => {
        const limited = this.value(item, limit, changes)
        if (limited !== item) changed = true
        return limited
      })
      return changed ? out : value
    }
    if (value instanceof Map) return this.attributes(value as Attributes, changes, false)
    return value
  }

  /**
   * Limit a set of attributes: count, key length, value length, well-formed text. Returns the
   * same map when nothing changed. `record` adds `hindsight.truncated.<key>` for truncated
   * top-level strings.
   */
  attributes(attributes: Attributes, changes: Changes, record: boolean): Attributes {
    const { maxAttributesPerSpan, maxKeyLength, maxValueLength, maxContentValueLength } = this.limits
    if (attributes.size <= maxAttributesPerSpan && this.withinLimits(attributes)) return attributes
    let kept: ReadonlySet<string> | null = null
    if (attributes.size > maxAttributesPerSpan) {
      kept = this.choose(attributes)
      changes.dropped += attributes.size - kept.size
    }
    let out: Map<string, AttributeValue> | null = kept ? new Map() : null
    for (const [key, value] of attributes) {
      if (kept && !kept.has(key)) continue
      const limit = isContentKey(key) ? maxContentValueLength : maxValueLength
      let limitedKey = key
      if (key.length > maxKeyLength || !isWellFormed(key)) limitedKey = this.text(key, maxKeyLength, changes)
      const limited = this.value(value, limit, changes)
      if (record && limited !== value) {
        if ((typeof value === 'string' || value instanceof Uint8Array) && value.length > limit) {
          changes.truncated ??= new Map()
          changes.truncated.set(limitedKey, value.length)
        }
      }
      if (!out && (limited !== value || limitedKey !== key)) {
        // First change: copy what came before.
        out = new Map()
        for (const [k, v] of attributes) {
          if (k === key) break
          out.set(k, v)
        }
      }
      out?.set(limitedKey, limited)
    }
    return out ?? attributes
  }

  /**
   * True when no key or scalar value needs a change (the common case, checked without building
   * anything): keys within the key limit and well formed, strings well formed and within their
   * limit (whether the key is a content key is looked up only for values longer than the
   * smaller limit), byte values within the smaller limit. Arrays and maps go to the full pass.
   */
  private withinLimits(attributes: Attributes): boolean {
    const { maxKeyLength, maxValueLength, maxContentValueLength } = this.limits
    const shortest = Math.min(maxValueLength, maxContentValueLength)
    for (const [key, value] of attributes) {
      if (key.length > maxKeyLength || !isWellFormed(key)) return false
      if (typeof value === 'string') {
        if (!isWellFormed(value)) return false
        if (
          value.length > shortest &&
          value.length > (isContentKey(key) ? maxContentValueLength : maxValueLength)
        )
          return false
      } else if (typeof value === 'object' && value !== null) {
        if (!(value instanceof Uint8Array) || value.length > shortest) return false
      }
    }
    return true
  }

  /** The keys to keep when there are too many: mapper namespaces first, then arrival order. */
  private choose(attributes: Attributes): Set<string> {
    const max = this.limits.maxAttributesPerSpan
    const kept = new Set<string>()
    for (const key of attributes.keys()) {
      if (kept.size >= max) break
      if (isPriorityKey(key)) kept.add(key)
    }
    for (const key of attributes.keys()) {
      if (kept.size >= max) break
      kept.add(key)
    }
    return kept
  }
}

/** Limited resources by original resource, so spans sharing one limit it once (one per request). */
export type ResourceCache = WeakMap<OtlpResource, { resource: OtlpResource; invalidText: boolean }>

const EMPTY_CHANGES = (): Changes => ({ invalidText: false, dropped: 0, truncated: null })

/**
 * Apply the per-span limits to a decoded span: attribute count (per span, event, link and
 * resource), key and value lengths, span name and status message length, and well-formed text
 * (lone surrogates from JSON `\ud800` escapes become U+FFFD and flag the span). Returns the same
 * object when nothing had to change; otherwise a copy whose attributes record what was cut:
 * `hindsight.dropped_attributes`, `hindsight.truncated.<key>`, `hindsight.invalid_utf8`.
 */
export function limitSpan(span: OtlpSpan, limits: IngestLimits, resources?: ResourceCache): OtlpSpan {
  const limiter = new Limiter(limits)
  const changes = EMPTY_CHANGES()
  const attributes = limiter.attributes(span.attributes, changes, true)
  const name = limiter.text(span.name, limits.maxValueLength, changes)
  const statusMessage = limiter.text(span.status.message, limits.maxValueLength, changes)
  const traceState = limiter.text(span.traceState, limits.maxKeyLength, changes)

  let events = span.events
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]
    if (!event) continue
    const limitedAttributes = limiter.attributes(event.attributes, changes, false)
    const limitedName = limiter.text(event.name, limits.maxValueLength, changes)
    if (limitedAttributes !== event.attributes || limitedName !== event.name) {
      if (events === span.events) events = [...span.events]
      const copy: OtlpEvent = { ...event, name: limitedName, attributes: limitedAttributes }
      events[i] = copy
    }
  }
  let links = span.links
  for (let i = 0; i < span.links.length; i++) {
    const link = span.links[i]
    if (!link) continue
    const limitedAttributes = limiter.attributes(link.attributes, changes, false)
    if (limitedAttributes !== link.attributes) {
      if (links === span.links) links = [...span.links]
      const copy: OtlpLink = { ...link, attributes: limitedAttributes }
      links[i] = copy
    }
  }
  // Resources are shared by the spans of a ResourceSpans: limit each once.
  let limitedResource = resources?.get(span.resource)
  if (!limitedResource) {
    const resourceChanges = EMPTY_CHANGES()
    const limitedAttributes = limiter.attributes(span.resource.attributes, resourceChanges, false)
    limitedResource = {
      resource:
        limitedAttributes === span.resource.attributes ? span.resource : { attributes: limitedAttributes },
      invalidText: resourceChanges.invalidText,
    }
    resources?.set(span.resource, limitedResource)
  }
  const resource = limitedResource.resource
  if (limitedResource.invalidText) changes.invalidText = true
  const scopeChanges = EMPTY_CHANGES()
  const scopeName = limiter.text(span.scope.name, limits.maxKeyLength, scopeChanges)
  const scopeVersion = limiter.text(span.scope.version, limits.maxKeyLength, scopeChanges)
  const scope =
    scopeName === span.scope.name && scopeVersion === span.scope.version
      ? span.scope
      : { ...span.scope, name: scopeName, version: scopeVersion }

  const unchanged =
    attributes === span.attributes &&
    name === span.name &&
    statusMessage === span.status.message &&
    traceState === span.traceState &&
    events === span.events &&
    links === span.links &&
    resource === span.resource &&
    scope === span.scope &&
    !changes.invalidText
  if (unchanged) return span

  const marked = new Map(attributes)
  if (changes.dropped > 0) marked.set(INGEST_LIMITS.droppedAttributes, BigInt(changes.dropped))
  if (changes.truncated)
    for (const [key, length] of changes.truncated)
      marked.set(`${INGEST_LIMITS.truncatedPrefix}${key}`, BigInt(length))
  if (changes.invalidText) marked.set(INGEST_LIMITS.invalidUtf8, true)
  return {
    ...span,
    name,
    traceState,
    status: statusMessage === span.status.message ? span.status : { ...span.status, message: statusMessage },
    attributes: marked,
    events,
    links,
    resource,
    scope,
  }
}
