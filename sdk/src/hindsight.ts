import { ProxyTracerProvider, type Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { COMMON } from './attributes'
import { type HindsightOptions, type ResolvedConfig, resolveConfig } from './config'
import { ensureContextManager } from './context-manager'
import { readEnv, withoutHostOtlpEnv } from './env'
import {
  CountingExporter,
  CountingProcessor,
  type HindsightStats,
  ReleaseProcessor,
  StatsCounter,
} from './pipeline'
import { VERSION } from './version'

const TRACER_NAME = '@hindsight/sdk'
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000

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

/**
 * One configured SDK: a private tracer provider with its export pipeline. Created by {@link init};
 * it never registers itself as the global tracer provider, so it cannot clash with a host app's
 * own OpenTelemetry setup.
 */
export class Hindsight {
  /** Whether wrapped clients make spans. */
  readonly enabled: boolean
  /** Whether prompts and completions are recorded. */
  readonly captureContent: boolean
  readonly release: string | undefined
  readonly #stats = new StatsCounter()
  readonly #provider: BasicTracerProvider | undefined
  readonly #tracer: Tracer
  readonly #exportTimeoutMillis: number
  #shutdown: Promise<void> | undefined
  #flushingOnExit = false
  #exitListener: (() => void) | undefined

  constructor(config: ResolvedConfig) {
    this.enabled = config.enabled
    this.captureContent = config.captureContent
    this.release = config.release
    this.#exportTimeoutMillis = config.exportTimeoutMillis
    if (!config.enabled) {
      this.#tracer = noopTracer
      return
    }
    ensureContextManager()
    const processors: SpanProcessor[] = []
    if (config.release) processors.push(new ReleaseProcessor(config.release))
    processors.push(config.spanProcessor ?? this.#batchPipeline(config))
    this.#provider = new BasicTracerProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({
          [COMMON.serviceName]: config.serviceName,
          [COMMON.serviceVersion]: config.release,
          [COMMON.deploymentEnvironment]: config.environment,
        }),
      ),
      spanProcessors: processors,
      // Explicit, so a host's OTEL_TRACES_SAMPLER (meant for its own backend) cannot thin out LLM
      // spans: cost and usage need every call, and an unsampled host parent is not ours to follow.
      sampler: new AlwaysOnSampler(),
    })
    this.#tracer = this.#provider.getTracer(TRACER_NAME, VERSION)
    if (!config.spanProcessor && config.flushOnExit) this.#listenForExit()
  }

  #batchPipeline(config: ResolvedConfig): SpanProcessor {
    const exporter: SpanExporter =
      config.exporter ??
      withoutHostOtlpEnv(
        () =>
          new OTLPTraceExporter({
            url: config.tracesUrl,
            headers: config.apiKey ? { Authorization: `Bearer ${config.apiKey}` } : {},
            timeoutMillis: config.exportTimeoutMillis,
            userAgent: `hindsight-sdk/${VERSION}`,
          }),
      )
    const batch = new BatchSpanProcessor(new CountingExporter(exporter, this.#stats), {
      maxQueueSize: config.maxQueueSize,
      maxExportBatchSize: config.maxExportBatchSize,
      scheduledDelayMillis: config.scheduledDelayMillis,
      exportTimeoutMillis: config.exportTimeoutMillis,
    })
    return new CountingProcessor(batch, this.#stats, config.maxQueueSize)
  }

  #listenForExit(): void {
    const proc = globalThis.process
    if (typeof proc?.on !== 'function') return
    // `beforeExit` fires whenever the loop drains; only pending spans start new work, so this
    // cannot keep a process alive forever.
    this.#exitListener = () => {
      if (this.#flushingOnExit || this.#stats.pending === 0 || this.#shutdown) return
      this.#flushingOnExit = true
      void this.flush().finally(() => {
        this.#flushingOnExit = false
      })
    }
    proc.on('beforeExit', this.#exitListener)
  }

  /** The tracer spans are made with; a no-op tracer when disabled. Spans nest under the active context. */
  getTracer(): Tracer {
    return this.#tracer
  }

  /** Counters of exported and lost spans and of swallowed internal errors. */
  getStats(): HindsightStats {
    return this.#stats.snapshot()
  }

  /** Sends every ended span now. Resolves once sent or failed (never rejects). */
  async flush(): Promise<void> {
    if (!this.#provider || this.#shutdown) return
    // The batch processor's own export timeout bounds this; the extra margin only guards a stuck exporter.
    await settleWithin(this.#provider.forceFlush(), this.#exportTimeoutMillis + 1000)
  }

  /**
   * Flushes and stops. Resolves within `timeoutMillis` even if the collector is unreachable, never
   * rejects, and is safe to call more than once.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (!this.#shutdown) {
      const timeout = options.timeoutMillis ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
      if (this.#exitListener) globalThis.process?.off?.('beforeExit', this.#exitListener)
      this.#shutdown = this.#provider ? settleWithin(this.#provider.shutdown(), timeout) : Promise.resolve()
    }
    return this.#shutdown
  }

  /** Counts an SDK-internal failure that was swallowed. @internal */
  recordInternalError(): void {
    this.#stats.internalErrors += 1
  }
}

let active: Hindsight | undefined

/**
 * Configures the SDK and returns it. Calling `init()` again REPLACES the configuration: the previous
 * instance is shut down in the background (its queued spans are still flushed) and wrapped clients
 * use the new one from their next call. Throws {@link HindsightError} when an option is invalid.
 */
export function init(options: HindsightOptions = {}): Hindsight {
  const next = new Hindsight(resolveConfig(options, readEnv()))
  const previous = active
  active = next
  if (previous) void previous.shutdown()
  return next
}

/** The instance `init()` made last, if any. @internal */
export function activeHindsight(): Hindsight | undefined {
  return active
}

/** Sends every ended span now; resolves (never rejects) once done or failed. No-op before `init()`. */
export function flush(): Promise<void> {
  return active?.flush() ?? Promise.resolve()
}

/** Flushes and stops the SDK within a deadline (default 5 s). Never rejects. No-op before `init()`. */
export function shutdown(options?: ShutdownOptions): Promise<void> {
  return active?.shutdown(options) ?? Promise.resolve()
}

/** The SDK's tracer, to add your own spans (they nest with the LLM spans). A no-op tracer before `init()`. */
export function getTracer(): Tracer {
  return active?.getTracer() ?? noopTracer
}

/** Export counters of the current instance; all zero before `init()`. */
export function getStats(): HindsightStats {
  return active?.getStats() ?? { exported: 0, dropped: 0, failedExports: 0, internalErrors: 0 }
}
