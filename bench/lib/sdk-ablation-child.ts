// One variant of the SDK ablation (`sdk-ablation.ts`) in its own process. The variants add the
// wrapper's work one step at a time (call-through, context, span, content, encoding, sending), so
// the difference between neighbours is what that step costs. Two ways to run:
// - `steps`: warm up, then (1) N calls measured with process.cpuUsage (all threads) including the
//   final flush, per-thread CPU from /proc; (2) N more calls under v8.GCProfiler, from which bytes
//   allocated, bytes surviving a scavenge, scavenges and GC pauses per call are derived.
// - `curve`: no warm-up; CPU per call (and the V8 worker threads' share: concurrent JIT compilers
//   and GC helpers) in consecutive windows from the first call, to see the warm-up.
// Prints one line `@@ablation <json>`.
import { randomBytes } from 'node:crypto'
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { fileURLToPath } from 'node:url'
import { context, ROOT_CONTEXT, type Span, TraceFlags, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { TraceRequestBuilder } from '../../sdk/src/otlp-encode'
import { type GcFigures, startGcProfile } from './gc-profile'
import { dropping, type Method, patchCreate } from './sdk-ablation-turns'
import { type Instrumented, SETUPS, type Target } from './sdk-variants'
import { callFor, clientOptions, cpuMicros, type Mode } from './sdk-workload'
import { snapshotThreads } from './thread-cpu'

export type AblationMode = Mode

export interface AblationSpec {
  variant: string
  id: string
  openaiPackage: string
  mode: AblationMode
  openaiBaseURL: string
  sinkURL: string
  /** `steps`: calls measured for CPU, then `gcCalls` under the GC profiler, after `warmup`. */
  calls: number
  warmup: number
  gcCalls: number
  /** `curve` instead: this many windows of `windowCalls` calls, from the first call. */
  windows?: number
  windowCalls?: number
}

export interface StepsResult {
  kind: 'steps'
  /** CPU µs of the measured calls and the final flush (all threads). */
  cpuMicros: number
  /** CPU ms per thread name over the same span (from /proc; empty elsewhere). */
  threadMillis: Record<string, number>
  gc: GcFigures
  wrongReplies: number
}

export interface CurveResult {
  kind: 'curve'
  /** CPU µs per call of each window (all threads, each window ends with a flush). */
  cpuPerCall: number[]
  /** Of which on the V8 worker threads (concurrent JIT compilation, GC helpers), µs per call. */
  workerPerCall: number[]
  wrongReplies: number
}

export type AblationResult = StepsResult | CurveResult

export const ABLATION_VARIANTS = [
  'bare',
  'passthrough',
  'als',
  'context',
  'span',
  'content',
  'encode',
  'post-http',
  'post-fetch',
  'export',
  'traceloop',
] as const

/** The span type of the SDK's copy of the OTel packages. */
type EncodableSpan = Parameters<TraceRequestBuilder['add']>[0]

/** Registers the AsyncLocalStorage context manager as `init()` does (Node then tracks async context frames). */
function ensureContextManager(): void {
  const probe = ROOT_CONTEXT.setValue(Symbol.for('@hindsight/bench probe'), true)
  if (context.with(probe, () => context.active()) === probe) return
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
}

/**
 * Encodes every span as the SDK's own store does (at its end, batches of 512), then hands each
 * request to `post` (which may throw it away).
 */
function encoding(post?: (chunks: Uint8Array[], byteLength: number) => Promise<void>): SpanProcessor {
  let builder = new TraceRequestBuilder()
  const inflight = new Set<Promise<void>>()
  const seal = () => {
    if (builder.count === 0) return
    const encoded = builder.finish()
    builder = new TraceRequestBuilder()
    if (!post) {
      encoded.release()
      return
    }
    const sent: Promise<void> = post(encoded.chunks, encoded.byteLength)
      .catch(() => {})
      .finally(() => {
        encoded.release()
        inflight.delete(sent)
      })
    inflight.add(sent)
  }
  const flush = async () => {
    seal()
    await Promise.all([...inflight])
  }
  return {
    onStart() {},
    onEnd(span: ReadableSpan) {
      // The SDK resolves its own copy of the OTel types; the span is the SDK's own.
      builder.add(span as unknown as EncodableSpan)
      if (builder.count >= 512) seal()
    },
    forceFlush: flush,
    shutdown: flush,
  }
}

const agent = new HttpAgent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 1 })

function postWithHttp(url: string) {
  return (chunks: Uint8Array[], byteLength: number) =>
    new Promise<void>((resolve) => {
      const req = httpRequest(url, {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(byteLength) },
      })
      req.on('error', () => resolve())
      req.on('response', (res) => {
        res.resume()
        res.on('end', () => resolve())
      })
      for (let i = 0; i < chunks.length - 1; i++) req.write(chunks[i])
      req.end(chunks[chunks.length - 1])
    })
}

function postWithFetch(url: string) {
  return async (chunks: Uint8Array[]) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body: Buffer.concat(chunks),
    })
    await res.arrayBuffer()
  }
}

/** `init()` + `wrapOpenAI` (the public path) with some options replaced. */
async function hindsight(
  target: Target,
  options: { spanProcessor?: SpanProcessor; withoutContent?: boolean },
): Promise<Instrumented> {
  const { init, wrapOpenAI, flush, shutdown } = await import('@hindsight/sdk')
  const instance = init({
    endpoint: target.sinkBase,
    apiKey: 'hs-bench',
    serviceName: target.serviceName,
    captureContent: true,
    ...(options.spanProcessor ? { spanProcessor: options.spanProcessor } : {}),
  })
  // No content recorded, without `captureContent: false`, which would make the export pipeline
  // rewrite every span (its content policy): the wrappers read this flag before any content work.
  if (options.withoutContent) Object.defineProperty(instance, 'captureContent', { value: false })
  const bare = await SETUPS.bare(target)
  return { newClient: (o) => wrapOpenAI(bare.newClient(o)), flush, shutdown }
}

/** The bare client whose `chat.completions.create` is replaced with `make(original)`. */
async function patchedBare(target: Target, make: (original: Method) => Method): Promise<Instrumented> {
  const bare = await SETUPS.bare(target)
  return { ...bare, newClient: (o) => patchCreate(bare.newClient(o), make) }
}

const FIXED_TRACE_ID = randomBytes(16).toString('hex')
const FIXED_SPAN_ID = randomBytes(8).toString('hex')

const SETUP: Record<(typeof ABLATION_VARIANTS)[number], (target: Target) => Promise<Instrumented>> = {
  bare: SETUPS.bare,
  // A wrapper that only calls through.
  passthrough: (target) =>
    patchedBare(
      target,
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          return original.apply(this, args)
        },
    ),
  // Only the AsyncLocalStorage context manager registered (a process-wide switch in Node).
  als: async (target) => {
    ensureContextManager()
    return SETUPS.bare(target)
  },
  // + each request started inside a context holding a span context, as the wrapper does.
  context: async (target) => {
    ensureContextManager()
    return patchedBare(
      target,
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          const span = trace.wrapSpanContext({
            traceId: FIXED_TRACE_ID,
            spanId: FIXED_SPAN_ID,
            traceFlags: TraceFlags.SAMPLED,
          }) as Span
          return context.with(trace.setSpan(context.active(), span), () => original.apply(this, args))
        },
    )
  },
  // The SDK's wrapper: span, request and response attributes, observation; no content; dropped.
  span: (target) => hindsight(target, { spanProcessor: dropping, withoutContent: true }),
  // + content attributes (JSON of the messages and of the reply).
  content: (target) => hindsight(target, { spanProcessor: dropping }),
  // + OTLP protobuf encoding as the SDK's own store does, nothing sent.
  encode: (target) => hindsight(target, { spanProcessor: encoding() }),
  // + each 512-span request posted with node:http (as the SDK's sender) or with fetch.
  'post-http': (target) =>
    hindsight(target, { spanProcessor: encoding(postWithHttp(`${target.sinkBase}/v1/traces`)) }),
  'post-fetch': (target) =>
    hindsight(target, { spanProcessor: encoding(postWithFetch(`${target.sinkBase}/v1/traces`)) }),
  // The real thing (`pnpm bench:sdk`'s `hindsight` variant): init() defaults + wrapOpenAI.
  export: SETUPS.hindsight,
  traceloop: SETUPS.traceloop,
}

export function isAblationVariant(name: string): name is (typeof ABLATION_VARIANTS)[number] {
  return (ABLATION_VARIANTS as readonly string[]).includes(name)
}

/** CPU ms per thread name (`MainThread`, `V8Worker`, …) from /proc; empty where there is none. */
function threadMillis(): Map<string, number> {
  const out = new Map<string, number>()
  for (const { name, seconds } of snapshotThreads().byThread.values()) {
    // Whole clock ticks (1/100 s on Linux), as ms.
    out.set(name, (out.get(name) ?? 0) + Math.round(seconds * 1000))
  }
  return out
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as AblationSpec
  if (!isAblationVariant(spec.variant)) throw new Error(`unknown ablation variant ${spec.variant}`)
  // Off before anything is loaded, as in sdk-child.ts: no module is loaded with source maps on.
  process.setSourceMapsEnabled(false)
  const instrumented = await SETUP[spec.variant]({
    openaiPackage: spec.openaiPackage,
    sinkBase: `${spec.sinkURL}/${spec.id}`,
    serviceName: `ablation-${spec.variant}`,
  })
  const client = instrumented.newClient(clientOptions(spec.openaiBaseURL))
  const callOn = callFor(spec.mode)
  const call = () => callOn(client)
  let wrongReplies = 0
  let result: AblationResult

  if (spec.windows && spec.windowCalls) {
    const cpuPerCall: number[] = []
    const workerPerCall: number[] = []
    for (let w = 0; w < spec.windows; w++) {
      const threads0 = threadMillis()
      const cpu0 = process.cpuUsage()
      for (let i = 0; i < spec.windowCalls; i++) if (!(await call())) wrongReplies++
      await instrumented.flush()
      cpuPerCall.push(cpuMicros(process.cpuUsage(cpu0)) / spec.windowCalls)
      const worker = (threadMillis().get('V8Worker') ?? 0) - (threads0.get('V8Worker') ?? 0)
      workerPerCall.push((worker * 1000) / spec.windowCalls)
    }
    result = { kind: 'curve', cpuPerCall, workerPerCall, wrongReplies }
  } else {
    for (let i = 0; i < spec.warmup; i++) if (!(await call())) wrongReplies++
    await instrumented.flush()
    const threads0 = threadMillis()
    const cpu0 = process.cpuUsage()
    for (let i = 0; i < spec.calls; i++) if (!(await call())) wrongReplies++
    await instrumented.flush()
    const cpu = cpuMicros(process.cpuUsage(cpu0))
    const threads: Record<string, number> = {}
    for (const [name, ms] of threadMillis()) threads[name] = ms - (threads0.get(name) ?? 0)

    const stopGcProfile = startGcProfile()
    for (let i = 0; i < spec.gcCalls; i++) if (!(await call())) wrongReplies++
    await instrumented.flush()
    const gc = stopGcProfile()
    result = {
      kind: 'steps',
      cpuMicros: cpu,
      threadMillis: threads,
      gc,
      wrongReplies,
    }
  }
  await instrumented.shutdown()
  process.stdout.write(`\n@@ablation ${JSON.stringify(result)}\n`)
}

// The parent imports this module's constants and types: run only when started as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
