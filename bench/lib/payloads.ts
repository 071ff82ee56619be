import { randomBytes } from 'node:crypto'
import { GEN_AI } from '@hindsight/collector/conventions'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1-mini', 'claude-sonnet-4-5']
const WORDS =
  'the quick brown fox jumps over a lazy dog while support agents answer billing questions about invoices'.split(
    ' ',
  )

function text(bytes: number, seed: number): string {
  let out = ''
  let i = seed
  while (out.length < bytes) {
    out += `${WORDS[i % WORDS.length]} `
    i = (i * 7 + 3) % 9973
  }
  return out.slice(0, bytes)
}

/** One OTLP/HTTP protobuf request and where each span's trace id and span id bytes sit in it. */
export interface Payload {
  body: Buffer
  /** Byte offsets of each span's 16-byte trace id. */
  traceIdAt: number[]
  /** Byte offsets of each span's 8-byte span id. */
  spanIdAt: number[]
}

/**
 * Realistic GenAI chat spans (about 1 KB of input and 1 KB of output messages each), encoded as
 * OTLP/HTTP protobuf requests by the official OpenTelemetry serializer, `perRequest` spans each.
 */
export function buildPayloads(totalSpans: number, perRequest: number): Buffer[] {
  return buildPatchablePayloads(totalSpans, perRequest).map((p) => p.body)
}

/**
 * `buildPayloads`, with the offsets of every span's ids, so a sender can stamp fresh ids into a
 * copy before each send (the spans table is a ReplacingMergeTree: re-sent ids would collapse).
 */
export function buildPatchablePayloads(totalSpans: number, perRequest: number): Payload[] {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-app', 'service.version': 'v1.0.0' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  })
  const tracer = provider.getTracer('bench')
  const payloads: Payload[] = []
  const now = Date.now()
  for (let i = 0; i < totalSpans; i++) {
    const model = MODELS[i % MODELS.length] as string
    const start = now - 60_000 + (i % 50_000)
    const parent = trace.setSpanContext(context.active(), {
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      traceFlags: 1,
    })
    const span = tracer.startSpan(
      `chat ${model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: start,
        attributes: {
          [GEN_AI.operationName]: 'chat',
          [GEN_AI.providerName]: model.startsWith('claude') ? 'anthropic' : 'openai',
          [GEN_AI.requestModel]: model,
          [GEN_AI.responseModel]: model,
          [GEN_AI.usageInputTokens]: 250 + (i % 700),
          [GEN_AI.usageOutputTokens]: 120 + (i % 300),
          [GEN_AI.usageCacheReadInputTokens]: i % 3 === 0 ? 128 : 0,
          [GEN_AI.requestTemperature]: 0.2,
          [GEN_AI.inputMessages]: JSON.stringify([
            { role: 'user', parts: [{ type: 'text', content: text(1000, i) }] },
          ]),
          [GEN_AI.outputMessages]: JSON.stringify([
            {
              role: 'assistant',
              parts: [{ type: 'text', content: text(1000, i + 1) }],
              finish_reason: 'stop',
            },
          ]),
        },
      },
      parent,
    )
    if (i % 50 === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' })
    span.end(start + 300 + (i % 2000))
    if ((i + 1) % perRequest === 0 || i === totalSpans - 1) {
      const spans = exporter.getFinishedSpans() as ReadableSpan[]
      const bytes = ProtobufTraceSerializer.serializeRequest(spans)
      if (!bytes) throw new Error('serializer returned nothing')
      const body = Buffer.from(bytes)
      const traceIdAt: number[] = []
      const spanIdAt: number[] = []
      for (const s of spans) {
        const ctx = s.spanContext()
        const t = body.indexOf(Buffer.from(ctx.traceId, 'hex'))
        const sp = body.indexOf(Buffer.from(ctx.spanId, 'hex'))
        if (t < 0 || sp < 0) throw new Error('span ids not found in the serialized request')
        traceIdAt.push(t)
        spanIdAt.push(sp)
      }
      payloads.push({ body, traceIdAt, spanIdAt })
      exporter.reset()
    }
  }
  return payloads
}
