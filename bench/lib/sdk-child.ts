// One variant of `pnpm bench:sdk` in its own process: sets the variant up, warms up, then makes N
// sequential calls to the fake OpenAI server and measures this process's CPU time (user + system,
// every thread: GC and exporter work included) and the wall time of the loop. The CPU figure also
// covers the final flush, so every measured span's export is paid for. Prints one line
// `@@result <json>` (instrumentations may log to stdout themselves).
//
// Layouts: `separate` (the variant's calls only; the bare client is another child) and
// `interleaved` (the default of bench/sdk.ts): the variant's client and a bare twin take turns in
// blocks of `block` calls in this one process — bare, variant, variant, bare, … — and each
// variant block ends with a flush inside its measurement, so its spans' export is paid in the
// block that made them. The twin is a copy of the same openai package loaded from a directory no
// instrumentation hooks (`bareOpenaiPath`), so require-hook instrumentations cannot patch it.
// Both clients then run under the same process state (heap, JIT, neighbours on the machine), and
// each pair of adjacent blocks gives one difference: the noise between processes, ±100 µs per
// call, drops out.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import { type GcFigures, startGcProfile } from './gc-profile'
import { type ChatClient, type Instrumented, isVariantName, loadOpenAI, SETUPS } from './sdk-variants'
import { callFor, clientOptions, cpuMicros, type Mode } from './sdk-workload'

export type { Mode } from './sdk-workload'

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
  /** `interleaved`: the variant and a bare twin take turns in blocks (see the top of this file). */
  layout?: 'separate' | 'interleaved'
  /** Calls per block (interleaved). */
  block?: number
  /** Directory of an unhooked copy of the openai package (interleaved: the bare twin). */
  bareOpenaiPath?: string
  /**
   * Interleaved: end every block, inside its measurement, with a young-generation collection (the
   * child runs with `--expose-gc`), so each block pays for collecting its own garbage.
   */
  blockGc?: boolean
}

export type { GcFigures } from './gc-profile'

/** One block's figures (interleaved layout), µs. */
export interface BlockFigures {
  /** Process CPU (every thread), the variant's flush included. */
  cpu: number
  /**
   * Main-thread CPU alone (`process.threadCpuUsage`): the rest of `cpu` is V8's helper threads
   * (concurrent GC marking, the optimizing compilers) and libuv's. Reported beside the total to
   * tell the variant's own work from the GC and JIT work it causes.
   */
  main: number
  /** Wall time of the block's calls. */
  wall: number
  /** `BENCH_GC_DETAIL=1`: the block's garbage collections (V8's `GCProfiler`). */
  gc?: GcFigures
}

const GC_DETAIL = process.env.BENCH_GC_DETAIL === '1'

/** One pair of adjacent blocks (interleaved layout). */
export interface BlockPair {
  variant: BlockFigures
  bare: BlockFigures
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
  /** Interleaved layout: the measured block pairs (`calls` of the variant, as many of the twin). */
  pairs?: BlockPair[]
  block?: number
}

/** Idle time at the end of every interleaved block, inside its CPU measurement (see `interleaved`). */
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 10)

/**
 * A scavenge on demand (`gc({ type: 'minor' })`, which `--expose-gc` provides). Why the blocks end
 * with one: left alone, V8 scavenges every ~2 blocks' worth of allocation, and that rhythm can lock
 * onto the alternating blocks, so that one client's blocks take (nearly) every scavenge for a whole
 * child. In 6 of 8 children of one run the twin's blocks took 0.0045 scavenges per call and the
 * variant's 0.0003, and the variant read −14 to −38 µs per call; in the other 2 they shared them
 * and it read +67 and +87. Collected at each block's end, each block's garbage is paid for by that
 * block.
 */
function youngCollector(): () => void {
  const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc
  if (typeof gc !== 'function') throw new Error('blockGc needs the child to run with --expose-gc')
  return () => gc({ type: 'minor' })
}

/** The bare twin of the interleaved layout: a client from the unhooked copy of openai. */
function bareTwin(spec: ChildSpec): ChatClient {
  if (!spec.bareOpenaiPath) throw new Error('interleaved layout needs bareOpenaiPath')
  const OpenAI = loadOpenAI(spec.bareOpenaiPath)
  return new OpenAI(clientOptions(spec.openaiBaseURL))
}

/**
 * Interleaved layout: blocks of `block` calls, alternately the bare twin's and the variant's (the
 * order of each pair alternates, so a drift favours neither); the variant's blocks end with its
 * flush, inside the CPU measurement. Warm-up runs the same way for `warmup` calls of each.
 */
async function interleaved(
  spec: ChildSpec,
  instrumented: Instrumented,
  call: (client: ChatClient) => Promise<boolean>,
  client: ChatClient,
  setupMillis: number,
): Promise<ChildResult> {
  const twin = bareTwin(spec)
  const collectYoung = spec.blockGc ? youngCollector() : undefined
  const block = Math.max(1, spec.block ?? 100)
  let wrongReplies = 0
  const runBlock = async (target: ChatClient, flush: boolean): Promise<BlockFigures> => {
    const stopGcProfile = GC_DETAIL ? startGcProfile() : undefined
    const cpu0 = process.cpuUsage()
    const main0 = process.threadCpuUsage()
    const wall0 = performance.now()
    for (let i = 0; i < block; i++) if (!(await call(target))) wrongReplies++
    const wall = (performance.now() - wall0) * 1000
    if (flush) await instrumented.flush()
    if (collectYoung) collectYoung()
    // Let what the block left behind run now, inside its own measurement: the export's socket and
    // response handling, GC work V8 schedules for when the thread is idle. Otherwise it lands in the
    // next block, which is the other client's every second time.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const figures: BlockFigures = {
      cpu: cpuMicros(process.cpuUsage(cpu0)),
      main: cpuMicros(process.threadCpuUsage(main0)),
      wall,
    }
    if (stopGcProfile) figures.gc = stopGcProfile()
    return figures
  }
  const runPair = async (index: number): Promise<BlockPair> => {
    const bareFirst = index % 2 === 0
    const first = await runBlock(bareFirst ? twin : client, !bareFirst)
    const second = await runBlock(bareFirst ? client : twin, bareFirst)
    return bareFirst ? { bare: first, variant: second } : { bare: second, variant: first }
  }
  const warmPairs = Math.ceil(spec.warmup / block)
  for (let i = 0; i < warmPairs; i++) await runPair(i)
  // Marks where the measured pairs start in what the child prints (BENCH_CHILD_LOG with --trace-opt, say).
  process.stdout.write('\n@@measuring\n')
  const pairs: BlockPair[] = []
  const measured = Math.max(1, Math.round(spec.calls / block))
  for (let i = 0; i < measured; i++) pairs.push(await runPair(i))
  await instrumented.shutdown()
  const sum = (f: (p: BlockPair) => number) => pairs.reduce((n, p) => n + f(p), 0)
  return {
    calls: measured * block,
    wrongReplies,
    cpuMicros: sum((p) => p.variant.cpu),
    loopCpuMicros: sum((p) => p.variant.cpu),
    wallMicros: sum((p) => p.variant.wall),
    setupMillis,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    pairs,
    block,
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec
  if (!isVariantName(spec.variant)) throw new Error(`unknown variant ${spec.variant}`)
  // tsx turns source maps on; a production app runs without them (they make every Error.stack
  // costly). Off before anything is loaded, so no module is loaded with them on.
  process.setSourceMapsEnabled(false)
  const t0 = performance.now()
  const instrumented = await SETUPS[spec.variant]({
    openaiPackage: spec.openaiPackage,
    sinkBase: `${spec.sinkURL}/${spec.id}`,
    serviceName: `bench-${spec.variant}`,
  })
  const client = instrumented.newClient(clientOptions(spec.openaiBaseURL))
  const callOn = callFor(spec.mode)
  const call = () => callOn(client)
  const setupMillis = performance.now() - t0

  if (spec.layout === 'interleaved') {
    const result = await interleaved(spec, instrumented, callOn, client, setupMillis)
    process.stdout.write(`\n@@result ${JSON.stringify(result)}\n`)
    return
  }

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
