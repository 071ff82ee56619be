import type { Attributes, AttributeValue, SpanStatus } from '@opentelemetry/api'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base'
import { COMMON, CONTENT_ATTRIBUTES, GEN_AI, HINDSIGHT, OPENAI } from './attributes'
import { isPlainObject } from './narrow'

/** Where a masked string comes from. */
export interface MaskContext {
  /**
   * The attribute key (`gen_ai.input.messages`, `user.id`, …), `status.message`, or
   * `<event name>.<attribute key>` for span events (e.g. `exception.exception.message`).
   */
  attribute: string
  /** The span's name, e.g. `chat gpt-4o` or `retrieval docs`. */
  spanName: string
}

/**
 * Rewrites one string before it leaves the process; return it unchanged to keep it. It is called
 * for every string of a span except the structural ones (model, provider, operation, ids, finish
 * reasons, error type, span kind, release, route): for JSON content (messages, outputs, documents)
 * once per string inside the JSON, so the result stays valid JSON. A mask that throws or returns
 * a non-string replaces the value with {@link MASK_FAILED}: a broken mask never lets data through.
 */
export type MaskFunction = (value: string, context: MaskContext) => string

/** What a value becomes when the mask throws or returns something other than a string. */
export const MASK_FAILED = '[hindsight: mask failed]'

/** Keys whose values are structure, not user data: never masked, so a greedy mask cannot break grouping or pricing. */
const STRUCTURAL_KEYS = new Set<string>([
  GEN_AI.operationName,
  GEN_AI.providerName,
  GEN_AI.system,
  GEN_AI.requestModel,
  GEN_AI.responseModel,
  GEN_AI.responseId,
  GEN_AI.responseFinishReasons,
  GEN_AI.toolName,
  GEN_AI.agentName,
  GEN_AI.dataSourceId,
  GEN_AI.tokenType,
  'gen_ai.tool.call.id',
  'gen_ai.tool.type',
  'gen_ai.output.type',
  COMMON.errorType,
  'exception.type',
  HINDSIGHT.spanKind,
  HINDSIGHT.release,
  HINDSIGHT.route,
  OPENAI.apiType,
  // Vercel AI SDK structure.
  'ai.model.id',
  'ai.model.provider',
  'ai.operationId',
  'ai.telemetry.functionId',
  'ai.response.finishReason',
  'ai.response.id',
  'ai.response.model',
  'operation.name',
  'resource.name',
])
const STRUCTURAL_PREFIXES = ['gen_ai.request.', 'gen_ai.usage.', 'ai.usage.', 'ai.settings.']

/** Attributes that only carry content: none of them leaves the process when `captureContent` is false. */
const CONTENT_KEYS = new Set<string>([
  ...CONTENT_ATTRIBUTES,
  GEN_AI.toolCallArguments,
  GEN_AI.toolCallResult,
  HINDSIGHT.input,
  HINDSIGHT.output,
  'gen_ai.prompt',
  'gen_ai.completion',
  // Vercel AI SDK (v5/v6 `ai.*` names).
  'ai.prompt',
  'ai.prompt.messages',
  'ai.prompt.tools',
  'ai.response.text',
  'ai.response.reasoning',
  'ai.response.toolCalls',
  'ai.response.object',
  'ai.toolCall.args',
  'ai.toolCall.result',
  'ai.value',
  'ai.values',
  'ai.embedding',
  'ai.embeddings',
  // OpenInference.
  'input.value',
  'output.value',
])
const CONTENT_PREFIXES = [
  'gen_ai.prompt.',
  'gen_ai.completion.',
  'llm.input_messages.',
  'llm.output_messages.',
]

function isStructural(key: string): boolean {
  return STRUCTURAL_KEYS.has(key) || STRUCTURAL_PREFIXES.some((prefix) => key.startsWith(prefix))
}

/** Whether `key` holds only prompt/completion content (dropped entirely when `captureContent` is false). */
export function isContentAttribute(key: string): boolean {
  return CONTENT_KEYS.has(key) || CONTENT_PREFIXES.some((prefix) => key.startsWith(prefix))
}

/**
 * Applies `captureContent` and the `mask` hook to every span before it is exported. It sits in the
 * SDK's span processor, in front of the exporter, so no wrapper (ours, the AI SDK's, a user's own
 * spans on our tracer) can bypass it.
 */
export class ContentPolicy {
  constructor(
    readonly captureContent: boolean,
    readonly mask: MaskFunction | undefined,
    private readonly onMaskError: () => void = () => {},
  ) {}

  /** Whether spans need rewriting at all; when false, {@link apply} is never called (the common, free case). */
  get active(): boolean {
    return !this.captureContent || this.mask !== undefined
  }

  /** Masks one string; a failing mask yields {@link MASK_FAILED}. */
  maskString(value: string, context: MaskContext): string {
    const mask = this.mask
    if (!mask) return value
    try {
      const masked: unknown = mask(value, context)
      if (typeof masked === 'string') return masked
    } catch {
      // Fall through: the value must not leave unmasked.
    }
    this.onMaskError()
    return MASK_FAILED
  }

  /** Masks every string inside `value` (strings, arrays, plain objects); other values are returned as they are. */
  maskValue(value: unknown, context: MaskContext): unknown {
    if (!this.mask) return value
    if (typeof value === 'string') return this.maskString(value, context)
    if (Array.isArray(value)) return value.map((item) => this.maskValue(item, context))
    if (typeof value === 'object' && value !== null && isPlainObject(value)) {
      const out: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(value)) out[key] = this.maskValue(item, context)
      return out
    }
    return value
  }

  /** A string attribute: JSON text is masked string by string (keeping it valid JSON), anything else as a whole. */
  #maskText(value: string, context: MaskContext): string {
    const first = value.charCodeAt(0)
    // '[' or '{': content attributes are JSON documents.
    if (first === 91 || first === 123) {
      let parsed: unknown
      try {
        parsed = JSON.parse(value)
      } catch {
        return this.maskString(value, context)
      }
      return JSON.stringify(this.maskValue(parsed, context))
    }
    return this.maskString(value, context)
  }

  #attributes(attributes: Attributes, spanName: string, prefix: string): Attributes | undefined {
    let out: Attributes | undefined
    for (const key of Object.keys(attributes)) {
      const value = attributes[key]
      let next: AttributeValue | undefined = value
      if (!this.captureContent && isContentAttribute(key)) {
        next = undefined
      } else if (this.mask && !isStructural(key)) {
        const context = { attribute: prefix + key, spanName }
        if (typeof value === 'string') next = this.#maskText(value, context)
        else if (Array.isArray(value) && value.some((item) => typeof item === 'string')) {
          next = value.map((item) => (typeof item === 'string' ? this.#maskText(item, context) : item)) as
            | string[]
            | AttributeValue
        }
      }
      if (next === value) continue
      out ??= { ...attributes }
      if (next === undefined) delete out[key]
      else out[key] = next
    }
    return out
  }

  /** The span as it may be exported: a copy when something changed, else the span itself. */
  apply(span: ReadableSpan): ReadableSpan {
    const attributes = this.#attributes(span.attributes, span.name, '')
    let events: TimedEvent[] | undefined
    if (this.mask && span.events.length > 0) {
      events = span.events.map((event) => {
        const masked = event.attributes && this.#attributes(event.attributes, span.name, `${event.name}.`)
        return masked ? { ...event, attributes: masked } : event
      })
    }
    let status: SpanStatus | undefined
    if (this.mask && span.status.message) {
      const message = this.maskString(span.status.message, {
        attribute: 'status.message',
        spanName: span.name,
      })
      if (message !== span.status.message) status = { ...span.status, message }
    }
    if (!attributes && !events && !status) return span
    return copySpan(span, attributes ?? span.attributes, events ?? span.events, status ?? span.status)
  }
}

function copySpan(
  span: ReadableSpan,
  attributes: Attributes,
  events: TimedEvent[],
  status: SpanStatus,
): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status,
    attributes,
    links: span.links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  }
}

/** A copy of `span` with other attributes. @internal */
export function replaceAttributes(span: ReadableSpan, attributes: Attributes): ReadableSpan {
  return copySpan(span, attributes, span.events, span.status)
}

/** Shared by every copy of the package loaded in the process (ESM and CJS builds), like the instance itself. */
const registry: { policy?: ContentPolicy } = (() => {
  const store = globalThis as Record<symbol, { policy?: ContentPolicy } | undefined>
  const key = Symbol.for('@hindsight/sdk.content-policy')
  const found = store[key]
  if (found) return found
  const created: { policy?: ContentPolicy } = {}
  store[key] = created
  return created
})()

/** Sets the policy {@link applyMask} uses (the one of the instance `init()` made last). @internal */
export function setActiveContentPolicy(policy: ContentPolicy | undefined): void {
  registry.policy = policy
}

/**
 * Applies the configured `mask` to `value`: to a string, or to every string inside arrays and
 * plain objects. Returns `value` unchanged when no mask is configured (or before `init()`).
 *
 * The SDK already masks every exported span centrally, so wrappers do not need to call this for
 * span attributes; it is for data that leaves the process some other way (e.g. a score comment).
 */
export function applyMask<T>(value: T, context: MaskContext): T {
  const policy = registry.policy
  if (!policy?.mask) return value
  return policy.maskValue(value, context) as T
}
