import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { HindsightEnv } from './env'
import { HindsightError } from './errors'
import type { MaskFunction } from './mask'

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
   * Base URL of Hindsight's REST API (the dashboard's server); `score()` posts to
   * `${apiUrl}/api/public/v1/scores`.
   * @default process.env.HINDSIGHT_API_URL ?? the endpoint's host on port 3000
   */
  apiUrl?: string
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
   * Rewrites strings before anything leaves the process, e.g. to redact emails. Applied centrally to
   * every exported span (all wrappers, `observe()` steps, the AI SDK's spans, your own spans): to
   * messages, outputs, documents, tool arguments, trace attributes, error messages; not to
   * structural values (model, provider, operation, ids, finish reasons, release, route). JSON
   * content is masked string by string, so it stays valid JSON. See {@link MaskFunction}.
   * @default no masking
   */
  mask?: MaskFunction
  /**
   * Also record the GenAI client metrics (`gen_ai.client.operation.duration`,
   * `gen_ai.client.token.usage`, `gen_ai.client.operation.time_to_first_chunk`) and send them to
   * `${endpoint}/v1/metrics` every `metricsIntervalMillis`.
   * @default process.env.HINDSIGHT_METRICS ?? false
   */
  metrics?: boolean
  /**
   * How often metrics are sent (delta temporality). `flush()` and `shutdown()` send them too.
   * @default 60000
   */
  metricsIntervalMillis?: number
  /**
   * Which ended spans are sent. By default every span of the SDK's own provider is; with
   * {@link hindsightSpanProcessor} in your own provider, only GenAI spans (our tracer's, and any
   * with `gen_ai.*`, `ai.*`, `llm.*` attributes), so your HTTP and database spans stay yours.
   * @default all (own provider) / GenAI spans only (attached)
   */
  spanFilter?: (span: ReadableSpan) => boolean
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
   * How long one export (with its retries, backoff and `Retry-After` waits) may take before its
   * spans count as dropped. Exports never keep a finished process alive; only an awaited
   * `flush()`/`shutdown()` (and the flush on exit, for at most 2 s) wait for them.
   * @default 5000
   */
  exportTimeoutMillis?: number
  /**
   * Flush pending spans when the event loop empties (`beforeExit`), so short scripts need no
   * explicit `flush()`. Gives up after 2 s, so a dead collector barely delays exit. Has no effect
   * with a custom `spanProcessor`.
   * @default true
   */
  flushOnExit?: boolean
  /**
   * Replaces the OTLP/protobuf exporter (spans are still queued, batched, masked and counted).
   * For tests and custom backends.
   * @default the SDK's OTLP/HTTP protobuf exporter to `${endpoint}/v1/traces`
   */
  exporter?: SpanExporter
  /**
   * Replaces the export queue and exporter. For tests, e.g. a
   * `SimpleSpanProcessor(new InMemorySpanExporter())`: it receives spans after `captureContent` and
   * `mask` were applied. Export statistics are not counted then.
   * @default the SDK's bounded queue over `exporter`
   */
  spanProcessor?: SpanProcessor
}

/** {@link HindsightOptions} after defaults, environment and validation. */
export interface ResolvedConfig {
  endpoint: string
  tracesUrl: string
  apiKey: string | undefined
  apiUrl: string
  serviceName: string
  environment: string | undefined
  release: string | undefined
  captureContent: boolean
  mask: MaskFunction | undefined
  metrics: boolean
  metricsUrl: string
  metricsIntervalMillis: number
  spanFilter: ((span: ReadableSpan) => boolean) | undefined
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

function optionalFunction<F>(name: string, value: F | undefined): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw invalid(`option ${name} must be a function, got ${typeof value}`)
  return value
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

/** The REST API's base URL: as given, or the collector endpoint's host on the dashboard's port 3000. */
function resolveApiUrl(raw: string | undefined, endpoint: string): string {
  if (raw === undefined) {
    const url = new URL(endpoint)
    url.port = '3000'
    return url.origin
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw invalid(`apiUrl must be an http(s) URL such as http://127.0.0.1:3000, got "${raw}"`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw invalid('apiUrl must be an http(s) URL without credentials; pass the key as apiKey')
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
    apiUrl: resolveApiUrl(optionalText('apiUrl', options.apiUrl) ?? env.apiUrl, endpoint),
    serviceName: optionalText('serviceName', options.serviceName) ?? env.serviceName ?? 'unknown_service',
    environment: optionalText('environment', options.environment) ?? env.environment,
    release: optionalText('release', options.release) ?? env.release,
    captureContent: options.captureContent ?? env.captureContent ?? true,
    mask: optionalFunction('mask', options.mask),
    metrics: options.metrics ?? env.metrics ?? false,
    metricsUrl: `${endpoint}/v1/metrics`,
    metricsIntervalMillis: positiveInteger('metricsIntervalMillis', options.metricsIntervalMillis, 60_000),
    spanFilter: optionalFunction('spanFilter', options.spanFilter),
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
