/**
 * Span capture for the dialect tests: a real OpenTelemetry tracer provider (async context, so
 * parent/child links are real), an in-memory exporter, and the trip through the real wire format —
 * the official OTLP protobuf serializer (`@opentelemetry/otlp-transformer`) then the collector's
 * own `decodeOtlpTraces` — before `mapSpan`.
 */
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import type { SpanRow } from '../../src/canonical'
import { mapSpan } from '../../src/mapping/map-span'
import { decodeOtlpTraces } from '../../src/otlp/decode'
import type { OtlpSpan } from '../../src/otlp/types'

export const PROJECT_ID = 'dialect-test'
/** A fixed ingest clock; span times are real. */
export const INGESTED_AT = Date.UTC(2026, 10, 27, 12)

export interface Capture {
  provider: BasicTracerProvider
  /** Finished spans as the OpenTelemetry SDK holds them, in the order they ended. */
  finished(): ReadableSpan[]
  /** Finished spans, serialized to OTLP protobuf and decoded by the collector. */
  otlpSpans(): OtlpSpan[]
  /** The same spans mapped to canonical rows, in the order they ended. */
  rows(): SpanRow[]
  /** The bytes sent on the wire for the finished spans. */
  wire(): Uint8Array
  reset(): void
  shutdown(): Promise<void>
}

/**
 * A provider registered as the global one (instrumentations and the AI SDK look it up) with the
 * async-hooks context manager, so spans started inside another span's callback are its children.
 */
export function startCapture(): Capture {
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  trace.setGlobalTracerProvider(provider)
  const wire = (): Uint8Array => {
    const bytes = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())
    if (!bytes) throw new Error('the OTLP serializer produced nothing')
    return bytes
  }
  const otlpSpans = () => decodeOtlpTraces(Buffer.from(wire()), 'protobuf')
  return {
    provider,
    finished: () => exporter.getFinishedSpans(),
    wire,
    otlpSpans,
    rows: () => otlpSpans().map((span) => mapSpan(span, { projectId: PROJECT_ID, now: INGESTED_AT })),
    reset: () => exporter.reset(),
    shutdown: async () => {
      await provider.shutdown()
      trace.disable()
      context.disable()
    },
  }
}

/** Exact span duration in ms from the SDK's own measurement. */
export function durationMs(span: ReadableSpan): number {
  return Number(BigInt(span.duration[0]) * 1_000_000_000n + BigInt(span.duration[1])) / 1e6
}

/** The one row whose span name is `name` (fails loudly otherwise). */
export function rowNamed(rows: SpanRow[], name: string): SpanRow {
  const found = rows.filter((r) => r.name === name)
  if (found.length !== 1) {
    throw new Error(
      `expected one span named ${name}, got ${found.length}: ${rows.map((r) => r.name).join(', ')}`,
    )
  }
  return found[0] as SpanRow
}
