// pnpm bench:ingest — OTLP/HTTP protobuf ingest, end to end (accepted and queryable), against the
// engine's own insert rate for the same rows measured in the same run (the machine is shared and
// noisy: only ratios within one run mean something). Writes bench/results/ingest.json.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCollector } from '@hindsight/collector'
import { createStorage, migrate, ProjectRepository } from '@hindsight/collector/storage'
import { buildPayloads } from './lib/payloads'

const TOTAL = Number(process.env.BENCH_SPANS ?? 60_000)
const PER_REQUEST = Number(process.env.BENCH_BATCH ?? 500)
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4)
const here = new URL('.', import.meta.url).pathname

const work = mkdtempSync(join(tmpdir(), 'hs-bench-ingest-'))
const payloadDir = join(work, 'payloads')
mkdirSync(payloadDir)

console.log(`building ${TOTAL} spans in requests of ${PER_REQUEST} (official OTel protobuf serializer)…`)
const payloads = buildPayloads(TOTAL, PER_REQUEST)
payloads.forEach((p, i) => {
  writeFileSync(join(payloadDir, `${String(i).padStart(6, '0')}.bin`), p)
})
const wireBytes = payloads.reduce((n, p) => n + p.length, 0)

const storage = await createStorage({ dataDir: join(work, 'data'), database: 'bench' })
await migrate(storage)
const projects = new ProjectRepository(storage)
const { project, key } = await projects.ensure('bench')
if (!key) throw new Error('no key created')
const collector = await startCollector({ storage, projects, port: 0 })
const rssSamples: number[] = []
const rssTimer = setInterval(() => rssSamples.push(process.memoryUsage().rss), 250)

async function count(table: string): Promise<number> {
  const r = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.${table} WHERE project_id = {p:String}`,
    query_params: { p: project.id },
    format: 'JSONEachRow',
  })
  return Number((await r.json<{ n: string }>())[0]?.n ?? 0)
}

console.log(`sending with ${CLIENTS} concurrent clients from a child process…`)
const t0 = Date.now()
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(here, 'lib/load-client.ts'),
    payloadDir,
    `${collector.url}/v1/traces`,
    key.apiKey,
    String(CLIENTS),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
)
let out = ''
child.stdout.on('data', (d) => {
  out += d
})
const childDone = new Promise<void>((resolve, reject) =>
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load client exited ${code}`)))),
)
let queryableAt = 0
for (;;) {
  const n = await count('spans')
  if (n >= TOTAL) {
    queryableAt = Date.now()
    break
  }
  if (Date.now() - t0 > 600_000) throw new Error(`only ${n}/${TOTAL} spans queryable after 10 minutes`)
  await new Promise((r) => setTimeout(r, 50))
}
await childDone
clearInterval(rssTimer)
const load = JSON.parse(out) as { started: number; finished: number; requests: number; retries: number }
const e2eSeconds = (queryableAt - load.started) / 1000
const acceptSeconds = (load.finished - load.started) / 1000

// Baseline: the engine's own insert rate for the same rows, same process, same run.
const rowsResult = await storage.client.query({
  query: `SELECT * FROM ${storage.database}.spans WHERE project_id = {p:String}`,
  query_params: { p: project.id },
  format: 'JSONEachRow',
})
const rows = await rowsResult.json<Record<string, unknown>>()
await storage.client.command({
  query: `CREATE TABLE ${storage.database}.spans_baseline AS ${storage.database}.spans`,
})
const t1 = Date.now()
for (let i = 0; i < rows.length; i += 5000) {
  await storage.client.insert({
    table: `${storage.database}.spans_baseline`,
    values: rows.slice(i, i + 5000),
    format: 'JSONEachRow',
  })
}
const baselineSeconds = (Date.now() - t1) / 1000

const e2eRate = TOTAL / e2eSeconds
const acceptRate = TOTAL / acceptSeconds
const baselineRate = rows.length / baselineSeconds
const peakRssMb = Math.max(...rssSamples, process.memoryUsage().rss) / 2 ** 20
const table = [
  { metric: 'engine insert (baseline, JSONEachRow objects)', 'spans/s': Math.round(baselineRate), ratio: 1 },
  {
    metric: 'OTLP/HTTP protobuf end to end (queryable)',
    'spans/s': Math.round(e2eRate),
    ratio: Number((e2eRate / baselineRate).toFixed(3)),
  },
  {
    metric: 'OTLP/HTTP protobuf accepted (200)',
    'spans/s': Math.round(acceptRate),
    ratio: Number((acceptRate / baselineRate).toFixed(3)),
  },
]
console.table(table)
const summary = {
  spans: TOTAL,
  per_request: PER_REQUEST,
  clients: CLIENTS,
  wire_bytes_per_span: Math.round(wireBytes / TOTAL),
  retries: load.retries,
  e2e_spans_per_s: e2eRate,
  accepted_spans_per_s: acceptRate,
  baseline_insert_rows_per_s: baselineRate,
  ratio_e2e_to_baseline: e2eRate / baselineRate,
  peak_rss_mb: peakRssMb,
  node: process.version,
  at: new Date().toISOString(),
}
console.log(
  `wire ${summary.wire_bytes_per_span} B/span, ${load.retries} retries (429/503), peak RSS ${peakRssMb.toFixed(0)} MiB`,
)
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/ingest.json'), `${JSON.stringify(summary, null, 2)}\n`)
await collector.close()
await storage.close()
rmSync(work, { recursive: true, force: true })
