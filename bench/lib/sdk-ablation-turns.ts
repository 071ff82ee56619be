// What the SDK ablation's variants share: the client patch and the span sinks of its stages, and
// the call-by-call turns of the `paired` and `versus` modes (sdk-ablation-paired.ts,
// sdk-ablation-versus.ts). No SDK import here: each caller brings its own copy of the SDK.
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { AblationMode } from './sdk-ablation-child'
import type { ChatClient } from './sdk-variants'
import { callFor, cpuMicros } from './sdk-workload'

export interface PairedRow {
  variant: string
  medianMicros: number
  /** Mean of the cheapest 98% of calls (drops the calls that took a full GC or a long compile). */
  trimmedMicros: number
  meanMicros: number
}

export type Method = (this: unknown, ...args: unknown[]) => unknown

/** Replaces `chat.completions.create` of one client with `make(original)`. */
export function patchCreate(client: ChatClient, make: (original: Method) => Method): ChatClient {
  const target = client.chat.completions as unknown as Record<string, unknown>
  const original = target.create as Method
  Object.defineProperty(target, 'create', { value: make(original), writable: true, configurable: true })
  return client
}

const done = async (): Promise<void> => {}

/** The sink of `init({ spanProcessor })` that drops every span. */
export const dropping: SpanProcessor = { onStart() {}, onEnd() {}, forceFlush: done, shutdown: done }

/** The slice of the SDK's `TraceRequestBuilder` the encoding stage uses (any copy of the SDK). */
export type RequestBuilderClass = new () => {
  count: number
  add(span: unknown): void
  finish(): { release(): void }
}

/** Encodes every span as the SDK's own store does (at its end, batches of 512) and drops the request. */
export function encodingOnly(Builder: RequestBuilderClass): SpanProcessor {
  let builder = new Builder()
  const seal = async () => {
    if (builder.count === 0) return
    builder.finish().release()
    builder = new Builder()
  }
  return {
    onStart() {},
    onEnd(span: ReadableSpan) {
      // The builder's copy of the OTel types may differ; the span is the SDK's own.
      builder.add(span)
      if (builder.count >= 512) void seal()
    },
    forceFlush: seal,
    shutdown: seal,
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

export interface TurnInstance {
  flush(): Promise<void>
  shutdown(): Promise<void>
}

export interface TurnVariant<I extends TurnInstance> {
  name: string
  client: ChatClient
  /** Made the SDK's active instance (its global slot) for each of this variant's calls. */
  instance?: I
}

/**
 * Every variant takes turns call by call (order rotating each round), each call's CPU measured on
 * its own: 3000 calls of each to warm up, then `rounds` measured; flushes every 256 rounds. Shuts
 * the instances down at the end.
 */
export async function takeTurns<I extends TurnInstance>(
  variants: TurnVariant<I>[],
  mode: AblationMode,
  rounds: number,
): Promise<{ rows: PairedRow[]; wrongReplies: number }> {
  const slot = globalThis as unknown as Record<symbol, { active?: I } | undefined>
  const key = Symbol.for('@hindsight/sdk.instance')
  const registry = slot[key] ?? {}
  slot[key] = registry

  const call = callFor(mode)
  process.setSourceMapsEnabled(false)
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]))
  let wrongReplies = 0
  const one = async (v: TurnVariant<I>, record: boolean) => {
    registry.active = v.instance
    const cpu0 = process.cpuUsage()
    if (!(await call(v.client))) wrongReplies++
    const usage = process.cpuUsage(cpu0)
    registry.active = undefined
    if (record) samples.get(v.name)?.push(cpuMicros(usage))
  }
  const flushAll = async () => {
    for (const v of variants) await v.instance?.flush()
  }
  for (let r = 0; r < 3000; r++) for (const v of variants) await one(v, false)
  await flushAll()
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++)
      await one(variants[(i + r) % variants.length] as TurnVariant<I>, true)
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
  return { rows, wrongReplies }
}
