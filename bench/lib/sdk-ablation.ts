// Where Hindsight's added CPU per call comes from: the wrapper's work added one step at a time,
// against the same fake server and sink process as `pnpm bench:sdk` (lib/sdk-server.ts).
//   node --import tsx bench/lib/sdk-ablation.ts
// ABLATION_KIND (steps):
//   steps  — one child per (variant, round), rounds rotating: CPU per call over ABLATION_CALLS after
//            ABLATION_WARMUP, per step and in all; then bytes allocated / surviving a scavenge,
//            scavenges, mark-compacts and main-thread GC time per call (v8.GCProfiler, a second loop
//            of ABLATION_GC_CALLS); CPU of the V8 worker threads (JIT compilers, GC helpers).
//   curve  — CPU per call in windows from the first call (ABLATION_WINDOWS, e.g. 10x500), median
//            over the rounds, with the V8 worker threads' share: how much is warm-up.
//   paired — all variants in one process, call by call (lib/sdk-ablation-paired.ts): the direct,
//            steady-state cost of each step (medians), ABLATION_PAIRED_ROUNDS calls of each.
//   versus — this tree's SDK against another copy of its sources (ABLATION_VERSUS=<other>/sdk/src,
//            with a node_modules symlink to sdk/node_modules beside it), paired in one process
//            (lib/sdk-ablation-versus.ts); ABLATION_STAGES (export): content, encode, export.
// Other knobs: ABLATION_VARIANTS, ABLATION_MODES (non-stream,stream), ABLATION_ROUNDS (5),
// ABLATION_OPENAI (6), ABLATION_FLAGS (Node flags for the children, e.g. --max-semi-space-size=32).
import { join } from 'node:path'
import {
  ABLATION_VARIANTS,
  type AblationMode,
  type AblationResult,
  type AblationSpec,
  type CurveResult,
  isAblationVariant,
  type StepsResult,
} from './sdk-ablation-child'
import { PAIRED_VARIANTS, type PairedRow, type PairedSpec } from './sdk-ablation-paired'
import { VERSUS_STAGES, type VersusSpec } from './sdk-ablation-versus'
import { median, runNode, startSdkServer, withoutTelemetryEnv } from './sdk-processes'
import { OPENAI_PACKAGES } from './sdk-variants'

const here = new URL('.', import.meta.url).pathname

function knob(name: string, fallback: number): number {
  const raw = process.env[name]
  const value = raw ? Number(raw) : fallback
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${raw}`)
  return value
}

const KIND = process.env.ABLATION_KIND ?? 'steps'
const CALLS = knob('ABLATION_CALLS', 2000)
const WARMUP = knob('ABLATION_WARMUP', 300)
const GC_CALLS = knob('ABLATION_GC_CALLS', 1000)
const ROUNDS = Math.max(1, knob('ABLATION_ROUNDS', 5))
const PAIRED_ROUNDS = knob('ABLATION_PAIRED_ROUNDS', 5000)
const [WINDOWS, WINDOW_CALLS] = (process.env.ABLATION_WINDOWS ?? '10x500').split('x').map(Number) as [
  number,
  number,
]
const MODES = (process.env.ABLATION_MODES ?? 'non-stream,stream').split(',') as AblationMode[]
const FLAGS = (process.env.ABLATION_FLAGS ?? '').split(' ').filter(Boolean)
const openaiPackage = OPENAI_PACKAGES[process.env.ABLATION_OPENAI ?? '6'] ?? 'openai-v6'
const defaultVariants =
  KIND === 'paired'
    ? PAIRED_VARIANTS.join(',')
    : KIND === 'curve'
      ? 'bare,export,traceloop'
      : 'bare,passthrough,context,span,content,encode,export,traceloop'
const VARIANTS = (process.env.ABLATION_VARIANTS ?? defaultVariants).split(',')
for (const v of VARIANTS) {
  const known = KIND === 'paired' ? (PAIRED_VARIANTS as readonly string[]).includes(v) : isAblationVariant(v)
  if (!known)
    throw new Error(
      `ABLATION_VARIANTS: unknown ${v} (${KIND === 'paired' ? PAIRED_VARIANTS : ABLATION_VARIANTS})`,
    )
}
if (!VARIANTS.includes('bare')) VARIANTS.unshift('bare')

const server = await startSdkServer(withoutTelemetryEnv())
const urls = { openaiBaseURL: server.openaiBaseURL, sinkURL: server.sinkURL }

/** Runs `script` with `arg`; returns the JSON after `marker` on its stdout, or the error. */
async function runChild<T>(script: string, arg: unknown, marker: string): Promise<T | string> {
  const { code, out, err } = await runNode(
    [...FLAGS, '--import', 'tsx', join(here, script), JSON.stringify(arg)],
    withoutTelemetryEnv(),
  )
  const line = out.split('\n').find((l) => l.startsWith(`${marker} `))
  if (code !== 0 || !line) return err.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`
  return JSON.parse(line.slice(marker.length + 1)) as T
}

async function spansAt(id: string): Promise<number> {
  const res = await fetch(`${urls.sinkURL}/stats/${id}`)
  return ((await res.json()) as { spans: number }).spans
}

const round0 = (v: number) => (Number.isFinite(v) ? Math.round(v) : '-')
let seq = 0
const report: Record<string, unknown>[] = []

async function steps(mode: AblationMode): Promise<void> {
  const runs = new Map<string, StepsResult[]>()
  const spans = new Map<string, number>()
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as string)
    for (const variant of order) {
      const id = `ablation-${variant}-${seq++}`
      const spec: AblationSpec = {
        variant,
        id,
        openaiPackage,
        mode,
        calls: CALLS,
        warmup: WARMUP,
        gcCalls: GC_CALLS,
        ...urls,
      }
      const result = await runChild<AblationResult>('sdk-ablation-child.ts', spec, '@@ablation')
      spans.set(variant, (spans.get(variant) ?? 0) + (await spansAt(id)))
      if (typeof result === 'string' || result.kind !== 'steps') {
        console.log(`  ${mode} ${variant}: FAILED ${String(result)}`)
        continue
      }
      runs.set(variant, [...(runs.get(variant) ?? []), result])
      process.stdout.write(
        `  ${mode} round ${round + 1} ${variant.padEnd(12)} ${(result.cpuMicros / CALLS).toFixed(0)} µs CPU/call\n`,
      )
    }
  }
  const per = (v: string, f: (r: StepsResult) => number) => median((runs.get(v) ?? []).map(f))
  const cpu = (r: StepsResult) => r.cpuMicros / CALLS
  const base = per('bare', cpu)
  const bareRuns = runs.get('bare') ?? []
  let previous = base
  const rows = VARIANTS.map((v) => {
    const list = runs.get(v) ?? []
    const perCall = per(v, cpu)
    const added = list.map((r, i) => cpu(r) - (bareRuns[i] ? cpu(bareRuns[i]) : Number.NaN))
    const isStep = v !== 'bare' && v !== 'traceloop'
    const alloc = per(v, (r) => r.gc.allocatedBytes / GC_CALLS)
    const row = {
      mode,
      variant: v,
      'CPU µs/call': round0(perCall),
      added: v === 'bare' ? '-' : round0(perCall - base),
      '± rounds':
        added.length > 1 && v !== 'bare' ? round0((Math.max(...added) - Math.min(...added)) / 2) : '-',
      step: isStep ? round0(perCall - previous) : '-',
      'V8 workers µs/call': round0(per(v, (r) => ((r.threadMillis.V8Worker ?? 0) * 1000) / CALLS)),
      'alloc B/call': round0(alloc),
      '+alloc': v === 'bare' ? '-' : round0(alloc - per('bare', (r) => r.gc.allocatedBytes / GC_CALLS)),
      'survived B/call': round0(per(v, (r) => r.gc.survivedBytes / GC_CALLS)),
      'promoted B/call': round0(per(v, (r) => r.gc.promotedBytes / GC_CALLS)),
      'scavenges /1k': round0(per(v, (r) => (r.gc.scavenges * 1000) / GC_CALLS)),
      'GC pause µs/call': Number(per(v, (r) => r.gc.pauseMicros / GC_CALLS).toFixed(1)),
      spans: spans.get(v) ?? 0,
    }
    if (isStep) previous = perCall
    return row
  })
  console.table(rows)
  report.push(...rows)
}

async function curve(mode: AblationMode): Promise<void> {
  const runs = new Map<string, CurveResult[]>()
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as string)
    for (const variant of order) {
      const spec: AblationSpec = {
        variant,
        id: `ablation-curve-${variant}-${seq++}`,
        openaiPackage,
        mode,
        calls: 0,
        warmup: 0,
        gcCalls: 0,
        windows: WINDOWS,
        windowCalls: WINDOW_CALLS,
        ...urls,
      }
      const result = await runChild<AblationResult>('sdk-ablation-child.ts', spec, '@@ablation')
      if (typeof result === 'string' || result.kind !== 'curve') {
        console.log(`  ${mode} ${variant}: FAILED ${String(result)}`)
        continue
      }
      runs.set(variant, [...(runs.get(variant) ?? []), result])
    }
  }
  const at = (v: string, w: number, f: (r: CurveResult) => number[]) =>
    median((runs.get(v) ?? []).map((r) => f(r)[w] ?? Number.NaN))
  const rows = Array.from({ length: WINDOWS }, (_, w) => {
    const row: Record<string, unknown> = { mode, calls: `${w * WINDOW_CALLS}–${(w + 1) * WINDOW_CALLS}` }
    const base = at('bare', w, (r) => r.cpuPerCall)
    const baseWorkers = at('bare', w, (r) => r.workerPerCall)
    for (const v of VARIANTS) {
      const value = at(v, w, (r) => r.cpuPerCall)
      row[v] = round0(value)
      if (v !== 'bare') {
        row[`${v} added`] = round0(value - base)
        row[`${v} added on V8 workers`] = round0(at(v, w, (r) => r.workerPerCall) - baseWorkers)
      }
    }
    return row
  })
  console.log(`${mode}: CPU µs/call per window of ${WINDOW_CALLS} calls from the first, median of ${ROUNDS}`)
  console.table(rows)
  report.push(...rows)
}

const STAGES = (process.env.ABLATION_STAGES ?? 'export').split(',')
for (const stage of STAGES)
  if (!(VERSUS_STAGES as readonly string[]).includes(stage))
    throw new Error(`ABLATION_STAGES: unknown ${stage} (${VERSUS_STAGES})`)

async function paired(mode: AblationMode): Promise<void> {
  const versus = KIND === 'versus'
  const other = process.env.ABLATION_VERSUS
  if (versus && !other) throw new Error('ABLATION_VERSUS: the other copy of sdk/src')
  const result = versus
    ? await runChild<{ rows: PairedRow[]; wrongReplies: number }>(
        'sdk-ablation-versus.ts',
        {
          ...urls,
          openaiPackage,
          mode,
          rounds: PAIRED_ROUNDS,
          other: other ?? '',
          stages: STAGES,
        } satisfies VersusSpec,
        '@@versus',
      )
    : await runChild<{ rows: PairedRow[]; wrongReplies: number }>(
        'sdk-ablation-paired.ts',
        { ...urls, openaiPackage, mode, rounds: PAIRED_ROUNDS, variants: VARIANTS } satisfies PairedSpec,
        '@@paired',
      )
  if (typeof result === 'string') {
    console.log(`paired ${mode} FAILED: ${result}`)
    return
  }
  const base = result.rows.find((r) => r.variant === 'bare')
  let previous = base
  const rows = result.rows.map((r) => {
    const row = {
      mode,
      variant: r.variant,
      'median µs': round0(r.medianMicros),
      'added (median)': base ? round0(r.medianMicros - base.medianMicros) : '-',
      step: previous ? round0(r.medianMicros - previous.medianMicros) : '-',
      '98% trimmed mean µs': round0(r.trimmedMicros),
      'added (trimmed)': base ? round0(r.trimmedMicros - base.trimmedMicros) : '-',
      'mean µs': round0(r.meanMicros),
    }
    previous = r
    return row
  })
  console.log(
    `${KIND} ${mode}: ${PAIRED_ROUNDS} calls of each variant, one process, after 3000 each` +
      (result.wrongReplies ? `, ${result.wrongReplies} WRONG REPLIES` : ''),
  )
  console.table(rows)
  report.push(...rows)
}

console.log(
  `sdk ablation (${KIND}): ${openaiPackage}, variants ${VARIANTS.join(', ')}, ` +
    (KIND === 'steps'
      ? `${CALLS} calls (+${GC_CALLS} under the GC profiler) after ${WARMUP}, ${ROUNDS} rounds`
      : KIND === 'curve'
        ? `${WINDOWS} windows of ${WINDOW_CALLS} calls, ${ROUNDS} rounds`
        : `${PAIRED_ROUNDS} paired rounds`) +
    (FLAGS.length ? `, node ${FLAGS.join(' ')}` : ''),
)
for (const mode of MODES) {
  if (KIND === 'steps') await steps(mode)
  else if (KIND === 'curve') await curve(mode)
  else if (KIND === 'paired' || KIND === 'versus') await paired(mode)
  else throw new Error(`ABLATION_KIND: steps, curve, paired or versus, not ${KIND}`)
}
server.stop()
