/**
 * What-if without calls: the cohort's recorded calls re-priced under the candidate's prices,
 * replayed against simulated prompt caches with the provider's rules, and with latency projected
 * from the candidate model's recorded distribution — instant and free, statistically qualified.
 */
import { findPrice, PRICE_TABLE, type PriceEntry, type PriceTable } from '@hindsight/collector'
import type { Storage } from '@hindsight/collector/storage'
import { CACHE_RULES, type CacheRule, type CacheRules, findCacheRule } from './caching/rules'
import { type PrefixTransform, type SimulationResult, simulateCaching } from './caching/simulate'
import { type CallTable, loadCalls } from './calls'
import { type CandidateSpec, candidateLabel, type Objectives } from './candidate'
import { type Cohort, callQuery } from './cohort'
import { type LatencyDistribution, loadLatencyDistribution, projectLatency } from './latency'
import { bootstrapFields, differenceFields, emptyMetricRow, finite, powerFields } from './metric-row'
import {
  candidatePrice,
  firstPriceDate,
  fromNano,
  priceIndexedCalls,
  toNano,
  type UsageColumns,
} from './pricing'
import { type BacktestReport, type MetricRow, REPORT_SCHEMA_VERSION, reportCohort, verdict } from './report'
import {
  CORRECTION_LABEL,
  clusteredMeanCI,
  holm,
  mcnemar,
  pairedBootstrap,
  pairedMeanDifference,
  wilcoxonSignedRank,
  wilson,
  winTieLoss,
} from './stats'

/** A request that cannot run as given (unknown price, no caching rules): the caller's 400. */
export class BacktestInputError extends Error {
  override readonly name = 'BacktestInputError'
}

/** Below these, a cohort is too small for any conclusion. */
export const MIN_CALLS = 10
export const MIN_TRACES = 2

const DAY_MS = 86_400_000
/** How far back the candidate model's recorded latencies are looked for. */
const LATENCY_WINDOW_MS = 30 * DAY_MS

export interface WhatIfOptions {
  projectId: string
  cohort: Cohort
  candidate: CandidateSpec
  objectives?: Objectives
  priceTable?: PriceTable
  cacheRules?: CacheRules
  /** Bootstrap resamples. @default 10_000 */
  resamples?: number
  /** Bootstrap seed. @default the cohort id */
  seed?: string | number
  backtestId?: string
  onProgress?: (fraction: number, step: string) => void
  now?: Date
}

/**
 * Timings of the phases, for the benchmark: wall time, and the process's CPU time (all threads,
 * so the embedded engine's work is included; a ClickHouse server's is not).
 */
export interface WhatIfTimings {
  load_ms: number
  price_ms: number
  simulate_ms: number
  latency_ms: number
  statistics_ms: number
  load_cpu_ms: number
  price_cpu_ms: number
  simulate_cpu_ms: number
  latency_cpu_ms: number
  statistics_cpu_ms: number
}

/** A phase clock: each call gives the wall and process CPU time since the previous one. */
function phaseClock() {
  let wall = performance.now()
  let cpu = process.cpuUsage()
  return (): { ms: number; cpu_ms: number } => {
    const used = process.cpuUsage(cpu)
    const ms = performance.now() - wall
    wall = performance.now()
    cpu = process.cpuUsage()
    return { ms, cpu_ms: (used.user + used.system) / 1000 }
  }
}

/** FNV-1a over a string: the 32-bit block hash of a prompt the candidate adds. */
function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The index of `entry` in `list` (by identity), appended when new. */
function indexOf<T>(known: Map<T, number>, list: T[], entry: T): number {
  let k = known.get(entry)
  if (k === undefined) {
    k = list.push(entry) - 1
    known.set(entry, k)
  }
  return k
}

function subset<T extends Float64Array | Uint32Array>(values: T, keep: Uint8Array, count: number): T {
  const out = (values instanceof Uint32Array ? new Uint32Array(count) : new Float64Array(count)) as T
  let k = 0
  for (let i = 0; i < keep.length; i++) if (keep[i]) out[k++] = values[i] ?? 0
  return out
}

function sum(values: Float64Array): number {
  let s = 0
  for (const v of values) s += v
  return s
}

/**
 * What makes a what-if impossible, checked before any work: no caching rules for the candidate's
 * provider when caching is on, or no price for its model. Throws {@link BacktestInputError}
 * with a message that says how to fix it.
 */
export function checkCandidate(
  candidate: CandidateSpec,
  table: PriceTable = PRICE_TABLE,
  rules: CacheRules = CACHE_RULES,
  at: Date = new Date(),
): { rule: CacheRule | null; firstPriced: Date | null } {
  let rule: CacheRule | null = null
  if (candidate.caching === 'on') {
    rule = findCacheRule(rules, candidate.provider, candidate.model, at)
    if (!rule) {
      const known = [...new Set(rules.rules.map((r) => r.provider))].join(', ')
      throw new BacktestInputError(
        `no prompt-caching rules for provider '${candidate.provider}' (model ${candidate.model}) in rules ${rules.version}; ` +
          `caching can be simulated for ${known} — or run with caching off`,
      )
    }
  }
  const firstPriced = candidate.price ? null : firstPriceDate(table, candidate.provider, candidate.model)
  if (!candidate.price && !firstPriced) {
    throw new BacktestInputError(
      `unknown candidate price: price table ${table.version} has no price for ${candidate.provider}/${candidate.model}; ` +
        'add "price": { "input": <USD per 1M tokens>, "output": <USD per 1M tokens> } to the candidate',
    )
  }
  return { rule, firstPriced }
}

/** Run the what-if of `candidate` on a frozen cohort and build the report. */
export async function runWhatIf(
  storage: Storage,
  o: WhatIfOptions,
): Promise<BacktestReport & { timings: WhatIfTimings }> {
  const table = o.priceTable ?? PRICE_TABLE
  const rules = o.cacheRules ?? CACHE_RULES
  const candidate = o.candidate
  const progress = o.onProgress ?? (() => {})
  const from = new Date(o.cohort.filter.from)
  const to = new Date(o.cohort.filter.to)
  const messages: string[] = []
  const notes: string[] = []
  const timings: WhatIfTimings = {
    load_ms: 0,
    price_ms: 0,
    simulate_ms: 0,
    latency_ms: 0,
    statistics_ms: 0,
    load_cpu_ms: 0,
    price_cpu_ms: 0,
    simulate_cpu_ms: 0,
    latency_cpu_ms: 0,
    statistics_cpu_ms: 0,
  }
  const record = (
    phase: 'load' | 'price' | 'simulate' | 'latency' | 'statistics',
    lap: { ms: number; cpu_ms: number },
  ) => {
    timings[`${phase}_ms`] = lap.ms
    timings[`${phase}_cpu_ms`] = lap.cpu_ms
  }

  const { rule, firstPriced } = checkCandidate(candidate, table, rules, to)

  progress(0.05, 'loading the cohort calls')
  const lap = phaseClock()
  const calls = await loadCalls(storage, callQuery(o.projectId, o.cohort.filter, o.cohort.id))
  record('load', lap())
  const n = calls.n
  progress(0.4, 'simulating and re-pricing')

  // --- Candidate prompt as sent, and prompt caching -------------------------------------------
  let transform: PrefixTransform | undefined
  if (candidate.prompt.system !== undefined) {
    const block = JSON.stringify([{ type: 'text', content: candidate.prompt.system }])
    transform = { system: { hash: hash32(block), chars: block.length } }
  }
  if (candidate.prompt.template !== undefined) {
    messages.push(
      'The prompt template changes message text only in a replay; the what-if prices the recorded messages.',
    )
  }
  const longTtl = candidate.cache_ttl === '1h' && rule?.ttl_1h_seconds !== undefined
  const simulation = simulateCaching(calls, {
    rules: rule ? [rule] : [],
    ruleOf: () => (rule ? 0 : -1),
    transform,
    tokenRatio: candidate.token_ratio,
    longTtl,
  })
  const calibration = calibrate(calls, rules, to)
  record('simulate', lap())

  // --- Prices --------------------------------------------------------------------------------
  // Each price is resolved once per (day, model, provider) — the baseline — or per day — the
  // candidate — and every call gets an index into the distinct entries (calls are in time order,
  // so the previous call's key usually answers).
  const baselineIndex = new Int32Array(n)
  const baselineEntries: PriceEntry[] = []
  {
    const byKey = new Map<number, number>()
    const byEntry = new Map<PriceEntry, number>()
    let lastKey = -1
    let last = -1
    for (let i = 0; i < n; i++) {
      const day = Math.floor((calls.start[i] ?? 0) / DAY_MS)
      const m = calls.model[i] ?? 0
      const p = calls.provider[i] ?? 0
      // A numeric key (no string per call): model and provider indices are < 65,536.
      const key = (day * 65536 + m) * 65536 + p
      if (key !== lastKey) {
        let k = byKey.get(key)
        if (k === undefined) {
          const entry = findPrice(
            table,
            calls.providers[p] ?? '',
            calls.models[m] ?? '',
            new Date(day * DAY_MS + DAY_MS - 1),
          )
          k = entry ? indexOf(byEntry, baselineEntries, entry) : -1
          byKey.set(key, k)
        }
        lastKey = key
        last = k
      }
      baselineIndex[i] = last
    }
  }
  const candidatePrices = new Map<number, PriceEntry>()
  // The cost comparison covers calls priced in both arms (the candidate always has a price).
  const candidateIndex = new Int32Array(n)
  const candidateEntries: PriceEntry[] = []
  {
    const byDay = new Map<number, number>()
    const byEntry = new Map<PriceEntry, number>()
    let lastDay = Number.NaN
    let last = -1
    for (let i = 0; i < n; i++) {
      if ((baselineIndex[i] ?? -1) < 0) {
        candidateIndex[i] = -1
        continue
      }
      const day = Math.floor((calls.start[i] ?? 0) / DAY_MS)
      if (day !== lastDay) {
        let k = byDay.get(day)
        if (k === undefined) {
          let at = new Date(day * DAY_MS + DAY_MS - 1)
          if (firstPriced && at < firstPriced) at = firstPriced
          const found = candidatePrice(candidate, table, at, rule)
          if (!found)
            throw new BacktestInputError(
              `no price for ${candidate.provider}/${candidate.model} on ${at.toISOString().slice(0, 10)}`,
            )
          candidatePrices.set(day, found.entry)
          k = indexOf(byEntry, candidateEntries, found.entry)
          byDay.set(day, k)
        }
        lastDay = day
        last = k
      }
      candidateIndex[i] = last
    }
  }
  let pricedBeforeLaunch = 0
  if (firstPriced) for (const t of calls.start) if (t < firstPriced.getTime()) pricedBeforeLaunch++
  const baselineUsage: UsageColumns = {
    input: calls.inputTokens,
    output: calls.outputTokens,
    read: calls.cacheReadTokens,
    write: calls.cacheWriteTokens,
  }
  const candidateOutput = calls.outputTokens.map((x) => Math.round(x * candidate.token_ratio))
  const zeros = new Float64Array(n)
  const candidateUsage: UsageColumns = {
    input: simulation.inputTokens,
    output: candidateOutput,
    read: rule ? simulation.readTokens : zeros,
    write: rule ? simulation.writeTokens : zeros,
    write1h: longTtl ? simulation.writeTokens : undefined,
  }
  const candidateIndexed = { index: candidateIndex, entries: candidateEntries }
  const base = priceIndexedCalls(baselineUsage, n, { index: baselineIndex, entries: baselineEntries })
  const cand = priceIndexedCalls(candidateUsage, n, candidateIndexed)
  if (pricedBeforeLaunch > 0 && firstPriced) {
    notes.push(
      `${pricedBeforeLaunch} calls happened before ${candidate.model} had a list price; they are priced at its first price (${firstPriced.toISOString().slice(0, 10)}).`,
    )
  }
  const uncachedCand = rule
    ? priceIndexedCalls(
        { input: simulation.inputTokens, output: candidateOutput, read: zeros, write: zeros },
        n,
        candidateIndexed,
      )
    : null
  const recorded = recordedCost(calls)
  record('price', lap())

  // --- Latency projection ----------------------------------------------------------------------
  progress(0.55, 'projecting latency')
  const allCandidateModel = calls.models.length > 0 && calls.models.every((m) => m === candidate.model)
  const latencyWindow = { from: new Date(Math.min(from.getTime(), to.getTime() - LATENCY_WINDOW_MS)), to }
  let latencySource: LatencyDistribution | null = null
  let projected: Float64Array | null = null
  let projectedTtft: Float64Array | null = null
  if (n > 0) {
    if (allCandidateModel) {
      projected = calls.duration
      projectedTtft = calls.ttft
    } else {
      latencySource = await loadLatencyDistribution(storage, {
        projectId: o.projectId,
        model: candidate.model,
        ...latencyWindow,
        field: 'duration',
      })
      if (latencySource) projected = projectLatency(calls, calls.duration, candidate.model, latencySource)
      const ttftSource = await loadLatencyDistribution(storage, {
        projectId: o.projectId,
        model: candidate.model,
        ...latencyWindow,
        field: 'ttft',
      })
      if (ttftSource) projectedTtft = projectLatency(calls, calls.ttft, candidate.model, ttftSource)
    }
  }
  record('latency', lap())

  // --- Statistics ------------------------------------------------------------------------------
  progress(0.65, 'computing intervals')
  // Dense trace index per call: the cluster of every interval (one hashing pass).
  const traceOf = new Map<number, number>()
  const trace = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    const key = calls.trace[i] ?? 0
    let k = traceOf.get(key)
    if (k === undefined) {
      k = traceOf.size
      traceOf.set(key, k)
    }
    trace[i] = k
  }
  const traces = { size: traceOf.size }
  const tooSmall =
    n === 0
      ? 'the cohort has no model calls matching the filter: widen the time range or the filters'
      : n < MIN_CALLS || traces.size < MIN_TRACES
        ? `the cohort has ${n} calls in ${traces.size} traces: too small for any conclusion (need at least ${MIN_CALLS} calls in ${MIN_TRACES} traces)`
        : null
  if (tooSmall) messages.push(`Inconclusive: ${tooSmall}.`)
  const resamples = o.resamples ?? 10_000
  const seed = o.seed ?? o.cohort.id
  const metrics: MetricRow[] = []

  // Cost per call: calls priced in both arms.
  const pricedBoth = new Uint8Array(n)
  let priced = 0
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(base.perCall[i] ?? Number.NaN) && !Number.isNaN(cand.perCall[i] ?? Number.NaN)) {
      pricedBoth[i] = 1
      priced++
    }
  }
  if (base.unpriced > 0) {
    messages.push(
      `${base.unpriced} baseline calls have no price (model missing from price table ${table.version}); they are left out of the cost comparison.`,
    )
  }
  const costLabel = 'Cost per call (USD)'
  if (priced >= 2 && !tooSmall) {
    const b = subset(base.perCall, pricedBoth, priced)
    const c = subset(cand.perCall, pricedBoth, priced)
    const clusters = subset(trace, pricedBoth, priced)
    const diff = pairedMeanDifference(b, c, { clusters })
    const candMean = clusteredMeanCI(c, clusters)
    const [boot] = pairedBootstrap(b, c, [{ kind: 'mean' }], { clusters, resamples, seed })
    const wilcoxon = wilcoxonSignedRank(b, c)
    metrics.push({
      name: 'cost_per_call_usd',
      label: costLabel,
      unit: 'usd',
      better: 'lower',
      baseline: finite(boot?.baseline),
      candidate: finite(boot?.candidate),
      ...differenceFields(diff, boot, candMean),
      p_value_adjusted: null,
      n: priced,
      clusters: diff.clusters,
      ...powerFields(priced, diff.se, diff.estimate, diff.p_value),
      method: `${diff.method}; ratio: ${boot?.method ?? ''}`,
      test: {
        name: 'Wilcoxon signed-rank',
        statistic: wilcoxon.statistic,
        p_value: wilcoxon.p_value,
        method: wilcoxon.method,
      },
      win_tie_loss: winTieLoss(b, c, { better: 'lower', tolerance: 1e-9 }),
      projection: false,
      note: 'Re-priced recorded usage; the output length is assumed unchanged.',
    })
  } else {
    metrics.push(
      emptyMetricRow(
        { name: 'cost_per_call_usd', label: costLabel, unit: 'usd', better: 'lower' },
        tooSmall ?? 'fewer than 2 calls priced in both arms',
      ),
    )
  }

  // Latency p50/p95 (projection).
  const latencyNote = projected
    ? null
    : `no recorded calls of ${candidate.model} in this project between ${latencyWindow.from.toISOString().slice(0, 10)} and ${to.toISOString().slice(0, 10)} to project latency from; a replay measures it`
  const percentileRows = (
    values: Float64Array,
    projection: Float64Array | null,
    specs: Array<{ name: MetricRow['name']; label: string; q: number }>,
    missingNote: string | null,
  ) => {
    if (!projection || tooSmall) {
      for (const s of specs) {
        metrics.push({
          ...emptyMetricRow(
            { name: s.name, label: s.label, unit: 'ms', better: 'lower' },
            tooSmall ?? missingNote ?? 'not recorded',
          ),
          projection: true,
        })
      }
      return
    }
    const keep = new Uint8Array(n)
    let count = 0
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(values[i] ?? Number.NaN) && !Number.isNaN(projection[i] ?? Number.NaN)) {
        keep[i] = 1
        count++
      }
    }
    if (count < MIN_CALLS) {
      for (const s of specs) {
        metrics.push({
          ...emptyMetricRow(
            { name: s.name, label: s.label, unit: 'ms', better: 'lower' },
            `only ${count} calls recorded this latency`,
          ),
          projection: true,
        })
      }
      return
    }
    const b = subset(values, keep, count)
    const c = subset(projection, keep, count)
    const clusters = subset(trace, keep, count)
    const results = pairedBootstrap(
      b,
      c,
      specs.map((s) => ({ kind: 'quantile' as const, q: s.q })),
      { clusters, resamples, seed },
    )
    specs.forEach((s, k) => {
      const r = results[k]
      if (!r) return
      metrics.push({
        name: s.name,
        label: s.label,
        unit: 'ms',
        better: 'lower',
        ...bootstrapFields(r),
        p_value_adjusted: null,
        n: count,
        clusters: r.clusters,
        ...powerFields(count, r.delta_se, r.delta, r.p_value),
        method: `${r.method}; Harrell–Davis quantiles`,
        test: null,
        win_tie_loss: k === 0 ? winTieLoss(b, c, { better: 'lower', tolerance: 0.5 }) : null,
        projection: !allCandidateModel,
        note: allCandidateModel
          ? 'Same model as recorded: latency is the recorded one (caching effects on latency are not modelled).'
          : 'Projection from the candidate model’s recorded latency distribution (quantile mapping).',
      })
    })
  }
  percentileRows(
    calls.duration,
    projected,
    [
      { name: 'latency_p50_ms', label: 'Latency p50 (ms)', q: 0.5 },
      { name: 'latency_p95_ms', label: 'Latency p95 (ms)', q: 0.95 },
    ],
    latencyNote,
  )
  let ttftRecorded = 0
  for (const v of calls.ttft) if (!Number.isNaN(v)) ttftRecorded++
  if (n > 0 && ttftRecorded >= n / 2) {
    percentileRows(
      calls.ttft,
      projectedTtft,
      [{ name: 'ttft_p50_ms', label: 'Time to first token p50 (ms)', q: 0.5 }],
      `no recorded time to first token of ${candidate.model} to project from`,
    )
  }

  // Cache hit rate: recorded (baseline) vs simulated (candidate), paired per call.
  if (!tooSmall && n > 0) {
    let baseHits = 0
    let candHits = 0
    let b10 = 0
    let c01 = 0
    const baseHit = new Float64Array(n)
    const candHit = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const bh = (calls.cacheReadTokens[i] ?? 0) > 0
      const ch = rule ? (simulation.readTokens[i] ?? 0) > 0 : false
      baseHit[i] = bh ? 1 : 0
      candHit[i] = ch ? 1 : 0
      if (bh) baseHits++
      if (ch) candHits++
      if (bh && !ch) b10++
      if (!bh && ch) c01++
    }
    const diff = pairedMeanDifference(baseHit, candHit, { clusters: trace })
    const rateCand = wilson(candHits, n)
    const test = mcnemar(b10, c01)
    metrics.push({
      name: 'cache_hit_rate',
      label: 'Prompt-cache hit rate',
      unit: 'rate',
      better: 'higher',
      baseline: baseHits / n,
      candidate: candHits / n,
      delta: finite(diff.estimate),
      ci_low: finite(diff.ci_low),
      ci_high: finite(diff.ci_high),
      ratio: null,
      ratio_ci_low: null,
      ratio_ci_high: null,
      candidate_ci_low: rateCand.ci_low,
      candidate_ci_high: rateCand.ci_high,
      p_value: finite(diff.p_value),
      p_value_adjusted: null,
      n,
      clusters: diff.clusters,
      ...powerFields(n, diff.se, diff.estimate, diff.p_value),
      method: `${diff.method}; candidate rate: ${rateCand.method}`,
      test: { name: 'McNemar', statistic: test.statistic, p_value: test.p_value, method: test.method },
      win_tie_loss: null,
      projection: rule !== null,
      note: rule
        ? `Baseline: recorded cache reads; candidate: simulated with ${candidate.provider} rules.${rateCand.note ? ` ${rateCand.note}.` : ''}`
        : 'Caching off for the candidate.',
    })
  }

  metrics.push(
    emptyMetricRow(
      { name: 'quality', label: 'Quality', unit: 'score', better: 'higher' },
      'not measured by a what-if: quality needs a replay with evaluators',
    ),
  )

  // Holm over the metrics that have a p-value.
  const withP = metrics.filter((m) => m.p_value !== null)
  const adjusted = holm(withP.map((m) => m.p_value as number))
  withP.forEach((m, k) => {
    m.p_value_adjusted = finite(adjusted[k])
  })
  record('statistics', lap())

  const savings = toNano(base.totalUsd) - toNano(cand.totalUsd)
  const cacheRead = rule ? sum(simulation.readTokens) : 0
  const cacheWrite = rule ? sum(simulation.writeTokens) : 0
  let simulatedHits = 0
  if (rule) for (const r of simulation.readTokens) if (r > 0) simulatedHits++
  const objectives = o.objectives ?? {}
  const modelCounts = new Map<string, { provider: string; model: string; calls: number }>()
  for (let i = 0; i < n; i++) {
    const provider = calls.providers[calls.provider[i] ?? 0] ?? ''
    const model = calls.models[calls.model[i] ?? 0] ?? ''
    const key = `${provider}\u0000${model}`
    const row = modelCounts.get(key) ?? { provider, model, calls: 0 }
    row.calls++
    modelCounts.set(key, row)
  }
  const candidateEntry =
    candidatePrices.values().next().value ??
    candidatePrice(candidate, table, firstPriced && to < firstPriced ? firstPriced : to, rule)?.entry
  if (simulation.withoutContent > 0 && rule) {
    messages.push(
      `${simulation.withoutContent} calls have no recorded prompt content (captureContent off): they are simulated as cache misses.`,
    )
  }
  const tokenSource =
    'Prefix token counts are estimated from text length (characters scaled so each prompt matches its recorded input_tokens; chars/4 when none was recorded); block boundaries are message boundaries.'
  progress(1, 'done')
  const report: BacktestReport & { timings: WhatIfTimings } = {
    schema_version: REPORT_SCHEMA_VERSION,
    mode: 'what_if',
    generated_at: (o.now ?? new Date()).toISOString(),
    project_id: o.projectId,
    backtest_id: o.backtestId ?? null,
    cohort: reportCohort(o.cohort, n),
    candidate,
    baseline: { models: [...modelCounts.values()].sort((a, b) => b.calls - a.calls) },
    pricing: {
      price_table_version: table.version,
      candidate_price: candidateEntry
        ? {
            source: candidate.price ? 'custom' : 'price table',
            input: candidateEntry.input,
            output: candidateEntry.output,
            cache_read: candidateEntry.cache_read ?? null,
            cache_write: candidateEntry.cache_write ?? null,
          }
        : null,
      price_at: 'call_time',
      baseline_unpriced_calls: base.unpriced,
      notes,
    },
    totals: {
      calls: n,
      priced_calls: priced,
      baseline_cost_usd: base.totalUsd,
      candidate_cost_usd: cand.totalUsd,
      recorded_cost_usd: recorded,
      savings_usd: fromNano(savings),
    },
    caching: {
      enabled: rule !== null,
      rule: rule
        ? {
            provider: rule.provider,
            mode: rule.mode,
            min_tokens: rule.min_tokens,
            ttl_seconds: longTtl && rule.ttl_1h_seconds ? rule.ttl_1h_seconds : rule.ttl_seconds,
            verified: rule.verified,
            source: rule.source,
          }
        : null,
      simulated_calls: simulation.simulated,
      calls_without_content: rule ? simulation.withoutContent : 0,
      hit_rate: rule && n > 0 ? simulatedHits / n : null,
      read_tokens: cacheRead,
      write_tokens: cacheWrite,
      input_tokens: sum(simulation.inputTokens),
      savings_usd: uncachedCand ? fromNano(toNano(uncachedCand.totalUsd) - toNano(cand.totalUsd)) : null,
      token_counts: tokenSource,
      calibration,
    },
    latency: {
      projection: true,
      method: allCandidateModel
        ? 'the candidate model is the recorded one: recorded latencies are used.'
        : `each call takes the latency at its own rank (within its recorded model's calls) in the candidate model's recorded distribution${latencySource ? ` (${latencySource.calls} calls of ${latencySource.model}, ${latencySource.from.slice(0, 10)} → ${latencySource.to.slice(0, 10)})` : ''}.`,
      source: latencySource
        ? {
            model: latencySource.model,
            calls: latencySource.calls,
            from: latencySource.from,
            to: latencySource.to,
          }
        : null,
      note: latencyNote,
    },
    metrics,
    correction: {
      method: 'holm',
      family_size: withP.length,
      statement: `${CORRECTION_LABEL.holm} over the ${withP.length} metrics with a test in this report.`,
    },
    objectives,
    verdict: verdict(objectives, metrics, priced, tooSmall),
    messages,
    assumptions: [
      `Candidate ${candidateLabel(candidate)} answers with as many output tokens as the recorded calls${candidate.token_ratio !== 1 ? `, × ${candidate.token_ratio} for its tokenizer` : ''}.`,
      'Both arms are priced with the prices in effect at each call’s start; cache writes of recorded calls are priced as 5-minute writes.',
      'Intervals treat the cohort as a sample of future traffic; calls of one trace are clustered.',
      'Latency is projected, not measured: output length, prompt changes and caching do not change it in this model.',
    ],
    timings,
  }
  return report
}

/** Sum of the recorded cost of the cohort's calls (exact decimal), or null when none was priced. */
function recordedCost(calls: CallTable): string | null {
  let total = 0n
  // Integers below 2^53 add exactly in a double; flushed to a bigint before they could not.
  let partial = 0
  let priced = 0
  for (const nano of calls.recordedCostNano) {
    if (Number.isNaN(nano)) continue
    priced++
    if (Math.abs(partial) + Math.abs(nano) >= 2 ** 53) {
      total += BigInt(partial)
      partial = 0
    }
    partial += nano
  }
  if (priced === 0) return null
  return fromNano(total + BigInt(partial))
}

/**
 * Where recorded traffic already used caching: simulate it with each recorded model's own rules
 * and compare the simulated cache-read tokens with the recorded ones.
 */
function calibrate(calls: CallTable, rules: CacheRules, at: Date): BacktestReport['caching']['calibration'] {
  const recordedByModel = new Map<number, number>()
  for (let i = 0; i < calls.n; i++) {
    if ((calls.cacheReadTokens[i] ?? 0) > 0) {
      const m = calls.model[i] ?? 0
      recordedByModel.set(m, (recordedByModel.get(m) ?? 0) + 1)
    }
  }
  if (recordedByModel.size === 0) return null
  const ruleList: CacheRule[] = []
  const ruleIndexByPair = new Map<number, number>()
  const ruleByCall = new Int32Array(calls.n)
  for (let i = 0; i < calls.n; i++) {
    const m = calls.model[i] ?? 0
    if (!recordedByModel.has(m)) {
      ruleByCall[i] = -1
      continue
    }
    const p = calls.provider[i] ?? 0
    const pair = m * 65536 + p
    let index = ruleIndexByPair.get(pair)
    if (index === undefined) {
      const r = findCacheRule(rules, calls.providers[p] ?? '', calls.models[m] ?? '', at)
      index = r ? ruleList.push(r) - 1 : -1
      ruleIndexByPair.set(pair, index)
    }
    ruleByCall[i] = index
  }
  const ruleOf = (i: number) => ruleByCall[i] ?? -1
  const sim: SimulationResult = simulateCaching(calls, { rules: ruleList, ruleOf })
  let callsCompared = 0
  let recordedTokens = 0
  let simulatedTokens = 0
  let agree = 0
  const models = new Set<string>()
  for (let i = 0; i < calls.n; i++) {
    if (ruleOf(i) < 0) continue
    if ((calls.blockStart[i + 1] ?? 0) === (calls.blockStart[i] ?? 0)) continue
    callsCompared++
    models.add(calls.models[calls.model[i] ?? 0] ?? '')
    const rec = calls.cacheReadTokens[i] ?? 0
    const s = sim.readTokens[i] ?? 0
    recordedTokens += rec
    simulatedTokens += s
    if (rec > 0 === s > 0) agree++
  }
  if (callsCompared === 0) return null
  return {
    calls: callsCompared,
    models: [...models].sort(),
    recorded_read_tokens: recordedTokens,
    simulated_read_tokens: simulatedTokens,
    relative_error: recordedTokens > 0 ? (simulatedTokens - recordedTokens) / recordedTokens : null,
    hit_agreement: agree / callsCompared,
  }
}
