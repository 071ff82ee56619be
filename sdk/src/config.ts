import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { HindsightEnv } from './env'
import { HindsightError } from './errors'

/** Options of {@link init}. Every option falls back to an environment variable or a default. */
export interface HindsightOptions {
  /**
   * Base URL of the Hindsight collector; spans are sent to `${endpoint}/v1/traces`.
   * @default process.env.HINDSIGHT_ENDPOINT ?? 'http://127.0.0.1:4318'
   */
  endpoint?: string
  /**
   * Project API key, sent as `Authorization: Bearer <key>`. Never logged.
   * @default process.env.HINDSIGHT_API_KEY
   */
  apiKey?: string
  /**
   * The resource's `service.name`.
   * @default process.env.OTEL_SERVICE_NAME ?? 'unknown_service'
   */
  serviceName?: string
  /**
   * The resource's `deployment.environment.name` (e.g. `production`).
   * @default process.env.HINDSIGHT_ENVIRONMENT
   */
  environment?: string
  /**
   * Your app's version: the resource's `service.version` and the `hindsight.release` attribute of
   * every span, so the dashboard can compare releases.
   * @default process.env.HINDSIGHT_RELEASE
   */
  release?: string
  /**
   * Record prompts, completions, system instructions and tool definitions on spans. When false,
   * no content attribute is written at all (token counts, models and timings still are).
   * @default process.env.HINDSIGHT_CAPTURE_CONTENT ?? true
   */
  captureContent?: boolean
  /**
   * When false, wrapped clients call straight through and no span is made or sent.
   * @default process.env.HINDSIGHT_ENABLED ?? true
   */
  enabled?: boolean
  /**
   * Spans waiting to be sent at most; further spans are dropped (and counted) until the queue drains.
   * @default 2048
   */
  maxQueueSize?: number
  /**
   * Spans per export request at most. Must not exceed `maxQueueSize`.
   * @default 512
   */
  maxExportBatchSize?: number
  /**
   * How long a span waits in the queue before a batch is sent.
   * @default 1000
   */
  scheduledDelayMillis?: number
  /**
   * How long one export (with its retries) may take before it counts as failed. The OTLP exporter's
   * retry timers are not ours to unref, so with an unreachable collector this also bounds how long
   * they can keep a finished process alive.
   * @default 5000
   */
  exportTimeoutMillis?: number
  /**
   * Flush pending spans when the event loop empties (`beforeExit`), so short scripts need no
   * explicit `flush()`. Has no effect with a custom `spanProcessor`.
   * @default true
   */
  flushOnExit?: boolean
  /**
   * Replaces the OTLP/protobuf exporter (spans are still batched). For tests and custom backends.
   * @default an OTLPTraceExporter to `${endpoint}/v1/traces`
   */
  exporter?: SpanExporter
  /**
   * Replaces the whole export pipeline (batching and exporter). For tests, e.g. a
   * `SimpleSpanProcessor(new InMemorySpanExporter())`. Export statistics are not counted then.
   * @default a BatchSpanProcessor over `exporter`
   */
  spanProcessor?: SpanProcessor
}

/** {@link HindsightOptions} after defaults, environment and validation. */
export interface ResolvedConfig {
  endpoint: string
  tracesUrl: string
  apiKey: string | undefined
  serviceName: string
  environment: string | undefined
  release: string | undefined
  captureContent: boolean
  enabled: boolean
  maxQueueSize: number
  maxExportBatchSize: number
  scheduledDelayMillis: number
  exportTimeoutMillis: number
  flushOnExit: boolean
  exporter: SpanExporter | undefined
  spanProcessor: SpanProcessor | undefined
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4318'

function invalid(message: string): HindsightError {
  return new HindsightError('invalid_config', `@hindsight/sdk: ${message}`)
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalid(`option ${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

function optionalText(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalid(`option ${name} must be a string`)
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

function resolveEndpoint(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw invalid(`endpoint must be an http(s) URL such as ${DEFAULT_ENDPOINT}, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`endpoint must use http or https, got "${url.protocol}" in "${raw}"`)
  }
  if (url.username || url.password) {
    // Credentials in the URL would end up in error messages; the key belongs in `apiKey`.
    throw invalid('endpoint must not contain credentials; pass the key as apiKey')
  }
  return raw.trim().replace(/\/+$/, '')
}

/** Applies option → environment → default, and validates. Throws {@link HindsightError} on bad options. */
export function resolveConfig(options: HindsightOptions, env: HindsightEnv): ResolvedConfig {
  const endpoint = resolveEndpoint(
    optionalText('endpoint', options.endpoint) ?? env.endpoint ?? DEFAULT_ENDPOINT,
  )
  const maxQueueSize = positiveInteger('maxQueueSize', options.maxQueueSize, 2048)
  const maxExportBatchSize = positiveInteger('maxExportBatchSize', options.maxExportBatchSize, 512)
  if (maxExportBatchSize > maxQueueSize) {
    throw invalid(
      `maxExportBatchSize (${maxExportBatchSize}) must not exceed maxQueueSize (${maxQueueSize}): a batch is taken from the queue`,
    )
  }
  return {
    endpoint,
    tracesUrl: `${endpoint}/v1/traces`,
    apiKey: optionalText('apiKey', options.apiKey) ?? env.apiKey,
    serviceName: optionalText('serviceName', options.serviceName) ?? env.serviceName ?? 'unknown_service',
    environment: optionalText('environment', options.environment) ?? env.environment,
    release: optionalText('release', options.release) ?? env.release,
    captureContent: options.captureContent ?? env.captureContent ?? true,
    enabled: options.enabled ?? env.enabled ?? true,
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis: positiveInteger('scheduledDelayMillis', options.scheduledDelayMillis, 1000),
    exportTimeoutMillis: positiveInteger('exportTimeoutMillis', options.exportTimeoutMillis, 5000),
    flushOnExit: options.flushOnExit ?? true,
    exporter: options.exporter,
    spanProcessor: options.spanProcessor,
  }
}
