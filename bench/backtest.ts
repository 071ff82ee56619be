// pnpm bench:backtest — what-if re-pricing and prompt-cache simulation of a 1-million-span cohort,
// against a plain scan of the same rows measured in the same run (the machine is shared and noisy:
// only ratios within one run mean something). The spans are generated in the engine
// (INSERT … SELECT FROM numbers()): 100,000 ten-turn gpt-4o conversations over a week, with one of
// eight ~1 KB system prompts and growing message histories, plus claude-sonnet-4-5 calls whose
// latencies the projection uses. Writes bench/results/backtest.json. Replay throughput: next slice.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { candidateSchema, createCohort, runWhatIf } from '@hindsight/backtest'
import { createStorage, migrate } from '@hindsight/collector/storage'

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
let t = performance.now()
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

// Baseline: a plain scan of the same rows with the same conditions (FINAL, range, kind, model).
async function baselineScan(): Promise<{ ms: number; sum: number }> {
  const started = performance.now()
  const result = await storage.client.query({
    query: `SELECT sum(input_tokens) AS s FROM ${db}.spans FINAL
            WHERE project_id = {p:String} AND start_time >= {from:DateTime64(6, 'UTC')} AND start_time < {to:DateTime64(6, 'UTC')}
              AND kind = 'llm' AND model IN ['gpt-4o']`,
    query_params: { p: P, from: chTime(START), to: chTime(END) },
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ s: string }>()
  return { ms: performance.now() - started, sum: Number(row?.s ?? 0) }
}
await baselineScan() // warm-up (file cache)
const baseline = await baselineScan()

t = performance.now()
const cohort = await createCohort(storage, P, filter)
const cohortMs = performance.now() - t

const candidate = candidateSchema.parse({ provider: 'anthropic', model: 'claude-sonnet-4-5', caching: 'on' })
t = performance.now()
const report = await runWhatIf(storage, {
  projectId: P,
  cohort,
  candidate,
  objectives: { cost_per_call_max_ratio: 1, latency_p95_max_ms: 4000 },
})
const totalMs = performance.now() - t
const { timings } = report
const whatIfCoreMs = timings.load_ms + timings.price_ms + timings.simulate_ms

const ratio = (ms: number) => Number((ms / baseline.ms).toFixed(2))
const row = (step: string, ms: number) => ({ step, ms: Math.round(ms), 'ratio to scan': ratio(ms) })
const table = [
  row('baseline: SELECT sum(input_tokens) of the same rows', baseline.ms),
  row('freeze the cohort (filter → trace ids)', cohortMs),
  row('load calls (engine renders + hashes prompt blocks)', timings.load_ms),
  row('re-price both arms (exact totals)', timings.price_ms),
  row('simulate prompt caching (+ calibration)', timings.simulate_ms),
  row(`what-if re-pricing + cache simulation (target ≤ ${TARGET_MS} ms)`, whatIfCoreMs),
  row('latency projection', timings.latency_ms),
  row('statistics (CLT, Wilcoxon, 10,000-resample cluster bootstrap)', timings.statistics_ms),
  row('what-if, end to end', totalMs),
]
console.table(table)
const cost = report.metrics.find((m) => m.name === 'cost_per_call_usd')
console.log(
  `${report.cohort.calls} calls in ${report.cohort.traces} traces: baseline $${report.totals.baseline_cost_usd}, ` +
    `candidate $${report.totals.candidate_cost_usd} (ratio ${cost?.ratio?.toFixed(3)}), simulated hit rate ` +
    `${((report.caching.hit_rate ?? 0) * 100).toFixed(1)}%, calibration error ${report.caching.calibration?.relative_error?.toFixed(3)}; ` +
    `verdict ${report.verdict.result}. Target ${whatIfCoreMs <= TARGET_MS ? 'met' : 'NOT met'} on this run.`,
)
const summary = {
  spans: TOTAL,
  calls: report.cohort.calls,
  traces: report.cohort.traces,
  baseline_scan_ms: baseline.ms,
  cohort_ms: cohortMs,
  ...timings,
  whatif_core_ms: whatIfCoreMs,
  whatif_total_ms: totalMs,
  target_ms: TARGET_MS,
  ratio_core_to_scan: whatIfCoreMs / baseline.ms,
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
