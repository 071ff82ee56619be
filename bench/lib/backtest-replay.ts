// Replay throughput for `pnpm bench:backtest` (issue 6: ≥ 300 calls/s at concurrency 64 against the
// local fake provider, bounded by the provider, not by Hindsight).
//
// The provider runs in a child process (this file, argument `provider`): the SDK's fake OpenAI
// server answering after a fixed latency, plus the OTLP sink of `bench:sdk` that receives the
// candidate spans, so neither's CPU is counted. The parent records BENCH_REPLAY_CALLS calls in
// the embedded engine (INSERT … SELECT, ~1 KB system prompt + a question each), freezes them as a
// cohort and replays them with `runReplay` — the real runner, the real `openai` client wrapped by
// the SDK, the real OTLP exporter, `replay_calls` stored — once non-streaming and once streaming.
// Per mode: calls/s; the provider's bound at that latency (concurrency / latency: what a
// zero-cost client would reach); the share of it reached; the most requests the provider had in
// flight at once (= concurrency when Hindsight keeps it saturated); Hindsight's CPU per call
// (process.cpuUsage over the run and the final span flush: runner, client, SDK, exporter,
// storage) and the calls/s one core of that CPU would allow. "Bounded by the provider" = the
// provider saw the full concurrency and one core of Hindsight's CPU allows more calls/s than the
// provider's bound.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import {
  type Cohort,
  candidateSchema,
  createCohort,
  loadReplayCalls,
  type ReplayRun,
  runReplay,
  toChatRequest,
} from '@hindsight/backtest'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { flush } from '@hindsight/sdk'
// The openai major the runner uses (backtest depends on openai 6).
import OpenAI from 'openai-v6'

export const REPLAY_TARGET_CALLS_PER_S = 300

export interface ReplayBenchOptions {
  /** Recorded calls replayed per mode. @default BENCH_REPLAY_CALLS ?? 4000 */
  calls?: number
  /** @default 64 */
  concurrency?: number
  /** The fake provider's latency per call (to the first byte). @default BENCH_REPLAY_LATENCY_MS ?? 100 */
  providerLatencyMs?: number
  modes?: Array<'non-stream' | 'stream'>
  /** Calls replayed (and thrown away) before each measured run. @default 300 */
  warmup?: number
  log?: (line: string) => void
}

export interface ReplayBenchRow {
  /** `bare`: the plain openai client, same requests, same concurrency, no Hindsight (the baseline). */
  arm: 'hindsight' | 'bare'
  mode: 'non-stream' | 'stream'
  calls: number
  concurrency: number
  provider_latency_ms: number
  wall_ms: number
  calls_per_s: number
  /** concurrency / latency: the provider's bound at this latency. */
  provider_bound_calls_per_s: number
  share_of_provider_bound: number
  provider_max_in_flight: number
  cpu_ms_per_call: number
  /** 1000 / cpu_ms_per_call: what one core of Hindsight's CPU would allow. */
  cpu_bound_calls_per_s: number
  replay_calls_inserts: number
  /** Worker time spent waiting for `replay_calls` rows to be stored, as a share of the run's worker time. */
  storage_wait_share: number
  /** Per-call duration seen by the client (provider latency + transport + scheduling), ms. */
  call_p50_ms: number
  call_p95_ms: number
  /** Event-loop delay of this process during the run, p99 ms. */
  event_loop_p99_ms: number
  spans_exported: number
  failed: number
  target_calls_per_s: number
  target_met: boolean
  bounded_by_provider: boolean
  /** Hindsight's calls/s ÷ the bare client's, same run (1 = Hindsight costs no throughput). */
  ratio_to_bare: number | null
}

interface ProviderHandle {
  baseURL: string
  sinkURL: string
  stats(): Promise<{ requests: number; maxInFlight: number }>
  reset(): Promise<void>
  close(): void
}

/** Starts the child that hosts the fake provider and the OTLP sink; talks to it line by line. */
async function startProvider(latencyMs: number): Promise<ProviderHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'provider'], {
    env: { ...process.env, BENCH_REPLAY_LATENCY_MS: String(latencyMs) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout })
  const waiting: Array<(line: string) => void> = []
  lines.on('line', (line) => waiting.shift()?.(line))
  const next = () => new Promise<string>((resolve) => waiting.push(resolve))
  const ask = async (command: string) => {
    const answer = next()
    child.stdin.write(`${command}\n`)
    return JSON.parse(await answer) as Record<string, unknown>
  }
  const hello = JSON.parse(await next()) as { baseURL: string; sinkURL: string }
  return {
    ...hello,
    stats: async () => (await ask('stats')) as { requests: number; maxInFlight: number },
    reset: async () => {
      await ask('reset')
    },
    close: () => child.stdin.end(),
  }
}

async function sinkSpans(sinkURL: string, id: string): Promise<number> {
  const response = await fetch(`${sinkURL}/stats/${id}`)
  return ((await response.json()) as { spans: number }).spans
}

/** `calls` single-call traces of gpt-4o, one a second, each with a ~1 KB system prompt and a question. */
async function recordCalls(storage: Storage, project: string, start: Date, calls: number): Promise<void> {
  const db = storage.database
  await storage.client.command({
    query: `
      INSERT INTO ${db}.spans (project_id, trace_id, span_id, kind, provider, model, request_model,
        input_tokens, output_tokens, cost_usd, start_time, end_time, duration_ms, ttft_ms, status, input, output,
        attributes, scope_name, ingested_at)
      SELECT {p:String},
        lower(hex(reinterpretAsFixedString(cityHash64('rt', number)))) || lower(hex(reinterpretAsFixedString(cityHash64('rt2', number)))),
        lower(hex(reinterpretAsFixedString(cityHash64('rs', number)))),
        'llm', 'openai', 'gpt-4o', 'gpt-4o', 400, 60, toDecimal64(0.0016, 9),
        toDateTime64({start:String}, 6, 'UTC') + toIntervalSecond(number),
        toDateTime64({start:String}, 6, 'UTC') + toIntervalSecond(number) + toIntervalMillisecond(900),
        900, 300, 'ok',
        concat('[{"role":"user","parts":[{"type":"text","content":"Question ', toString(number), ': where is my order?"}]}]'),
        'Your order ships tomorrow.',
        map('gen_ai.system_instructions', concat('[{"type":"text","content":"', repeat('Follow the support policy carefully. ', 28), '"}]'),
            'gen_ai.request.temperature', '0.2'),
        '@hindsight/sdk', now64(3)
      FROM numbers({n:UInt64})`,
    query_params: { p: project, n: calls, start: start.toISOString().replace('T', ' ').replace('Z', '') },
  })
}

/**
 * The baseline: the bare openai client sends the same requests (built by the runner's
 * `toChatRequest`) with the same concurrency; no SDK, no storage.
 */
async function bareRun(
  storage: Storage,
  project: string,
  cohort: Cohort,
  baseURL: string,
  concurrency: number,
  stream: boolean,
): Promise<{ calls: number; wallMs: number; cpuMs: number; durations: number[] }> {
  const candidate = candidateSchema.parse({ provider: 'openai', model: 'bench-candidate', base_url: baseURL })
  const client = new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 1 })
  const calls = await loadReplayCalls(storage, project, cohort)
  const cpu = process.cpuUsage()
  const t = performance.now()
  const durations: number[] = []
  let next = 0
  const worker = async () => {
    for (let call = calls[next++]; call; call = calls[next++]) {
      const request = toChatRequest(call, candidate)
      const started = performance.now()
      if (stream) {
        const chunks = await client.chat.completions.create({
          ...(request as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming),
          stream: true,
          stream_options: { include_usage: true },
        })
        let text = ''
        for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? ''
        if (text === '') throw new Error('empty stream')
      } else {
        await client.chat.completions.create(
          request as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
        )
      }
      durations.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const wallMs = performance.now() - t
  const used = process.cpuUsage(cpu)
  return { calls: calls.length, wallMs, cpuMs: (used.user + used.system) / 1000, durations }
}

/** Replay throughput against the local fake provider; per mode, the bare client's row then Hindsight's. */
export async function measureReplayThroughput(options: ReplayBenchOptions = {}): Promise<ReplayBenchRow[]> {
  const calls = options.calls ?? Number(process.env.BENCH_REPLAY_CALLS ?? 4000)
  const concurrency = options.concurrency ?? 64
  const latency = options.providerLatencyMs ?? Number(process.env.BENCH_REPLAY_LATENCY_MS ?? 100)
  const modes = options.modes ?? ['non-stream', 'stream']
  const warmup = options.warmup ?? 300
  const log = options.log ?? ((line: string) => console.log(line))
  const work = mkdtempSync(join(tmpdir(), 'hs-bench-replay-'))
  const storage = await createStorage({ dataDir: join(work, 'data'), database: 'bench_replay' })
  const provider = await startProvider(latency)
  const rows: ReplayBenchRow[] = []
  try {
    await migrate(storage)
    const project = 'bench-replay'
    const start = new Date(Date.UTC(2026, 4, 4))
    await recordCalls(storage, project, start, calls)
    const cohort = await createCohort(storage, project, {
      from: start.toISOString(),
      to: new Date(start.getTime() + (calls + 60) * 1000).toISOString(),
    })
    log(
      `replay: ${cohort.trace_count} recorded calls, provider latency ${latency} ms, concurrency ${concurrency}`,
    )
    for (const mode of modes) {
      const candidate = candidateSchema.parse({
        provider: 'openai',
        model: 'bench-candidate',
        base_url: provider.baseURL,
        price: { input: 0.5, output: 1.5 },
        parameters: { stream: mode === 'stream' },
        concurrency,
      })
      const replay = (id: string, signal?: AbortSignal): Promise<ReplayRun> =>
        runReplay(storage, {
          projectId: project,
          backtestId: id,
          cohort,
          candidate,
          apiKey: 'bench',
          collector: { endpoint: `${provider.sinkURL}/${id}` },
          signal,
        })
      // Warm-up: JIT, connection pool, exporter; stopped after `warmup` calls.
      const stop = new AbortController()
      const warm = runReplay(storage, {
        projectId: project,
        backtestId: `warmup-${mode}`,
        cohort,
        candidate,
        apiKey: 'bench',
        collector: { endpoint: `${provider.sinkURL}/warmup-${mode}` },
        signal: stop.signal,
        onProgress: (done) => {
          if (done >= warmup) stop.abort()
        },
      })
      await warm
      await flush()
      await provider.reset()
      const bare = await bareRun(storage, project, cohort, provider.baseURL, concurrency, mode === 'stream')
      const bareStats = await provider.stats()
      const bound = (concurrency * 1000) / latency
      const bareSorted = bare.durations.sort((a, b) => a - b)
      const bq = (p: number) =>
        Math.round(bareSorted[Math.min(bareSorted.length - 1, Math.floor(p * bareSorted.length))] ?? 0)
      const bareRate = bare.calls / (bare.wallMs / 1000)
      rows.push({
        arm: 'bare',
        mode,
        calls: bare.calls,
        concurrency,
        provider_latency_ms: latency,
        wall_ms: Math.round(bare.wallMs),
        calls_per_s: Math.round(bareRate),
        provider_bound_calls_per_s: Math.round(bound),
        share_of_provider_bound: Number((bareRate / bound).toFixed(2)),
        provider_max_in_flight: bareStats.maxInFlight,
        cpu_ms_per_call: Number((bare.cpuMs / bare.calls).toFixed(3)),
        cpu_bound_calls_per_s: Math.round(1000 / (bare.cpuMs / bare.calls)),
        replay_calls_inserts: 0,
        storage_wait_share: 0,
        call_p50_ms: bq(0.5),
        call_p95_ms: bq(0.95),
        event_loop_p99_ms: 0,
        spans_exported: 0,
        failed: 0,
        target_calls_per_s: REPLAY_TARGET_CALLS_PER_S,
        target_met: bareRate >= REPLAY_TARGET_CALLS_PER_S,
        bounded_by_provider: bareStats.maxInFlight >= concurrency,
        ratio_to_bare: null,
      })
      await provider.reset()
      const id = `measure-${mode}`
      const loop = monitorEventLoopDelay({ resolution: 5 })
      loop.enable()
      const cpu = process.cpuUsage()
      const t = performance.now()
      const run = await replay(id)
      const wallMs = performance.now() - t
      await flush()
      const used = process.cpuUsage(cpu)
      loop.disable()
      const durations = run.records
        .filter((r) => r.result.ok)
        .map((r) => r.result.duration_ms)
        .sort((a, b) => a - b)
      const q = (p: number) =>
        Math.round(durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0)
      const { maxInFlight } = await provider.stats()
      const spans = await sinkSpans(provider.sinkURL, id)
      const cpuPerCall = (used.user + used.system) / 1000 / Math.max(1, run.issued)
      const perS = run.issued / (wallMs / 1000)
      rows.push({
        arm: 'hindsight',
        mode,
        calls: run.issued,
        concurrency,
        provider_latency_ms: latency,
        wall_ms: Math.round(wallMs),
        calls_per_s: Math.round(perS),
        provider_bound_calls_per_s: Math.round(bound),
        share_of_provider_bound: Number((perS / bound).toFixed(2)),
        provider_max_in_flight: maxInFlight,
        cpu_ms_per_call: Number(cpuPerCall.toFixed(3)),
        cpu_bound_calls_per_s: Math.round(1000 / cpuPerCall),
        replay_calls_inserts: run.inserts,
        storage_wait_share: Number((run.storage_wait_ms / (wallMs * concurrency)).toFixed(3)),
        call_p50_ms: q(0.5),
        call_p95_ms: q(0.95),
        event_loop_p99_ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
        spans_exported: spans,
        failed: run.failed,
        target_calls_per_s: REPLAY_TARGET_CALLS_PER_S,
        target_met: perS >= REPLAY_TARGET_CALLS_PER_S && run.failed === 0,
        bounded_by_provider: maxInFlight >= concurrency && 1000 / cpuPerCall > bound,
        ratio_to_bare: Number((perS / bareRate).toFixed(2)),
      })
    }
  } finally {
    provider.close()
    await storage.close()
    rmSync(work, { recursive: true, force: true })
  }
  return rows
}

/** Prints the rows as a table and a verdict line per mode. */
export function printReplayRows(rows: ReplayBenchRow[], log: (line: string) => void = console.log): void {
  console.table(
    rows.map((r) => ({
      arm: r.arm,
      mode: r.mode,
      calls: r.calls,
      'calls/s': r.calls_per_s,
      'provider bound': r.provider_bound_calls_per_s,
      share: r.share_of_provider_bound,
      'max in flight': r.provider_max_in_flight,
      'CPU ms/call': r.cpu_ms_per_call,
      'CPU-bound calls/s': r.cpu_bound_calls_per_s,
      inserts: r.replay_calls_inserts,
      'storage wait': r.storage_wait_share,
      'call p50/p95 ms': `${r.call_p50_ms}/${r.call_p95_ms}`,
      'loop p99 ms': r.event_loop_p99_ms,
      spans: r.spans_exported,
      failed: r.failed,
      'vs bare': r.ratio_to_bare ?? '',
    })),
  )
  for (const r of rows.filter((x) => x.arm === 'hindsight'))
    log(
      `replay ${r.mode}: ${r.calls_per_s} calls/s at concurrency ${r.concurrency} (target ≥ ${r.target_calls_per_s}: ` +
        `${r.target_met ? 'met' : 'NOT met'}); ${r.bounded_by_provider ? 'bounded by the provider' : 'NOT bounded by the provider'} ` +
        `(${r.provider_max_in_flight} in flight at the provider, Hindsight CPU allows ${r.cpu_bound_calls_per_s} calls/s per core; ` +
        `${r.ratio_to_bare} × the bare client's calls/s in the same run).`,
    )
}

// Child: the fake provider and the span sink. stdin lines `stats` / `reset` get one JSON line each.
if (process.argv[1] === new URL(import.meta.url).pathname && process.argv[2] === 'provider') {
  const { startFakeOpenAI } = await import('@hindsight/sdk/testing')
  const { startOtlpSink } = await import('./sdk-sink')
  const latency = Number(process.env.BENCH_REPLAY_LATENCY_MS ?? 100)
  let requests = 0
  const fake = await startFakeOpenAI({
    reply: () => {
      requests++
      return {
        content: 'Your order ships tomorrow; the tracking number follows by email.',
        usage: { prompt_tokens: 420, completion_tokens: 16 },
        firstChunkDelayMs: latency,
        chunkSize: 8,
      }
    },
  })
  const sink = await startOtlpSink()
  // The fake keeps every request for tests; a benchmark needs no history.
  setInterval(() => {
    fake.requests.length = 0
    fake.recorded.length = 0
  }, 1000).unref()
  process.stdout.write(`${JSON.stringify({ baseURL: fake.baseURL, sinkURL: sink.url })}\n`)
  const input = createInterface({ input: process.stdin })
  input.on('line', (line) => {
    if (line === 'reset') {
      requests = 0
      fake.load.maxInFlight = fake.load.inFlight
    }
    process.stdout.write(`${JSON.stringify({ requests, maxInFlight: fake.load.maxInFlight })}\n`)
  })
  input.on('close', () => {
    void Promise.all([fake.close(), sink.close()]).finally(() => process.exit(0))
  })
}
