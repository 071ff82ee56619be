// Summarizes the V8 CPU profiles `pnpm bench:sdk` takes of the measured loop when BENCH_CPU_PROF=1:
// time per call by area (package, Node internals, GC), the Hindsight SDK functions the time is
// spent under, and the difference against the bare client's profile from the same run.
// Also runnable alone:
//   node --import tsx bench/lib/sdk-profile.ts <variant.cpuprofile> <calls> <cpu µs> [bare.cpuprofile <cpu µs>]
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  parent?: number
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  /** CPU µs per call the samples are scaled to. */
  totalPerCall: number
  /** Area (package, `node internals`, `GC`, …) → self µs per call. */
  areas: Map<string, number>
  /** `function (file:line)` → self µs per call. */
  functions: Map<string, number>
  /**
   * Innermost Hindsight SDK frame on the stack → µs per call spent in it or in what it called
   * outside the SDK (OTel, JSON, Node, …), except through openai (the client's own work, which the
   * SDK's stream wrapper merely drives): what each SDK function costs, all in.
   */
  sdkInclusive: Map<string, number>
}

const PNPM_PACKAGE = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/
const NODE_MODULES_PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)/

function isSdk(url: string): boolean {
  return url.includes('/sdk/src/') || url.includes('/sdk/dist/')
}

export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC'
    if (functionName === '(program)') return '(program: VM, native)'
    if (functionName === '(idle)') return '(idle)'
    return `native: ${functionName || '(anonymous)'}`
  }
  if (isSdk(url)) return '@hindsight/sdk'
  const pkg = PNPM_PACKAGE.exec(url)?.[1] ?? NODE_MODULES_PACKAGE.exec(url)?.[1]
  if (pkg) return pkg
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('/bench/')) return 'bench harness'
  return url.replace(/^file:\/\//, '')
}

function frameLabel(frame: CallFrame): string {
  const file = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/(sdk\/src\/|node_modules\/\.pnpm\/[^/]+\/node_modules\/)/, '')
  return `${frame.functionName || '(anonymous)'} (${file || 'native'}:${frame.lineNumber + 1})`
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value)
}

/**
 * Shares of the non-idle samples, scaled to `cpuMicros` (the CPU time the process measured over the
 * profiled window) and divided by `calls`. Sample timestamps are wall-clock, so on a busy machine
 * they over-weigh whatever ran before a preemption; counting samples and scaling to measured CPU
 * does not. The profile sees the main thread only: GC helper and I/O threads are spread pro rata.
 */
export function summarizeProfile(profile: CpuProfile, calls: number, cpuMicros: number): ProfileSummary {
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      const c = byId.get(child)
      if (c) c.parent = node.id
    }
  }
  const innermostSdk = new Map<number, string | null>()
  const sdkFrameOf = (id: number): string | null => {
    const known = innermostSdk.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)
    let result: string | null = null
    if (node) {
      if (isSdk(node.callFrame.url)) result = frameLabel(node.callFrame)
      // Work inside openai (parsing the stream the SDK iterates, say) is the bare client's, not the SDK's.
      else if (areaOf(node.callFrame) !== 'openai' && node.parent !== undefined)
        result = sdkFrameOf(node.parent)
    }
    innermostSdk.set(id, result)
    return result
  }
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  const sdkInclusive = new Map<string, number>()
  const busy = profile.samples.filter((id) => {
    const node = byId.get(id)
    return node !== undefined && node.callFrame.functionName !== '(idle)'
  })
  const perCall = busy.length > 0 ? cpuMicros / busy.length / calls : 0
  for (const id of busy) {
    const node = byId.get(id)
    if (!node) continue
    add(areas, areaOf(node.callFrame), perCall)
    add(functions, frameLabel(node.callFrame), perCall)
    const sdk = sdkFrameOf(id)
    if (sdk) add(sdkInclusive, sdk, perCall)
  }
  return { totalPerCall: cpuMicros / calls, areas, functions, sdkInclusive }
}

function top(map: Map<string, number>, n: number): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
}

const us = (v: number) => `${v.toFixed(1).padStart(7)} µs`

/** A printable report: areas (with the bare client's figure and the difference), top functions, SDK costs. */
export function formatProfileReport(title: string, variant: ProfileSummary, bare?: ProfileSummary): string {
  const lines = [`── ${title}: ${variant.totalPerCall.toFixed(0)} µs CPU/call`]
  if (bare) lines[0] += ` (bare client ${bare.totalPerCall.toFixed(0)} µs/call)`
  lines.push('  by area (self time per call)      variant       bare      added')
  const keys = new Set([
    ...top(variant.areas, 14).map(([k]) => k),
    ...(bare ? top(bare.areas, 8).map(([k]) => k) : []),
  ])
  const rows = [...keys].map((k) => {
    const v = variant.areas.get(k) ?? 0
    const b = bare?.areas.get(k) ?? 0
    return { k, v, b, d: v - b }
  })
  rows.sort((x, y) => y.d - x.d)
  for (const r of rows) {
    lines.push(`  ${r.k.slice(0, 32).padEnd(32)} ${us(r.v)} ${bare ? us(r.b) : ''} ${bare ? us(r.d) : ''}`)
  }
  lines.push('  top functions (self time per call)')
  for (const [k, v] of top(variant.functions, 15)) lines.push(`  ${us(v)}  ${k}`)
  if (variant.sdkInclusive.size > 0) {
    lines.push('  under each Hindsight SDK function (incl. non-SDK callees other than openai, per call)')
    for (const [k, v] of top(variant.sdkInclusive, 15)) lines.push(`  ${us(v)}  ${k}`)
  }
  return lines.join('\n')
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [variantPath, callsArg, cpuArg, barePath, bareCpuArg] = process.argv.slice(2)
  if (!variantPath || !callsArg || !cpuArg) {
    throw new Error('usage: sdk-profile <variant.cpuprofile> <calls> <cpu µs> [bare.cpuprofile <cpu µs>]')
  }
  const calls = Number(callsArg)
  const variant = summarizeProfile(readProfile(variantPath), calls, Number(cpuArg))
  const bare = barePath ? summarizeProfile(readProfile(barePath), calls, Number(bareCpuArg)) : undefined
  console.log(formatProfileReport(variantPath, variant, bare))
}
