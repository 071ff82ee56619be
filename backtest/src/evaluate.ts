/**
 * Evaluating both arms of a replay with the same evaluators: for every call the candidate
 * answered, the recorded (baseline) answer and the candidate's answer are scored by each
 * evaluator — built-ins, LLM judges, custom TypeScript evaluators, or the evaluators of the
 * project's online rules — and the results are stored as quality scores (source `evaluator`)
 * tagged with the back-test id and the arm. Scores already stored for this back-test are reused,
 * so a resumed run never pays for a judge call twice. The statistics are in `evaluate-metrics.ts`.
 */
import { createHash } from 'node:crypto'
import type { Storage } from '@hindsight/collector/storage'
import {
  type BuildContext,
  buildEvaluator,
  defineEvaluator,
  type EvalInput,
  type EvalResult,
  type EvaluationRule,
  EvaluationRuleRepository,
  type Evaluator,
  type EvaluatorSpec,
  evalFailure,
  type JudgeSpanSink,
  resultToScore,
  runEvaluator,
  type ScoreDataType,
  type ScoreInput,
  ScoreRepository,
  specName,
  textOf,
} from '@hindsight/quality'
import { z } from 'zod'
import type { EvaluationSpec } from './candidate'
import { type Cohort, cohortCallsWhere } from './cohort'
import type { ReplayCallRecord } from './replay/store'

/** Where the evaluators come from besides the request: custom ones, judge keys, judge spans. */
export interface EvaluationHooks {
  /** Custom evaluators a `{ type: 'custom', evaluator }` spec can name (`reference_f1` is built in). */
  custom?: ReadonlyMap<string, Evaluator> | readonly Evaluator[]
  /** Environment the judges' `apiKeyEnv` keys are read from. @default process.env */
  env?: Record<string, string | undefined>
  /** Records each judge call as an LLM span (e.g. the quality package's `judgeSpanSinkFor(storage)`). */
  spanSink?: JudgeSpanSink
  /** Judge defaults (tests shorten them). */
  judge?: BuildContext['judge']
  /** Time limit of one evaluation. @default the quality package's (120 s) */
  timeoutMs?: number
}

export interface EvaluateReplayOptions extends EvaluationHooks {
  projectId: string
  backtestId: string
  cohort: Cohort
  /** The replay's calls (failed ones are skipped: there is no candidate answer to score). */
  records: readonly ReplayCallRecord[]
  evaluation: EvaluationSpec
  signal?: AbortSignal
  /** After each evaluated call: done of total. */
  onProgress?: (done: number, total: number) => void
}

/** One evaluated call: each arm's score (a pass/fail as 1/0), or null when its evaluation failed. */
export interface ArmScores {
  trace_id: string
  span_id: string
  baseline: number | null
  candidate: number | null
}

/** What one evaluator said about both arms. */
export interface EvaluatorQuality {
  /** The score name (the evaluator's name). */
  name: string
  data_type: ScoreDataType
  /** `lower` for scores where less is better (`refusal`: true = refused). */
  better: 'higher' | 'lower'
  /** Bounds of the scores (0–1 for pass/fail), when the evaluator states them. */
  range?: { min: number; max: number }
  /** From the request's `evaluators` or from an online rule. */
  origin: 'request' | 'rule'
  rule_id: string | null
  pairs: ArmScores[]
  failed: { baseline: number; candidate: number }
  /** A few failure reasons, for the report. */
  failure_examples: string[]
}

/** The evaluation of a replay: per evaluator, the paired scores of every evaluated call. */
export interface QualityEvaluation {
  reference: EvaluationSpec['reference']
  evaluators: EvaluatorQuality[]
  /** Calls evaluated (the candidate answered them). */
  calls: number
  /** Scores written by this run, and found already stored (a resumed run). */
  scored: number
  resumed: number
  /** Judge cost of this run (USD), from the judges' usage. */
  eval_cost_usd: number
  messages: string[]
}

/** Arms of a back-test, as stored in the scores' `metadata.arm`. */
export type Arm = 'baseline' | 'candidate'

// ------------------------------------------------------------------------------------------------
// The back-test's own reference evaluator

const ARTICLES = /\b(a|an|the)\b/g
const PUNCTUATION = /[\p{P}\p{S}]/gu

/** Lower case, punctuation and English articles removed, split on whitespace (SQuAD's normalisation). */
export function answerTokens(text: string): string[] {
  return text.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ').split(/\s+/).filter(Boolean)
}

/**
 * Token-overlap F1 between an answer and a reference, as the SQuAD evaluation script computes it
 * (Rajpurkar et al. 2016/2018, `compute_f1`): normalise (lower case, strip punctuation and
 * articles), count the multiset overlap, F1 = 2PR/(P + R). Two empty answers agree (1); one
 * empty answer scores 0.
 */
export function tokenF1(answer: string, reference: string): number {
  const a = answerTokens(answer)
  const r = answerTokens(reference)
  if (a.length === 0 || r.length === 0) return a.length === r.length ? 1 : 0
  const counts = new Map<string, number>()
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1)
  let overlap = 0
  for (const t of a) {
    const k = counts.get(t) ?? 0
    if (k > 0) {
      overlap++
      counts.set(t, k - 1)
    }
  }
  if (overlap === 0) return 0
  const precision = overlap / a.length
  const recall = overlap / r.length
  return (2 * precision * recall) / (precision + recall)
}

/**
 * `reference_f1`: a continuous reference comparison — token F1 of the answer against the
 * reference (the recorded answer in a replay). Numeric, 0–1, higher is better.
 */
export const referenceF1: Evaluator<'numeric'> = defineEvaluator({
  name: 'reference_f1',
  dataType: 'numeric',
  description: 'Token-overlap F1 of the answer against the reference answer (SQuAD normalisation).',
  range: { min: 0, max: 1 },
  evaluate: (input) => {
    if (input.expected === undefined || input.expected === null)
      return evalFailure('no reference answer to compare with')
    const f1 = tokenF1(textOf(input.output), textOf(input.expected))
    return { value: f1, reason: `token F1 ${f1.toFixed(3)} against the reference` }
  },
})

// ------------------------------------------------------------------------------------------------
// Ids

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The trace id an arm's scores are stored under: derived from (back-test, arm, recorded call), so
 * back-test scores never count in the production quality of the recorded trace (the recorded
 * call is named in `metadata.replay_of`).
 */
export function armTraceId(backtestId: string, arm: Arm, traceId: string, spanId: string): string {
  return sha256(`${backtestId}\u0000${arm}\u0000${traceId}\u0000${spanId}`).slice(0, 32)
}

/** A score's id: re-evaluating the same (back-test, arm, call, evaluator) replaces, never adds. */
export function armScoreId(backtestId: string, arm: Arm, traceId: string, spanId: string, name: string) {
  return `bt-${sha256(`${backtestId}\u0000${arm}\u0000${traceId}\u0000${spanId}\u0000${name}`).slice(0, 48)}`
}

// ------------------------------------------------------------------------------------------------
// Building the evaluators

interface Planned {
  evaluator: Evaluator
  better: 'higher' | 'lower'
  origin: 'request' | 'rule'
  rule_id: string | null
}

const overlaps = (rule: readonly string[] | undefined, cohort: readonly string[] | undefined) =>
  rule === undefined || rule.length === 0 || cohort?.some((v) => rule.includes(v)) === true

/**
 * The online rules that apply to the cohort: each of the rule's route, model and release lists
 * must share a value with the cohort filter's (a rule without the field applies to any value; a
 * cohort without it only matches rules without it).
 */
export function rulesForCohort(rules: readonly EvaluationRule[], cohort: Cohort): EvaluationRule[] {
  const f = cohort.filter
  return rules.filter(
    (r) =>
      r.enabled &&
      overlaps(r.filter.route, f.route) &&
      overlaps(r.filter.model, f.model) &&
      overlaps(r.filter.release, f.release),
  )
}

function isEvaluatorList(
  given: ReadonlyMap<string, Evaluator> | readonly Evaluator[],
): given is readonly Evaluator[] {
  return Array.isArray(given)
}

async function plan(storage: Storage, o: EvaluateReplayOptions, messages: string[]): Promise<Planned[]> {
  const custom = new Map<string, Evaluator>([[referenceF1.name, referenceF1]])
  const given = o.custom ?? []
  const list: readonly Evaluator[] = isEvaluatorList(given) ? given : [...given.values()]
  for (const e of list) custom.set(e.name, e)
  const context: BuildContext = {
    custom,
    ...(o.spanSink ? { spanSink: o.spanSink } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.judge ? { judge: o.judge } : {}),
  }
  const specs: Array<{ spec: EvaluatorSpec; origin: 'request' | 'rule'; rule_id: string | null }> =
    o.evaluation.evaluators.map((spec) => ({ spec, origin: 'request' as const, rule_id: null }))
  const wanted = o.evaluation.rules
  if (wanted !== undefined) {
    const all = await new EvaluationRuleRepository(storage).list(o.projectId)
    let rules: EvaluationRule[]
    if (wanted === 'route') {
      rules = rulesForCohort(all, o.cohort)
      if (rules.length === 0)
        messages.push(
          "No enabled online evaluation rule applies to the cohort's route, model and release (evaluation.rules 'route').",
        )
    } else {
      rules = []
      for (const id of wanted) {
        const rule = all.find((r) => r.id === id)
        if (rule) rules.push(rule)
        else messages.push(`Online evaluation rule '${id}' does not exist in this project; it was skipped.`)
      }
    }
    for (const rule of rules)
      for (const spec of rule.evaluators) specs.push({ spec, origin: 'rule', rule_id: rule.id })
  }
  const planned: Planned[] = []
  const names = new Set<string>()
  for (const { spec, origin, rule_id } of specs) {
    const name = specName(spec)
    if (names.has(name)) {
      if (origin === 'rule') continue // a rule repeating a requested (or another rule's) score
      messages.push(`Evaluator '${name}' is named twice; the first one is used.`)
      continue
    }
    const built = buildEvaluator(spec, context)
    if (!built.ok) {
      messages.push(`Evaluator '${built.name}' could not be built: ${built.reason}.`)
      continue
    }
    names.add(name)
    const better = spec.type === 'builtin' && spec.evaluator === 'refusal' ? 'lower' : 'higher'
    planned.push({ evaluator: built.evaluator, better, origin, rule_id })
    if (
      spec.type === 'builtin' &&
      (spec.evaluator === 'citation_present' || spec.evaluator === 'citations_resolvable')
    )
      messages.push(
        `'${name}' reads citations recorded on a trace's spans; a replayed call has none, so it cannot score either arm here.`,
      )
    if (built.evaluator.dataType === 'categorical')
      messages.push(
        `'${name}' is categorical: its scores are stored but not compared (no mean or pass rate).`,
      )
  }
  return planned
}

// ------------------------------------------------------------------------------------------------
// Loading the recorded side and stored scores

const recordedRow = z.object({
  trace_id: z.string(),
  span_id: z.string(),
  input: z.string(),
  output: z.string(),
})

/** Recorded input and output of the cohort's LLM calls, by `trace/span`. */
async function loadRecorded(
  storage: Storage,
  projectId: string,
  cohort: Cohort,
): Promise<Map<string, { input: string; output: string }>> {
  const db = storage.database
  const { where, params } = cohortCallsWhere(db, projectId, cohort)
  const result = await storage.client.query({
    query: `
      SELECT trace_id, span_id, input, output
      FROM ${db}.spans FINAL
      WHERE ${where}`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const rows = z.array(recordedRow).parse(await result.json())
  return new Map(rows.map((r) => [`${r.trace_id}/${r.span_id}`, { input: r.input, output: r.output }]))
}

const storedRow = z.object({
  arm: z.string(),
  replay_of: z.string(),
  name: z.string(),
  status: z.string(),
  value: z.number(),
  comment: z.string(),
})

/** Scores this back-test already stored, by `arm/trace/span/name` (value null when failed). */
export async function loadArmScores(
  storage: Storage,
  projectId: string,
  backtestId: string,
): Promise<Map<string, { value: number | null; reason: string }>> {
  const result = await storage.client.query({
    query: `
      SELECT metadata['arm'] AS arm, metadata['replay_of'] AS replay_of, name, status, value, comment
      FROM ${storage.database}.scores FINAL
      WHERE project_id = {projectId:String} AND source = 'evaluator'
        AND metadata['backtest_id'] = {backtestId:String} AND status IN ('ok', 'failed')`,
    query_params: { projectId, backtestId },
    format: 'JSONEachRow',
  })
  const rows = z.array(storedRow).parse(await result.json())
  return new Map(
    rows.map((r) => [
      `${r.arm}/${r.replay_of}/${r.name}`,
      { value: r.status === 'ok' ? r.value : null, reason: r.comment },
    ]),
  )
}

function parseMaybeJson(text: string): unknown {
  const t = text.trim()
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as unknown
    } catch {}
  }
  return text
}

const numeric = (r: EvalResult): number | null =>
  r.status !== 'ok'
    ? null
    : typeof r.value === 'boolean'
      ? r.value
        ? 1
        : 0
      : typeof r.value === 'number'
        ? r.value
        : null

/** Scores per write (the repository's limit is 1,000). */
const FLUSH_AT = 500

/**
 * Score both arms of every answered call with the same evaluators and store the scores. Never
 * throws for an evaluator's failure (a failed score with the reason) nor for a rejected score
 * write (a message); throws only when reading storage does.
 */
export async function evaluateReplay(storage: Storage, o: EvaluateReplayOptions): Promise<QualityEvaluation> {
  const messages: string[] = []
  const planned = await plan(storage, o, messages)
  const answered = o.records.filter((r) => r.result.ok)
  const withoutText = answered.filter((r) => r.result.output_text === undefined).length
  const calls = answered.filter((r) => r.result.output_text !== undefined)
  if (withoutText > 0)
    messages.push(
      `${withoutText} replayed calls were recorded before answers were kept (no candidate text); they are not evaluated.`,
    )
  const out: QualityEvaluation = {
    reference: o.evaluation.reference,
    evaluators: planned.map((p) => ({
      name: p.evaluator.name,
      data_type: p.evaluator.dataType,
      better: p.better,
      ...((p.evaluator.dataType === 'boolean' || p.evaluator.range) && {
        range: p.evaluator.range ?? { min: 0, max: 1 },
      }),
      origin: p.origin,
      rule_id: p.rule_id,
      pairs: [],
      failed: { baseline: 0, candidate: 0 },
      failure_examples: [],
    })),
    calls: calls.length,
    scored: 0,
    resumed: 0,
    eval_cost_usd: 0,
    messages,
  }
  if (planned.length === 0 || calls.length === 0) {
    if (planned.length === 0) messages.push('No evaluator could run: quality is not compared.')
    return out
  }
  const [recorded, stored] = await Promise.all([
    loadRecorded(storage, o.projectId, o.cohort),
    loadArmScores(storage, o.projectId, o.backtestId),
  ])
  const scores = new ScoreRepository(storage)
  let pending: ScoreInput[] = []
  let writing: Promise<void> = Promise.resolve()
  let writeError: unknown = null
  const flush = (force: boolean) => {
    if (pending.length === 0 || (!force && pending.length < FLUSH_AT)) return
    const batch = pending
    pending = []
    writing = writing.then(async () => {
      try {
        await scores.create(o.projectId, batch)
      } catch (error) {
        writeError ??= error
      }
    })
  }
  let missingRecording = 0
  let next = 0
  let done = 0
  const evaluateCall = async (record: ReplayCallRecord) => {
    const key = `${record.trace_id}/${record.span_id}`
    const rec = recorded.get(key)
    if (!rec) {
      missingRecording++
      return
    }
    const baselineText = textOf(parseMaybeJson(rec.output))
    const answers: Record<Arm, string> = {
      baseline: baselineText,
      candidate: record.result.output_text ?? '',
    }
    const input = parseMaybeJson(rec.input)
    const inputs: Record<Arm, EvalInput> = {
      baseline: {
        input,
        output: answers.baseline,
        latencyMs: record.result.baseline.duration_ms,
        costUsd: record.result.baseline.cost_usd,
        metadata: { backtest_id: o.backtestId, arm: 'baseline' },
      },
      candidate: {
        input,
        output: answers.candidate,
        latencyMs: record.result.duration_ms,
        costUsd: record.result.cost_usd,
        metadata: { backtest_id: o.backtestId, arm: 'candidate' },
      },
    }
    if (o.evaluation.reference === 'recorded') {
      inputs.baseline.expected = baselineText
      inputs.candidate.expected = baselineText
    }
    await Promise.all(
      planned.map(async (p, k) => {
        const target = out.evaluators[k] as EvaluatorQuality
        const name = p.evaluator.name
        const pair: ArmScores = {
          trace_id: record.trace_id,
          span_id: record.span_id,
          baseline: null,
          candidate: null,
        }
        for (const arm of ['baseline', 'candidate'] as const) {
          const previous = stored.get(`${arm}/${key}/${name}`)
          let value: number | null
          let reason: string
          if (previous) {
            out.resumed++
            value = previous.value
            reason = previous.reason
          } else {
            const traceId = armTraceId(o.backtestId, arm, record.trace_id, record.span_id)
            const result = await runEvaluator(
              p.evaluator,
              inputs[arm],
              { projectId: o.projectId, traceId, ...(o.signal ? { signal: o.signal } : {}) },
              o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {},
            )
            out.eval_cost_usd += result.usage?.costUsd ?? 0
            value = numeric(result)
            reason = result.reason
            pending.push({
              ...resultToScore(result, { traceId }),
              id: armScoreId(o.backtestId, arm, record.trace_id, record.span_id, name),
              metadata: {
                backtest_id: o.backtestId,
                arm,
                replay_of: key,
                ...(p.rule_id ? { rule_id: p.rule_id } : {}),
              },
            })
            out.scored++
          }
          pair[arm] = value
          if (value === null) {
            target.failed[arm]++
            if (target.failure_examples.length < 3) target.failure_examples.push(`${arm}: ${reason}`)
          }
        }
        target.pairs.push(pair)
      }),
    )
    flush(false)
  }
  const worker = async () => {
    for (;;) {
      if (o.signal?.aborted) return
      const record = calls[next++]
      if (!record) return
      await evaluateCall(record)
      done++
      o.onProgress?.(done, calls.length)
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.evaluation.concurrency, calls.length) }, worker))
  flush(true)
  await writing
  if (writeError)
    messages.push(
      `Some scores could not be stored (${writeError instanceof Error ? writeError.message : String(writeError)}); the report uses them, a resumed run evaluates them again.`,
    )
  if (missingRecording > 0)
    messages.push(
      `${missingRecording} replayed calls have no recorded span any more; they are not evaluated.`,
    )
  if (o.signal?.aborted) messages.push(`Evaluation stopped after ${done} of ${calls.length} calls.`)
  // Pairs in recorded order (workers finish out of order), so reports are reproducible.
  const order = new Map(calls.map((r, i) => [`${r.trace_id}/${r.span_id}`, i]))
  for (const e of out.evaluators)
    e.pairs.sort(
      (a, b) =>
        (order.get(`${a.trace_id}/${a.span_id}`) ?? 0) - (order.get(`${b.trace_id}/${b.span_id}`) ?? 0),
    )
  return out
}
