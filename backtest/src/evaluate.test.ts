/**
 * Evaluating both arms of a replay, quality in the verdict, and the replay report's ratio and
 * percentile intervals.
 *
 * Reference values: token F1 from the SQuAD v2.0 official evaluation script (`normalize_answer`,
 * `compute_f1`, transcribed and run under Python 3); paired statistics from SciPy 1.17.1
 * (`stats.ttest_rel(c, b).confidence_interval()`, `stats.t.interval`, `stats.binomtest(...).pvalue`
 * and `.proportion_ci(method='wilson')`).
 *
 * End to end: recorded calls in the real embedded engine, `BacktestService` in replay mode through
 * the real `openai` client (SDK-wrapped) against the local fake OpenAI server, whose answers are
 * chosen per question: a good candidate (the recorded answer, shortened on one trace in four) and
 * a bad one (a non-answer on four traces in five).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { defineEvaluator, type EvaluationRule, textOf } from '@hindsight/quality'
import { type FakeOpenAI, initInMemory, startFakeOpenAI } from '@hindsight/sdk/testing'
import { evaluationSchema, objectivesSchema } from './candidate'
import type { Cohort } from './cohort'
import { type EvaluatorQuality, evaluateReplay, loadArmScores, rulesForCohort, tokenF1 } from './evaluate'
import { qualityRow } from './evaluate-metrics'
import { ReplayCallStore } from './replay/store'
import { type MetricRow, renderReport, verdict } from './report'
import { BacktestService } from './service'

const P = 'project-evaluate'
const T0 = new Date('2026-06-01T00:00:00Z')
const MIN = 60_000
const FILTER = { from: T0.toISOString(), to: new Date(T0.getTime() + 24 * 60 * MIN).toISOString() }
const TRACES = 24

const close = (actual: number | null | undefined, expected: number, tol = 1e-9) =>
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) <= tol,
    `${actual} ≉ ${expected}`,
  )

const recordedAnswer = (k: number) => `answer ${k}: the capital is City${k} and the river is River${k}`

describe('tokenF1 (SQuAD v2.0 compute_f1, reference values from the official script under Python 3)', () => {
  const cases: Array<[string, string, number]> = [
    ['The Eiffel Tower is in Paris.', 'Paris, the capital of France.', 0.22222222222222224],
    ['the cat sat on the mat', 'a cat sat on a mat', 1],
    ['Denver Broncos', 'Denver Broncos won Super Bowl 50!', 0.5],
    ['one two two three', 'two two two four', 0.5],
    ['', '', 1],
    ['Hello', '', 0],
    ['Completely different', 'nothing in common', 0],
  ]
  for (const [answer, reference, expected] of cases)
    test(`${JSON.stringify(answer)} vs ${JSON.stringify(reference)} = ${expected}`, () =>
      close(tokenF1(answer, reference), expected, 1e-12))
})

function quality(
  name: string,
  dataType: 'numeric' | 'boolean' | 'categorical',
  b: number[],
  c: number[],
  traces?: string[],
  better: 'higher' | 'lower' = 'higher',
): EvaluatorQuality {
  return {
    name,
    data_type: dataType,
    better,
    origin: 'request',
    rule_id: null,
    pairs: b.map((x, i) => ({
      trace_id: traces?.[i] ?? `t${i}`,
      span_id: `s${i}`,
      baseline: x,
      candidate: c[i] ?? null,
    })),
    failed: { baseline: 0, candidate: 0 },
    failure_examples: [],
  }
}

describe('quality rows: paired comparison of the two arms', () => {
  test('continuous score: paired t interval and p as scipy ttest_rel; candidate t interval; Wilcoxon V', () => {
    const b = [0.9, 0.8, 1.0, 0.7, 0.95, 0.85, 0.6, 0.9, 1.0, 0.75]
    const c = [0.7, 0.85, 0.9, 0.5, 0.9, 0.6, 0.65, 0.8, 0.95, 0.55]
    const row = qualityRow(quality('judge', 'numeric', b, c))
    // scipy.stats.ttest_rel(c, b): mean −0.105, CI (−0.1812488288970628, −0.02875117110293715), p 0.012415333159229339
    close(row.delta, -0.105)
    close(row.ci_low, -0.1812488288970628, 1e-9)
    close(row.ci_high, -0.02875117110293715, 1e-9)
    close(row.p_value, 0.012415333159229339, 1e-9)
    // scipy.stats.t.interval(0.95, 9, loc=mean(c), scale=sem(c)) = (0.6246521648407826, 0.8553478351592174)
    close(row.candidate_ci_low, 0.6246521648407826, 1e-9)
    close(row.candidate_ci_high, 0.8553478351592174, 1e-9)
    // Sum of the ranks of positive differences (two +0.05 among four tied |0.05|: 2.5 + 2.5).
    assert.equal(row.test?.name, 'Wilcoxon signed-rank')
    assert.equal(row.test?.statistic, 5)
    assert.deepEqual(row.win_tie_loss, { wins: 2, ties: 0, losses: 8 })
    assert.equal(row.n, 10)
    assert.equal(row.clusters, 10)
    assert.ok((row.mde ?? 0) > 0)
    assert.equal(row.n_needed, null) // significant
  })

  test('pass/fail score: McNemar exact, paired delta, Wilson interval for the candidate', () => {
    const b = [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]
    const c = [0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1]
    const row = qualityRow(quality('exact_match', 'boolean', b, c))
    // scipy ttest_rel(c, b): −0.4166666666666667, CI (−0.743836722360674, −0.08949661097265937)
    close(row.delta, -0.4166666666666667)
    close(row.ci_low, -0.743836722360674, 1e-9)
    close(row.ci_high, -0.08949661097265937, 1e-9)
    // scipy.stats.binomtest(0, 5, 0.5).pvalue = 0.0625 (5 discordant pairs, all baseline-only)
    assert.equal(row.test?.name, 'McNemar')
    close(row.test?.p_value, 0.0625, 1e-12)
    // binomtest(6, 12).proportion_ci(method='wilson') = (0.2537815976337061, 0.7462184023662939)
    close(row.candidate_ci_low, 0.2537815976337061, 1e-9)
    close(row.candidate_ci_high, 0.7462184023662939, 1e-9)
    assert.equal(row.unit, 'rate')
  })

  test('identical arms: no zero-width interval; the rule of three on traces bounds a pass/fail delta', () => {
    const same = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 0 : 1))
    const row = qualityRow(quality('exact_match', 'boolean', same, same))
    close(row.delta, 0)
    close(row.ci_low, -0.1)
    close(row.ci_high, 0.1)
    assert.match(row.note ?? '', /rule-of-three/)
    const numeric = qualityRow(quality('f1', 'numeric', [0.5, 0.7, 0.9], [0.5, 0.7, 0.9]))
    assert.equal(numeric.ci_low, null)
    assert.match(numeric.note ?? '', /no variation/)
  })

  test('a bounded numeric score that drops the same on every call gets the rule-of-three bound and fails', () => {
    // reference_f1 (0–1): every one of 20 traces drops from 1 to 0. With its range known, fewer than
    // 3/20 of traces could differ from −1, each by at most 1 + |−1| = 2: the interval is [−1, −0.7].
    const e = {
      ...quality('reference_f1', 'numeric', Array(20).fill(1), Array(20).fill(0)),
      range: { min: 0, max: 1 },
    }
    const r = qualityRow(e)
    close(r.delta, -1)
    close(r.ci_low, -1)
    close(r.ci_high, -0.7)
    assert.match(r.note ?? '', /rule-of-three/)
    const v = verdict(objectivesSchema.parse({ max_quality_regression: 0.05 }), [r], 20, null)
    assert.equal(v.result, 'fail')
  })

  test('failed evaluations are left out and counted; categorical scores are not compared', () => {
    const e = quality('judge', 'numeric', [1, 2, 3, 4], [2, 2, 4, 5])
    e.pairs.push({ trace_id: 'tx', span_id: 'sx', baseline: 3, candidate: null })
    e.failed.candidate = 1
    e.failure_examples.push('candidate: judge timed out (2 attempts)')
    const row = qualityRow(e)
    assert.equal(row.n, 4)
    assert.match(row.note ?? '', /0 baseline and 1 candidate evaluations failed.*timed out/)
    const cat = qualityRow(quality('tone', 'categorical', [0, 1], [1, 1]))
    assert.equal(cat.delta, null)
    assert.match(cat.note ?? '', /categorical/)
  })

  test('calls of one trace are clustered', () => {
    const traces = Array.from({ length: 20 }, (_, i) => `t${Math.floor(i / 2)}`)
    const b = Array.from({ length: 20 }, (_, i) => 0.5 + (i % 5) / 10)
    const c = b.map((x, i) => x - (i % 2 === 0 ? 0.1 : 0.05) + (Math.floor(i / 2) % 3) / 20)
    const row = qualityRow(quality('f1', 'numeric', b, c, traces))
    assert.equal(row.n, 20)
    assert.equal(row.clusters, 10)
    assert.match(row.method, /cluster/)
  })
})

function row(over: Partial<MetricRow>): MetricRow {
  return {
    name: 'quality',
    label: 'Quality',
    unit: 'score',
    better: 'higher',
    baseline: 0.8,
    candidate: 0.78,
    delta: -0.02,
    ci_low: -0.04,
    ci_high: 0,
    ratio: null,
    ratio_ci_low: null,
    ratio_ci_high: null,
    candidate_ci_low: 0.75,
    candidate_ci_high: 0.81,
    p_value: 0.05,
    p_value_adjusted: null,
    n: 200,
    clusters: 200,
    mde: 0.03,
    n_needed: null,
    method: '',
    test: null,
    win_tie_loss: null,
    projection: false,
    note: null,
    ...over,
  }
}

describe('quality in the verdict', () => {
  const judge = (o: Record<string, unknown>, metrics: MetricRow[]) =>
    verdict(objectivesSchema.parse(o), metrics, 200, null)

  test('no regression beyond a margin: pass only when the delta interval clears −margin', () => {
    const q = row({ score: 'f1', ci_low: -0.04, ci_high: 0 })
    const pass = judge({ max_quality_regression: 0.05 }, [q])
    assert.equal(pass.result, 'pass')
    assert.equal(pass.checks[0]?.threshold, -0.05)
    assert.equal(pass.checks[0]?.comparator, '≥')
    assert.equal(pass.checks[0]?.score, 'f1')
    const open = judge({ max_quality_regression: 0.03 }, [q])
    assert.equal(open.result, 'inconclusive')
    assert.ok((open.checks[0]?.n_needed ?? 0) > 200)
    const fail = judge({ max_quality_regression: 0.01 }, [
      row({ delta: -0.1, ci_low: -0.15, ci_high: -0.05 }),
    ])
    assert.equal(fail.result, 'fail')
    assert.match(fail.summary, /delta \(candidate − baseline\).*< -0\.01/)
  })

  test('a lower-is-better score (refusal rate) regresses upwards', () => {
    const refusal = row({ score: 'refusal', better: 'lower', delta: 0.01, ci_low: -0.01, ci_high: 0.03 })
    const v = judge({ max_quality_regression: 0.05 }, [refusal])
    assert.equal(v.result, 'pass')
    assert.equal(v.checks[0]?.threshold, 0.05)
    assert.equal(v.checks[0]?.comparator, '≤')
    assert.equal(judge({ max_quality_regression: 0 }, [refusal]).result, 'inconclusive')
  })

  test('min_quality uses the candidate interval of the chosen score', () => {
    const a = row({ score: 'a', candidate_ci_low: 0.6, candidate_ci_high: 0.7 })
    const b = row({ score: 'b', candidate_ci_low: 0.91, candidate_ci_high: 0.95 })
    assert.equal(judge({ min_quality: 0.9 }, [a, b]).result, 'fail') // the first evaluator's
    assert.equal(judge({ min_quality: 0.9, quality_score: 'b' }, [a, b]).result, 'pass')
    const missing = judge({ min_quality: 0.9, quality_score: 'c' }, [a, b])
    assert.equal(missing.result, 'inconclusive')
    assert.match(missing.summary, /no evaluator named 'c'/)
    const none = judge({ min_quality: 0.9 }, [])
    assert.match(none.summary, /quality needs a replay with evaluators/)
  })
})

describe('online rules that apply to a cohort', () => {
  const rule = (id: string, filter: EvaluationRule['filter'], enabled = true): EvaluationRule => ({
    id,
    name: id,
    filter,
    sampling_rate: 1,
    evaluators: [{ type: 'builtin', evaluator: 'valid_json' }],
    enabled,
    created_at: '',
    updated_at: '',
  })
  test('route, model and release must overlap; a cohort without a route only matches rules without one', () => {
    const rules = [
      rule('support', { route: ['/support'] }),
      rule('sales', { route: ['/sales'] }),
      rule('all', {}),
      rule('gpt', { model: ['gpt-4o'] }),
      rule('off', { route: ['/support'] }, false),
    ]
    const cohort = (filter: Partial<Cohort['filter']>) =>
      ({ filter: { ...FILTER, ...filter } }) as unknown as Cohort
    assert.deepEqual(
      rulesForCohort(rules, cohort({ route: ['/support'], model: ['gpt-4o'] })).map((r) => r.id),
      ['support', 'all', 'gpt'],
    )
    assert.deepEqual(
      rulesForCohort(rules, cohort({})).map((r) => r.id),
      ['all'],
    )
  })
  test('the evaluation spec needs evaluators or rules', () => {
    assert.throws(() => evaluationSchema.parse({}), /give evaluators, rules, or both/)
    assert.equal(evaluationSchema.parse({ rules: 'route' }).reference, 'recorded')
  })
})

// ------------------------------------------------------------------------------------------------
// End to end

let storage: Storage
let dir: string
let fake: FakeOpenAI
let mode: 'good' | 'bad' = 'good'
let counted = 0

function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < TRACES; k++) {
    const trace = hexId(0xe000 + k, 32)
    const start = new Date(T0.getTime() + k * 20 * MIN)
    const user = { role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }
    const common = {
      project_id: P,
      trace_id: trace,
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 100,
      output_tokens: 40,
      output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: recordedAnswer(k) }] }]),
      cost_usd: (0.0005 + k * 0.00001).toFixed(9),
      attributes: { 'gen_ai.request.temperature': '0.2' },
    }
    rows.push(
      span({
        ...common,
        span_id: hexId(0xe000 + k * 2, 16),
        start,
        durationMs: 900 + 10 * k,
        input: JSON.stringify([user]),
      }),
    )
    if (k % 6 === 0) {
      // A second LLM step in the trace (clustered with the first).
      rows.push(
        span({
          ...common,
          span_id: hexId(0xe001 + k * 2, 16),
          start: new Date(start.getTime() + MIN),
          durationMs: 1100,
          input: JSON.stringify([user, { role: 'user', parts: [{ type: 'text', content: 'and then?' }] }]),
        }),
      )
    }
  }
  return rows
}

/** The fake candidate: which answer for which question, by mode. */
function answerFor(body: Record<string, unknown>): string {
  const match = /question (\d+)/.exec(JSON.stringify(body.messages))
  const k = Number(match?.[1] ?? -1)
  if (mode === 'good') return k % 4 === 0 ? `answer ${k}: the capital is City${k}` : recordedAnswer(k)
  return k % 5 === 0 ? recordedAnswer(k) : 'I do not know.'
}

const counter = defineEvaluator({
  name: 'counted',
  dataType: 'numeric',
  evaluate: ({ output }) => {
    counted++
    return { value: textOf(output).length, reason: 'length' }
  },
})

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-evaluate-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_evaluate_test' })
  await migrate(storage)
  await insertSpans(storage, fixture())
  fake = await startFakeOpenAI({
    reply: (body) => ({ content: answerFor(body), usage: { prompt_tokens: 12, completion_tokens: 8 } }),
  })
  initInMemory()
})

after(async () => {
  await fake.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const request = (objectives: Record<string, unknown>, evaluators: unknown[]) => ({
  mode: 'replay',
  cohort: { filter: FILTER },
  candidate: {
    provider: 'openai',
    model: 'cand-model',
    base_url: fake.baseURL,
    price: { input: 10, output: 10 },
    concurrency: 4,
  },
  objectives,
  evaluation: { evaluators, concurrency: 4 },
  options: { resamples: 10_000, seed: 'evaluate-test' },
})

describe('replay with evaluators, end to end', () => {
  test('a candidate that is worse on quality fails the verdict on quality', async () => {
    mode = 'bad'
    const service = new BacktestService(storage, { replayApiKey: 'k' })
    const { record, report } = await service.run(
      P,
      request({ max_quality_regression: 0.05, quality_score: 'exact_match' }, [
        { type: 'builtin', evaluator: 'exact_match' },
        { type: 'custom', evaluator: 'reference_f1' },
      ]),
    )
    assert.equal(record.status, 'done')
    assert.equal(report.replay?.paired_calls, 28)
    const exact = report.metrics.find((m) => m.name === 'quality' && m.score === 'exact_match')
    assert.ok(exact)
    // The recording compared with itself passes; the candidate answers 5 of 24 traces (6 calls).
    close(exact.baseline, 1)
    close(exact.candidate, 6 / 28)
    assert.equal(exact.test?.name, 'McNemar')
    assert.deepEqual(exact.win_tie_loss, { wins: 0, ties: 6, losses: 22 })
    assert.equal(exact.clusters, 24)
    assert.ok((exact.ci_high ?? 0) < -0.05)
    const f1 = report.metrics.find((m) => m.score === 'reference_f1')
    assert.equal(f1?.test?.name, 'Wilcoxon signed-rank')
    assert.equal(report.verdict.result, 'fail')
    const check = report.verdict.checks[0]
    assert.equal(check?.objective, 'max_quality_regression')
    assert.equal(check?.result, 'fail')
    assert.match(report.verdict.summary, /exact_match/)
    // Stored as scores, tagged with the back-test and the arm.
    const scores = await loadArmScores(storage, P, record.id)
    assert.equal(scores.size, 28 * 2 * 2)
    const keys = [...scores.keys()]
    assert.equal(keys.filter((k) => k.startsWith('baseline/')).length, 56)
    assert.equal(keys.filter((k) => k.startsWith('candidate/')).length, 56)
    assert.equal(report.quality?.scored, 112)
    assert.equal(report.quality?.primary, 'exact_match')
    // Holm over every metric with a test, quality included.
    assert.ok(report.correction.family_size >= 6)
    assert.match(report.correction.statement, /Holm/)
    for (const m of report.metrics.filter((x) => x.p_value !== null))
      assert.ok((m.p_value_adjusted ?? -1) >= (m.p_value ?? 2) - 1e-15)
  })

  test('a candidate close to the recording passes quality, cost ratio and latency p95 objectives', async () => {
    mode = 'good'
    counted = 0
    const service = new BacktestService(storage, { replayApiKey: 'k', evaluation: { custom: [counter] } })
    const { record, report } = await service.run(
      P,
      request(
        {
          max_quality_regression: 0.2,
          min_quality: 0.7,
          quality_score: 'reference_f1',
          cost_per_call_max_ratio: 0.8,
          latency_p95_max_ms: 60_000,
        },
        [
          { type: 'custom', evaluator: 'reference_f1' },
          { type: 'builtin', evaluator: 'exact_match' },
          { type: 'custom', evaluator: 'counted' },
        ],
      ),
    )
    assert.equal(record.status, 'done')
    const f1 = report.metrics.find((m) => m.score === 'reference_f1')
    assert.ok(f1)
    close(f1.baseline, 1)
    // Traces 0, 4, 8, … (6 of 24; 7 calls with trace 0's and 12's second steps) answer 5 of 9 tokens: F1 = 10/14.
    const shortened = 6 + 2 // traces 0, 12 have two calls each
    close(f1.candidate, (28 - shortened + shortened * (10 / 14)) / 28, 1e-12)
    assert.ok((f1.ci_low ?? -1) > -0.2)
    assert.ok((f1.candidate_ci_low ?? 0) > 0.7)
    // Cost: 20 tokens at $10 / 1M = $0.0002 per call vs $0.0005–$0.00073 recorded → ratio with a bootstrap interval.
    const cost = report.metrics.find((m) => m.name === 'cost_per_call_usd')
    assert.ok(cost?.ratio_ci_low !== null && cost?.ratio_ci_high !== null)
    assert.ok((cost?.ratio_ci_high ?? 1) < 0.8)
    assert.ok(
      (cost?.ratio_ci_low ?? 0) <= (cost?.ratio ?? 0) && (cost?.ratio ?? 0) <= (cost?.ratio_ci_high ?? 0),
    )
    assert.match(cost?.method ?? '', /bootstrap/)
    assert.ok((cost?.mde ?? 0) > 0)
    const p95 = report.metrics.find((m) => m.name === 'latency_p95_ms')
    assert.ok(p95 && p95.candidate_ci_high !== null && p95.ratio_ci_low !== null)
    assert.ok((p95.ratio ?? 1) < 1) // the local fake answers far faster than 900+ ms
    assert.equal(report.verdict.result, 'pass', report.verdict.summary)
    assert.deepEqual(
      report.verdict.checks.map((c) => [c.objective, c.result]),
      [
        ['cost_per_call_max_ratio', 'pass'],
        ['latency_p95_max_ms', 'pass'],
        ['min_quality', 'pass'],
        ['max_quality_regression', 'pass'],
      ],
    )
    // The triangle: quality, cost and latency of both arms.
    assert.equal(report.triangle?.quality_score, 'reference_f1')
    close(report.triangle?.baseline.quality, 1)
    assert.ok(
      (report.triangle?.candidate.cost_per_call_usd ?? 1) <
        (report.triangle?.baseline.cost_per_call_usd ?? 0),
    )
    assert.ok(report.triangle?.candidate.latency_p95_ms !== null)
    // Exports render the new rows.
    const md = renderReport(report, 'md')
    assert.match(md, /Quality: reference_f1 \(mean\)/)
    assert.match(md, /McNemar/)
    assert.match(md, /Intelligence–cost–latency/)
    assert.match(md, /max_quality_regression \(reference_f1\) \| ≥ -0\.2/)
    const csv = renderReport(report, 'csv').split('\r\n')
    assert.match(
      csv[0] ?? '',
      /,score,test,test_p_value,wins,ties,losses,candidate_ci_low,candidate_ci_high$/,
    )
    assert.ok(csv.some((l) => l.startsWith('quality,rate,') && l.includes(',exact_match,McNemar,')))
    assert.ok(csv.some((l) => l.startsWith('objective:min_quality,')))
    const html = renderReport(report, 'html')
    assert.match(html, /Intelligence–cost–latency/)
    assert.match(html, /Quality: exact_match \(pass rate\)/)

    // A resumed evaluation reuses the stored scores: no evaluator runs again.
    assert.equal(counted, 56)
    const records = await new ReplayCallStore(storage).list(P, record.id)
    const cohort = { id: record.cohort_id, filter: FILTER } as unknown as Cohort
    const again = await evaluateReplay(storage, {
      projectId: P,
      backtestId: record.id,
      cohort,
      records,
      evaluation: evaluationSchema.parse({
        evaluators: [
          { type: 'custom', evaluator: 'reference_f1' },
          { type: 'custom', evaluator: 'counted' },
        ],
      }),
      custom: [counter],
    })
    assert.equal(counted, 56)
    assert.equal(again.scored, 0)
    assert.equal(again.resumed, 28 * 2 * 2)
    const f1Again = again.evaluators[0]?.pairs.filter((p) => p.candidate !== null && p.candidate < 1).length
    assert.equal(f1Again, shortened)
  })
})
