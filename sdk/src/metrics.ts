/**
 * The GenAI client metrics, recorded from ended model-call spans (so every wrapper, and the AI
 * SDK's spans, are covered without their cooperation) and sent as OTLP/protobuf to
 * `${endpoint}/v1/metrics`. Off unless `init({ metrics: true })`.
 */
import type { Attributes, AttributeValue, Histogram } from '@opentelemetry/api'
import { SpanStatusCode } from '@opentelemetry/api'
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer'
import type { Resource } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { COMMON, GEN_AI } from './attributes'
import type { OtlpSender, StatsCounter } from './pipeline'

/** Metric names of the GenAI semantic conventions. */
export const GEN_AI_METRICS = {
  operationDuration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
} as const

/** The conventions' explicit bucket boundaries for the client duration histograms, in seconds. */
export const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
]
/** The conventions' explicit bucket boundaries for `gen_ai.client.token.usage`. */
export const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]

/** Operations that are model calls; only their spans feed the client metrics. */
const MODEL_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content', 'embeddings'])

function text(value: AttributeValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function count(value: AttributeValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined
}

/**
 * The operation a span stands for, if it is a model call: the GenAI `gen_ai.operation.name`, or
 * for the AI SDK's `ai.*` spans the inner provider call (`….doGenerate`/`….doStream`/`….doEmbed`);
 * its outer spans repeat the usage and are skipped, so nothing is counted twice.
 */
function modelOperation(span: ReadableSpan): string | undefined {
  const operation = text(span.attributes[GEN_AI.operationName])
  if (operation !== undefined) return MODEL_OPERATIONS.has(operation) ? operation : undefined
  const name = span.name
  if (name.startsWith('ai.') && (name.endsWith('.doGenerate') || name.endsWith('.doStream'))) return 'chat'
  if (name.startsWith('ai.') && name.endsWith('.doEmbed')) return 'embeddings'
  return undefined
}

/** Records the three GenAI client histograms from spans. */
export class GenAiMetrics {
  readonly #duration: Histogram
  readonly #tokens: Histogram
  readonly #firstChunk: Histogram
  #dirty = false

  constructor(readonly provider: MeterProvider) {
    const meter = provider.getMeter('@hindsight/sdk')
    this.#duration = meter.createHistogram(GEN_AI_METRICS.operationDuration, {
      unit: 's',
      description: 'GenAI operation duration.',
    })
    this.#tokens = meter.createHistogram(GEN_AI_METRICS.tokenUsage, {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
    })
    this.#firstChunk = meter.createHistogram(GEN_AI_METRICS.timeToFirstChunk, {
      unit: 's',
      description: 'Time to receive the first chunk of a streamed response.',
    })
  }

  /** Records one ended span if it is a model call; other spans are ignored. */
  record(span: ReadableSpan): void {
    const operation = modelOperation(span)
    if (operation === undefined) return
    const a = span.attributes
    const attributes: Attributes = { [GEN_AI.operationName]: operation }
    const provider = text(a[GEN_AI.providerName]) ?? text(a[GEN_AI.system]) ?? text(a['ai.model.provider'])
    if (provider !== undefined) attributes[GEN_AI.providerName] = provider
    const requestModel = text(a[GEN_AI.requestModel]) ?? text(a['ai.model.id'])
    if (requestModel !== undefined) attributes[GEN_AI.requestModel] = requestModel
    const responseModel = text(a[GEN_AI.responseModel])
    if (responseModel !== undefined) attributes[GEN_AI.responseModel] = responseModel

    this.#dirty = true
    const seconds = span.duration[0] + span.duration[1] / 1e9
    const durationAttributes: Attributes =
      span.status.code === SpanStatusCode.ERROR
        ? { ...attributes, [COMMON.errorType]: text(a[COMMON.errorType]) ?? '_OTHER' }
        : attributes
    this.#duration.record(seconds, durationAttributes)

    const input =
      count(a[GEN_AI.usageInputTokens]) ??
      count(a['gen_ai.usage.prompt_tokens']) ??
      count(a['ai.usage.inputTokens']) ??
      count(a['ai.usage.promptTokens'])
    const output =
      count(a[GEN_AI.usageOutputTokens]) ??
      count(a['gen_ai.usage.completion_tokens']) ??
      count(a['ai.usage.outputTokens']) ??
      count(a['ai.usage.completionTokens'])
    if (input !== undefined) this.#tokens.record(input, { ...attributes, [GEN_AI.tokenType]: 'input' })
    if (output !== undefined) this.#tokens.record(output, { ...attributes, [GEN_AI.tokenType]: 'output' })

    // Streams only, as the conventions ask: the attribute is only set on streamed calls (the AI SDK
    // v7 names it after the metric; v5/v6 report milliseconds).
    const msToFirstChunk = count(a['ai.response.msToFirstChunk'])
    const firstChunk =
      count(a[GEN_AI.responseTimeToFirstChunk]) ??
      count(a[GEN_AI_METRICS.timeToFirstChunk]) ??
      (msToFirstChunk === undefined ? undefined : msToFirstChunk / 1000)
    if (firstChunk !== undefined) this.#firstChunk.record(firstChunk, attributes)
  }

  /** Whether points were recorded since the last flush (the exit flush skips clean metrics). */
  get dirty(): boolean {
    return this.#dirty
  }

  flush(): Promise<void> {
    this.#dirty = false
    return this.provider.forceFlush()
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown()
  }
}

/**
 * Collects every `intervalMillis` and sends the points over the SDK's own OTLP sender, so metrics
 * get the same guarantees as spans: unref'd timers, bounded retries, `Retry-After`, no logging.
 * Delta temporality: each export carries only what happened since the last, which suits
 * short-lived processes and a backend that sums points.
 */
class OtlpMetricReader extends MetricReader {
  #interval: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly sender: OtlpSender,
    private readonly intervalMillis: number,
    private readonly stats: StatsCounter,
  ) {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA })
  }

  protected override onInitialized(): void {
    this.#interval = setInterval(() => void this.#exportOnce(), this.intervalMillis)
    this.#interval.unref?.()
  }

  async #exportOnce(): Promise<void> {
    try {
      const { resourceMetrics } = await this.collect()
      if (resourceMetrics.scopeMetrics.length === 0) return
      const body = ProtobufMetricsSerializer.serializeRequest(resourceMetrics)
      if (!body) return
      const result = await this.sender.send(body)
      if (result.code !== 0) this.stats.failedExports += 1
    } catch {
      this.stats.internalErrors += 1
    }
  }

  protected override onForceFlush(): Promise<void> {
    return this.#exportOnce()
  }

  protected override async onShutdown(): Promise<void> {
    if (this.#interval !== undefined) clearInterval(this.#interval)
    await this.#exportOnce()
  }
}

function histogramView(instrumentName: string, boundaries: number[]): ViewOptions {
  return {
    instrumentName,
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries, recordMinMax: true },
    },
  }
}

/** A private meter provider (never registered globally) with the conventions' bucket boundaries. */
export function createGenAiMetrics(options: {
  resource: Resource
  sender: OtlpSender
  intervalMillis: number
  stats: StatsCounter
}): GenAiMetrics {
  const provider = new MeterProvider({
    resource: options.resource,
    views: [
      histogramView(GEN_AI_METRICS.operationDuration, DURATION_BUCKETS),
      histogramView(GEN_AI_METRICS.timeToFirstChunk, DURATION_BUCKETS),
      histogramView(GEN_AI_METRICS.tokenUsage, TOKEN_BUCKETS),
    ],
    readers: [new OtlpMetricReader(options.sender, options.intervalMillis, options.stats)],
  })
  return new GenAiMetrics(provider)
}
