/**
 * `hindsight backtest what-if` against a running all-in-one server (REST, the project of the key,
 * progress polled), and in --direct mode against the storage opened in-process.
 */
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { type FakeOpenAI, startFakeOpenAI } from '@hindsight/sdk/testing'
import { type AllInOne, startAllInOne } from '../all-in-one'
import { tempDataDir, testConfig } from '../test-support'
import {
  inferProvider,
  parseEvaluator,
  parseReplayOptions,
  parseWhatIfOptions,
  replay,
  replayRequest,
  whatIf,
  whatIfRequest,
} from './backtest'

const API_KEY = 'hs_backtest_cli_key_0123456789'
// Recent traffic: the all-in-one server applies data retention to old spans.
const T0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000)
const dataDir = tempDataDir('backtest')
let app: AllInOne
let fake: FakeOpenAI

function fixture(projectId: string): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 20; k++) {
    rows.push(
      span({
        project_id: projectId,
        trace_id: hexId(0xc000 + k, 32),
        start: new Date(T0.getTime() + k * 60_000),
        durationMs: 1000 + k * 20,
        model: 'gpt-4o',
        route: k % 2 ? '/a' : '/b',
        input_tokens: 2000,
        output_tokens: 100,
      }),
    )
  }
  // For replay: 6 calls on route /r with recorded messages.
  for (let k = 0; k < 6; k++) {
    rows.push(
      span({
        project_id: projectId,
        trace_id: hexId(0xc100 + k, 32),
        start: new Date(T0.getTime() + k * 60_000 + 30_000),
        durationMs: 900,
        model: 'gpt-4o',
        route: '/r',
        input_tokens: 100,
        output_tokens: 50,
        cost_usd: '0.001000000',
        input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
        output: `answer ${k}`,
      }),
    )
  }
  return rows
}

before(async () => {
  fake = await startFakeOpenAI({
    reply: { content: 'candidate answer', usage: { prompt_tokens: 12, completion_tokens: 8 } },
  })
  app = await startAllInOne(
    testConfig(dataDir, {
      HINDSIGHT_INIT_PROJECT: 'BacktestCli',
      HINDSIGHT_INIT_API_KEY: API_KEY,
      CLICKHOUSE_DATABASE: 'hs_cli_backtest',
    }),
    { next: false, log: () => {} },
  )
  await insertSpans(app.storage, fixture(app.projects.main.id))
})

after(async () => {
  await fake?.close()
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const base = {
  from: T0.toISOString(),
  to: new Date(T0.getTime() + 3_600_000).toISOString(),
  candidateModel: 'gpt-4o-mini',
  progress: false,
} as const

describe('backtest what-if (CLI)', () => {
  test('asks the running server with the key and prints the report', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    const { report, output } = await whatIf(config, {
      ...base,
      url: app.webUrl,
      route: ['/a'],
      maxCostRatio: 0.5,
      format: 'md',
      resamples: 1000,
    })
    assert.equal(report.cohort.calls, 10)
    // 10 × (2,000 × $2.5 + 100 × $10)/1M vs 10 × (2,000 × $0.15 + 100 × $0.6)/1M.
    assert.equal(report.totals.baseline_cost_usd, '0.060000000')
    assert.equal(report.totals.candidate_cost_usd, '0.003600000')
    assert.equal(report.verdict.result, 'pass')
    assert.match(output, /\*\*Verdict: PASS\*\*/)
    const csv = await whatIf(config, { ...base, url: app.webUrl, format: 'csv', resamples: 1000 })
    assert.match(csv.output, /^metric,unit,baseline/)
  })

  test('a refused request is an error that says why', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    await assert.rejects(
      whatIf(config, { ...base, url: app.webUrl, candidateModel: 'x-unknown', format: 'json' }),
      /refused \(400\): unknown candidate price/,
    )
    const noServer = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY })
    await assert.rejects(
      whatIf(noServer, { ...base, url: 'http://127.0.0.1:9', format: 'json' }),
      /Nothing answers at http:\/\/127\.0\.0\.1:9/,
    )
  })

  test('options: provider inferred from the model, choices checked, request built', () => {
    assert.equal(inferProvider('claude-sonnet-4-5'), 'anthropic')
    assert.equal(inferProvider('gemini-2.5-flash'), 'gcp.gemini')
    assert.equal(inferProvider('gpt-4.1-mini'), 'openai')
    assert.throws(
      () => parseWhatIfOptions({ candidateModel: 'x', caching: 'maybe' }),
      /--caching must be one of on, off/,
    )
    const options = parseWhatIfOptions({
      candidateModel: 'claude-haiku-4-5',
      caching: 'on',
      sample: 50,
      seed: 's',
      format: 'json',
    })
    const request = whatIfRequest(options, new Date('2026-05-11T00:00:00Z'))
    assert.deepEqual(request.candidate, {
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      caching: 'on',
      cache_ttl: '5m',
      prompt: {},
    })
    assert.equal((request.cohort as { filter: { from: string } }).filter.from, '2026-05-04T00:00:00.000Z')
    assert.throws(() => whatIfRequest({ ...options, from: 'last week' }), /--from must be an ISO 8601 time/)
  })
})

describe('backtest replay (CLI)', () => {
  test('replays the recorded calls against --base-url through the running server, with a budget', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    const before = fake.requests.length
    const { report, output } = await replay(config, {
      ...base,
      url: app.webUrl,
      route: ['/r'],
      candidateModel: 'cand-model',
      baseUrl: fake.baseURL,
      priceInput: 1000,
      priceOutput: 1000,
      concurrency: 2,
      format: 'md',
    })
    assert.equal(report.mode, 'replay')
    assert.equal(report.replay?.paired_calls, 6)
    const sent = fake.requests.slice(before)
    assert.equal(sent.length, 6)
    for (const body of sent) assert.equal(body.model, 'cand-model')
    assert.equal(report.metrics.find((m) => m.name === 'cost_per_call_usd')?.n, 6)
    assert.match(output, /# Back-test \(replay\)/)

    const capped = await replay(config, {
      ...base,
      url: app.webUrl,
      route: ['/r'],
      candidateModel: 'cand-model',
      baseUrl: fake.baseURL,
      priceInput: 1000,
      priceOutput: 1000,
      concurrency: 1,
      budget: 0.03,
      format: 'json',
    })
    assert.equal(capped.report.replay?.status, 'stopped_budget')
    assert.equal(capped.report.replay?.paired_calls, 2) // $0.02, $0.04 ≥ $0.03: stop
  })

  test('evaluates both arms with --evaluator and judges them against the quality objectives', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    const { report, output } = await replay(config, {
      ...parseReplayOptions({
        candidateModel: 'cand-model',
        baseUrl: fake.baseURL,
        evaluator: ['exact_match', 'reference_f1'],
        maxQualityRegression: 0.1,
        minQuality: 0.8,
        qualityScore: 'exact_match',
        priceInput: 1,
        priceOutput: 1,
        format: 'md',
        route: ['/r'],
      }),
      ...base,
      candidateModel: 'cand-model',
      url: app.webUrl,
    })
    // The fake answers "candidate answer" to every "question k" recorded as "answer k".
    const exact = report.metrics.find((m) => m.name === 'quality' && m.score === 'exact_match')
    assert.equal(exact?.baseline, 1)
    assert.equal(exact?.candidate, 0)
    assert.deepEqual(exact?.win_tie_loss, { wins: 0, ties: 0, losses: 6 })
    assert.ok(report.metrics.some((m) => m.name === 'quality' && m.score === 'reference_f1'))
    assert.equal(report.quality?.primary, 'exact_match')
    // 0 of 6 exact: the candidate's pass rate (Wilson upper bound 0.39) is wholly below 0.8 → fail;
    // the regression −1 with 6 identical differences gets the rule-of-three bound [−1, 0], which still
    // contains −0.1 → inconclusive rather than a guess.
    assert.equal(report.verdict.result, 'fail', JSON.stringify(report.verdict))
    assert.deepEqual(
      report.verdict.checks.map((c) => [c.objective, c.comparator, c.result]),
      [
        ['min_quality', '≥', 'fail'],
        ['max_quality_regression', '≥', 'inconclusive'],
      ],
    )
    assert.match(output, /exact_match/)
    assert.match(output, /max_quality_regression/)
  })

  test('evaluator shorthand, judge options and an --evaluation file', () => {
    assert.deepEqual(parseEvaluator('exact_match'), { type: 'builtin', evaluator: 'exact_match' })
    assert.deepEqual(parseEvaluator('reference_f1'), { type: 'custom', evaluator: 'reference_f1' })
    assert.deepEqual(parseEvaluator('contains:refund, order id'), {
      type: 'builtin',
      evaluator: 'contains',
      options: { values: ['refund', 'order id'] },
    })
    assert.deepEqual(parseEvaluator('length_bounds:-500'), {
      type: 'builtin',
      evaluator: 'length_bounds',
      options: { max: 500 },
    })
    assert.throws(() => parseEvaluator('judge:correctness'), /needs --judge-model/)
    assert.throws(() => parseEvaluator('bleu'), /--evaluator 'bleu' is not one of/)
    const file = join(dataDir, 'evaluation.json')
    writeFileSync(
      file,
      JSON.stringify({ evaluators: [{ type: 'builtin', evaluator: 'refusal' }], reference: 'recorded' }),
    )
    const options = parseReplayOptions({
      candidateModel: 'claude-haiku-4-5',
      evaluator: ['valid_json', 'judge:helpfulness'],
      evaluation: file,
      onlineRules: true,
      judgeModel: 'gpt-4o-mini',
      judgeKeyEnv: 'JUDGE_KEY',
      minQuality: 0.8,
      maxQualityRegression: 0.02,
      stream: true,
      format: 'json',
    })
    // A Claude candidate without --base-url goes to Anthropic's Messages API.
    const request = replayRequest(options, new Date('2026-05-11T00:00:00Z'))
    assert.equal(request.candidate?.api, 'anthropic')
    assert.equal(request.candidate?.base_url, undefined)
    assert.deepEqual(request.candidate?.parameters, { stream: true })
    assert.deepEqual(request.objectives, { min_quality: 0.8, max_quality_regression: 0.02 })
    assert.deepEqual(request.evaluation, {
      evaluators: [
        { type: 'builtin', evaluator: 'refusal' },
        { type: 'builtin', evaluator: 'valid_json' },
        {
          type: 'judge',
          rubric: 'helpfulness',
          endpoint: { provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: 'JUDGE_KEY' },
        },
      ],
      reference: 'recorded',
      rules: 'route',
    })
    // --judge-model alone adds a correctness judge.
    const judged = replayRequest(
      parseReplayOptions({
        candidateModel: 'm',
        baseUrl: 'http://h/v1',
        judgeModel: 'claude-haiku-4-5',
        format: 'json',
      }),
    )
    assert.deepEqual(judged.evaluation?.evaluators, [
      {
        type: 'judge',
        rubric: 'correctness',
        endpoint: { provider: 'anthropic', model: 'claude-haiku-4-5' },
      },
    ])
    assert.throws(
      () => parseReplayOptions({ candidateModel: 'm', baseUrl: 'http://h/v1', judgeKeyEnv: 'K' }),
      /need --judge-model/,
    )
    writeFileSync(file, '{"evaluators": [{"type": "builtin", "evaluator": "bleu"}]}')
    assert.throws(
      () =>
        replayRequest(parseReplayOptions({ candidateModel: 'm', baseUrl: 'http://h/v1', evaluation: file })),
      /evaluation\.evaluators\.0/,
    )
    // No evaluator: no evaluation (cost and latency only).
    assert.equal(
      replayRequest(parseReplayOptions({ candidateModel: 'm', baseUrl: 'http://h/v1' })).evaluation,
      undefined,
    )
  })

  test('options: --base-url required, budget and concurrency checked, request built', () => {
    assert.throws(() => parseReplayOptions({ candidateModel: 'x' }), /--base-url is required/)
    assert.throws(
      () => parseReplayOptions({ candidateModel: 'claude-sonnet-4-5', api: 'openai' }),
      /--base-url is required/,
    )
    assert.throws(() => parseReplayOptions({ candidateModel: 'x', api: 'gemini' }), /--api must be one of/)
    assert.throws(
      () => parseReplayOptions({ candidateModel: 'x', baseUrl: 'http://h/v1', concurrency: 0 }),
      /--concurrency must be an integer/,
    )
    const options = parseReplayOptions({
      candidateModel: 'llama-3',
      baseUrl: 'http://localhost:8000/v1',
      budget: 2,
      concurrency: 4,
      format: 'json',
    })
    const request = replayRequest(options, new Date('2026-05-11T00:00:00Z'))
    assert.equal(request.mode, 'replay')
    assert.deepEqual(request.candidate, {
      provider: 'openai',
      model: 'llama-3',
      caching: 'off',
      cache_ttl: '5m',
      prompt: {},
      base_url: 'http://localhost:8000/v1',
      budget_usd: 2,
      concurrency: 4,
    })
    assert.throws(() => replayRequest({ ...options, baseUrl: 'ftp://x' }), /--base-url must be an http/)
  })
})
