// pnpm bench:backtest — what-if re-pricing and prompt-cache simulation of a 1-million-span cohort,
// against a plain scan of the same rows measured in the same run (the machine is shared and noisy:
// only ratios within one run mean something). The spans are generated in the engine
// (INSERT … SELECT FROM numbers()): 100,000 ten-turn gpt-4o conversations over a week, with one of
// eight ~1 KB system prompts and growing message histories, plus claude-sonnet-4-5 calls whose
// latencies the projection uses. Writes bench/results/backtest.json. Then replay throughput (lib/backtest-replay.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { candidateSchema, createCohort, runWhatIf } from '@hindsight/backtest'
import { createStorage, migrate } from '@hindsight/collector/storage'
import { measureReplayThroughput, printReplayRows } from './lib/backtest-replay'

const TOTAL = Number(process.env.BENCH_SPANS ?? 1_000_000)
const TURNS = 10
const TARGET_MS = 3000
const here = new URL('.', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'hs-bench-backtest-'))
const storage = await createStorage({ dataDir: join(work, 'data'), database: 'bench' })
await migrate(storage)
const db = storage.database
const P = 'bench-project'
const START = new Date(Date.UTC(2026, 4, 4))
const END = new Date(START.getTime() + 8 * 86_400_000)
const chTime = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '')

console.log(`generating ${TOTAL} spans in the engine (${TOTAL / TURNS} conversations of ${TURNS} turns)…`)
const t = performance.now()
// Turn j of conversation c: the system prompt (attribute) and j + 1 messages; consecutive turns
// share their prefix, as a chat does. Recorded OpenAI caching: turns after the first read 1,536+.
await storage.client.command({
  query: `
    INSERT INTO ${db}.spans (project_id, trace_id, span_id, parent_span_id, name, kind, service_name, environment,
      release, route, operation, provider, model, request_model, input_tokens, output_tokens, cache_read_tokens,
      cache_write_tokens, reasoning_tokens, cost_usd, price_version, pricing_note, start_time, end_time, duration_ms,
      ttft_ms, status, status_message, error_type, user_id, session_id, input, output, attributes,
      resource_attributes, scope_name, ingested_at)
    SELECT
      {p:String},
      lower(hex(reinterpretAsFixedString(cityHash64('trace', c)))) || lower(hex(reinterpretAsFixedString(cityHash64('t2', c)))),
      lower(hex(reinterpretAsFixedString(cityHash64('span', number)))),
      '', 'chat gpt-4o', 'llm', 'bench', 'bench', 'v1', concat('/route-', toString(c % 5)), 'chat', 'openai',
      'gpt-4o', 'gpt-4o',
      2000 + j * 300, 150 + (number % 7) * 20, if(j = 0, 0, 1536 + (j - 1) * 256), 0, 0,
      NULL, '', '',
      toDateTime64({start:String}, 6, 'UTC') + toIntervalMillisecond(c * 6000 + j * 20000),
      toDateTime64({start:String}, 6, 'UTC') + toIntervalMillisecond(c * 6000 + j * 20000 + d),
      toFloat64(d), toFloat64(150 + d % 300), 'ok', '', '', '', '',
      '[' || arrayStringConcat(arrayMap(m -> concat('{"role":"', if(m % 2 = 0, 'user', 'assistant'),
        '","parts":[{"type":"text","content":"conversation ', toString(c), ' message ', toString(m), ' ',
        repeat('lorem ipsum ', 8), '"}]}'), range(j + 1)), ',') || ']',
      '',
      map('gen_ai.system_instructions', concat('[{"type":"text","content":"You are assistant #', toString(c % 8), '. ',
        repeat('Follow the support policy carefully. ', 28), '"}]')),
      map(), '@hindsight/sdk', now64(3)
    FROM (SELECT number, intDiv(number, ${TURNS}) AS c, number % ${TURNS} AS j, 800 + cityHash64(number) % 2400 AS d
          FROM numbers({n:UInt64}))`,
  query_params: { p: P, n: TOTAL, start: chTime(START) },
})
// The candidate model's recorded latencies (other traces; not in the cohort).
await storage.client.command({
  query: `
    INSERT INTO ${db}.spans (project_id, trace_id, span_id, kind, provider, model, request_model, input_tokens,
      output_tokens, start_time, end_time, duration_ms, ttft_ms, status, ingested_at)
    SELECT {p:String}, lower(hex(reinterpretAsFixedString(cityHash64('ct', number)))) || '0000000000000000',
      lower(hex(reinterpretAsFixedString(cityHash64('cs', number)))), 'llm', 'anthropic', 'claude-sonnet-4-5',
      'claude-sonnet-4-5', 1000, 100,
      toDateTime64({start:String}, 6, 'UTC') + toIntervalSecond(number * 60),
      toDateTime64({start:String}, 6, 'UTC') + toIntervalSecond(number * 60) + toIntervalMillisecond(500 + number % 1500),
      toFloat64(500 + number % 1500), toFloat64(200 + number % 200), 'ok', now64(3)
    FROM numbers(5000)`,
  query_params: { p: P, start: chTime(START) },
})
await storage.client.command({ query: `OPTIMIZE TABLE ${db}.spans FINAL` })
const generateMs = performance.now() - t
console.log(`generated in ${(generateMs / 1000).toFixed(1)} s`)

const filter = { from: START.toISOString(), to: END.toISOString(), model: ['gpt-4o'] }
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3))

/** Wall and process CPU time (all threads: the embedded engine's work included) of `f`. */
async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number; cpu_ms: number }> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const value = await f()
  const used = process.cpuUsage(cpu)
  return { value, ms: performance.now() - started, cpu_ms: (used.user + used.system) / 1000 }
}

// Baselines, same rows and conditions (FINAL, range, kind, model): a plain scan of two numeric
// columns, and a scan that reads the prompt text the what-if must read (messages + system
// instructions), i.e. the floor for anything that looks at prompt content.
const where = `project_id = {p:String} AND start_time >= {from:DateTime64(6, 'UTC')} AND start_time < {to:DateTime64(6, 'UTC')}
  AND kind = 'llm' AND model IN ['gpt-4o']`
const scan = (select: string) =>
  timed(async () => {
    const result = await storage.client.query({
      query: `SELECT ${select} AS s FROM ${db}.spans FINAL WHERE ${where}`,
      query_params: { p: P, from: chTime(START), to: chTime(END) },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ s: string }>()
    return Number(row?.s ?? 0)
  })
const numericScan = () => scan('count() + sum(input_tokens)')
const textScan = () => scan(`sum(length(input) + length(attributes['gen_ai.system_instructions']))`)
await numericScan() // warm-up (file cache)
await textScan()

const cohortRun = await timed(() => createCohort(storage, P, filter))
const cohort = cohortRun.value
const candidate = candidateSchema.parse({ provider: 'anthropic', model: 'claude-sonnet-4-5', caching: 'on' })

// Rounds: baselines and the what-if alternate, so each round's ratios compare like with like.
type Round = {
  scan: Awaited<ReturnType<typeof numericScan>>
  text: Awaited<ReturnType<typeof textScan>>
  whatif: Awaited<ReturnType<typeof runOnce>>
}
const runOnce = () =>
  timed(() =>
    runWhatIf(storage, {
      projectId: P,
      cohort,
      candidate,
      objectives: { cost_per_call_max_ratio: 1, latency_p95_max_ms: 4000 },
    }),
  )
const rounds: Round[] = []
for (let r = 0; r < ROUNDS; r++) {
  const scanRun = await numericScan()
  const textRun = await textScan()
  rounds.push({ scan: scanRun, text: textRun, whatif: await runOnce() })
  const last = rounds[rounds.length - 1] as Round
  const t = last.whatif.value.timings
  console.log(
    `round ${r + 1}/${ROUNDS}: what-if core ${Math.round(t.load_ms + t.price_ms + t.simulate_ms)} ms ` +
      `(cpu ${Math.round(t.load_cpu_ms + t.price_cpu_ms + t.simulate_cpu_ms)} ms), end to end ${Math.round(last.whatif.ms)} ms`,
  )
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const med = (f: (r: Round) => number) => median(rounds.map(f))
const core = (r: Round) =>
  r.whatif.value.timings.load_ms + r.whatif.value.timings.price_ms + r.whatif.value.timings.simulate_ms
const coreCpu = (r: Round) =>
  r.whatif.value.timings.load_cpu_ms +
  r.whatif.value.timings.price_cpu_ms +
  r.whatif.value.timings.simulate_cpu_ms
const baseline = { ms: med((r) => r.scan.ms), cpu_ms: med((r) => r.scan.cpu_ms) }
const text = { ms: med((r) => r.text.ms), cpu_ms: med((r) => r.text.cpu_ms) }
const whatIfCoreMs = med(core)
const whatIfCoreCpuMs = med(coreCpu)
const totalMs = med((r) => r.whatif.ms)
const report = (rounds[rounds.length - 1] as Round).whatif.value
const timing = (key: keyof typeof report.timings) => med((r) => r.whatif.value.timings[key])

const row = (step: string, ms: number, cpu: number | null) => ({
  step,
  ms: Math.round(ms),
  'ratio to scan': Number((ms / baseline.ms).toFixed(1)),
  'ratio to text scan': Number((ms / text.ms).toFixed(2)),
  'cpu ms': cpu === null ? '' : Math.round(cpu),
})
console.log(`medians of ${ROUNDS} rounds (wall ms; cpu = process CPU time, all threads):`)
console.table([
  row('baseline: SELECT count() + sum(input_tokens), same rows', baseline.ms, baseline.cpu_ms),
  row('baseline: SELECT sum(length(prompt text)), same rows', text.ms, text.cpu_ms),
  row('freeze the cohort (filter → trace ids), once', cohortRun.ms, cohortRun.cpu_ms),
  row('load calls (engine splits + hashes prompt blocks, Native)', timing('load_ms'), timing('load_cpu_ms')),
  row('re-price both arms (exact totals)', timing('price_ms'), timing('price_cpu_ms')),
  row('simulate prompt caching (+ calibration)', timing('simulate_ms'), timing('simulate_cpu_ms')),
  row(`what-if re-pricing + cache simulation (target ≤ ${TARGET_MS} ms)`, whatIfCoreMs, whatIfCoreCpuMs),
  row('latency projection', timing('latency_ms'), timing('latency_cpu_ms')),
  row(
    'statistics (CLT, Wilcoxon, 10,000-resample cluster bootstrap)',
    timing('statistics_ms'),
    timing('statistics_cpu_ms'),
  ),
  row(
    'what-if, end to end',
    totalMs,
    med((r) => r.whatif.cpu_ms),
  ),
])
const cost = report.metrics.find((m) => m.name === 'cost_per_call_usd')
console.log(
  `${report.cohort.calls} calls in ${report.cohort.traces} traces: baseline $${report.totals.baseline_cost_usd}, ` +
    `candidate $${report.totals.candidate_cost_usd} (ratio ${cost?.ratio?.toFixed(3)}), simulated hit rate ` +
    `${((report.caching.hit_rate ?? 0) * 100).toFixed(1)}%, calibration error ${report.caching.calibration?.relative_error?.toFixed(3)}; ` +
    `verdict ${report.verdict.result}. Target ${whatIfCoreMs <= TARGET_MS ? 'met' : 'NOT met'} on this run ` +
    `(median ${Math.round(whatIfCoreMs)} ms; best round ${Math.round(Math.min(...rounds.map(core)))} ms).`,
)
const summary = {
  spans: TOTAL,
  calls: report.cohort.calls,
  traces: report.cohort.traces,
  rounds: ROUNDS,
  baseline_scan_ms: baseline.ms,
  baseline_scan_cpu_ms: baseline.cpu_ms,
  text_scan_ms: text.ms,
  text_scan_cpu_ms: text.cpu_ms,
  cohort_ms: cohortRun.ms,
  load_ms: timing('load_ms'),
  price_ms: timing('price_ms'),
  simulate_ms: timing('simulate_ms'),
  latency_ms: timing('latency_ms'),
  statistics_ms: timing('statistics_ms'),
  load_cpu_ms: timing('load_cpu_ms'),
  price_cpu_ms: timing('price_cpu_ms'),
  simulate_cpu_ms: timing('simulate_cpu_ms'),
  latency_cpu_ms: timing('latency_cpu_ms'),
  statistics_cpu_ms: timing('statistics_cpu_ms'),
  whatif_core_ms: whatIfCoreMs,
  whatif_core_cpu_ms: whatIfCoreCpuMs,
  whatif_core_ms_rounds: rounds.map(core),
  whatif_total_ms: totalMs,
  target_ms: TARGET_MS,
  ratio_core_to_scan: whatIfCoreMs / baseline.ms,
  ratio_core_to_text_scan: whatIfCoreMs / text.ms,
  calls_per_s: report.cohort.calls / (whatIfCoreMs / 1000),
  hit_rate: report.caching.hit_rate,
  calibration_error: report.caching.calibration?.relative_error ?? null,
  statistics_method: cost?.method ?? null,
  generate_ms: generateMs,
  node: process.version,
  at: new Date().toISOString(),
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results/backtest.json'), `${JSON.stringify(summary, null, 2)}\n`)
await storage.close()
rmSync(work, { recursive: true, force: true })

// Replay throughput at concurrency 64 against the local fake provider (bench/lib/backtest-replay.ts),
// after the what-if's engine is closed (one embedded data directory at a time). BENCH_REPLAY=0 skips it.
if (process.env.BENCH_REPLAY !== '0') {
  const replay = await measureReplayThroughput()
  printReplayRows(replay)
  writeFileSync(join(here, 'results/backtest.json'), `${JSON.stringify({ ...summary, replay }, null, 2)}\n`)
}
