// The `paired` mode of the SDK ablation: every variant's client in ONE process, taking turns call
// by call (rotating order), each call's CPU measured on its own. A busy neighbour, a GC or a JIT
// compile then hits every variant alike, so the medians compare the steady-state cost each step
// adds directly, without the warm-up (after 3000 calls of each) and without what a variant does to
// the whole process (the context manager is registered for all of them here): that part only the
// separate children of the `steps` mode see. Hindsight instances are switched for each call
// through the SDK's global slot (test wiring; the wrapper looks the instance up on every call).
// Invoked by sdk-ablation.ts with `{ openaiBaseURL, sinkURL, openaiPackage, mode, rounds, variants }`.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { context, type Span, TraceFlags, trace } from '@opentelemetry/api'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { resolveConfig } from '../../sdk/src/config'
import { readEnv } from '../../sdk/src/env'
import { Hindsight } from '../../sdk/src/hindsight'
import { wrapOpenAI } from '../../sdk/src/openai/wrap'
import { TraceRequestBuilder } from '../../sdk/src/otlp-encode'
import type { AblationMode } from './sdk-ablation-child'
import type { ChatClient } from './sdk-variants'
import { MESSAGES, MODEL, REPLY } from './sdk-workload'

export const PAIRED_VARIANTS = [
  'bare',
  'passthrough',
  'context',
  'span',
  'content',
  'encode',
  'export',
] as const

export interface PairedSpec {
  openaiBaseURL: string
  sinkURL: string
  openaiPackage: string
  mode: AblationMode
  rounds: number
  variants: string[]
}

export interface PairedRow {
  variant: string
  medianMicros: number
  /** Mean of the cheapest 98% of calls (drops the calls that took a full GC or a long compile). */
  trimmedMicros: number
  meanMicros: number
}

interface Variant {
  name: string
  client: ChatClient
  instance?: Hindsight
}

type Method = (this: unknown, ...args: unknown[]) => unknown

function patchCreate(client: ChatClient, make: (original: Method) => Method): ChatClient {
  const target = client.chat.completions as unknown as Record<string, unknown>
  const original = target.create as Method
  Object.defineProperty(target, 'create', { value: make(original), writable: true, configurable: true })
  return client
}

/** The span type of the SDK's copy of the OTel packages. */
type EncodableSpan = Parameters<TraceRequestBuilder['add']>[0]

const done = async (): Promise<void> => {}
const dropping: SpanProcessor = { onStart() {}, onEnd() {}, forceFlush: done, shutdown: done }

function encodingOnly(): SpanProcessor {
  let builder = new TraceRequestBuilder()
  const seal = async () => {
    if (builder.count === 0) return
    builder.finish().release()
    builder = new TraceRequestBuilder()
  }
  return {
    onStart() {},
    onEnd(span: ReadableSpan) {
      // The SDK resolves its own copy of the OTel types; the span is the SDK's own.
      builder.add(span as unknown as EncodableSpan)
      if (builder.count >= 512) void seal()
    },
    forceFlush: seal,
    shutdown: seal,
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as PairedSpec
  const require = createRequire(import.meta.url)
  const { OpenAI } = require(spec.openaiPackage) as { OpenAI: new (o: Record<string, unknown>) => ChatClient }
  const newClient = () => new OpenAI({ baseURL: spec.openaiBaseURL, apiKey: 'sk-bench', maxRetries: 0 })
  const slot = globalThis as unknown as Record<symbol, { active?: Hindsight } | undefined>
  const key = Symbol.for('@hindsight/sdk.instance')
  const registry = slot[key] ?? {}
  slot[key] = registry

  const instance = (id: string, spanProcessor?: SpanProcessor, withoutContent = false): Hindsight => {
    const options = {
      endpoint: `${spec.sinkURL}/${id}`,
      apiKey: 'hs-bench',
      serviceName: `paired-${id}`,
      captureContent: true,
      ...(spanProcessor ? { spanProcessor } : {}),
    }
    const h = new Hindsight(resolveConfig(options, readEnv()))
    if (withoutContent) Object.defineProperty(h, 'captureContent', { value: false })
    return h
  }
  const wrapped = wrapOpenAI(newClient())
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const all: Variant[] = [
    { name: 'bare', client: newClient() },
    {
      name: 'passthrough',
      client: patchCreate(
        newClient(),
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            return original.apply(this, args)
          },
      ),
    },
    {
      name: 'context',
      client: patchCreate(
        newClient(),
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            const span = trace.wrapSpanContext({
              traceId,
              spanId: '00f067aa0ba902b7',
              traceFlags: TraceFlags.SAMPLED,
            }) as Span
            return context.with(trace.setSpan(context.active(), span), () => original.apply(this, args))
          },
      ),
    },
    { name: 'span', client: wrapped, instance: instance('span', dropping, true) },
    { name: 'content', client: wrapped, instance: instance('content', dropping) },
    { name: 'encode', client: wrapped, instance: instance('encode', encodingOnly()) },
    { name: 'export', client: wrapped, instance: instance('export') },
  ]
  const variants = all.filter((v) => spec.variants.includes(v.name))

  const request = { model: MODEL, messages: MESSAGES, temperature: 0.2, max_tokens: 200 }
  const call = async (client: ChatClient): Promise<boolean> => {
    if (spec.mode === 'stream') {
      const stream = (await client.chat.completions.create({
        ...request,
        stream: true,
        stream_options: { include_usage: true },
      })) as AsyncIterable<{ choices?: { delta?: { content?: string } }[] }>
      let text = ''
      for await (const chunk of stream) text += chunk.choices?.[0]?.delta?.content ?? ''
      return text === REPLY
    }
    const completion = (await client.chat.completions.create(request)) as {
      choices?: { message?: { content?: unknown } }[]
    }
    return completion.choices?.[0]?.message?.content === REPLY
  }
  process.setSourceMapsEnabled(false)
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]))
  let wrongReplies = 0
  const one = async (v: Variant, record: boolean) => {
    registry.active = v.instance
    const cpu0 = process.cpuUsage()
    if (!(await call(v.client))) wrongReplies++
    const usage = process.cpuUsage(cpu0)
    registry.active = undefined
    if (record) samples.get(v.name)?.push(usage.user + usage.system)
  }
  const flushAll = async () => {
    for (const v of variants) await v.instance?.flush()
  }
  for (let r = 0; r < 3000; r++) for (const v of variants) await one(v, false)
  await flushAll()
  for (let r = 0; r < spec.rounds; r++) {
    for (let i = 0; i < variants.length; i++) await one(variants[(i + r) % variants.length] as Variant, true)
    if (r % 256 === 255) await flushAll()
  }
  await flushAll()
  const rows: PairedRow[] = variants.map((v) => {
    const sorted = [...(samples.get(v.name) ?? [])].sort((a, b) => a - b)
    const kept = sorted.slice(0, Math.floor(sorted.length * 0.98))
    return {
      variant: v.name,
      medianMicros: percentile(sorted, 0.5),
      trimmedMicros: kept.reduce((a, b) => a + b, 0) / Math.max(1, kept.length),
      meanMicros: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    }
  })
  for (const v of variants) await v.instance?.shutdown()
  process.stdout.write(`\n@@paired ${JSON.stringify({ rows, wrongReplies })}\n`)
  process.exit(0)
}

// The parent imports this module's constants and types: run only when started as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
