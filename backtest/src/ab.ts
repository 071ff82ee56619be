/**
 * Live A/B: the back-test report for two arms of production traffic — two releases, or any two
 * values of a span column, tag or attribute — without replay. The arms are different requests,
 * so every comparison is between two independent samples (STATISTICS.md, "Unpaired live A/B"):
 * Welch-type intervals for means with cluster-robust errors (calls clustered by trace), an
 * unpaired cluster bootstrap for percentiles and ratios, Newcombe intervals and the
 * two-proportion test for rates, Mann–Whitney as the robustness check, Holm across metrics.
 * The arms' time ranges and traffic mix are reported, because an unpaired comparison is only as
 * good as the arms' likeness.
 */
import { PRICE_TABLE, type PriceTable } from '@hindsight/collector'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'
import { type AbArmSummary, type AbSpec, type AbSummary, parseAbAttribute } from './ab-spec'
import { type CallQuery, callConditions, chTime, inCohortSql } from './calls'
import { candidateSchema, type Objectives } from './candidate'
import { type Cohort, callQuery } from './cohort'
import { bootstrapFields, differenceFields, emptyMetricRow, finite, powerFields } from './metric-row'
import { fromNano, toNano } from './pricing'
import {
  type BacktestReport,
  type MetricRow,
  REPORT_SCHEMA_VERSION,
  reportCohort,
  triangle,
  verdict,
} from './report'
import { clusteredMeanCI, holm, meanCI } from './stats'
import { newcombeDifference, twoProportionTest } from './stats/proportions'
import { type MannWhitneyResult, mannWhitney, welchMeanDifference } from './stats/unpaired'
import { unpairedBootstrap } from './stats/unpaired-bootstrap'

/** Each arm needs at least this many calls, in at least AB_MIN_TRACES traces, for any conclusion. */
export const AB_MIN_CALLS = 10
export const AB_MIN_TRACES = 5

export interface AbOptions {
  projectId: string
  cohort: Cohort
  spec: AbSpec
  objectives: Objectives
  /** Bootstrap resamples. @default 10_000 */
  resamples?: number
  seed?: string | number
  backtestId?: string | null
  priceTable?: PriceTable
  now?: Date
  onProgress?: (fraction: number, step: string) => void
}

const ARM_NONE = 0
const ARM_BASELINE = 1
const ARM_CANDIDATE = 2
const ARM_BOTH = 3

/** One arm's calls as columns. */
interface ArmCalls {
  n: number
  trace: Uint32Array
  start: Float64Array
  duration: Float64Array
  ttft: Float64Array
  error: Uint8Array
  /** Recorded cost (NaN when unpriced). */
  cost: Float64Array
  costText: string[]
  inputTokens: Float64Array
  /**
   * 1 for a failed call that reported no usage (a rejected request): not billed, so it counts at $0
   * in its trace's cost, and is left out of cost per call, which is per billed call.
   */
  unbilled: Uint8Array
  model: string[]
  provider: string[]
  route: string[]
  traceIds: string[]
}

function emptyArm(n: number): ArmCalls {
  return {
    n: 0,
    trace: new Uint32Array(n),
    start: new Float64Array(n),
    duration: new Float64Array(n),
    ttft: new Float64Array(n),
    error: new Uint8Array(n),
    cost: new Float64Array(n),
    costText: [],
    inputTokens: new Float64Array(n),
    unbilled: new Uint8Array(n),
    model: [],
    provider: [],
    route: [],
    traceIds: [],
  }
}

/** The SQL that says whether a span carries `{param}` for the A/B attribute; values are bound. */
function matchSql(spec: AbSpec, param: string): string {
  const a = parseAbAttribute(spec.attribute)
  if (a.kind === 'column') return `${a.column} = {${param}:String}`
  if (a.kind === 'tag')
    return `has(JSONExtract(attributes['${HINDSIGHT.tags}'], 'Array(String)'), {${param}:String})`
  return `(attributes[{ab_key:String}] = {${param}:String} OR resource_attributes[{ab_key:String}] = {${param}:String})`
}

/** Arm of every trace of the frozen cohort (any span carrying the value puts the trace in that arm). */
async function loadArms(storage: Storage, o: AbOptions): Promise<Map<string, number>> {
  const db = storage.database
  const q: CallQuery = callQuery(o.projectId, o.cohort.filter)
  const a = parseAbAttribute(o.spec.attribute)
  const params: Record<string, unknown> = {
    projectId: o.projectId,
    from: chTime(q.from),
    to: chTime(q.to),
    cohortId: o.cohort.id,
    ab_baseline: o.spec.baseline,
    ab_candidate: o.spec.candidate,
  }
  if (a.kind === 'attribute') params.ab_key = a.key
  const result = await storage.client.query({
    query: `
      SELECT trace_id, max(${matchSql(o.spec, 'ab_baseline')}) + 2 * max(${matchSql(o.spec, 'ab_candidate')}) AS arm
      FROM ${db}.spans FINAL
      WHERE project_id = {projectId:String}
        AND start_time >= {from:DateTime64(6, 'UTC')} AND start_time < {to:DateTime64(6, 'UTC')}
        AND ${inCohortSql(db)}
      GROUP BY trace_id`,
    query_params: params,
    format: 'JSONCompactEachRow',
  })
  const arms = new Map<string, number>()
  for (const [traceId, arm] of (await result.json()) as Array<[string, number]>)
    arms.set(traceId, Number(arm))
  return arms
}

/** The cohort's model calls, split into the two arms by their trace's arm. */
async function loadArmCalls(
  storage: Storage,
  o: AbOptions,
  arms: Map<string, number>,
): Promise<[ArmCalls, ArmCalls]> {
  const db = storage.database
  const { where, params } = callConditions(callQuery(o.projectId, o.cohort.filter))
  where.push(inCohortSql(db))
  params.cohortId = o.cohort.id
  const result = await storage.client.query({
    query: `
      SELECT trace_id, toUnixTimestamp64Milli(start_time), duration_ms, ifNull(ttft_ms, -1), status = 'error',
             ifNull(toString(cost_usd), ''), input_tokens, model, provider, route, output_tokens
      FROM ${db}.spans FINAL WHERE ${where.join(' AND ')}`,
    query_params: params,
    format: 'JSONCompactEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  type Row = [
    string,
    number,
    number,
    number,
    number | boolean,
    string,
    number,
    string,
    string,
    string,
    number,
  ]
  const rows = ((await result.json()) as Row[]).sort((x, y) => x[1] - y[1])
  const counts = [0, 0, 0]
  for (const r of rows) {
    const arm = arms.get(r[0]) ?? ARM_NONE
    if (arm === ARM_BASELINE || arm === ARM_CANDIDATE) counts[arm] = (counts[arm] ?? 0) + 1
  }
  const out: [ArmCalls, ArmCalls] = [
    emptyArm(counts[ARM_BASELINE] ?? 0),
    emptyArm(counts[ARM_CANDIDATE] ?? 0),
  ]
  const traceIndex = [new Map<string, number>(), new Map<string, number>()]
  for (const r of rows) {
    const arm = arms.get(r[0]) ?? ARM_NONE
    if (arm !== ARM_BASELINE && arm !== ARM_CANDIDATE) continue
    const t = out[arm - 1] as ArmCalls
    const index = traceIndex[arm - 1] as Map<string, number>
    let k = index.get(r[0])
    if (k === undefined) {
      k = index.size
      index.set(r[0], k)
      t.traceIds.push(r[0])
    }
    const i = t.n++
    t.trace[i] = k
    t.start[i] = r[1]
    t.duration[i] = r[2]
    t.ttft[i] = r[3] < 0 ? Number.NaN : r[3]
    t.error[i] = r[4] === true || r[4] === 1 ? 1 : 0
    // A failed call with no usage (a rejected or timed-out request) was not billed: $0, not unknown.
    const unbilled = r[5] === '' && t.error[i] === 1 && r[6] === 0 && r[10] === 0
    if (unbilled) t.unbilled[i] = 1
    const costText = unbilled ? '0.000000000' : r[5]
    t.cost[i] = costText === '' ? Number.NaN : Number(costText)
    t.costText.push(costText)
    t.inputTokens[i] = r[6]
    t.model.push(r[7])
    t.provider.push(r[8])
    t.route.push(r[9])
  }
  return out
}

/** Numeric and pass/fail quality scores of the cohort's traces (failed evaluations left out). */
async function loadScores(
  storage: Storage,
  o: AbOptions,
): Promise<Array<{ trace: string; name: string; value: number; boolean: boolean }>> {
  const db = storage.database
  const result = await storage.client.query({
    query: `
      SELECT trace_id, toString(name), value, data_type = 'boolean'
      FROM ${db}.scores FINAL
      WHERE project_id = {projectId:String} AND status != 'failed' AND data_type IN ('numeric', 'boolean')
        AND ${inCohortSql(db)}`,
    query_params: { projectId: o.projectId, cohortId: o.cohort.id },
    format: 'JSONCompactEachRow',
  })
  return ((await result.json()) as Array<[string, string, number, number | boolean]>).map(
    ([trace, name, value, isBoolean]) => ({
      trace,
      name,
      value: Number(value),
      boolean: isBoolean === true || isBoolean === 1,
    }),
  )
}

function keep<T extends Float64Array | Uint32Array>(values: T, ok: (i: number) => boolean): T {
  const idx: number[] = []
  for (let i = 0; i < values.length; i++) if (ok(i)) idx.push(i)
  const out = new (values.constructor as { new (n: number): T })(idx.length)
  idx.forEach((i, k) => {
    out[k] = values[i] ?? 0
  })
  return out
}

function mwTest(r: MannWhitneyResult): MetricRow['test'] {
  return Number.isNaN(r.p_value)
    ? null
    : {
        name: 'Mann–Whitney U',
        statistic: r.statistic,
        p_value: r.p_value,
        method: `${r.method}; P(candidate > baseline) = ${r.probability_of_superiority.toFixed(3)}; assumes independent calls`,
      }
}

function shares(labels: string[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const l of labels) out.set(l, (out.get(l) ?? 0) + 1)
  return out
}

/** Total variation distance between two label distributions. */
function distance(a: string[], b: string[]): number | null {
  if (a.length === 0 || b.length === 0) return null
  const sa = shares(a)
  const sb = shares(b)
  let d = 0
  for (const k of new Set([...sa.keys(), ...sb.keys()]))
    d += Math.abs((sa.get(k) ?? 0) / a.length - (sb.get(k) ?? 0) / b.length)
  return d / 2
}

function armSummary(value: string, t: ArmCalls): AbArmSummary {
  let nano = 0n
  let priced = 0
  let errors = 0
  let tokens = 0
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (let i = 0; i < t.n; i++) {
    const text = t.costText[i] ?? ''
    if (text !== '') {
      nano += toNano(text)
      priced++
    }
    errors += t.error[i] ?? 0
    tokens += t.inputTokens[i] ?? 0
    first = Math.min(first, t.start[i] ?? first)
    last = Math.max(last, t.start[i] ?? last)
  }
  const models = new Map<string, { provider: string; model: string; calls: number }>()
  for (let i = 0; i < t.n; i++) {
    const key = `${t.provider[i]}\u0000${t.model[i]}`
    const entry = models.get(key) ?? { provider: t.provider[i] ?? '', model: t.model[i] ?? '', calls: 0 }
    entry.calls++
    models.set(key, entry)
  }
  return {
    value,
    traces: t.traceIds.length,
    calls: t.n,
    first_call: t.n > 0 ? new Date(first).toISOString() : null,
    last_call: t.n > 0 ? new Date(last).toISOString() : null,
    priced_calls: priced,
    error_calls: errors,
    cost_usd: fromNano(nano),
    models: [...models.values()].sort((x, y) => y.calls - x.calls),
    routes: [...shares(t.route)]
      .map(([route, calls]) => ({ route, calls }))
      .sort((x, y) => y.calls - x.calls),
    mean_input_tokens: t.n > 0 ? tokens / t.n : null,
  }
}

/** Run the live A/B on a frozen cohort and build the report. */
export async function runAb(storage: Storage, o: AbOptions): Promise<BacktestReport> {
  const progress = o.onProgress ?? (() => {})
  const table = o.priceTable ?? PRICE_TABLE
  const spec = o.spec
  const resamples = o.resamples ?? 10_000
  const seed = o.seed ?? o.cohort.id
  const messages: string[] = []
  const arm = (which: 'baseline' | 'candidate') => `${which} (${spec.attribute} = ${spec[which]})`

  progress(0.1, 'assigning traces to arms')
  const arms = await loadArms(storage, o)
  let both = 0
  let neither = 0
  for (const a of arms.values()) {
    if (a === ARM_BOTH) both++
    else if (a === ARM_NONE) neither++
  }
  progress(0.3, 'loading the arms’ calls')
  const [b, c] = await loadArmCalls(storage, o, arms)
  const scores = await loadScores(storage, o)
  if (both > 0)
    messages.push(
      `${both} traces carry both ${spec.attribute} values; they are left out (an arm is decided per trace).`,
    )

  // --- Guards -----------------------------------------------------------------------------------
  const attribute = parseAbAttribute(spec.attribute)
  if (attribute.kind === 'column') {
    const f = o.cohort.filter
    const column = attribute.column
    const allowed =
      column === 'release'
        ? f.release
        : column === 'model'
          ? f.model
          : column === 'provider'
            ? f.provider
            : column === 'route'
              ? f.route
              : undefined
    for (const which of ['baseline', 'candidate'] as const)
      if (allowed && allowed.length > 0 && !allowed.includes(spec[which]))
        messages.push(
          `The cohort filter keeps only ${column} ${allowed.join(', ')}, which leaves out the ${which} arm (${spec[which]}); drop the ${column} filter.`,
        )
  }
  const small = (which: 'baseline' | 'candidate', t: ArmCalls) =>
    t.n < AB_MIN_CALLS || t.traceIds.length < AB_MIN_TRACES
      ? `arm ${arm(which)} has ${t.n} calls in ${t.traceIds.length} traces: too few for any conclusion (need at least ${AB_MIN_CALLS} calls in ${AB_MIN_TRACES} traces per arm)`
      : null
  const tooSmallParts = [small('baseline', b), small('candidate', c)].filter((x): x is string => x !== null)
  const tooSmall = tooSmallParts.length > 0 ? tooSmallParts.join('; ') : null
  if (tooSmall) messages.push(`Inconclusive: ${tooSmall}.`)

  const summaryB = armSummary(spec.baseline, b)
  const summaryC = armSummary(spec.candidate, c)

  // Time: arms that ran at different times confound the arm with everything else that changed.
  let overlap: number | null = null
  let timeNote = 'an arm is empty'
  if (b.n > 0 && c.n > 0) {
    const bFirst = b.start[0] ?? 0
    const bLast = b.start[b.n - 1] ?? 0
    const cFirst = c.start[0] ?? 0
    const cLast = c.start[c.n - 1] ?? 0
    const union = Math.max(bLast, cLast) - Math.min(bFirst, cFirst)
    const shared = Math.max(0, Math.min(bLast, cLast) - Math.max(bFirst, cFirst))
    overlap = union > 0 ? shared / union : 1
    const ranges = `baseline ${summaryB.first_call} → ${summaryB.last_call} (${b.n} calls), candidate ${summaryC.first_call} → ${summaryC.last_call} (${c.n} calls)`
    if (overlap === 0) {
      timeNote = `The arms do not overlap in time (${ranges}): any difference is confounded with time (traffic, provider load, prices); compare arms that ran side by side.`
      messages.push(timeNote)
    } else if (overlap < 0.5) {
      timeNote = `The arms overlap for only ${(overlap * 100).toFixed(0)}% of their span (${ranges}): part of any difference may be due to time, not the arm.`
      messages.push(timeNote)
    } else
      timeNote = `The arms ran side by side for ${(overlap * 100).toFixed(0)}% of their span (${ranges}).`
  }

  // Traffic mix: routes and input length should look alike before the comparison is trusted.
  const routeDistance = distance(b.route, c.route)
  const modelDistance = distance(b.model, c.model)
  const inputs =
    b.n >= 2 && c.n >= 2
      ? welchMeanDifference(b.inputTokens, c.inputTokens, {
          baselineClusters: b.trace,
          candidateClusters: c.trace,
        })
      : null
  const mixIssues: string[] = []
  if (routeDistance !== null && routeDistance > 0.1)
    mixIssues.push(
      `the route mix differs (total variation distance ${routeDistance.toFixed(2)}): filter the cohort to one route (stratify) before trusting the comparison`,
    )
  if (
    inputs &&
    inputs.p_value < 0.01 &&
    Math.abs(inputs.estimate) > 0.1 * Math.max(1, inputs.baseline.estimate)
  )
    mixIssues.push(
      `the input length differs (mean input tokens ${inputs.baseline.estimate.toFixed(0)} vs ${inputs.candidate.estimate.toFixed(0)}, p = ${inputs.p_value.toPrecision(2)}): the arms may be serving different requests`,
    )
  const mixNote =
    mixIssues.length > 0
      ? `Traffic mix: ${mixIssues.join('; ')}.`
      : 'Traffic mix: route shares and input length look alike in both arms.'
  if (mixIssues.length > 0) messages.push(mixNote)

  progress(0.5, 'computing intervals')
  const metrics: MetricRow[] = []

  // --- Cost per call: Welch (cluster-robust per arm) for the difference, bootstrap for the ratio.
  {
    const label = 'Cost per call (USD)'
    // Per billed call: an arm that fails more must not look cheaper per call (its error rate is its own row).
    const billed = (t: ArmCalls) => (i: number) =>
      !Number.isNaN(t.cost[i] ?? Number.NaN) && t.unbilled[i] === 0
    const bc = keep(b.cost, billed(b))
    const bt = keep(b.trace, billed(b))
    const cc = keep(c.cost, billed(c))
    const ct = keep(c.trace, billed(c))
    const unbilledB = b.unbilled.reduce((n, x) => n + x, 0)
    const unbilledC = c.unbilled.reduce((n, x) => n + x, 0)
    const unbilled = unbilledB + unbilledC
    const unpriced = b.n - bc.length + (c.n - cc.length) - unbilled
    if (unbilled > 0)
      messages.push(
        `${unbilled} failed calls reported no usage (${unbilledB} baseline, ${unbilledC} candidate): ` +
          'not billed, so they count at $0 in cost per trace and are left out of cost per call (per billed call).',
      )
    if (unpriced > 0)
      messages.push(
        `${unpriced} calls have no recorded cost (a model missing from the price table, or no usage recorded); they are left out of the cost comparison.`,
      )
    if (tooSmall || bc.length < 2 || cc.length < 2) {
      metrics.push(
        emptyMetricRow(
          { name: 'cost_per_call_usd', label, unit: 'usd', better: 'lower' },
          tooSmall ?? 'fewer than 2 priced calls in an arm',
        ),
      )
    } else {
      metrics.push(
        meanRow(
          'cost_per_call_usd',
          label,
          'usd',
          'lower',
          bc,
          bt,
          cc,
          ct,
          resamples,
          seed,
          'Recorded cost at the prices in effect at each call, per billed call.',
        ),
      )
    }
  }

  // --- Cost per trace: the sum of a trace's calls (traces with every call priced; unbilled failures at $0).
  {
    const label = 'Cost per trace (USD)'
    const perTrace = (t: ArmCalls) => {
      const sums = new Float64Array(t.traceIds.length)
      for (let i = 0; i < t.n; i++) {
        const k = t.trace[i] ?? 0
        sums[k] = (sums[k] ?? 0) + (t.cost[i] ?? Number.NaN)
      }
      return keep(sums, (k) => !Number.isNaN(sums[k] ?? Number.NaN))
    }
    const bs = perTrace(b)
    const cs = perTrace(c)
    if (tooSmall || bs.length < 2 || cs.length < 2)
      metrics.push(
        emptyMetricRow(
          { name: 'cost_per_trace_usd', label, unit: 'usd', better: 'lower' },
          tooSmall ?? 'fewer than 2 fully priced traces in an arm',
        ),
      )
    else
      metrics.push(
        meanRow(
          'cost_per_trace_usd',
          label,
          'usd',
          'lower',
          bs,
          null,
          cs,
          null,
          resamples,
          seed,
          'Sum of the recorded cost of each trace’s calls (traces with an unpriced call left out).',
        ),
      )
  }

  // --- Latency and TTFT percentiles: unpaired cluster bootstrap.
  const percentiles = (
    bv: Float64Array,
    cv: Float64Array,
    specs: Array<{ name: MetricRow['name']; label: string; q: number }>,
  ) => {
    const bOk = (i: number) => !Number.isNaN(bv[i] ?? Number.NaN)
    const cOk = (i: number) => !Number.isNaN(cv[i] ?? Number.NaN)
    const bx = keep(bv, bOk)
    const cx = keep(cv, cOk)
    const bt = keep(b.trace, bOk)
    const ct = keep(c.trace, cOk)
    if (tooSmall || bx.length < AB_MIN_CALLS || cx.length < AB_MIN_CALLS) {
      const note =
        tooSmall ??
        `only ${bx.length} baseline and ${cx.length} candidate calls recorded it (need ${AB_MIN_CALLS} each)`
      for (const s of specs)
        metrics.push(emptyMetricRow({ name: s.name, label: s.label, unit: 'ms', better: 'lower' }, note))
      return
    }
    const results = unpairedBootstrap(
      bx,
      cx,
      specs.map((s) => ({ kind: 'quantile' as const, q: s.q })),
      { baselineClusters: bt, candidateClusters: ct, resamples, seed },
    )
    const test = mwTest(mannWhitney(bx, cx))
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
        n: r.n,
        clusters: r.clusters,
        ...powerFields(r.n, r.delta_se, r.delta, r.p_value),
        method: `Harrell–Davis quantiles; ${r.method}`,
        test,
        win_tie_loss: null,
        projection: false,
        note: null,
      })
    })
  }
  progress(0.6, 'bootstrapping latency percentiles')
  percentiles(b.duration, c.duration, [
    { name: 'latency_p50_ms', label: 'Latency p50 (ms)', q: 0.5 },
    { name: 'latency_p95_ms', label: 'Latency p95 (ms)', q: 0.95 },
  ])
  progress(0.75, 'bootstrapping time to first token')
  percentiles(b.ttft, c.ttft, [
    { name: 'ttft_p50_ms', label: 'Time to first token p50 (ms)', q: 0.5 },
    { name: 'ttft_p95_ms', label: 'Time to first token p95 (ms)', q: 0.95 },
  ])

  // --- Error rate: Newcombe on effective sample sizes (calls clustered by trace).
  {
    const label = 'Error rate (share of calls)'
    if (tooSmall)
      metrics.push(emptyMetricRow({ name: 'error_rate', label, unit: 'rate', better: 'lower' }, tooSmall))
    else
      metrics.push(
        rateRow(
          'error_rate',
          label,
          'lower',
          Float64Array.from(b.error),
          b.trace,
          Float64Array.from(c.error),
          c.trace,
        ),
      )
  }

  // --- Quality: mean of each score name per arm (scores of the arm's traces), clustered by trace.
  progress(0.85, 'comparing quality scores')
  const traceArm = new Map<string, { arm: 0 | 1; k: number }>()
  b.traceIds.forEach((t, k) => {
    traceArm.set(t, { arm: 0, k })
  })
  c.traceIds.forEach((t, k) => {
    traceArm.set(t, { arm: 1, k })
  })
  const byName = new Map<
    string,
    { boolean: boolean; values: [number[], number[]]; traces: [number[], number[]] }
  >()
  for (const s of scores) {
    const at = traceArm.get(s.trace)
    if (!at) continue
    let entry = byName.get(s.name)
    if (!entry) {
      entry = { boolean: s.boolean, values: [[], []], traces: [[], []] }
      byName.set(s.name, entry)
    }
    entry.values[at.arm].push(s.value)
    entry.traces[at.arm].push(at.k)
  }
  for (const [name, entry] of [...byName].sort(([x], [y]) => x.localeCompare(y))) {
    const [bv, cv] = entry.values
    const [bt, ct] = entry.traces
    const label = `Quality: ${name} (${entry.boolean ? 'pass rate' : 'mean'})`
    let row: MetricRow
    if (tooSmall)
      row = emptyMetricRow(
        { name: 'quality', label, unit: entry.boolean ? 'rate' : 'score', better: 'higher' },
        tooSmall,
      )
    else if (bv.length < 2 || cv.length < 2)
      row = emptyMetricRow(
        { name: 'quality', label, unit: entry.boolean ? 'rate' : 'score', better: 'higher' },
        `only ${bv.length} baseline and ${cv.length} candidate scores named '${name}'`,
      )
    else if (entry.boolean)
      row = rateRow(
        'quality',
        label,
        'higher',
        Float64Array.from(bv),
        Uint32Array.from(bt),
        Float64Array.from(cv),
        Uint32Array.from(ct),
      )
    else
      row = meanRow(
        'quality',
        label,
        'score',
        'higher',
        Float64Array.from(bv),
        Uint32Array.from(bt),
        Float64Array.from(cv),
        Uint32Array.from(ct),
        resamples,
        seed,
        null,
      )
    metrics.push({ ...row, score: name })
  }
  if (byName.size === 0)
    messages.push('No numeric or pass/fail quality scores on either arm’s traces: quality is not compared.')

  // --- Holm across every metric with a p-value.
  const withP = metrics
    .map((m, i) => ({ i, p: m.p_value }))
    .filter((x): x is { i: number; p: number } => x.p !== null)
  const adjusted = holm(withP.map((x) => x.p))
  withP.forEach((x, k) => {
    const row = metrics[x.i]
    if (row) row.p_value_adjusted = finite(adjusted[k])
  })

  const totalCalls = b.n + c.n
  const top = summaryC.models[0]
  const candidate = candidateSchema.parse({
    name: `${spec.attribute} = ${spec.candidate}`,
    provider: top?.provider || 'unknown',
    model: top?.model || 'unknown',
  })
  const ab: AbSummary = {
    attribute: spec.attribute,
    attribute_kind: parseAbAttribute(spec.attribute).kind,
    design: 'unpaired',
    cluster_by: 'trace',
    baseline: summaryB,
    candidate: summaryC,
    excluded_traces: { both, neither },
    time: { overlap_fraction: overlap, note: timeNote },
    traffic_mix: {
      route_distance: routeDistance,
      model_distance: modelDistance,
      input_tokens_delta: finite(inputs?.estimate),
      input_tokens_ci_low: finite(inputs?.ci_low),
      input_tokens_ci_high: finite(inputs?.ci_high),
      comparable: mixIssues.length === 0,
      note: mixNote,
    },
    win_tie_loss: null,
    win_tie_loss_note:
      'Win/tie/loss is not defined for a live A/B: the arms served different requests, so there are no pairs to compare one by one. Use replay for paired per-call comparisons.',
  }
  const unpricedB = b.n - summaryB.priced_calls
  const result = verdict(o.objectives, metrics, totalCalls, tooSmall)
  progress(1, 'done')
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    mode: 'ab',
    ab,
    generated_at: (o.now ?? new Date()).toISOString(),
    project_id: o.projectId,
    backtest_id: o.backtestId ?? null,
    cohort: reportCohort(o.cohort, totalCalls),
    candidate,
    baseline: { models: summaryB.models },
    pricing: {
      price_table_version: table.version,
      candidate_price: null,
      price_at: 'call_time',
      baseline_unpriced_calls: unpricedB,
      notes: [
        'Both arms use the cost recorded at ingest (prices in effect at each call); nothing is re-priced.',
      ],
    },
    totals: {
      calls: totalCalls,
      priced_calls: summaryB.priced_calls + summaryC.priced_calls,
      baseline_cost_usd: summaryB.cost_usd,
      candidate_cost_usd: summaryC.cost_usd,
      recorded_cost_usd: fromNano(toNano(summaryB.cost_usd) + toNano(summaryC.cost_usd)),
      // The arms served different traffic volumes: a difference of totals is not a saving.
      savings_usd: 'n/a',
    },
    caching: {
      enabled: false,
      rule: null,
      simulated_calls: 0,
      calls_without_content: 0,
      hit_rate: null,
      read_tokens: 0,
      write_tokens: 0,
      input_tokens: 0,
      savings_usd: null,
      token_counts: '',
      calibration: null,
    },
    latency: {
      projection: false,
      method: 'the recorded duration and time to first token of each arm’s calls.',
      source: null,
      note: null,
    },
    metrics,
    triangle: triangle(metrics, o.objectives),
    correction: {
      method: 'holm',
      family_size: withP.length,
      statement: `Holm step-down over the ${withP.length} metrics with a test (controls the family-wise error rate at 5%).`,
    },
    objectives: o.objectives,
    verdict: result,
    messages,
    assumptions: [
      'Unpaired design: the arms are different requests, so every interval compares two independent samples (Welch-type for means, unpaired bootstrap for percentiles and ratios, Newcombe for rates).',
      'Calls of one trace share its arm and are clustered by trace (cluster-robust standard errors, whole traces resampled); error rates use effective sample sizes (n / design effect).',
      `An arm is decided per trace: a trace is in the baseline arm when any of its spans has ${spec.attribute} = ${spec.baseline}, in the candidate arm for ${spec.candidate}; traces with both are left out.`,
      'Mann–Whitney U is a robustness check that assumes independent calls; the p-values Holm adjusts are the interval methods’ own.',
      'Differences between the arms include everything else that differed between them (time, traffic mix); see the time and traffic-mix notes.',
    ],
  }
}

/** A mean per arm (cost, scores): Welch cluster-robust difference, bootstrap ratio, Mann–Whitney. */
function meanRow(
  name: MetricRow['name'],
  label: string,
  unit: MetricRow['unit'],
  better: MetricRow['better'],
  bv: Float64Array,
  bt: Uint32Array | null,
  cv: Float64Array,
  ct: Uint32Array | null,
  resamples: number,
  seed: string | number,
  note: string | null,
): MetricRow {
  const welch = welchMeanDifference(bv, cv, bt && ct ? { baselineClusters: bt, candidateClusters: ct } : {})
  const candidateMean = ct ? clusteredMeanCI(cv, ct) : meanCI(cv)
  const [boot] = unpairedBootstrap(bv, cv, [{ kind: 'mean' }], {
    baselineClusters: bt ?? undefined,
    candidateClusters: ct ?? undefined,
    resamples,
    seed,
  })
  return {
    name,
    label,
    unit,
    better,
    baseline: finite(welch.baseline.estimate),
    candidate: finite(welch.candidate.estimate),
    ...differenceFields(welch, boot, candidateMean),
    p_value_adjusted: null,
    n: welch.n,
    clusters: welch.clusters,
    ...powerFields(welch.n, welch.se, welch.estimate, welch.p_value),
    method: `${welch.method}; ratio: ${boot?.method ?? ''}`,
    test: mwTest(mannWhitney(bv, cv)),
    win_tie_loss: null,
    projection: false,
    note,
  }
}

/**
 * A rate per arm (errors, pass/fail scores) from 0/1 items clustered by trace: each arm's
 * effective sample size is n / design effect (Kish), the Newcombe interval and the two-proportion
 * test are computed on effective counts, and the candidate's own interval is its Wilson bound.
 */
function rateRow(
  name: MetricRow['name'],
  label: string,
  better: MetricRow['better'],
  bv: Float64Array,
  bt: Uint32Array,
  cv: Float64Array,
  ct: Uint32Array,
): MetricRow {
  const effective = (v: Float64Array, t: Uint32Array) => {
    let x = 0
    for (const y of v) x += y
    const naive = meanCI(v).se
    const clustered = clusteredMeanCI(v, t).se
    const deff = naive > 0 && clustered > 0 ? Math.max(1, (clustered / naive) ** 2) : 1
    return { x, n: v.length, deff, ne: v.length / deff, xe: x / deff }
  }
  const eb = effective(bv, bt)
  const ec = effective(cv, ct)
  const diff = newcombeDifference(eb.xe, eb.ne, ec.xe, ec.ne)
  const test = twoProportionTest(eb.xe, eb.ne, ec.xe, ec.ne)
  const pooled = (eb.xe + ec.xe) / (eb.ne + ec.ne)
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / eb.ne + 1 / ec.ne))
  const clustered = eb.deff > 1 || ec.deff > 1
  const n = eb.n + ec.n
  const zero = eb.x === 0 && ec.x === 0
  return {
    name,
    label,
    unit: 'rate',
    better,
    baseline: diff.baseline.rate,
    candidate: diff.candidate.rate,
    delta: diff.estimate,
    ci_low: diff.ci_low,
    ci_high: diff.ci_high,
    ratio: null,
    ratio_ci_low: null,
    ratio_ci_high: null,
    candidate_ci_low: diff.candidate.ci_low,
    candidate_ci_high: diff.candidate.ci_high,
    p_value: test.p_value,
    p_value_adjusted: null,
    n,
    clusters: new Set(bt).size + new Set(ct).size,
    ...powerFields(n, se, diff.estimate, test.p_value),
    method:
      `${diff.method}${clustered ? `, on effective sample sizes (design effects ${eb.deff.toFixed(2)} and ${ec.deff.toFixed(2)} from clustering by trace)` : ''}; ` +
      test.method,
    test: {
      name: 'two-proportion z test',
      statistic: test.statistic,
      p_value: test.p_value,
      method: test.method,
    },
    win_tie_loss: null,
    projection: false,
    note: zero
      ? `0 of ${eb.n} and 0 of ${ec.n}: both rates are below about 3/n with 95% confidence (rule of three), not 0%`
      : null,
  }
}
