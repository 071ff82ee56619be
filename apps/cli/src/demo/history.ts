/**
 * A week of realistic, reproducible history for the demo: a support assistant's traffic with a
 * daily cycle, four models (two with Anthropic prompt caching), agent/chain/tool spans, ~2 %
 * errors and a release switch halfway. Spans go through the real OTLP/HTTP protobuf exporter
 * with explicit start and end times, so they take the same path as any application's spans.
 */

import { COMMON, GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import { type Attributes, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import { Rng } from './rng'

/** What one planned span looks like before it is sent. */
export interface PlannedSpan {
  name: string
  kind: 'agent' | 'chain' | 'llm' | 'tool'
  start: number
  end: number
  attributes: Attributes
  error?: { type: string; message: string }
  children: PlannedSpan[]
}

export interface PlannedTrace {
  root: PlannedSpan
  release: string
}

export interface HistoryPlanOptions {
  /** Days of history, ending at the start of the current hour. @default 7 */
  days?: number
  /** Same seed, same history. @default 42 */
  seed?: number
  /** @default Date.now() */
  now?: number
  /** Typical weekday volume; weekends get ~70 %. @default 220 */
  tracesPerDay?: number
}

interface LlmModel {
  name: string
  provider: 'openai' | 'anthropic'
  ttftMs: number
  perTokenMs: number
}

const MODELS = {
  'gpt-4o': {
    name: 'gpt-4o',
    provider: 'openai',
    ttftMs: 520,
    perTokenMs: 12,
  },
  'gpt-4o-mini': {
    name: 'gpt-4o-mini',
    provider: 'openai',
    ttftMs: 340,
    perTokenMs: 7,
  },
  'claude-sonnet-4-5': {
    name: 'claude-sonnet-4-5',
    provider: 'anthropic',
    ttftMs: 850,
    perTokenMs: 16,
  },
  'claude-haiku-4-5': {
    name: 'claude-haiku-4-5',
    provider: 'anthropic',
    ttftMs: 420,
    perTokenMs: 6,
  },
} as const satisfies Record<string, LlmModel>

export const HISTORY_MODELS = Object.keys(MODELS)
export const RELEASES = ['v1.3.0', 'v1.4.0'] as const

const ERROR_KINDS = {
  openai: [
    { type: 'RateLimitError', message: '429 Rate limit reached for requests', weight: 5 },
    {
      type: 'InternalServerError',
      message: '500 The server had an error processing your request',
      weight: 2,
    },
    { type: 'APIConnectionTimeoutError', message: 'Request timed out.', weight: 1 },
  ],
  anthropic: [
    { type: 'overloaded_error', message: '529 Overloaded', weight: 4 },
    {
      type: 'rate_limit_error',
      message: '429 Number of request tokens has exceeded your rate limit',
      weight: 3,
    },
  ],
} as const

const QUESTIONS = [
  'How do I get a refund for a duplicate charge?',
  'My order has not arrived after ten days.',
  'Can I change the shipping address of an order?',
  'The app logs me out every few minutes.',
  'How do I export my invoices as PDF?',
]

/** The demo's users, each in one customer account: acme has the most users, umbrella the fewest. */
const USERS = 60
const ACCOUNTS = [
  ['acme', 24],
  ['globex', 18],
  ['initech', 12],
  ['umbrella', 6],
] as const

/** The account user `n` (1…USERS) belongs to. */
function customerOf(n: number): string {
  let last = 0
  for (const [account, users] of ACCOUNTS) {
    last += users
    if (n <= last) return account
  }
  return ACCOUNTS[0][0]
}

/** Errors happen on ~2 % of model calls. */
const LLM_ERROR_RATE = 0.02

class Planner {
  constructor(
    private readonly rng: Rng,
    private readonly release: string,
    /** Draws who asked; its own stream, so tagging never shifts the traffic's random numbers. */
    private readonly who: Rng,
  ) {}

  llm(
    modelName: keyof typeof MODELS,
    start: number,
    route: string,
    sizes: { input: number; output: number; cachedPrefix: number; stream: boolean },
  ): PlannedSpan {
    const rng = this.rng
    const model: LlmModel = MODELS[modelName]
    const ttft = rng.lognormal(model.ttftMs, 0.35)
    const attributes: Attributes = {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: model.provider,
      [GEN_AI.requestModel]: model.name,
      [HINDSIGHT.release]: this.release,
      [HINDSIGHT.route]: route,
      [GEN_AI.requestStream]: sizes.stream,
      [GEN_AI.requestTemperature]: 0.2,
    }
    const name = `chat ${model.name}`
    if (rng.chance(LLM_ERROR_RATE)) {
      const error = rng.weighted(ERROR_KINDS[model.provider].map((e) => [e, e.weight] as const))
      attributes[COMMON.errorType] = error.type
      const end = start + rng.lognormal(error.type.includes('Timeout') ? 30_000 : ttft * 0.6, 0.3)
      return { name, kind: 'llm', start, end, attributes, error, children: [] }
    }
    const output = Math.max(2, Math.round(rng.lognormal(sizes.output, 0.5)))
    let input = Math.max(20, Math.round(rng.lognormal(sizes.input, 0.35)))
    let cacheRead = 0
    let cacheWrite = 0
    if (sizes.cachedPrefix > 0) {
      if (model.provider === 'anthropic') {
        // Anthropic caches an explicit prefix: warm hits read it, cold misses write it.
        const roll = rng.next()
        if (roll < 0.72) cacheRead = sizes.cachedPrefix
        else if (roll < 0.9) cacheWrite = sizes.cachedPrefix
      } else if (rng.chance(0.55)) {
        cacheRead = Math.floor(sizes.cachedPrefix / 128) * 128
      }
      // The GenAI convention's input count includes cached tokens.
      input += sizes.cachedPrefix
    }
    const duration = ttft + output * rng.lognormal(model.perTokenMs, 0.2)
    // The alias, not a dated snapshot: failed calls carry only the request model, and the
    // dashboard groups by model, so one name per model keeps the demo's breakdown readable.
    attributes[GEN_AI.responseModel] = model.name
    attributes[GEN_AI.responseId] = `${model.provider === 'openai' ? 'chatcmpl' : 'msg'}_${rng.hex(10)}`
    attributes[GEN_AI.responseFinishReasons] = [model.provider === 'openai' ? 'stop' : 'end_turn']
    attributes[GEN_AI.usageInputTokens] = input
    attributes[GEN_AI.usageOutputTokens] = output
    if (cacheRead) attributes[GEN_AI.usageCacheReadInputTokens] = cacheRead
    if (cacheWrite) attributes[GEN_AI.usageCacheCreationInputTokens] = cacheWrite
    if (sizes.stream) attributes[GEN_AI.responseTimeToFirstChunk] = ttft / 1000
    attributes[GEN_AI.inputMessages] = JSON.stringify([
      { role: 'user', parts: [{ type: 'text', content: rng.pick(QUESTIONS) }] },
    ])
    attributes[GEN_AI.outputMessages] = JSON.stringify([
      {
        role: 'assistant',
        parts: [{ type: 'text', content: `[simulated] ${route} answer, ${output} tokens.` }],
        finish_reason: 'stop',
      },
    ])
    return { name, kind: 'llm', start, end: start + duration, attributes, children: [] }
  }

  tool(toolName: string, start: number, medianMs: number): PlannedSpan {
    const end = start + this.rng.lognormal(medianMs, 0.4)
    return {
      name: `execute_tool ${toolName}`,
      kind: 'tool',
      start,
      end,
      attributes: {
        [GEN_AI.operationName]: 'execute_tool',
        [GEN_AI.toolName]: toolName,
        [HINDSIGHT.spanKind]: 'tool',
        [HINDSIGHT.release]: this.release,
      },
      children: [],
    }
  }

  /** A parent that spans its children, failing when one of them failed. */
  parent(name: string, kind: 'agent' | 'chain', route: string, start: number, children: PlannedSpan[]) {
    const end = Math.max(start + 1, ...children.map((c) => c.end)) + this.rng.lognormal(4, 0.5)
    const failed = children.find((c) => c.error)
    const attributes: Attributes = {
      [HINDSIGHT.spanKind]: kind,
      [HINDSIGHT.route]: route,
      [HINDSIGHT.release]: this.release,
    }
    if (kind === 'agent') {
      attributes[GEN_AI.operationName] = 'invoke_agent'
      attributes[GEN_AI.agentName] = 'support-agent'
    }
    if (failed?.error) attributes[COMMON.errorType] = failed.error.type
    return { name, kind, start, end, attributes, error: failed?.error, children }
  }

  /** Children run one after another; the next starts when the previous ended. */
  sequence(start: number, make: ((at: number) => PlannedSpan)[]): PlannedSpan[] {
    const spans: PlannedSpan[] = []
    let at = start + this.rng.lognormal(3, 0.5)
    for (const step of make) {
      const span = step(at)
      spans.push(span)
      if (span.error) break
      at = span.end + this.rng.lognormal(2, 0.5)
    }
    return spans
  }

  trace(start: number): PlannedTrace {
    const rng = this.rng
    const v14 = this.release === 'v1.4.0'
    const route = rng.weighted([
      ['support-answer', 0.35],
      ['summarize', 0.25],
      ['classify', 0.3],
      ['extract', 0.1],
    ] as const)
    let root: PlannedSpan
    if (route === 'support-answer') {
      // v1.4.0 moved the support agent from gpt-4o to Claude Sonnet with a cached system prompt.
      const model = v14 && rng.chance(0.8) ? 'claude-sonnet-4-5' : 'gpt-4o'
      const cachedPrefix = model === 'claude-sonnet-4-5' ? 2400 : 1280
      const children = this.sequence(start, [
        (at) => this.llm(model, at, route, { input: 700, output: 60, cachedPrefix, stream: false }),
        (at) => this.tool('search_knowledge_base', at, 120),
        (at) => this.llm(model, at, route, { input: 1500, output: 260, cachedPrefix, stream: true }),
      ])
      root = this.parent('invoke_agent support-agent', 'agent', route, start, children)
    } else if (route === 'summarize') {
      const children = this.sequence(start, [
        (at) =>
          this.llm('claude-haiku-4-5', at, route, {
            input: 1800,
            output: 180,
            cachedPrefix: v14 ? 1100 : 0,
            stream: false,
          }),
      ])
      root = this.parent('summarize-ticket', 'chain', route, start, children)
    } else if (route === 'classify') {
      root = this.llm('gpt-4o-mini', start, route, { input: 320, output: 6, cachedPrefix: 0, stream: false })
    } else {
      const children = this.sequence(start, [
        (at) => this.tool('fetch_order', at, 60),
        (at) =>
          this.llm('gpt-4o-mini', at, route, { input: 900, output: 120, cachedPrefix: 0, stream: false }),
      ])
      root = this.parent('extract-order-fields', 'chain', route, start, children)
    }
    // Who asked: one of 60 users of four customer accounts, as an app tags it with
    // `withAttributes({ userId, metadata: { customer } })`, on every span of the trace.
    const userNumber = this.who.int(1, USERS)
    const user = `user-${String(userNumber).padStart(3, '0')}`
    const customer = customerOf(userNumber)
    const tag = (span: PlannedSpan) => {
      span.attributes[COMMON.userId] = user
      span.attributes[`${HINDSIGHT.metadataPrefix}customer`] = customer
      for (const child of span.children) tag(child)
    }
    tag(root)
    return { root, release: this.release }
  }
}

const HOUR = 3_600_000

/** Where the history ends: the start of the current hour. */
export function historyEnd(now: number): number {
  return Math.floor(now / HOUR) * HOUR
}

/**
 * Plan the history: pure and seeded, so two calls with the same options give the same traces.
 * Volume follows a daily cycle peaking mid-afternoon UTC; releases switch halfway.
 */
export function planHistory(options: HistoryPlanOptions = {}): PlannedTrace[] {
  const days = options.days ?? 7
  const rng = new Rng(options.seed ?? 42)
  const who = new Rng(((options.seed ?? 42) ^ 0x0c0ffee) >>> 0)
  const perDay = options.tracesPerDay ?? 220
  // History ends at the last full hour, so the live run's traces are the newest ones, and two
  // runs within the same hour plan identical spans (same ids, same times: stored once).
  const to = historyEnd(options.now ?? Date.now())
  const from = to - days * 24 * HOUR
  const midway = from + (to - from) / 2
  const traces: PlannedTrace[] = []
  let dayFactor = 1
  for (let hour = Math.floor(from / HOUR) * HOUR; hour < to; hour += HOUR) {
    const date = new Date(hour)
    if (date.getUTCHours() === 0 || traces.length === 0) dayFactor = 0.88 + 0.24 * rng.next()
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6 ? 0.7 : 1
    const cycle = 1 + 0.65 * Math.sin((2 * Math.PI * (date.getUTCHours() - 9)) / 24)
    const expected = (perDay / 24) * cycle * weekend * dayFactor
    const count = Math.floor(expected + rng.next())
    for (let i = 0; i < count; i++) {
      const start = hour + rng.next() * HOUR
      if (start < from || start >= to) continue
      const planner = new Planner(rng, start < midway ? 'v1.3.0' : 'v1.4.0', who)
      traces.push(planner.trace(start))
    }
  }
  return traces.sort((a, b) => a.root.start - b.root.start)
}

export function countSpans(traces: PlannedTrace[]): number {
  const count = (s: PlannedSpan): number => 1 + s.children.reduce((n, c) => n + count(c), 0)
  return traces.reduce((n, t) => n + count(t.root), 0)
}

/** Ids from the seeded source: the same history gets the same trace ids on every run. */
class SeededIdGenerator implements IdGenerator {
  constructor(private readonly rng: Rng) {}
  generateTraceId(): string {
    return this.rng.hex(16)
  }
  generateSpanId(): string {
    return this.rng.hex(8)
  }
}

/** Counts what the collector accepted, so the CLI can say how many spans were sent. */
export class CountingExporter implements SpanExporter {
  exported = 0
  failed = 0
  lastError: Error | undefined

  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += spans.length
      else {
        this.failed += spans.length
        this.lastError = result.error
      }
      done(result)
    })
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }
}

export interface SendHistoryOptions extends HistoryPlanOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:4318`. */
  endpoint: string
  apiKey: string
  /** Resource `service.name` of the demo traffic. @default 'support-bot' */
  serviceName?: string
}

export interface HistoryResult {
  traces: number
  spans: number
  exported: number
  failed: number
  /** The traces sent, oldest first, and their trace ids (same order): what scores attach to. */
  planned: PlannedTrace[]
  traceIds: string[]
}

/** Plan the history and send it to the collector over OTLP/HTTP protobuf. */
export async function sendHistory(options: SendHistoryOptions): Promise<HistoryResult> {
  const plan = planHistory(options)
  const exporter = new CountingExporter(
    new OTLPTraceExporter({
      url: `${options.endpoint.replace(/\/$/, '')}/v1/traces`,
      headers: { Authorization: `Bearer ${options.apiKey}` },
      timeoutMillis: 30_000,
    }),
  )
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [COMMON.serviceName]: options.serviceName ?? 'support-bot',
      [COMMON.deploymentEnvironment]: 'demo',
    }),
    // Ids depend on the seed AND the hour the history ends: a rerun within the hour resends the
    // same spans (deduplicated on ingest); a later run gets new ids for its shifted times, so no
    // trace ever mixes spans from two runs.
    idGenerator: new SeededIdGenerator(
      new Rng(((options.seed ?? 42) ^ 0x5eed ^ (historyEnd(options.now ?? Date.now()) / HOUR)) >>> 0),
    ),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: 200_000,
        maxExportBatchSize: 1000,
        scheduledDelayMillis: 100,
        exportTimeoutMillis: 30_000,
      }),
    ],
  })
  const tracer = provider.getTracer('hindsight-demo-history')
  const traceIds: string[] = []
  const emit = (planned: PlannedSpan, parent: Span | undefined) => {
    const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT
    const span = tracer.startSpan(
      planned.name,
      {
        kind: planned.kind === 'llm' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        startTime: new Date(planned.start),
        attributes: planned.attributes,
        root: !parent,
      },
      ctx,
    )
    if (!parent) traceIds.push(span.spanContext().traceId)
    for (const child of planned.children) emit(child, span)
    if (planned.error) span.setStatus({ code: SpanStatusCode.ERROR, message: planned.error.message })
    else span.setStatus({ code: SpanStatusCode.OK })
    span.end(new Date(planned.end))
  }
  for (const t of plan) emit(t.root, undefined)
  await provider.forceFlush()
  await provider.shutdown()
  if (exporter.failed > 0 && exporter.exported === 0) {
    throw new Error(
      `the collector refused the demo history: ${exporter.lastError?.message ?? 'unknown error'}`,
    )
  }
  return {
    traces: plan.length,
    spans: countSpans(plan),
    exported: exporter.exported,
    failed: exporter.failed,
    planned: plan,
    traceIds,
  }
}
