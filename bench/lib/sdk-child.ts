// One variant of `pnpm bench:sdk` in its own process: sets the variant up, warms up, then makes N
// sequential calls to the fake OpenAI server and measures this process's CPU time (user + system,
// every thread: GC and exporter work included) and the wall time of the loop. The CPU figure also
// covers the final flush, so every measured span's export is paid for. Prints one line
// `@@result <json>` (instrumentations may log to stdout themselves).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { type ChatClient, isVariantName, SETUPS } from './sdk-variants'
import { MESSAGES, MODEL, REPLY } from './sdk-workload'

export type Mode = 'non-stream' | 'stream'

export interface ChildSpec {
  variant: string
  /** Sink path segment that keeps this child's spans apart. */
  id: string
  openaiPackage: string
  mode: Mode
  calls: number
  warmup: number
  openaiBaseURL: string
  sinkURL: string
  /** Write a V8 CPU profile of the measured loop (and final flush) to this path. */
  profile?: string
}

export interface ChildResult {
  calls: number
  /** Calls whose reply did not come back intact (an instrumentation must never change it). */
  wrongReplies: number
  /** CPU µs of the measured loop plus the final flush. */
  cpuMicros: number
  /** CPU µs of the measured loop alone. */
  loopCpuMicros: number
  /** Wall µs of the measured loop. */
  wallMicros: number
  setupMillis: number
  peakRssMb: number
}

function replyText(completion: unknown): string | undefined {
  if (typeof completion !== 'object' || completion === null) return undefined
  const choices: unknown = Reflect.get(completion, 'choices')
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined
  const message: unknown =
    typeof first === 'object' && first !== null ? Reflect.get(first, 'message') : undefined
  const content: unknown =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'content') : undefined
  return typeof content === 'string' ? content : undefined
}

function deltaText(chunk: unknown): string {
  if (typeof chunk !== 'object' || chunk === null) return ''
  const choices: unknown = Reflect.get(chunk, 'choices')
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined
  const delta: unknown = typeof first === 'object' && first !== null ? Reflect.get(first, 'delta') : undefined
  const content: unknown =
    typeof delta === 'object' && delta !== null ? Reflect.get(delta, 'content') : undefined
  return typeof content === 'string' ? content : ''
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value
}

const request = { model: MODEL, messages: MESSAGES, temperature: 0.2, max_tokens: 200 }

async function plainCall(client: ChatClient): Promise<boolean> {
  return replyText(await client.chat.completions.create(request)) === REPLY
}

async function streamCall(client: ChatClient): Promise<boolean> {
  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  })
  if (!isAsyncIterable(stream)) return false
  let text = ''
  for await (const chunk of stream) text += deltaText(chunk)
  return text === REPLY
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec
  if (!isVariantName(spec.variant)) throw new Error(`unknown variant ${spec.variant}`)
  const t0 = performance.now()
  const instrumented = await SETUPS[spec.variant]({
    openaiPackage: spec.openaiPackage,
    sinkBase: `${spec.sinkURL}/${spec.id}`,
    serviceName: `bench-${spec.variant}`,
  })
  const client = instrumented.newClient({ baseURL: spec.openaiBaseURL, apiKey: 'sk-bench', maxRetries: 0 })
  const call = spec.mode === 'stream' ? () => streamCall(client) : () => plainCall(client)
  const setupMillis = performance.now() - t0
  // tsx turns source maps on; a production app runs without them (they make every Error.stack costly).
  process.setSourceMapsEnabled(false)

  let wrongReplies = 0
  for (let i = 0; i < spec.warmup; i++) if (!(await call())) wrongReplies++
  await instrumented.flush()

  const session = spec.profile ? new Session() : undefined
  if (session) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
  }
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  for (let i = 0; i < spec.calls; i++) if (!(await call())) wrongReplies++
  const wallMicros = (performance.now() - wall0) * 1000
  const loopCpu = process.cpuUsage(cpu0)
  await instrumented.flush()
  const totalCpu = process.cpuUsage(cpu0)
  if (session && spec.profile) {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(spec.profile, JSON.stringify(profile))
    session.disconnect()
  }
  await instrumented.shutdown()

  const result: ChildResult = {
    calls: spec.calls,
    wrongReplies,
    cpuMicros: cpuMicros(totalCpu),
    loopCpuMicros: cpuMicros(loopCpu),
    wallMicros,
    setupMillis,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }
  process.stdout.write(`\n@@result ${JSON.stringify(result)}\n`)
}

await main()
