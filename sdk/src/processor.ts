import type { AttributeValue, Context } from '@opentelemetry/api'
import { TraceFlags } from '@opentelemetry/api'
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { HINDSIGHT } from './attributes'
import { traceSpanAttributes } from './context-attributes'
import { type ContentPolicy, replaceAttributes } from './mask'
import type { GenAiMetrics } from './metrics'
import type { StatsCounter } from './pipeline'

/** The instrumentation scope of every span the SDK (and a user, through `getTracer()`) makes. */
export const TRACER_NAME = '@hindsight/sdk'

const GENAI_PREFIXES = ['gen_ai.', 'ai.', 'llm.', 'openinference.', 'traceloop.']

/**
 * The default filter when attached to a host's provider: spans of our tracer, and spans any GenAI
 * instrumentation made (`gen_ai.*`, the AI SDK's `ai.*`, OpenInference, OpenLLMetry). The host's
 * HTTP, database and framework spans stay with the host's own exporter.
 */
export function isGenAiSpan(span: ReadableSpan): boolean {
  if (span.instrumentationScope.name === TRACER_NAME) return true
  for (const key in span.attributes) {
    for (const prefix of GENAI_PREFIXES) if (key.startsWith(prefix)) return true
  }
  return false
}

export interface HindsightSpanProcessorParts {
  /** `init({ release })`, stamped on every span as `hindsight.release`. */
  release: string | undefined
  /**
   * True when this processor sits in a host's tracer provider: host spans are then never modified
   * (trace attributes are added to the exported copy instead).
   */
  attached: boolean
  /** Which ended spans to export; all when undefined. */
  filter: ((span: ReadableSpan) => boolean) | undefined
  policy: ContentPolicy
  metrics: GenAiMetrics | undefined
  /** Where exportable spans go: the SDK's bounded queue, or a test's processor. */
  sink: SpanProcessor
  stats: StatsCounter
}

/**
 * Hindsight's one span processor: trace attributes and release on start; on end the export filter,
 * the GenAI metrics, then `captureContent`/`mask` (so nothing reaches the exporter unmasked), then
 * the export queue. A standard OTel `SpanProcessor`: add it to your own provider with
 * {@link hindsightSpanProcessor} when your app already runs OpenTelemetry.
 */
export class HindsightSpanProcessor implements SpanProcessor {
  readonly #parts: HindsightSpanProcessorParts
  readonly #releaseAttributes: Readonly<Record<string, AttributeValue>> | undefined
  /** Attached mode: what onStart saw in the context, applied to the exported copy. */
  readonly #startAttributes = new WeakMap<object, Readonly<Record<string, AttributeValue>>>()
  #shutdown: Promise<void> | undefined

  constructor(parts: HindsightSpanProcessorParts) {
    this.#parts = parts
    this.#releaseAttributes = parts.release ? { [HINDSIGHT.release]: parts.release } : undefined
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      const fromContext = traceSpanAttributes(parentContext)
      const release = this.#releaseAttributes
      if (fromContext || release) {
        if (this.#parts.attached) {
          this.#startAttributes.set(
            span,
            release && fromContext
              ? { ...release, ...fromContext }
              : ((fromContext ?? release) as Readonly<Record<string, AttributeValue>>),
          )
        } else {
          // Attributes the span was started with win; the trace's release wins over init()'s.
          const own = span.attributes
          if (fromContext) {
            for (const key in fromContext) {
              if (own[key] === undefined) span.setAttribute(key, fromContext[key] as AttributeValue)
            }
          }
          // (`own` is what the span had before: a lean span's `attributes` is a copy.)
          if (
            release &&
            own[HINDSIGHT.release] === undefined &&
            fromContext?.[HINDSIGHT.release] === undefined
          )
            span.setAttributes(release)
        }
      }
      this.#parts.sink.onStart(span, parentContext)
    } catch {
      this.#parts.stats.internalErrors += 1
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
      const { filter, metrics, policy, sink } = this.#parts
      if (filter && !filter(span)) return
      metrics?.record(span)
      let out = span
      const fromStart = this.#parts.attached ? this.#startAttributes.get(span) : undefined
      // The span's own attributes win over the trace attributes, as they do in standalone mode.
      if (fromStart) out = replaceAttributes(span, { ...fromStart, ...span.attributes })
      if (policy.active) out = policy.apply(out)
      sink.onEnd(out)
    } catch {
      this.#parts.stats.internalErrors += 1
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.all([
      this.#parts.sink.forceFlush().catch(() => {}),
      this.#parts.metrics?.flush().catch(() => {}),
    ])
  }

  shutdown(): Promise<void> {
    if (!this.#shutdown) {
      this.#shutdown = Promise.all([
        this.#parts.sink.shutdown().catch(() => {}),
        this.#parts.metrics?.shutdown().catch(() => {}),
      ]).then(() => {})
    }
    return this.#shutdown
  }
}
