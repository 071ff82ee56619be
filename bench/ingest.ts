// pnpm bench:ingest — OTLP/HTTP protobuf ingest for a fixed duration (issue 3, "Performance"):
// sustained spans/s accepted and queryable after warm-up, time from acknowledgement to queryable
// (p50/p95/p99), RSS over the run, and, in the same run on the same payloads and rows, the two
// ceilings: the decode rate (one core, no I/O) and the engine's own insert rate. Prints a table with
// ratios and targets; writes bench/results/ingest.json.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { DEFAULT_BATCH_MAX_ROWS, SPAN_INSERT_SETTINGS, startCollector } from '@hindsight/collector'
import { createStorage, migrate, ProjectRepository } from '@hindsight/collector/storage'
import tQuantile from '@stdlib/stats-base-dists-t-quantile'
import { decodeCeiling, insertCeiling } from './lib/ingest-ceilings'
import { buildPatchablePayloads } from './lib/payloads'
import { snapshotThreads, threadCpuSince } from './lib/thread-cpu'

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback)
  return Number.isFinite(v) ? v : fallback
}
const SECONDS = num('BENCH_SECONDS', 180)
const PER_REQUEST = num('BENCH_BATCH', 500)
const CLIENTS = num('BENCH_CLIENTS', 4)
const RATE = num('BENCH_RATE', 0)
const POOL = num('BENCH_POOL', 20_000)
const WARMUP = num('BENCH_WARMUP', Math.min(30, Math.max(3, Math.round(SECONDS * 0.2))))
const CEILING_SECONDS = num('BENCH_CEILING_SECONDS', 5)
const SPOOL = process.env.BENCH_SPOOL !== '0'
const here = new URL('.', import.meta.url).pathname
const MiB = 2 ** 20

const work = mkdtempSync(join(tmpdir(), 'hs-bench-ingest-'))
const payloadDir = join(work, 'payloads')
mkdirSync(payloadDir)

console.log(
  `building ${POOL} distinct spans in requests of ${PER_REQUEST} (official OTel protobuf serializer)…`,
)
const payloads = buildPatchablePayloads(POOL, PER_REQUEST)
payloads.forEach((p, i) => {
  writeFileSync(join(payloadDir, `${i}.bin`), p.body)
})
writeFileSync(
  join(payloadDir, 'index.json'),
  JSON.stringify(payloads.map((p) => ({ traceIdAt: p.traceIdAt, spanIdAt: p.spanIdAt }))),
)
const wireBytes = payloads.reduce((n, p) => n + p.body.length, 0)

const storage = await createStorage({ dataDir: join(work, 'data'), database: 'bench' })
await migrate(storage)
const projects = new ProjectRepository(storage)
const { project, key } = await projects.ensure('bench')
if (!key) throw new Error('no key created')

// Ceilings first, on an idle machine, on the same payloads and the rows they map to.
console.log(`ceilings (${CEILING_SECONDS} s each): decode+validate+map+serialize, one core…`)
const bodies = payloads.map((p) => p.body)
const decodeBefore = await decodeCeiling(bodies, CEILING_SECONDS)
const rowBytes = decodeBefore.bodies.reduce((n, b) => n + b.length, 0) / POOL
console.log(
  `  ${Math.round(decodeBefore.spans_per_s)} spans/s; engine raw insert of the same rows (JSONEachRow, warm)…`,
)
// 20000 rows per ceiling insert: twice the writer's largest batch (DEFAULT_BATCH_MAX_ROWS), so
// the ceiling errs on the generous side (bigger inserts cost the engine less per row).
const BATCH_ROWS = num('BENCH_INSERT_BATCH', Math.max(20_000, DEFAULT_BATCH_MAX_ROWS))
/**
 * The insert ceiling of `rows`, twice: with the engine's default settings and with the writer's
 * insert settings (less CPU per row, one parsing thread). The ceiling is the fastest measurement:
 * the engine's best.
 */
async function insertCeilings(rows: Buffer[]) {
  const defaults = await insertCeiling(storage, rows, BATCH_ROWS, CEILING_SECONDS)
  const writer = await insertCeiling(storage, rows, BATCH_ROWS, CEILING_SECONDS, SPAN_INSERT_SETTINGS)
  return { defaults, writer }
}
const { defaults: insertDefaults, writer: insertWriter } = await insertCeilings(decodeBefore.bodies)
console.log(
  `  ${Math.round(insertDefaults.spans_per_s)} rows/s with engine defaults (${insertDefaults.cpu_us_per_span} µs CPU/row), ` +
    `${Math.round(insertWriter.spans_per_s)} rows/s with the writer's settings (${insertWriter.cpu_us_per_span} µs CPU/row); ` +
    `${Math.round(rowBytes)} B/row`,
)
decodeBefore.bodies.length = 0
// The ceilings leave engine memory behind (its allocator keeps freed pages for a while): return it,
// so the load's RSS is the load's own, not the decay of the ceilings' leftovers.
await storage.client.command({ query: 'SYSTEM JEMALLOC PURGE' }).catch(() => {})

/** The engine's own counters (system.events): rows inserted and merged, merge thread time. */
const ENGINE_EVENTS = [
  'InsertedRows',
  'InsertedCompactParts',
  'InsertedWideParts',
  'Merge',
  'MergedRows',
  'MergeExecuteMilliseconds',
  'MergedIntoWideParts',
  'UserTimeMicroseconds',
  'SystemTimeMicroseconds',
  'SelectQuery',
  'SelectedRows',
  'SelectQueryTimeMicroseconds',
  'InsertQueryTimeMicroseconds',
] as const
async function engineEvents(): Promise<Record<string, number>> {
  const r = await storage.client.query({
    query: 'SELECT event, value FROM system.events WHERE event IN {names:Array(String)}',
    query_params: { names: [...ENGINE_EVENTS] },
    format: 'JSONEachRow',
  })
  const out: Record<string, number> = {}
  for (const e of await r.json<{ event: string; value: string }>()) out[e.event] = Number(e.value)
  return out
}
// BENCH_SPANS_SETTINGS='name=value,…': MergeTree settings tried on `spans` (ALTER … MODIFY SETTING).
for (const pair of (process.env.BENCH_SPANS_SETTINGS ?? '').split(',').filter(Boolean)) {
  const [name, value] = pair.split('=')
  if (!name || !/^[a-z_]+$/.test(name) || !value || !/^\d+$/.test(value))
    throw new Error(`bad setting ${pair}`)
  await storage.client.command({
    query: `ALTER TABLE ${storage.database}.spans MODIFY SETTING ${name} = ${Number(value)}`,
  })
}
const events0 = await engineEvents()

const collector = await startCollector({
  storage,
  projects,
  port: 0,
  grpcPort: false,
  ...(SPOOL && { spoolDir: join(work, 'spool') }),
  ...(process.env.BENCH_WRITER_BATCH && { batchMaxRows: num('BENCH_WRITER_BATCH', DEFAULT_BATCH_MAX_ROWS) }),
  ...(process.env.BENCH_MAX_LAG_MS && { maxLagMs: num('BENCH_MAX_LAG_MS', 1000) }),
  onError: (message, error) => console.error(`[collector] ${message}`, error),
})

async function count(): Promise<number> {
  const r = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.spans WHERE project_id = {p:String}`,
    query_params: { p: project.id },
    format: 'JSONEachRow',
  })
  return Number((await r.json<{ n: string }>())[0]?.n ?? 0)
}

console.log(
  `sending for ${SECONDS} s (warm-up ${WARMUP} s) with ${CLIENTS} concurrent clients from a child process, ` +
    `${RATE > 0 ? `offering ${RATE} spans/s` : 'as fast as accepted'}${SPOOL ? ', spool on' : ', no spool'}…`,
)
const t0 = Date.now()
const cpuLoad0 = process.cpuUsage()
const threads0 = snapshotThreads()
// BENCH_HEAP_SAMPLE=1: sample the allocations of the load that die in full GCs (old-space garbage),
// by allocation site — what makes V8 run mark-compacts.
const heapSession =
  process.env.BENCH_HEAP_SAMPLE === '1' ? new (await import('node:inspector')).Session() : null
if (heapSession) {
  heapSession.connect()
  await new Promise<void>((resolve, reject) =>
    heapSession.post(
      'HeapProfiler.startSampling',
      {
        samplingInterval: 16384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: false,
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  )
}
// V8 garbage collections on the collector's thread during the load and drain, by kind.
const gcStats = new Map<string, { count: number; ms: number }>()
const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
}
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other'
    const s = gcStats.get(kind) ?? { count: 0, ms: 0 }
    s.count++
    s.ms += entry.duration
    gcStats.set(kind, s)
  }
})
gcObserver.observe({ entryTypes: ['gc'] })
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(here, 'lib/load-client.ts'),
    JSON.stringify({
      dir: payloadDir,
      url: `${collector.url}/v1/traces`,
      apiKey: key.apiKey,
      clients: CLIENTS,
      seconds: SECONDS,
      rate: RATE,
    }),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)

interface Sample {
  ack: number
  traceId: string
}
const pending: Sample[] = []
const freshness: number[] = []
const acks: { t: number; spans: number }[] = []
let ackedSpans = 0
type LoadSummary = {
  started: number
  finished: number
  requests: number
  spans: number
  retries: number
  cpu: { user: number; system: number }
}
let load: LoadSummary | null = null
createInterface({ input: child.stdout }).on('line', (line) => {
  if (line.startsWith('a ')) {
    const [, ack, n, traceId] = line.split(' ')
    ackedSpans += Number(n)
    acks.push({ t: Number(ack), spans: ackedSpans })
    if (traceId) pending.push({ ack: Number(ack), traceId })
  } else if (line.startsWith('d ')) load = JSON.parse(line.slice(2))
})
let childExited = false
const childDone = new Promise<void>((resolve, reject) =>
  child.on('exit', (code) => {
    childExited = true
    code === 0 ? resolve() : reject(new Error(`load client exited ${code}`))
  }),
)

const rss: { t: number; mb: number }[] = []
const counts: { t: number; n: number }[] = []
const rssTimer = setInterval(() => rss.push({ t: Date.now(), mb: process.memoryUsage().rss / MiB }), 500)

/** BENCH_DETAIL=1: where the memory is (JS heap, Buffers, the engine's tracked memory, parts). */
const DETAIL = process.env.BENCH_DETAIL === '1'
const detail: Record<string, number>[] = []
async function sampleDetail(): Promise<void> {
  while (DETAIL && !childExited) {
    const m = process.memoryUsage()
    const r = await storage.client.query({
      query: `SELECT
          (SELECT value FROM system.metrics WHERE metric = 'MemoryTracking') AS engine,
          (SELECT count() FROM system.parts WHERE database = {db:String} AND table = 'spans' AND active) AS parts,
          (SELECT count() FROM system.merges) AS merges,
          (SELECT groupArray((metric, value)) FROM system.metrics WHERE metric LIKE '%CacheBytes') AS caches,
          (SELECT any(stats) FROM system.jemalloc_stats) AS jemalloc`,
      query_params: { db: storage.database },
      format: 'JSONEachRow',
    })
    const [e] = await r.json<{
      engine: string
      parts: string
      merges: string
      caches: [string, number][]
      jemalloc: string
    }>()
    // The engine's allocator (jemalloc, inside chDB): live bytes and resident bytes (live + dirty pages
    // not yet returned + metadata), from the first line of its stats.
    const je = /Allocated: (\d+), active: \d+, metadata: (\d+).*?resident: (\d+)/.exec(e?.jemalloc ?? '')
    const status = await readFile('/proc/self/status', 'utf8').catch(() => '')
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)
    const row = {
      t: Math.round((Date.now() - t0) / 1000),
      rss: Math.round(m.rss / MiB),
      anon: Math.round(kb('RssAnon') / 1024),
      file: Math.round(kb('RssFile') / 1024),
      threads: kb('Threads'),
      heap: Math.round(m.heapUsed / MiB),
      heapTotal: Math.round(m.heapTotal / MiB),
      external: Math.round(m.external / MiB),
      arrayBuffers: Math.round(m.arrayBuffers / MiB),
      engine: Math.round(Number(e?.engine ?? 0) / MiB),
      jeAllocated: Math.round(Number(je?.[1] ?? 0) / MiB),
      jeMetadata: Math.round(Number(je?.[2] ?? 0) / MiB),
      jeResident: Math.round(Number(je?.[3] ?? 0) / MiB),
      parts: Number(e?.parts ?? 0),
      merges: Number(e?.merges ?? 0),
      pendingRows: collector.stats().pending_rows,
      // The engine's caches, MiB (those holding at least 1 MiB).
      ...Object.fromEntries(
        (e?.caches ?? [])
          .filter(([, v]) => Number(v) >= MiB)
          .map(([k, v]) => [k, Math.round(Number(v) / MiB)]),
      ),
    }
    detail.push(row)
    console.log(`  detail ${JSON.stringify(row)}`)
    await new Promise((r) => setTimeout(r, 2000))
  }
}

/** Poll the sampled trace ids until each is queryable: freshness = found − acknowledged. */
async function pollFreshness(): Promise<void> {
  while (!childExited || pending.length > 0) {
    const batch = pending.slice(0, 1000)
    if (batch.length > 0) {
      const r = await storage.client.query({
        query: `SELECT DISTINCT trace_id FROM ${storage.database}.spans WHERE project_id = {p:String} AND trace_id IN {ids:Array(String)}`,
        query_params: { p: project.id, ids: batch.map((s) => s.traceId) },
        format: 'JSONEachRow',
      })
      const found = new Set((await r.json<{ trace_id: string }>()).map((x) => x.trace_id))
      const now = Date.now()
      for (let i = pending.length - 1; i >= 0; i--) {
        const s = pending[i] as Sample
        if (found.has(s.traceId)) {
          freshness.push(now - s.ack)
          pending.splice(i, 1)
        }
      }
      if (childExited && now - t0 > (SECONDS + 120) * 1000) break
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}
async function pollCount(): Promise<void> {
  while (!childExited) {
    counts.push({ t: Date.now(), n: await count() })
    await new Promise((r) => setTimeout(r, 1000))
  }
}
const pollers = Promise.all([pollFreshness(), pollCount(), sampleDetail()])
await childDone
const loadEnd = Date.now()
const cpuLoad = process.cpuUsage(cpuLoad0)
clearInterval(rssTimer)
await pollers
// Drain: everything acknowledged must become queryable.
let finalCount = await count()
while (finalCount < ackedSpans && Date.now() - loadEnd < 120_000) {
  await new Promise((r) => setTimeout(r, 200))
  finalCount = await count()
}
const drainedAt = Date.now()
const threadCpu = threadCpuSince(threads0)
if (heapSession) {
  interface SamplingNode {
    callFrame: { functionName: string; url: string; lineNumber: number }
    selfSize: number
    children: SamplingNode[]
  }
  const profile = await new Promise<{ head: SamplingNode }>((resolve, reject) =>
    heapSession.post('HeapProfiler.stopSampling', (error, result) =>
      error ? reject(error) : resolve(result.profile as unknown as { head: SamplingNode }),
    ),
  )
  const sites = new Map<string, number>()
  const walk = (node: SamplingNode, stack: string[]) => {
    const frame = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`
    const path = [...stack, frame].slice(-3)
    if (node.selfSize > 0) sites.set(path.join(' < '), (sites.get(path.join(' < ')) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child, path)
  }
  walk(profile.head, [])
  const total = [...sites.values()].reduce((a, b) => a + b, 0)
  console.log(`heap allocations sampled (incl. collected by full GCs): ${(total / MiB).toFixed(0)} MiB`)
  for (const [site, bytes] of [...sites.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${(bytes / MiB).toFixed(1).padStart(8)} MiB  ${site}`)
  }
  heapSession.disconnect()
}
gcObserver.disconnect()
const cpuDrained = process.cpuUsage(cpuLoad0)
// The engine's work during the load and drain: merges (rows rewritten per row inserted, merge
// thread time per inserted row) against inserts.
const events1 = await engineEvents()

// The ceilings again, after the load: each ceiling is the faster of its measurements before and
// after, so a neighbour's burst on the shared machine during one of them cannot flatter the ratio
// (one 5 s insert measurement read 34k rows/s during a burst, 48–52k otherwise).
console.log(`ceilings again, after the load (${CEILING_SECONDS} s each)…`)
const decodeAfter = await decodeCeiling(bodies, CEILING_SECONDS)
const { defaults: insertDefaultsAfter, writer: insertWriterAfter } = await insertCeilings(decodeAfter.bodies)
decodeAfter.bodies.length = 0
console.log(
  `  decode ${Math.round(decodeAfter.spans_per_s)} spans/s; insert ${Math.round(insertDefaultsAfter.spans_per_s)} rows/s with engine defaults, ` +
    `${Math.round(insertWriterAfter.spans_per_s)} with the writer's settings`,
)
const decode = decodeAfter.spans_per_s > decodeBefore.spans_per_s ? decodeAfter : decodeBefore
const insertRuns = [
  { run: insertDefaults, how: 'engine defaults, before the load' },
  { run: insertWriter, how: "writer's settings, before the load" },
  { run: insertDefaultsAfter, how: 'engine defaults, after the load' },
  { run: insertWriterAfter, how: "writer's settings, after the load" },
]
const fastestInsert = insertRuns.reduce((a, b) => (b.run.spans_per_s > a.run.spans_per_s ? b : a))
const insert = fastestInsert.run
const ev = (name: (typeof ENGINE_EVENTS)[number]) => (events1[name] ?? 0) - (events0[name] ?? 0)
const engineWork = {
  inserted_rows: ev('InsertedRows'),
  inserted_parts: ev('InsertedCompactParts') + ev('InsertedWideParts'),
  merges: ev('Merge'),
  merged_rows: ev('MergedRows'),
  merged_into_wide_parts: ev('MergedIntoWideParts'),
  merge_rows_per_inserted_row: ev('MergedRows') / Math.max(1, ev('InsertedRows')),
  merge_ms_per_1k_inserted_rows: (ev('MergeExecuteMilliseconds') * 1000) / Math.max(1, ev('InsertedRows')),
  select_queries: ev('SelectQuery'),
  selected_rows_per_inserted_row: ev('SelectedRows') / Math.max(1, ev('InsertedRows')),
  select_us_per_inserted_row: ev('SelectQueryTimeMicroseconds') / Math.max(1, ev('InsertedRows')),
  insert_us_per_inserted_row: ev('InsertQueryTimeMicroseconds') / Math.max(1, ev('InsertedRows')),
  engine_cpu_us_per_inserted_row:
    (ev('UserTimeMicroseconds') + ev('SystemTimeMicroseconds')) / Math.max(1, ev('InsertedRows')),
}
if (!load) throw new Error('the load client printed no summary')
const summaryLoad = load as LoadSummary
const collectorCpuUs = (cpuLoad.user + cpuLoad.system) / summaryLoad.spans
const clientCpuUs = (summaryLoad.cpu.user + summaryLoad.cpu.system) / summaryLoad.spans
const cores =
  (cpuLoad.user + cpuLoad.system + summaryLoad.cpu.user + summaryLoad.cpu.system) / 1e3 / (loadEnd - t0)

const warmAt = summaryLoad.started + WARMUP * 1000
const endAt = summaryLoad.finished
const at = <T extends { t: number }>(xs: T[], t: number): T | undefined => {
  let best: T | undefined
  for (const x of xs) if (x.t <= t) best = x
  return best ?? xs[0]
}
const ackWarm = at(acks, warmAt)
const ackEnd = acks[acks.length - 1]
const acceptedRate =
  ackWarm && ackEnd && ackEnd.t > ackWarm.t
    ? ((ackEnd.spans - ackWarm.spans) * 1000) / (ackEnd.t - ackWarm.t)
    : 0
const cWarm = at(counts, warmAt)
const cEnd = at(counts, endAt)
const queryableRate = cWarm && cEnd && cEnd.t > cWarm.t ? ((cEnd.n - cWarm.n) * 1000) / (cEnd.t - cWarm.t) : 0

const sorted = [...freshness].sort((a, b) => a - b)
const pct = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
const rssAt = (f: number) =>
  at(rss, summaryLoad.started + f * (endAt - summaryLoad.started))?.mb ?? Number.NaN
const after = rss.filter((s) => s.t >= warmAt)
/**
 * Least-squares line of `mb` over `t`: the slope in MiB/min (0 with fewer than two points) and
 * the half-width of its 95% confidence interval (NaN with fewer than three): how far noise alone
 * can move the slope.
 */
function trend(points: readonly { t: number; mb: number }[]): { slope: number; ci95: number } {
  const n = points.length
  if (n < 2) return { slope: 0, ci95: Number.NaN }
  const mx = points.reduce((sum, p) => sum + p.t, 0) / n
  const my = points.reduce((sum, p) => sum + p.mb, 0) / n
  let sxy = 0
  let sxx = 0
  for (const p of points) {
    sxy += (p.t - mx) * (p.mb - my)
    sxx += (p.t - mx) ** 2
  }
  if (sxx === 0) return { slope: 0, ci95: Number.NaN }
  const perMs = sxy / sxx
  let sse = 0
  for (const p of points) sse += (p.mb - (my + perMs * (p.t - mx))) ** 2
  const ci95 = n < 3 ? Number.NaN : tQuantile(0.975, n - 2) * Math.sqrt(sse / (n - 2) / sxx) * 60_000
  return { slope: perMs * 60_000, ci95 }
}
const slope = trend(after).slope
const peakRss = Math.max(...rss.map((s) => s.mb))
// "Flat after warm-up": the peak after warm-up (not the ceilings' leftovers at the start of the
// load) against the post-warm-up level, the median of the first 10 s after warm-up (one sample
// would be wherever the GC and merge cycles happen to be).
const peakAfterWarm = Math.max(...after.map((s) => s.mb))
const firstAfter = after
  .filter((s) => s.t < warmAt + 10_000)
  .map((s) => s.mb)
  .sort((a, b) => a - b)
const rssWarm = firstAfter[Math.floor(firstAfter.length / 2)] ?? Number.NaN
// The floor: the lowest RSS of each 30 s window of the load after warm-up, and its trend. Merges
// raise the RSS by 150–600 MiB while they run and give it back; memory that is kept (a leak, a
// queue that grows) raises the floor. "Flat" = the floor's slope ≤ 20 MiB/min. The least-squares
// slope of every sample and the peak are reported too, but one merge near the end of the run moves
// them by ±100 MiB/min, in either direction, from run to run.
const FLOOR_WINDOW_MS = 30_000
const floors: { t: number; mb: number }[] = []
for (let from = warmAt; from + FLOOR_WINDOW_MS <= endAt + 1000; from += FLOOR_WINDOW_MS) {
  const window = rss.filter((s) => s.t >= from && s.t < from + FLOOR_WINDOW_MS)
  if (window.length > 0)
    floors.push({ t: from + FLOOR_WINDOW_MS / 2, mb: Math.min(...window.map((s) => s.mb)) })
}
// In a 3-minute run (5 floors) the CI is several times the 20 MiB/min bound: one run's point
// figure cannot tell flat from slow growth; a longer run can.
const { slope: floorSlope, ci95: floorSlopeHalfWidth } = trend(floors)
const rssFlat = floors.length >= 2 && floorSlope <= 20

const slower = Math.min(decode.spans_per_s, insert.spans_per_s)
const sustained = Math.min(acceptedRate, queryableRate)
const ok = (b: boolean) => (b ? 'MET' : 'MISSED')
const r0 = (x: number) => Math.round(x)
const table = [
  {
    metric: `ceiling: decode+validate+map+serialize (1 core, no I/O; ${decode === decodeAfter ? 'after' : 'before'} the load)`,
    value: r0(decode.spans_per_s),
    unit: 'spans/s',
    ratio: '',
    target: '',
  },
  {
    metric: `ceiling: engine raw insert, same rows (JSONEachRow, warm, ${fastestInsert.how})`,
    value: r0(insert.spans_per_s),
    unit: 'rows/s',
    ratio: '',
    target: '',
  },
  {
    metric: 'sustained accepted (after warm-up)',
    value: r0(acceptedRate),
    unit: 'spans/s',
    ratio: (acceptedRate / slower).toFixed(3),
    target: '',
  },
  {
    metric: 'sustained queryable (after warm-up)',
    value: r0(queryableRate),
    unit: 'spans/s',
    ratio: (queryableRate / slower).toFixed(3),
    target: '',
  },
  {
    metric: 'sustained = min(accepted, queryable)',
    value: r0(sustained),
    unit: 'spans/s',
    ratio: (sustained / slower).toFixed(3),
    target: `≥10000: ${ok(sustained >= 10_000)}; ≥0.70×slower: ${ok(sustained >= 0.7 * slower)}`,
  },
  { metric: 'ack → queryable p50', value: r0(pct(50)), unit: 'ms', ratio: '', target: '' },
  {
    metric: 'ack → queryable p95',
    value: r0(pct(95)),
    unit: 'ms',
    ratio: '',
    target: `<2000: ${ok(pct(95) < 2000)}`,
  },
  { metric: 'ack → queryable p99', value: r0(pct(99)), unit: 'ms', ratio: '', target: '' },
  {
    metric: 'RSS at 25/50/75/100%',
    value: [0.25, 0.5, 0.75, 1].map((f) => r0(rssAt(f))).join('/'),
    unit: 'MiB',
    ratio: '',
    target: '',
  },
  {
    metric: 'RSS after warm-up: floor slope (30 s minima) / all-sample slope',
    value: `${floorSlope.toFixed(1)} (95% CI ${Number.isNaN(floorSlopeHalfWidth) ? 'n/a: under 3 floors' : `±${floorSlopeHalfWidth.toFixed(0)}`}) / ${slope.toFixed(1)}`,
    unit: 'MiB/min',
    ratio: '',
    target: `flat (floor ≤20): ${ok(rssFlat)}; floors ${floors.map((f) => r0(f.mb)).join('/')}; peak ${r0(peakAfterWarm)} vs level ${r0(rssWarm)} (+${(((peakAfterWarm - rssWarm) / rssWarm) * 100).toFixed(0)}%)`,
  },
  {
    metric: 'CPU µs/span: collector process (all threads) / load client',
    value: `${r0(collectorCpuUs)} / ${r0(clientCpuUs)}`,
    unit: 'µs',
    ratio: '',
    target: `cores busy ${cores.toFixed(2)} of 2; ceilings: decode ${decode.cpu_us_per_span}, insert ${insert.cpu_us_per_span}`,
  },
  { metric: 'peak RSS', value: r0(peakRss), unit: 'MiB', ratio: '', target: '' },
]
console.table(table)
console.log(
  `wire ${r0(wireBytes / POOL)} B/span, row ${r0(rowBytes)} B; ${summaryLoad.requests} requests, ${summaryLoad.spans} spans acked, ` +
    `${summaryLoad.retries} retries (429/503); ${freshness.length} freshness samples (${pending.length} never seen); ` +
    `all ${finalCount}/${ackedSpans} queryable ${((drainedAt - loadEnd) / 1000).toFixed(1)} s after the load ended`,
)
console.log(
  `engine during the load: ${engineWork.inserted_rows} rows in ${engineWork.inserted_parts} parts ` +
    `(${r0(engineWork.inserted_rows / Math.max(1, engineWork.inserted_parts))} rows/part), ${engineWork.merges} merges ` +
    `rewrote ${engineWork.merge_rows_per_inserted_row.toFixed(2)} rows per inserted row ` +
    `(${engineWork.merged_into_wide_parts} into wide parts), merge threads ${(engineWork.merge_ms_per_1k_inserted_rows).toFixed(1)} µs per inserted row; ` +
    `engine threads' CPU (insert + merges + queries) ${engineWork.engine_cpu_us_per_inserted_row.toFixed(1)} µs per inserted row; ` +
    `insert queries ${engineWork.insert_us_per_inserted_row.toFixed(1)} µs wall per row; the bench's ${engineWork.select_queries} ` +
    `polling queries took ${engineWork.select_us_per_inserted_row.toFixed(1)} µs wall per inserted row; ` +
    // The engine counts the rows an insert reads in SelectedRows too (one per row), not only the polls'.
    `rows read (inserts' included) ${engineWork.selected_rows_per_inserted_row.toFixed(2)} per inserted row`,
)
// Where the collector's CPU went, by thread group (load and drain), in µs per acknowledged span.
const threadTotal = [...threadCpu.values()].reduce((a, b) => a + b, 0)
const threadRows = [...threadCpu.entries()]
  .sort((a, b) => b[1] - a[1])
  .filter(([, s]) => s * 1e6 >= summaryLoad.spans * 0.1)
  .map(([name, s]) => `${name} ${((s * 1e6) / summaryLoad.spans).toFixed(1)}`)
const exitedUs = ((cpuDrained.user + cpuDrained.system) / 1e6 - threadTotal) * 1e6
console.log(
  `V8 GC on the collector's thread (load + drain): ${[...gcStats.entries()]
    .map(
      ([kind, g]) =>
        `${kind} ${g.count}× ${(g.ms / 1000).toFixed(2)} s (${((g.ms * 1000) / summaryLoad.spans).toFixed(1)} µs/span)`,
    )
    .join(', ')}`,
)
console.log(
  `collector CPU by thread (µs per span, load + drain): ${threadRows.join(', ')}; exited threads ${(exitedUs / summaryLoad.spans).toFixed(1)}`,
)
const summary = {
  seconds: SECONDS,
  gc: Object.fromEntries(gcStats),
  thread_cpu_us_per_span: Object.fromEntries(
    [...threadCpu.entries()].map(([name, sec]) => [name, (sec * 1e6) / summaryLoad.spans]),
  ),
  warmup_seconds: WARMUP,
  per_request: PER_REQUEST,
  clients: CLIENTS,
  offered_rate: RATE || 'max',
  spool: SPOOL,
  wire_bytes_per_span: wireBytes / POOL,
  row_bytes: rowBytes,
  requests: summaryLoad.requests,
  acked_spans: ackedSpans,
  queryable_spans: finalCount,
  retries: summaryLoad.retries,
  decode_ceiling_spans_per_s: decode.spans_per_s,
  insert_ceiling_rows_per_s: insert.spans_per_s,
  insert_ceiling_engine_defaults_rows_per_s: insertDefaults.spans_per_s,
  insert_ceiling_writer_settings_rows_per_s: insertWriter.spans_per_s,
  decode_ceilings_before_after: [decodeBefore.spans_per_s, decodeAfter.spans_per_s],
  insert_ceilings: insertRuns.map((r) => ({
    how: r.how,
    rows_per_s: r.run.spans_per_s,
    cpu_us_per_row: r.run.cpu_us_per_span,
  })),
  accepted_spans_per_s: acceptedRate,
  queryable_spans_per_s: queryableRate,
  sustained_spans_per_s: sustained,
  ratio_to_slower_ceiling: sustained / slower,
  freshness_ms: {
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    samples: freshness.length,
    unseen: pending.length,
  },
  rss_mb: {
    p25: rssAt(0.25),
    p50: rssAt(0.5),
    p75: rssAt(0.75),
    p100: rssAt(1),
    peak: peakRss,
    peak_after_warmup: peakAfterWarm,
    post_warmup_level: rssWarm,
    slope_mb_per_min: slope,
    floor_slope_mb_per_min: floorSlope,
    floor_slope_ci95_half_width: floorSlopeHalfWidth,
    floors_mb: floors.map((f) => f.mb),
  },
  cpu_us_per_span: {
    collector: collectorCpuUs,
    load_client: clientCpuUs,
    decode_ceiling: decode.cpu_us_per_span,
    insert_ceiling: insert.cpu_us_per_span,
    cores_busy: cores,
  },
  engine: engineWork,
  targets: {
    sustained_10k: sustained >= 10_000,
    ratio_70: sustained >= 0.7 * slower,
    freshness_p95_2s: pct(95) < 2000,
    rss_flat: rssFlat,
  },
  counts: counts.map((c) => [c.t - t0, c.n]),
  rss_series: rss.filter((_, i) => i % 4 === 0).map((s) => [s.t - t0, Math.round(s.mb)]),
  node: process.version,
  at: new Date().toISOString(),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/ingest.json'), `${JSON.stringify(summary, null, 2)}\n`)
await collector.close()
await storage.close()
rmSync(work, { recursive: true, force: true })
