import type { Context } from '@opentelemetry/api'
import { TraceFlags } from '@opentelemetry/api'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { HINDSIGHT } from './attributes'

/** What happened to the spans this SDK produced. */
export interface HindsightStats {
  /** Spans the backend accepted. */
  exported: number
  /** Spans lost: queue full, failed exports, or ended after shutdown. */
  dropped: number
  /** Export requests that failed (each may have carried many spans). */
  failedExports: number
  /** Errors inside the SDK that were swallowed so the host app never sees them. */
  internalErrors: number
}

/** Mutable counters shared by the processor and exporter below. */
export class StatsCounter {
  exported = 0
  dropped = 0
  failedExports = 0
  internalErrors = 0
  /** Spans handed to the batch processor and not yet settled by an export. */
  pending = 0

  snapshot(): HindsightStats {
    return {
      exported: this.exported,
      dropped: this.dropped,
      failedExports: this.failedExports,
      internalErrors: this.internalErrors,
    }
  }
}

/**
 * Counts what the wrapped exporter does. Failures are reported to the batch processor as usual
 * (it only rejects `forceFlush`, which the SDK catches) but never logged: error texts can carry
 * request details, and the API key must not leak into logs.
 */
export class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly stats: StatsCounter,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let settled = false
    const settle = (result: ExportResult) => {
      if (settled) return
      settled = true
      this.stats.pending = Math.max(0, this.stats.pending - spans.length)
      if (result.code === ExportResultCode.SUCCESS) {
        this.stats.exported += spans.length
      } else {
        this.stats.failedExports += 1
        this.stats.dropped += spans.length
      }
      resultCallback(result)
    }
    try {
      this.inner.export(spans, settle)
    } catch (error) {
      settle({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      })
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }
}

/**
 * Bounds the spans in flight (queued or being exported) and counts the ones it turns away. The
 * batch processor drops silently when full and resets its own counter, so the bound is kept here,
 * one notch stricter than the processor's, which therefore never drops by itself.
 */
export class CountingProcessor implements SpanProcessor {
  private closed = false

  constructor(
    private readonly inner: SpanProcessor,
    private readonly stats: StatsCounter,
    private readonly maxQueueSize: number,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext)
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.closed || this.stats.pending >= this.maxQueueSize) {
      this.stats.dropped += 1
      return
    }
    this.stats.pending += 1
    this.inner.onEnd(span)
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush()
  }

  shutdown(): Promise<void> {
    this.closed = true
    return this.inner.shutdown()
  }
}

/** Stamps `hindsight.release` on every span of our provider, including ones users start themselves. */
export class ReleaseProcessor implements SpanProcessor {
  constructor(private readonly release: string) {}

  onStart(span: Span): void {
    span.setAttribute(HINDSIGHT.release, this.release)
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}
