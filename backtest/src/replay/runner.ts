/**
 * Replay: every recorded LLM call of a frozen cohort is re-issued to the candidate through the
 * SDK-instrumented client of its API (`wrapOpenAI` for any OpenAI-compatible endpoint,
 * `wrapAnthropic` for Anthropic Messages), streaming when the candidate asks for it or the recorded
 * call streamed, inside `withAttributes({ metadata: { backtest_id, arm } })`, so the candidate's
 * spans reach the collector tagged with the back-test and arm. Concurrency and a rate limit come
 * from the candidate spec; the run stops before spending past `budget_usd`; each finished call is
 * recorded in `replay_calls` (group-committed, see `ReplayCallWriter`) before its worker takes
 * another, so a crashed run resumes without re-spending.
 */
import { computeCostUsd, PRICE_TABLE, type PriceTable } from '@hindsight/collector'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'
import { getTracer, type Hindsight, init, withAttributes } from '@hindsight/sdk'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'
import { CACHE_RULES, type CacheRule, type CacheRules, findCacheRule } from '../caching/rules'
import type { CandidateSpec } from '../candidate'
import { type Cohort, cohortCallsWhere } from '../cohort'
import { candidatePrice } from '../pricing'
import { BacktestInputError } from '../whatif'
import { type CandidateAnswer, createCandidateClient } from './client'
import { NoContentError, type RecordedCall, recordedToolCalls } from './request'
import { type ReplayCallRecord, ReplayCallStore, ReplayCallWriter, type ReplayResult } from './store'

export type ReplayStatus = 'done' | 'stopped_budget' | 'aborted'

export interface ReplayOptions {
  projectId: string
  backtestId: string
  cohort: Cohort
  candidate: CandidateSpec
  /** The candidate endpoint's key. @default OPENAI_API_KEY (api 'openai') or ANTHROPIC_API_KEY (api 'anthropic') */
  apiKey?: string
  /** Send the candidate spans here (`init({ endpoint })`); without it the process's current `init()` applies. */
  collector?: { endpoint: string; apiKey?: string }
  /**
   * Hand the candidate spans to this sink, under the run's project, through the process's one
   * routing SDK instance (see `acquireReplaySpanRouting`). Ignored when `collector` is given, or
   * when the host process called the SDK's `init()` before (its configuration then applies).
   */
  spanSink?: ReplaySpanSink
  priceTable?: PriceTable
  /** Caching rules: read/write price multipliers and, for Anthropic with `caching: 'on'`, where breakpoints go. */
  cacheRules?: CacheRules
  /** Stop issuing new calls (in-flight calls finish and are recorded): a stopped or crashing runner. */
  signal?: AbortSignal
  /** After each call is recorded: done (including resumed) of total. */
  onProgress?: (done: number, total: number) => void
}

export interface ReplayRun {
  status: ReplayStatus
  total: number
  /** Calls done before this run (resumed) and by it. */
  resumed: number
  issued: number
  failed: number
  spent_usd: number
  /** Calls of this run sent streaming (their time to first token is measured). */
  streamed: number
  /** `replay_calls` inserts this run made (records are group-committed). */
  inserts: number
  /** Milliseconds workers spent waiting for finished calls to be stored (summed over workers). */
  storage_wait_ms: number
  records: ReplayCallRecord[]
  messages: string[]
  /**
   * Where the candidate spans went: `sink` (the run's `spanSink`, routed by back-test id),
   * `collector` (`init({ endpoint })`), or `process` (whatever the process's `init()` says).
   */
  spans: 'sink' | 'collector' | 'process'
}

/** Where candidate spans go in-process (e.g. the collector's own ingest in `hindsight start`). */
export interface ReplaySpanSink {
  /** Keep the candidate spans of one project; resolve once kept, reject when they could not be. */
  export(projectId: string, spans: ReadableSpan[]): Promise<unknown>
}

/** Attribute the runner's `withAttributes({ metadata: { backtest_id } })` puts on each candidate span. */
export const BACKTEST_ID_ATTRIBUTE = `${HINDSIGHT.metadataPrefix}backtest_id`

export interface ReplaySpanRouterStats {
  /** Spans handed to a sink. */
  routed: number
  /** Spans of no back-test running in this process (no or unknown back-test id): dropped, never guessed. */
  unrouted: number
  /** Spans whose sink rejected them. */
  failed: number
}

/**
 * The SDK exporter of the replay runner: each span goes to the sink and project of the back-test
 * named by its `hindsight.metadata.backtest_id`, among the runs registered (in flight in this
 * process). A span of an unknown back-test is counted and dropped: one project's spans never
 * reach another.
 */
export class ReplaySpanRouter implements SpanExporter {
  private readonly runs = new Map<string, { projectId: string; sink: ReplaySpanSink; holds: number }>()
  private readonly counts: ReplaySpanRouterStats = { routed: 0, unrouted: 0, failed: 0 }

  /** Route the spans of `backtestId` to `projectId` through `sink` until the returned release is called. */
  register(backtestId: string, projectId: string, sink: ReplaySpanSink): () => void {
    const run = this.runs.get(backtestId)
    if (run && run.projectId !== projectId)
      throw new Error(`back-test ${backtestId} is already routed to another project`)
    if (run) run.holds += 1
    else this.runs.set(backtestId, { projectId, sink, holds: 1 })
    let released = false
    return () => {
      if (released) return
      released = true
      const current = this.runs.get(backtestId)
      if (current && --current.holds <= 0) this.runs.delete(backtestId)
    }
  }

  stats(): ReplaySpanRouterStats {
    return { ...this.counts }
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const groups = new Map<ReplaySpanSink, Map<string, ReadableSpan[]>>()
    for (const span of spans) {
      const id = span.attributes[BACKTEST_ID_ATTRIBUTE]
      const run = typeof id === 'string' ? this.runs.get(id) : undefined
      if (!run) {
        this.counts.unrouted += 1
        continue
      }
      let byProject = groups.get(run.sink)
      if (!byProject) {
        byProject = new Map()
        groups.set(run.sink, byProject)
      }
      const list = byProject.get(run.projectId)
      if (list) list.push(span)
      else byProject.set(run.projectId, [span])
    }
    const sends: Promise<void>[] = []
    for (const [sink, byProject] of groups) {
      for (const [projectId, list] of byProject) {
        sends.push(
          Promise.resolve()
            .then(() => sink.export(projectId, list))
            .then(
              () => {
                this.counts.routed += list.length
              },
              (error: unknown) => {
                this.counts.failed += list.length
                throw error
              },
            ),
        )
      }
    }
    Promise.allSettled(sends).then((results) => {
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      done(
        failure
          ? {
              code: ExportResultCode.FAILED,
              error: failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason)),
            }
          : { code: ExportResultCode.SUCCESS },
      )
    })
  }

  /** The router outlives SDK instances (a re-`init()` shuts the previous one down): nothing to stop. */
  shutdown(): Promise<void> {
    return Promise.resolve()
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

/** The process's replay span routing: one SDK instance, `init()`-ed once, over one router. */
const routing: {
  mode: 'unset' | 'host' | 'routed'
  router: ReplaySpanRouter
  instance?: Hindsight
  /** The resource of the spans our instance makes (tells it from another instance). */
  resource?: unknown
} = { mode: 'unset', router: new ReplaySpanRouter() }

/** Whether the process's current SDK instance records spans, and their resource. A probe span is started, never ended (so never exported). */
function probeSdk(): { recording: boolean; resource: unknown } {
  const probe = getTracer().startSpan('hindsight.backtest.probe')
  const recording = probe.isRecording()
  return { recording, resource: recording && 'resource' in probe ? probe.resource : undefined }
}

function installRouting(): void {
  routing.instance = init({
    exporter: routing.router,
    serviceName: 'hindsight-backtest',
    captureContent: true,
  })
  routing.resource = probeSdk().resource
  routing.mode = 'routed'
}

/**
 * The process's replay span router, `init()`-ing the SDK with it the first time (the public
 * `init({ exporter, serviceName: 'hindsight-backtest', captureContent: true })`, once per
 * process, not per run). Returns null when the host process had already called `init()` when
 * this was first asked: the host's configuration then applies, as it does without a sink
 * (candidate spans go where the host sends its spans). Once installed, a later `init()` by
 * anyone else in the process (e.g. the Demo fill's sample app) replaces the instance until the
 * next call here, which installs it again: while another `init()` is active, spans of replays in
 * flight go to that configuration.
 */
export function acquireReplaySpanRouting(): ReplaySpanRouter | null {
  if (routing.mode === 'host') return null
  const active = probeSdk()
  if (routing.mode === 'unset') {
    if (active.recording) {
      routing.mode = 'host'
      return null
    }
    installRouting()
  } else if (!active.recording || active.resource !== routing.resource) {
    installRouting()
  }
  return routing.router
}

/** Send the spans the routing instance holds now (before a run releases its route). */
async function flushRouting(): Promise<void> {
  await routing.instance?.flush()
}

/** The cohort's recorded LLM calls, in start order. */
export async function loadReplayCalls(
  storage: Storage,
  projectId: string,
  cohort: Cohort,
): Promise<RecordedCall[]> {
  const db = storage.database
  const { where, params } = cohortCallsWhere(db, projectId, cohort)
  const result = await storage.client.query({
    query: `
      SELECT trace_id, span_id, toUnixTimestamp64Milli(start_time) AS start_ms, provider, model, input,
             attributes['gen_ai.system_instructions'] AS system, attributes['gen_ai.tool.definitions'] AS tools,
             mapFilter((k, v) -> startsWith(k, 'gen_ai.request.') AND k != 'gen_ai.request.model', attributes) AS parameters,
             attributes['gen_ai.request.stream'] = 'true' AS stream,
             if(position(output, '"tool_call"') > 0, output, '') AS tool_output,
             duration_ms, ttft_ms, output_tokens, lengthUTF8(output) AS output_chars, toFloat64(cost_usd) AS cost_usd
      FROM ${db}.spans FINAL
      WHERE ${where}
      ORDER BY start_time, span_id`,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  const rows = (await result.json()) as Array<
    Omit<RecordedCall, 'parameters' | 'stream' | 'tool_calls'> & {
      parameters: Record<string, string>
      stream: boolean | number
      tool_output: string
    }
  >
  return rows.map(({ tool_output, ...r }) => ({
    ...r,
    start_ms: Number(r.start_ms),
    output_tokens: Number(r.output_tokens),
    output_chars: Number(r.output_chars),
    parameters: parseParameters(r.parameters),
    stream: r.stream === true || r.stream === 1,
    tool_calls: tool_output === '' ? [] : recordedToolCalls(tool_output),
  }))
}

function parseParameters(attributes: Record<string, string>): RecordedCall['parameters'] {
  const out: RecordedCall['parameters'] = {}
  for (const [key, raw] of Object.entries(attributes)) {
    const name = key.slice('gen_ai.request.'.length)
    if (name === 'stream' || name === 'encoding_formats') continue
    if (name === 'stop_sequences') {
      try {
        const list = JSON.parse(raw) as unknown
        if (Array.isArray(list)) out[name] = list.map(String)
      } catch {}
      continue
    }
    const n = Number(raw)
    out[name] = raw !== '' && Number.isFinite(n) ? n : raw
  }
  return out
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The caching rule of the candidate model (prices of cache reads and writes; Anthropic breakpoints). */
export function candidateCacheRule(candidate: CandidateSpec, rules: CacheRules, at: Date): CacheRule | null {
  return (
    findCacheRule(rules, candidate.provider, candidate.model, at) ??
    (candidate.api === 'anthropic' ? findCacheRule(rules, 'anthropic', candidate.model, at) : null)
  )
}

/** Replay the cohort (or resume a run with the same `backtestId`). */
export async function runReplay(storage: Storage, o: ReplayOptions): Promise<ReplayRun> {
  const candidate = o.candidate
  if (candidate.api === 'openai' && !candidate.base_url) {
    throw new BacktestInputError(
      'candidate.base_url: replay through the OpenAI API needs the base URL of an OpenAI-compatible endpoint',
    )
  }
  const table = o.priceTable ?? PRICE_TABLE
  const at = new Date(o.cohort.filter.to)
  const rule = candidateCacheRule(candidate, o.cacheRules ?? CACHE_RULES, at)
  const price = candidatePrice(candidate, table, at, rule)
  if (!price && candidate.budget_usd !== undefined) {
    throw new BacktestInputError(
      `no price for ${candidate.provider}/${candidate.model}: a budget cap needs one (give candidate.price)`,
    )
  }
  let spans: ReplayRun['spans'] = 'process'
  let releaseRoute: (() => void) | undefined
  if (o.collector) {
    init({ endpoint: o.collector.endpoint, apiKey: o.collector.apiKey, serviceName: 'hindsight-backtest' })
    spans = 'collector'
  } else if (o.spanSink) {
    const router = acquireReplaySpanRouting()
    if (router) {
      releaseRoute = router.register(o.backtestId, o.projectId, o.spanSink)
      spans = 'sink'
    }
  }
  try {
    return await replayCalls(storage, o, { rule, price, spans })
  } finally {
    if (releaseRoute) {
      // The run's spans leave the SDK queue before its route goes (a late span would be dropped).
      await flushRouting()
      releaseRoute()
    }
  }
}

async function replayCalls(
  storage: Storage,
  o: ReplayOptions,
  setup: {
    rule: CacheRule | null
    price: ReturnType<typeof candidatePrice>
    spans: ReplayRun['spans']
  },
): Promise<ReplayRun> {
  const { rule, price } = setup
  const candidate = o.candidate
  const client = createCandidateClient(candidate, { apiKey: o.apiKey, rule })
  const store = new ReplayCallStore(storage)
  const writer = new ReplayCallWriter(store, o.projectId, o.backtestId)
  const calls = await loadReplayCalls(storage, o.projectId, o.cohort)
  const previous = await store.list(o.projectId, o.backtestId)
  const done = new Map(previous.map((r) => [`${r.trace_id}/${r.span_id}`, r]))
  const records: ReplayCallRecord[] = calls.flatMap((c) => done.get(`${c.trace_id}/${c.span_id}`) ?? [])
  const queue = calls.filter((c) => !done.has(`${c.trace_id}/${c.span_id}`))
  const run: ReplayRun = {
    status: 'done',
    total: calls.length,
    resumed: records.length,
    issued: 0,
    failed: 0,
    spent_usd: records.reduce((s, r) => s + (r.result.cost_usd ?? 0), 0),
    streamed: 0,
    inserts: 0,
    storage_wait_ms: 0,
    records,
    messages: [],
    spans: setup.spans,
  }
  const interval = candidate.rate_limit_rpm ? 60_000 / candidate.rate_limit_rpm : 0
  let nextSlot = 0
  let next = 0
  // At most this many finished calls wait to be stored (what a hard crash can make a resume re-issue).
  const unstoredLimit = candidate.concurrency
  let storeError: unknown
  const metadata = (call: RecordedCall) => ({
    tags: ['backtest'],
    metadata: { backtest_id: o.backtestId, arm: 'candidate', replay_of: `${call.trace_id}/${call.span_id}` },
  })

  const replayOne = async (call: RecordedCall): Promise<void> => {
    const baseline: ReplayResult['baseline'] = {
      duration_ms: call.duration_ms,
      ttft_ms: call.ttft_ms,
      output_tokens: call.output_tokens,
      output_chars: call.output_chars,
      cost_usd: call.cost_usd,
      ...(call.tool_calls && call.tool_calls.length > 0 ? { tool_calls: call.tool_calls } : {}),
    }
    const empty = { model: candidate.model, duration_ms: 0, ttft_ms: null, input_tokens: 0, output_tokens: 0 }
    let result: ReplayResult
    try {
      const answer: CandidateAnswer = await withAttributes(metadata(call), () => client.send(call))
      if (answer.streamed) run.streamed++
      const tokens = {
        input_tokens: answer.usage.input_tokens,
        output_tokens: answer.usage.output_tokens,
        cache_read_tokens: answer.usage.cache_read_tokens,
        cache_write_tokens: answer.usage.cache_write_tokens,
        cache_write_1h_tokens: answer.usage.cache_write_1h_tokens,
      }
      result = {
        ok: true,
        error: null,
        model: answer.model,
        duration_ms: answer.duration_ms,
        ttft_ms: answer.ttft_ms,
        input_tokens: tokens.input_tokens,
        output_tokens: tokens.output_tokens,
        output_chars: [...answer.text].length,
        output_text: answer.text,
        cost_usd: price ? Number(computeCostUsd(tokens, price.entry)) : null,
        ...(answer.tool_calls.length > 0 ? { tool_calls: answer.tool_calls } : {}),
        finish_reason: answer.finish_reason,
        streamed: answer.streamed,
        cache_read_tokens: tokens.cache_read_tokens,
        cache_write_tokens: tokens.cache_write_tokens,
        baseline,
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (!(error instanceof NoContentError)) run.failed++
      result = { ok: false, error: message, ...empty, output_chars: 0, cost_usd: null, baseline }
    }
    const record: ReplayCallRecord = {
      trace_id: call.trace_id,
      span_id: call.span_id,
      status: result.ok ? 'done' : 'failed',
      result,
    }
    run.spent_usd += result.cost_usd ?? 0
    // A call counts as done once its row is stored; the worker goes on meanwhile, unless too many
    // finished calls are still unstored (then it waits: see ReplayCallWriter).
    writer.add(record).then(
      () => {
        run.records.push(record)
        o.onProgress?.(run.records.length, run.total)
      },
      (error: unknown) => {
        storeError ??= error
      },
    )
    if (writer.unstored >= unstoredLimit) {
      const waitFrom = performance.now()
      await writer.waitForRoom(unstoredLimit)
      run.storage_wait_ms += performance.now() - waitFrom
    }
  }

  const worker = async (): Promise<void> => {
    for (;;) {
      if (storeError !== undefined) return
      if (o.signal?.aborted) {
        run.status = 'aborted'
        return
      }
      if (candidate.budget_usd !== undefined && run.spent_usd >= candidate.budget_usd) {
        run.status = 'stopped_budget'
        return
      }
      const call = queue[next++]
      if (!call) return
      if (interval > 0) {
        const now = performance.now()
        const slot = Math.max(now, nextSlot)
        nextSlot = slot + interval
        if (slot > now) await sleep(slot - now)
      }
      run.issued++
      await replayOne(call)
    }
  }
  try {
    await Promise.all(
      Array.from({ length: Math.min(candidate.concurrency, Math.max(1, queue.length)) }, worker),
    )
  } finally {
    await writer.flush()
    run.inserts = writer.inserts
  }
  if (storeError !== undefined) throw storeError
  if (run.status === 'stopped_budget') {
    run.messages.push(
      `Stopped at the budget cap: $${run.spent_usd.toFixed(6)} spent of $${candidate.budget_usd}; ${run.total - run.records.length} calls not replayed (partial results).`,
    )
  }
  const noContent = run.records.filter((r) => r.result.error?.includes('no recorded messages')).length
  if (noContent > 0) run.messages.push(`${noContent} calls have no recorded messages and were not replayed.`)
  return run
}
