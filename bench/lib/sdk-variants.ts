// The variants `pnpm bench:sdk` compares: the bare openai client (the baseline), Hindsight through
// its public entry points, and each peer instrumentation set up as its docs say, with content
// capture on and a real OTLP/HTTP protobuf exporter to the sink. Each runs in its own child process
// (sdk-child.ts); the setup imports only what its variant needs.
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import type { BasicTracerProvider, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { MESSAGES, MODEL, REPLY } from './sdk-workload'

export const VARIANTS = [
  'bare',
  'hindsight',
  'otel',
  'traceloop',
  'openinference',
  'langfuse',
  'floor',
] as const
export type VariantName = (typeof VARIANTS)[number]
export const PEERS: readonly VariantName[] = ['otel', 'traceloop', 'openinference', 'langfuse']

export function isVariantName(value: string): value is VariantName {
  return (VARIANTS as readonly string[]).includes(value)
}

/** The package behind each variant (its version is reported), and how it is shown. */
export const VARIANT_INFO: Record<VariantName, { label: string; packages: string[] }> = {
  bare: { label: 'bare client (baseline)', packages: [] },
  hindsight: { label: 'Hindsight', packages: ['@hindsight/sdk'] },
  otel: {
    label: 'OTel contrib',
    packages: ['@opentelemetry/instrumentation-openai', 'otel3-sdk-trace', 'otel3-sdk-logs'],
  },
  traceloop: { label: 'Traceloop', packages: ['@traceloop/instrumentation-openai'] },
  openinference: { label: 'OpenInference', packages: ['@arizeai/openinference-instrumentation-openai'] },
  langfuse: { label: 'Langfuse', packages: ['@langfuse/openai', '@langfuse/otel'] },
  floor: { label: 'floor: call-through + the POST (a bound)', packages: [] },
}

/** openai major → the package name it is installed under in bench/ (v5 and v6 are npm aliases). */
export const OPENAI_PACKAGES: Record<string, string> = { '5': 'openai-v5', '6': 'openai-v6', '7': 'openai' }

/** The slice of the openai client the benchmark calls. */
export interface ChatClient {
  chat: { completions: { create(body: Record<string, unknown>): PromiseLike<unknown> } }
}

interface ClientOptions {
  baseURL: string
  apiKey: string
  maxRetries: number
}
type OpenAIConstructor = new (options: ClientOptions) => ChatClient

export interface Target {
  /** `openai`, `openai-v5` or `openai-v6`. */
  openaiPackage: string
  /** Base URL of this variant at the sink: exports go to `${sinkBase}/v1/traces` and `/v1/logs`. */
  sinkBase: string
  serviceName: string
}

export interface Instrumented {
  newClient(options: ClientOptions): ChatClient
  /** Exports everything ended so far. */
  flush(): Promise<void>
  shutdown(): Promise<void>
}

const require = createRequire(import.meta.url)

/**
 * Loads openai with CommonJS `require`, after any instrumentation was set up, so that the
 * require-hook based instrumentations see it exactly as in a CommonJS app (the same load path is
 * used for every variant).
 */
export function loadOpenAI(pkg: string): OpenAIConstructor {
  const mod = require(pkg) as { OpenAI?: OpenAIConstructor }
  if (typeof mod.OpenAI !== 'function') throw new Error(`${pkg} exports no OpenAI class`)
  return mod.OpenAI
}

const done = async (): Promise<void> => {}

async function bare(target: Target): Promise<Instrumented> {
  const OpenAI = loadOpenAI(target.openaiPackage)
  return { newClient: (options) => new OpenAI(options), flush: done, shutdown: done }
}

async function hindsight(target: Target): Promise<Instrumented> {
  // The published build when the bench made one (`BENCH_HINDSIGHT_ENTRY`, see bench/sdk.ts), else the sources.
  const entry = process.env.BENCH_HINDSIGHT_ENTRY
  const sdk: typeof import('@hindsight/sdk') = entry
    ? await import(pathToFileURL(entry).href)
    : await import('@hindsight/sdk')
  const { init, wrapOpenAI, flush, shutdown } = sdk
  init({
    endpoint: target.sinkBase,
    apiKey: 'hs-bench',
    serviceName: target.serviceName,
    captureContent: true,
  })
  const OpenAI = loadOpenAI(target.openaiPackage)
  return { newClient: (options) => wrapOpenAI(new OpenAI(options)), flush, shutdown }
}

/**
 * The stock OTel 2.x pipeline the 2.x peers are documented with: a global AsyncLocalStorage context
 * manager and tracer provider, a batch processor (or the one `processor` makes) and OTLP protobuf.
 */
async function otel2Provider(
  target: Target,
  processor?: (exporter: SpanExporter) => SpanProcessor,
): Promise<BasicTracerProvider> {
  const { context, trace } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto')
  const { resourceFromAttributes } = await import('@opentelemetry/resources')
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const exporter = new OTLPTraceExporter({ url: `${target.sinkBase}/v1/traces` })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': target.serviceName }),
    spanProcessors: [processor ? processor(exporter) : new BatchSpanProcessor(exporter)],
  })
  trace.setGlobalTracerProvider(provider)
  return provider
}

/** @opentelemetry/instrumentation-openai is on the OTel 3.x line; content goes out as log records. */
async function otel(target: Target): Promise<Instrumented> {
  const { context, metrics, trace } = await import('@opentelemetry/api')
  const { AsyncLocalStorageContextManager } = await import('otel3-context-async-hooks')
  const { OTLPTraceExporter } = await import('otel3-exporter-trace-otlp-proto')
  const { OTLPLogExporter } = await import('otel3-exporter-logs-otlp-proto')
  const { TracerProvider, BatchSpanProcessor } = await import('otel3-sdk-trace')
  const { LoggerProvider, BatchLogRecordProcessor } = await import('otel3-sdk-logs')
  const { OpenAIInstrumentation } = await import('@opentelemetry/instrumentation-openai')
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const tracerProvider = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${target.sinkBase}/v1/traces` }) }),
    ],
  })
  trace.setGlobalTracerProvider(tracerProvider)
  const loggerProvider = new LoggerProvider({
    processors: [
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${target.sinkBase}/v1/logs` }) }),
    ],
  })
  const instrumentation = new OpenAIInstrumentation({ captureMessageContent: true })
  instrumentation.setTracerProvider(tracerProvider)
  instrumentation.setLoggerProvider(loggerProvider)
  // What registerInstrumentations() does: metric instruments exist only once a meter provider is
  // set (the global no-op one here; no variant exports metrics). Without it, streams crash.
  instrumentation.setMeterProvider(metrics.getMeterProvider())
  const OpenAI = loadOpenAI(target.openaiPackage)
  return {
    newClient: (options) => new OpenAI(options),
    flush: async () => {
      await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()])
    },
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()])
    },
  }
}

async function traceloop(target: Target): Promise<Instrumented> {
  const { OpenAIInstrumentation } = await import('@traceloop/instrumentation-openai')
  const provider = await otel2Provider(target)
  const instrumentation = new OpenAIInstrumentation({ traceContent: true })
  instrumentation.setTracerProvider(provider)
  const OpenAI = loadOpenAI(target.openaiPackage)
  return {
    newClient: (options) => new OpenAI(options),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}

async function openinference(target: Target): Promise<Instrumented> {
  const { OpenAIInstrumentation } = await import('@arizeai/openinference-instrumentation-openai')
  const provider = await otel2Provider(target)
  // Inputs and outputs are recorded by default (TraceConfig hides nothing unless told to).
  const instrumentation = new OpenAIInstrumentation({ tracerProvider: provider })
  const OpenAI = loadOpenAI(target.openaiPackage)
  return {
    newClient: (options) => new OpenAI(options),
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      await provider.shutdown()
      instrumentation.disable()
    },
  }
}

/** Langfuse v4+: `observeOpenAI` on top of OTel, exported by its span processor (given the OTLP protobuf exporter). */
async function langfuse(target: Target): Promise<Instrumented> {
  const { observeOpenAI } = await import('@langfuse/openai')
  const { LangfuseSpanProcessor } = await import('@langfuse/otel')
  const provider = await otel2Provider(
    target,
    (exporter) =>
      new LangfuseSpanProcessor({
        exporter,
        publicKey: 'pk-lf-bench',
        secretKey: 'sk-lf-bench',
        baseUrl: target.sinkBase,
      }),
  )
  const OpenAI = loadOpenAI(target.openaiPackage)
  return {
    newClient: (options) => observeOpenAI(new OpenAI(options)),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}

/**
 * The spans of `count` calls as OTLP protobuf, with the attributes and content Hindsight records
 * for the benchmark's request and reply: real spans from the stock SDK, serialized by the
 * transformer (whose bytes Hindsight's encoder reproduces exactly).
 */
async function floorBody(target: Target, count: number, stream: boolean): Promise<Uint8Array> {
  const { ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer')
  const { resourceFromAttributes } = await import('@opentelemetry/resources')
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
    '@opentelemetry/sdk-trace-base'
  )
  const { SpanKind } = await import('@opentelemetry/api')
  const [system, user] = MESSAGES
  const text = (content: string) => ({ type: 'text', content })
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': MODEL,
    'gen_ai.request.temperature': 0.2,
    'gen_ai.request.stream': stream,
    'openai.api.type': 'chat_completions',
    'gen_ai.request.max_tokens': 200,
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [text(user.content)] }]),
    'gen_ai.system_instructions': JSON.stringify([text(system.content)]),
    'gen_ai.response.id': 'chatcmpl-bench',
    'gen_ai.response.model': `${MODEL}-2024-07-18`,
    'gen_ai.response.finish_reasons': ['stop'],
    'gen_ai.usage.input_tokens': 80,
    'gen_ai.usage.output_tokens': 30,
    'gen_ai.usage.cache_read.input_tokens': 0,
    'gen_ai.usage.reasoning.output_tokens': 0,
    ...(stream ? { 'gen_ai.response.time_to_first_chunk': 0.0012 } : {}),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [text(REPLY)], finish_reason: 'stop' },
    ]),
  }
  // Real spans from the stock SDK (a local provider; nothing is registered globally).
  const memory = new InMemorySpanExporter()
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': target.serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  }).getTracer('@hindsight/sdk', '0.1.0')
  for (let i = 0; i < count; i++)
    tracer.startSpan(`chat ${MODEL}`, { kind: SpanKind.CLIENT, attributes }).end()
  const spans = memory.getFinishedSpans()
  const body = ProtobufTraceSerializer.serializeRequest(spans)
  if (!body) throw new Error('floor: the spans could not be serialized')
  return body
}

/**
 * A bound, not a peer: what any instrumentation that sends these spans pays here at the least. The
 * call goes through a wrapper that only counts it (no span, no context, nothing observed), and each
 * flush posts, with node:http on a kept-alive connection as the OTLP exporters do, the protobuf of
 * as many spans as calls were made, with Hindsight's attributes and content. The bytes are made
 * once per count, outside the measured work; no instrumentation can send them for less.
 */
async function floor(target: Target): Promise<Instrumented> {
  const { Agent, request } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const url = `${target.sinkBase}/v1/traces`
  const bodies = new Map<string, Uint8Array>()
  let calls = 0
  let stream = false
  const post = (body: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(body.byteLength) },
      })
      req.on('error', reject)
      req.on('response', (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`sink: ${res.statusCode}`)),
        )
      })
      req.end(body)
    })
  const OpenAI = loadOpenAI(target.openaiPackage)
  return {
    newClient: (options) => {
      const client = new OpenAI(options)
      const completions = client.chat.completions
      const create = completions.create
      completions.create = function (this: unknown, body: Record<string, unknown>) {
        calls++
        stream = body.stream === true
        return create.call(this, body)
      }
      return client
    },
    flush: async () => {
      if (calls === 0) return
      const key = `${calls}/${stream}`
      let body = bodies.get(key)
      if (!body) {
        body = await floorBody(target, calls, stream)
        bodies.set(key, body)
      }
      calls = 0
      await post(body)
    },
    shutdown: async () => {
      agent.destroy()
    },
  }
}

export const SETUPS: Record<VariantName, (target: Target) => Promise<Instrumented>> = {
  bare,
  hindsight,
  otel,
  traceloop,
  openinference,
  langfuse,
  floor,
}
