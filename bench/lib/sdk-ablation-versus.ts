// The `versus` mode of the SDK ablation: the SDK of this tree against another copy of its sources
// (e.g. the last commit's, `git archive HEAD sdk/src | tar -x -C /tmp/old`), in ONE process, taking
// turns call by call like the `paired` mode, so a change to the SDK is measured against what it
// replaces under the same load, JIT and GC. Each copy gets its own `Hindsight` instance exporting to
// the sink (`export`), or one whose spans are encoded and dropped (`encode`), or dropped unencoded
// (`content`). The other copy must resolve the same packages: give it a `node_modules` symlink to
// `sdk/node_modules` next to its `src`. Invoked by sdk-ablation.ts (`ABLATION_KIND=versus`,
// `ABLATION_VERSUS=/path/to/other/sdk/src`).
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { AblationMode } from './sdk-ablation-child'
import type { PairedRow } from './sdk-ablation-paired'
import type { ChatClient } from './sdk-variants'
import { MESSAGES, MODEL, REPLY } from './sdk-workload'

export const VERSUS_STAGES = ['content', 'encode', 'export'] as const

export interface VersusSpec {
  openaiBaseURL: string
  sinkURL: string
  openaiPackage: string
  mode: AblationMode
  rounds: number
  /** The `src` folder of the other copy of the SDK. */
  other: string
  stages: string[]
}

interface SdkModules {
  Hindsight: new (config: unknown) => Instance
  resolveConfig: (options: unknown, env: unknown) => unknown
  readEnv: () => unknown
  wrapOpenAI: <T extends object>(client: T) => T
  TraceRequestBuilder: new () => {
    count: number
    add(span: unknown): void
    finish(): { release(): void }
  }
}

interface Instance {
  flush(): Promise<void>
  shutdown(): Promise<void>
}

async function load(src: string): Promise<SdkModules> {
  const [hindsight, config, env, wrap, encode] = await Promise.all([
    import(join(src, 'hindsight.ts')),
    import(join(src, 'config.ts')),
    import(join(src, 'env.ts')),
    import(join(src, 'openai/wrap.ts')),
    import(join(src, 'otlp-encode.ts')),
  ])
  return {
    Hindsight: hindsight.Hindsight,
    resolveConfig: config.resolveConfig,
    readEnv: env.readEnv,
    wrapOpenAI: wrap.wrapOpenAI,
    TraceRequestBuilder: encode.TraceRequestBuilder,
  }
}

const done = async (): Promise<void> => {}
const dropping: SpanProcessor = { onStart() {}, onEnd() {}, forceFlush: done, shutdown: done }

function encodingOnly(sdk: SdkModules): SpanProcessor {
  let builder = new sdk.TraceRequestBuilder()
  const seal = async () => {
    if (builder.count === 0) return
    builder.finish().release()
    builder = new sdk.TraceRequestBuilder()
  }
  return {
    onStart() {},
    onEnd(span: ReadableSpan) {
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

interface Variant {
  name: string
  client: ChatClient
  instance?: Instance
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as VersusSpec
  const require = createRequire(import.meta.url)
  const { OpenAI } = require(spec.openaiPackage) as { OpenAI: new (o: Record<string, unknown>) => ChatClient }
  const newClient = () => new OpenAI({ baseURL: spec.openaiBaseURL, apiKey: 'sk-bench', maxRetries: 0 })
  const here = fileURLToPath(new URL('.', import.meta.url))
  const copies: [string, SdkModules][] = [
    ['old', await load(spec.other)],
    ['new', await load(join(here, '../../sdk/src'))],
  ]
  const slot = globalThis as unknown as Record<symbol, { active?: Instance } | undefined>
  const key = Symbol.for('@hindsight/sdk.instance')
  const registry = slot[key] ?? {}
  slot[key] = registry

  const variants: Variant[] = [{ name: 'bare', client: newClient() }]
  for (const stage of spec.stages) {
    for (const [label, sdk] of copies) {
      const id = `${label}-${stage}`
      const processor = stage === 'content' ? dropping : stage === 'encode' ? encodingOnly(sdk) : undefined
      const options = {
        endpoint: `${spec.sinkURL}/${id}`,
        apiKey: 'hs-bench',
        serviceName: `versus-${id}`,
        captureContent: true,
        ...(processor ? { spanProcessor: processor } : {}),
      }
      variants.push({
        name: id,
        client: sdk.wrapOpenAI(newClient()),
        instance: new sdk.Hindsight(sdk.resolveConfig(options, sdk.readEnv())),
      })
    }
  }

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
  process.stdout.write(`\n@@versus ${JSON.stringify({ rows, wrongReplies })}\n`)
  process.exit(0)
}

// The parent imports this module's constants and types: run only when started as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
