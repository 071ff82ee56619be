import {
  type Context,
  ProxyTracerProvider,
  type Span,
  type SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import { isTracingSuppressed } from '@opentelemetry/core'
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { COMMON } from './attributes'
import { type HindsightOptions, type ResolvedConfig, resolveConfig } from './config'
import { ensureContextManager } from './context-manager'
import { readEnv } from './env'
import { LeanSpan, type LeanSpanScope } from './lean-span'
import { ContentPolicy, setActiveContentPolicy } from './mask'
import { createGenAiMetrics, type GenAiMetrics } from './metrics'
import { type HindsightStats, KeepAlive, OtlpSender, SpanQueue, StatsCounter } from './pipeline'
import { HindsightSpanProcessor, isGenAiSpan, TRACER_NAME } from './processor'
import { releaseShapes } from './shape-anchor'
import { VERSION } from './version'

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000
/** The flush when the event loop empties gives up after this, so a dead collector never delays exit by much. */
const EXIT_FLUSH_TIMEOUT_MS = 2000

/** Options of {@link Hindsight.shutdown}. */
export interface ShutdownOptions {
  /**
   * Give up waiting for the last export after this long; the promise resolves either way.
   * @default 5000
   */
  timeoutMillis?: number
}

/** Resolves after `ms` without keeping the process alive. */
function unrefDelay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    timer.unref?.()
  })
}

/** Waits for `work` but at most `ms`; never rejects. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([work.then(noop, noop), unrefDelay(ms)])
}

function noop(): void {}

const noopTracer: Tracer = new ProxyTracerProvider().getTracer(TRACER_NAME)

/** How an instance gets its spans: its own private provider, or the host's provider through our processor. */
type Mode = 'standalone' | 'attached'

/**
 * One configured SDK: its span processor and export pipeline, and either a private tracer provider
 * (from {@link init}; never registered globally, so it cannot clash with a host app's OpenTelemetry)
 * or the host's own provider (from {@link hindsightSpanProcessor}).
 */
export class Hindsight {
  /** Whether wrapped clients make spans. */
  readonly enabled: boolean
  /** Whether prompts and completions are recorded. */
  readonly captureContent: boolean
  readonly release: string | undefined
  /** Base URL of the REST API that `score()` posts to. */
  readonly apiUrl: string
  /** The project key, for `score()`; private, so it never shows in logs of this object. */
  readonly #apiKey: string | undefined
  /**
   * The span processor that filters, masks and exports; a standard OTel `SpanProcessor`. With
   * {@link hindsightSpanProcessor} it is the one you add to your own tracer provider.
   */
  readonly spanProcessor: SpanProcessor
  readonly #stats = new StatsCounter()
  readonly #keepAlive = new KeepAlive()
  readonly #policy: ContentPolicy
  readonly #provider: BasicTracerProvider | undefined
  readonly #queue: SpanQueue | undefined
  readonly #metrics: GenAiMetrics | undefined
  readonly #tracer: Tracer
  /** Standalone mode: what the SDK's own call spans are made with (see {@link startCallSpan}). */
  #leanScope: LeanSpanScope | undefined
  readonly #exportTimeoutMillis: number
  /** Ended when shutdown() reaches its deadline, so no request outlives it. */
  readonly #abortables: { abort(): void }[] = []
  #shutdown: Promise<void> | undefined
  #exitFlushing = false
  #exitGaveUp = false
  #exitListener: (() => void) | undefined

  constructor(config: ResolvedConfig, mode: Mode = 'standalone') {
    this.enabled = config.enabled
    this.captureContent = config.captureContent
    this.release = config.release
    this.apiUrl = config.apiUrl
    this.#apiKey = config.apiKey
    this.#exportTimeoutMillis = config.exportTimeoutMillis
    this.#policy = new ContentPolicy(config.captureContent, config.mask, () => {
      this.#stats.internalErrors += 1
    })
    policies.set(this, this.#policy)
    if (!config.enabled) {
      this.#tracer = noopTracer
      this.spanProcessor = new NoopSpanProcessor()
      return
    }
    // Attached, the host's provider registers its context manager when it starts (which may be
    // after this runs, e.g. `new NodeSDK({ spanProcessors: [hindsightSpanProcessor()] })`).
    if (mode === 'standalone') ensureContextManager()
    const resource = buildResource(config)
    const headers: Record<string, string> = config.apiKey ? { Authorization: `Bearer ${config.apiKey}` } : {}
    const senderOptions = {
      headers,
      timeoutMillis: config.exportTimeoutMillis,
      userAgent: `hindsight-sdk/${VERSION}`,
      keepAlive: this.#keepAlive,
    }
    let sink = config.spanProcessor
    if (!sink) {
      let target: SpanExporter | OtlpSender | undefined = config.exporter
      if (!target) {
        // The SDK's own path: spans are encoded as they end and posted by the sender.
        const sender = new OtlpSender({ ...senderOptions, url: config.tracesUrl })
        this.#abortables.push(sender)
        target = sender
      }
      this.#queue = new SpanQueue(
        target,
        {
          ...queueOptions(config),
          destination: config.exporter ? 'the configured exporter' : config.tracesUrl,
        },
        this.#stats,
        this.#keepAlive,
      )
      sink = this.#queue
    }
    if (config.metrics) {
      const sender = new OtlpSender({ ...senderOptions, url: config.metricsUrl })
      this.#abortables.push(sender)
      this.#metrics = createGenAiMetrics({
        resource,
        sender,
        intervalMillis: config.metricsIntervalMillis,
        stats: this.#stats,
      })
    }
    this.spanProcessor = new HindsightSpanProcessor({
      release: config.release,
      attached: mode === 'attached',
      filter: config.spanFilter ?? (mode === 'attached' ? isGenAiSpan : undefined),
      policy: this.#policy,
      metrics: this.#metrics,
      sink,
      stats: this.#stats,
    })
    if (mode === 'attached') {
      // The host's provider, through the global API: our spans get its sampler, resource and
      // context, and reach its exporters as well as ours.
      this.#tracer = trace.getTracer(TRACER_NAME, VERSION)
    } else {
      this.#provider = new BasicTracerProvider({
        resource,
        spanProcessors: [this.spanProcessor],
        // Explicit, so a host's OTEL_TRACES_SAMPLER (meant for its own backend) cannot thin out LLM
        // spans: cost and usage need every call, and an unsampled host parent is not ours to follow.
        sampler: new AlwaysOnSampler(),
      })
      this.#tracer = this.#provider.getTracer(TRACER_NAME, VERSION)
      const scope = (this.#tracer as { instrumentationScope?: LeanSpanScope['instrumentationScope'] })
        .instrumentationScope
      this.#leanScope = {
        resource,
        // The provider tracer's own scope object, so both kinds of span share one ScopeSpans.
        instrumentationScope: scope ?? { name: TRACER_NAME, version: VERSION },
        processor: this.spanProcessor,
      }
    }
    if (!config.spanProcessor && config.flushOnExit) this.#listenForExit()
  }

  #listenForExit(): void {
    const proc = globalThis.process
    if (typeof proc?.on !== 'function') return
    // `beforeExit` fires whenever the loop drains. Only pending telemetry starts new work, and the
    // flush gives up after EXIT_FLUSH_TIMEOUT_MS (for good), so this never keeps a process alive for long.
    this.#exitListener = () => {
      if (this.#exitFlushing || this.#exitGaveUp || this.#shutdown) return
      if ((this.#queue?.pending ?? 0) === 0 && !this.#metrics?.dirty) return
      this.#exitFlushing = true
      const release = this.#keepAlive.hold()
      const deadline = setTimeout(() => {
        this.#exitGaveUp = true
        release()
      }, EXIT_FLUSH_TIMEOUT_MS)
      deadline.unref?.()
      void this.spanProcessor.forceFlush().finally(() => {
        clearTimeout(deadline)
        release()
        this.#exitFlushing = false
      })
    }
    proc.on('beforeExit', this.#exitListener)
  }

  /** The tracer spans are made with; a no-op tracer when disabled. Spans nest under the active context. */
  getTracer(): Tracer {
    return this.#tracer
  }

  /**
   * Starts the span of a wrapped call or an `observe()` step. In standalone mode (our private provider, always sampled)
   * it is a {@link LeanSpan} handed straight to our processor; otherwise, and when tracing is
   * suppressed, the tracer makes it. @internal
   */
  startCallSpan(name: string, kind: SpanKind, parent: Context): Span {
    const scope = this.#leanScope
    if (scope && !isTracingSuppressed(parent)) return new LeanSpan(scope, name, kind, parent)
    return this.#tracer.startSpan(name, { kind }, parent)
  }

  /** Counters of exported and lost spans and of swallowed internal errors. */
  getStats(): HindsightStats {
    return this.#stats.snapshot()
  }

  /** Sends every ended span (and metric point) now. Resolves once sent or failed; never rejects. */
  async flush(): Promise<void> {
    if (!this.enabled || this.#shutdown) return
    const release = this.#keepAlive.hold()
    try {
      // The sender's own deadline bounds this; the margin only guards a stuck custom exporter.
      await settleWithin(this.spanProcessor.forceFlush(), this.#exportTimeoutMillis + 1000)
    } finally {
      release()
    }
  }

  /**
   * Flushes and stops. Resolves within `timeoutMillis` even if the collector is unreachable, never
   * rejects, and is safe to call more than once.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (!this.#shutdown) {
      const timeout = options.timeoutMillis ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
      if (this.#exitListener) globalThis.process?.off?.('beforeExit', this.#exitListener)
      const release = this.#keepAlive.hold()
      const work = this.#provider ? this.#provider.shutdown() : this.spanProcessor.shutdown()
      this.#shutdown = settleWithin(work, timeout).finally(() => {
        for (const abortable of this.#abortables) abortable.abort()
        releaseShapes()
        release()
      })
    }
    return this.#shutdown
  }

  /** Headers that authenticate REST API calls (`score()`). @internal */
  apiHeaders(): Record<string, string> {
    return this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}
  }

  /** Counts an SDK-internal failure that was swallowed. @internal */
  recordInternalError(): void {
    this.#stats.internalErrors += 1
  }
}

function queueOptions(config: ResolvedConfig) {
  return {
    maxQueueSize: config.maxQueueSize,
    maxExportBatchSize: config.maxExportBatchSize,
    scheduledDelayMillis: config.scheduledDelayMillis,
    exportTimeoutMillis: config.exportTimeoutMillis,
  }
}

function buildResource(config: ResolvedConfig): Resource {
  return defaultResource().merge(
    resourceFromAttributes({
      [COMMON.serviceName]: config.serviceName,
      [COMMON.serviceVersion]: config.release,
      [COMMON.deploymentEnvironment]: config.environment,
    }),
  )
}

/** Each instance's content policy, kept out of the public type. */
const policies = new WeakMap<Hindsight, ContentPolicy>()

/**
 * The current instance lives on a global symbol, not in module state, so that when an app loads
 * both the ESM and the CommonJS build (or two copies of the package), `init()` in one is seen by
 * wrappers and `observe()` of the other.
 */
const registry = globalSlot<{ active?: Hindsight }>('@hindsight/sdk.instance')

function globalSlot<T extends object>(name: string): T {
  const store = globalThis as Record<symbol, T | undefined>
  const key = Symbol.for(name)
  const found = store[key]
  if (found) return found
  const created = {} as T
  store[key] = created
  return created
}

function activate(next: Hindsight): Hindsight {
  const previous = registry.active
  registry.active = next
  setActiveContentPolicy(policies.get(next))
  if (previous) void previous.shutdown()
  return next
}

/**
 * Configures the SDK and returns it. Calling `init()` again REPLACES the configuration: the previous
 * instance is shut down in the background (its queued spans are still flushed) and wrapped clients
 * use the new one from their next call. Throws {@link HindsightError} when an option is invalid.
 */
export function init(options: HindsightOptions = {}): Hindsight {
  return activate(new Hindsight(resolveConfig(options, readEnv())))
}

/**
 * For apps that already run OpenTelemetry: configures the SDK like {@link init}, but instead of a
 * private provider it returns a span processor to add to YOUR provider, so Hindsight never
 * registers a second one:
 *
 * ```ts
 * new NodeSDK({ spanProcessors: [hindsightSpanProcessor({ apiKey }), ...yours] }).start()
 * ```
 *
 * Wrapped clients and `observe()` then make their spans with your provider (your sampler and
 * resource apply, and your exporters see them too). This processor sends only GenAI spans to
 * Hindsight (see `spanFilter`), and never modifies your other spans. Replaces any earlier
 * `init()`, like `init()` itself.
 */
export function hindsightSpanProcessor(options: HindsightOptions = {}): SpanProcessor {
  return activate(new Hindsight(resolveConfig(options, readEnv()), 'attached')).spanProcessor
}

/** The instance `init()` made last, if any. @internal */
export function activeHindsight(): Hindsight | undefined {
  return registry.active
}

/** Sends every ended span now; resolves (never rejects) once done or failed. No-op before `init()`. */
export function flush(): Promise<void> {
  return registry.active?.flush() ?? Promise.resolve()
}

/** Flushes and stops the SDK within a deadline (default 5 s). Never rejects. No-op before `init()`. */
export function shutdown(options?: ShutdownOptions): Promise<void> {
  return registry.active?.shutdown(options) ?? Promise.resolve()
}

function currentTracer(): Tracer {
  return registry.active?.getTracer() ?? noopTracer
}

/**
 * Always the CURRENT instance's tracer: safe to hand to a library once at start-up (e.g. the AI
 * SDK's telemetry), even before `init()` or across re-`init()`.
 */
const delegatingTracer: Tracer = {
  startSpan: (name, options, ctx) => currentTracer().startSpan(name, options, ctx),
  startActiveSpan: ((...args: unknown[]) => {
    const tracer = currentTracer()
    return Reflect.apply(tracer.startActiveSpan, tracer, args) as unknown
  }) as Tracer['startActiveSpan'],
}

/**
 * The SDK's tracer, to add your own spans (they nest with the LLM spans) or to pass to the AI SDK's
 * telemetry. It follows `init()`: before it, spans are no-ops; after a re-`init()`, they go to the
 * new configuration.
 */
export function getTracer(): Tracer {
  return delegatingTracer
}

/** Export counters of the current instance; all zero before `init()`. */
export function getStats(): HindsightStats {
  return registry.active?.getStats() ?? { exported: 0, dropped: 0, failedExports: 0, internalErrors: 0 }
}
