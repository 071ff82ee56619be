// The `paired` mode of the SDK ablation: every variant's client in ONE process, taking turns call
// by call (rotating order), each call's CPU measured on its own. A busy neighbour, a GC or a JIT
// compile then hits every variant alike, so the medians compare the steady-state cost each step
// adds directly, without the warm-up (after 3000 calls of each) and without what a variant does to
// the whole process (the context manager is registered for all of them here): that part only the
// separate children of the `steps` mode see. Hindsight instances are switched for each call
// through the SDK's global slot (test wiring; the wrapper looks the instance up on every call).
// Invoked by sdk-ablation.ts with `{ openaiBaseURL, sinkURL, openaiPackage, mode, rounds, variants }`.
import { fileURLToPath } from 'node:url'
import { context, type Span, TraceFlags, trace } from '@opentelemetry/api'
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { resolveConfig } from '../../sdk/src/config'
import { readEnv } from '../../sdk/src/env'
import { Hindsight } from '../../sdk/src/hindsight'
import { wrapOpenAI } from '../../sdk/src/openai/wrap'
import { TraceRequestBuilder } from '../../sdk/src/otlp-encode'
import type { AblationMode } from './sdk-ablation-child'
import { dropping, encodingOnly, patchCreate, type TurnVariant, takeTurns } from './sdk-ablation-turns'
import { loadOpenAI } from './sdk-variants'
import { clientOptions } from './sdk-workload'

export type { PairedRow } from './sdk-ablation-turns'

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

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as PairedSpec
  const OpenAI = loadOpenAI(spec.openaiPackage)
  const newClient = () => new OpenAI(clientOptions(spec.openaiBaseURL))

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
  const all: TurnVariant<Hindsight>[] = [
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
    { name: 'encode', client: wrapped, instance: instance('encode', encodingOnly(TraceRequestBuilder)) },
    { name: 'export', client: wrapped, instance: instance('export') },
  ]
  const variants = all.filter((v) => spec.variants.includes(v.name))

  const { rows, wrongReplies } = await takeTurns(variants, spec.mode, spec.rounds)
  process.stdout.write(`\n@@paired ${JSON.stringify({ rows, wrongReplies })}\n`)
  process.exit(0)
}

// The parent imports this module's constants and types: run only when started as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
