import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  type FakeAnthropic,
  type FakeOpenAI,
  startFakeAnthropic,
  startFakeOpenAI,
} from '@hindsight/backtest/testing'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import type { Hono } from 'hono'
import { openRestApi, type RestApiFixture } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY_A = 'hs_backtest_rest_key_a_000001'
const KEY_B = 'hs_backtest_rest_key_b_000002'
const T0 = new Date('2026-05-04T00:00:00Z')
const FILTER = {
  from: T0.toISOString(),
  to: new Date(T0.getTime() + 86_400_000).toISOString(),
  model: ['gpt-4o'],
}
let api: RestApiFixture
let app: Hono
let fake: FakeOpenAI
/** Anthropic Messages: answers "answer k" to "question k" for even k, something else for odd k. */
let fakeAnthropic: FakeAnthropic
const REPLAY_FILTER = { ...FILTER, model: ['gpt-4o-mini'] }

/** 30 traces of two gpt-4o calls each (1,000 input / 100 output tokens) in project A. */
function fixture(projectId: string): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 30; k++) {
    for (let j = 0; j < 2; j++) {
      rows.push(
        span({
          project_id: projectId,
          trace_id: hexId(0xb000 + k, 32),
          span_id: hexId(0xb000 + k * 2 + j, 16),
          start: new Date(T0.getTime() + k * 600_000 + j * 30_000),
          durationMs: 900 + k * 10,
          model: 'gpt-4o',
          input_tokens: 1000,
          output_tokens: 100 + k,
        }),
      )
    }
  }
  // Replay fixture: 8 traces of one gpt-4o-mini call each, with recorded messages.
  for (let k = 0; k < 8; k++) {
    rows.push(
      span({
        project_id: projectId,
        trace_id: hexId(0xd000 + k, 32),
        span_id: hexId(0xd000 + k, 16),
        start: new Date(T0.getTime() + k * 600_000),
        durationMs: 800 + k * 10,
        model: 'gpt-4o-mini',
        input_tokens: 100,
        output_tokens: 40 + k,
        cost_usd: '0.000650000',
        input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
        output: `answer ${k}`,
      }),
    )
  }
  return rows
}

before(async () => {
  api = await openRestApi('hs_rest_backtest', { A: KEY_A, B: KEY_B }, (storage, ids) =>
    insertSpans(storage, fixture(ids.A)),
  )
  app = api.app
  fake = await startFakeOpenAI({
    reply: { content: 'candidate answer', usage: { prompt_tokens: 12, completion_tokens: 8 } },
  })
  fakeAnthropic = await startFakeAnthropic({
    reply: (request) => {
      const k = Number(/question (\d+)/.exec(JSON.stringify(request.messages))?.[1] ?? -1)
      return {
        content: k % 2 === 0 ? `answer ${k}` : `I would rather not say (${k})`,
        // Every call after the first reads the cached prefix.
        usage: { input_tokens: 10, output_tokens: 6, ...(k > 0 ? { cache_read_input_tokens: 90 } : {}) },
      }
    },
  })
})

after(async () => {
  await fake.close()
  await fakeAnthropic.close()
  await api.close()
})

async function call(method: string, path: string, body?: unknown, key = KEY_A) {
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    // A rendered report (Markdown, HTML, CSV).
  }
  return {
    status: res.status,
    json: json as Record<string, unknown>,
    text,
    type: res.headers.get('content-type') ?? '',
  }
}

async function until(id: string, status: string) {
  for (let i = 0; i < 200; i++) {
    const r = await call('GET', `/backtests/${id}`)
    if (r.json.status === status) return r
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`back-test ${id} never reached ${status}`)
}

/** Starts a back-test, asserting the 202; its id and the accepted run as answered. */
async function start(body: unknown): Promise<{ id: string; accepted: Record<string, unknown> }> {
  const started = await call('POST', '/backtests', body)
  assert.equal(started.status, 202, started.text)
  return { id: String(started.json.id), accepted: started.json }
}

describe('POST /backtests (what-if) → GET status → GET report', () => {
  test('a what-if runs to a report with a verdict, in JSON, Markdown and CSV', async () => {
    const { id, accepted } = await start({
      cohort: { filter: FILTER },
      candidate: { provider: 'openai', model: 'gpt-4.1-mini' },
      objectives: { cost_per_call_max_ratio: 0.5 },
      options: { resamples: 1000 },
    })
    assert.match(id, /^bt_[0-9a-f]{32}$/)
    assert.equal(
      (accepted.links as Record<string, string>).report,
      `${PUBLIC_API_BASE}/backtests/${id}/report`,
    )
    const done = await until(id, 'done')
    assert.equal(done.json.progress, 1)

    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200)
    // Baseline 60 × 1,000 × $2.5/M + Σ output (2 × (30·100 + 435) = 6,870) × $10/M; candidate at $0.4 / $1.6.
    const totals = report.json.totals as Record<string, unknown>
    assert.equal(totals.baseline_cost_usd, '0.218700000')
    assert.equal(totals.candidate_cost_usd, '0.034992000')
    assert.equal((report.json.verdict as Record<string, unknown>).result, 'pass')
    const metrics = report.json.metrics as Array<Record<string, unknown>>
    const cost = metrics.find((m) => m.name === 'cost_per_call_usd')
    assert.equal(cost?.n, 60)
    assert.equal(cost?.clusters, 30)
    for (const field of ['baseline', 'candidate', 'delta', 'ci_low', 'ci_high', 'p_value', 'mde']) {
      assert.equal(typeof cost?.[field], 'number', field)
    }

    const md = await call('GET', `/backtests/${id}/report?format=md`)
    assert.match(md.type, /text\/markdown/)
    assert.match(md.text, /\*\*Verdict: PASS\*\*/)
    const csv = await call('GET', `/backtests/${id}/report?format=csv`)
    assert.match(csv.type, /text\/csv/)
    assert.match(csv.text.split('\r\n')[0] ?? '', /^metric,unit,baseline,candidate,delta,ci_low,ci_high/)

    // Another project's key sees nothing.
    assert.equal((await call('GET', `/backtests/${id}`, undefined, KEY_B)).status, 404)
  })

  test('A/B without arms, a replay without base_url, an unpriced budget or an unknown api, evaluation on a what-if, an unknown price, a bad body or a bad id answer 400', async () => {
    const ab = await call('POST', '/backtests', {
      mode: 'ab',
      cohort: { filter: FILTER },
      candidate: { provider: 'openai', model: 'gpt-4o' },
    })
    // Live A/B without its arms (backtests-ab.test.ts covers the mode end to end).
    assert.equal(ab.status, 400)
    assert.match(String((ab.json.error as Record<string, unknown>).message), /ab: mode 'ab' needs/)
    const noUrl = await call('POST', '/backtests', {
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: { provider: 'openai', model: 'gpt-4o' },
    })
    assert.equal(noUrl.status, 400)
    assert.match(String((noUrl.json.error as Record<string, unknown>).message), /base_url/)
    // A budget cap on a candidate without a price (nothing would stop the spend): refused before any call.
    const unpriced = await call('POST', '/backtests', {
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: {
        provider: 'acme',
        model: 'acme-unknown-1',
        api: 'anthropic',
        base_url: fakeAnthropic.baseURL,
        budget_usd: 1,
      },
    })
    assert.equal(unpriced.status, 400)
    assert.match(
      String((unpriced.json.error as Record<string, unknown>).message),
      /candidate\.price: no price/,
    )
    const unknownApi = await call('POST', '/backtests', {
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: { provider: 'google', model: 'gemini-2.5-pro', api: 'gemini', base_url: fake.baseURL },
    })
    assert.equal(unknownApi.status, 400)
    assert.match(String((unknownApi.json.error as Record<string, unknown>).message), /candidate\.api/)
    // Evaluation on a what-if is refused with a reason rather than silently ignored.
    const evalWhatIf = await call('POST', '/backtests', {
      cohort: { filter: FILTER },
      candidate: { provider: 'openai', model: 'gpt-4.1-mini' },
      evaluation: { evaluators: [{ type: 'builtin', evaluator: 'exact_match' }] },
    })
    assert.equal(evalWhatIf.status, 400)
    assert.match(
      String((evalWhatIf.json.error as Record<string, unknown>).message),
      /evaluation: only for mode 'replay'/,
    )
    assert.equal(fakeAnthropic.requests.length, 0, 'no refused request reached a provider')
    const unknown = await call('POST', '/backtests', {
      cohort: { filter: FILTER },
      candidate: { provider: 'acme', model: 'x-1' },
    })
    assert.equal(unknown.status, 400)
    assert.match(String((unknown.json.error as Record<string, unknown>).message), /unknown candidate price/)
    const bad = await call('POST', '/backtests', { cohort: { filter: { from: 'yesterday' } }, candidate: {} })
    assert.equal(bad.status, 400)
    assert.match(String((bad.json.error as Record<string, unknown>).message), /cohort|candidate/)
    assert.equal((await call('GET', '/backtests/nope')).status, 400)
    assert.equal((await call('GET', `/backtests/bt_${'0'.repeat(32)}/report`)).status, 404)
  })

  test('a replay calls the candidate endpoint, shows progress and reports paired calls', async () => {
    const before = fake.requests.length
    const { id, accepted } = await start({
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: {
        provider: 'openai',
        model: 'cand-model',
        base_url: fake.baseURL,
        price: { input: 1000, output: 1000 },
        concurrency: 2,
      },
    })
    assert.equal(accepted.mode, 'replay')
    const done = await until(id, 'done')
    assert.equal(done.json.progress, 1)
    const sent = fake.requests.slice(before)
    assert.equal(sent.length, 8)
    for (const body of sent) assert.equal(body.model, 'cand-model')

    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200, report.text)
    assert.equal(report.json.mode, 'replay')
    const replay = report.json.replay as Record<string, unknown>
    assert.equal(replay.status, 'done')
    assert.equal(replay.paired_calls, 8)
    const metrics = report.json.metrics as Array<Record<string, unknown>>
    const cost = metrics.find((m) => m.name === 'cost_per_call_usd')
    assert.ok(Number(cost?.n) > 0)
    assert.equal(cost?.n, 8)
    assert.equal(cost?.clusters, 8)
    assert.equal(cost?.projection, false)
    // 20 tokens at $1,000 / 1M = $0.02 per call vs $0.00065 recorded.
    assert.ok(Math.abs(Number(cost?.delta) - (0.02 - 0.00065)) < 1e-9)
    assert.equal((report.json.totals as Record<string, unknown>).candidate_cost_usd, '0.160000000')
    const md = await call('GET', `/backtests/${id}/report?format=md`)
    assert.match(md.text, /# Back-test \(replay\)/)
    assert.match(md.text, /Replay done: 8 paired calls of 8/)
    const csv = await call('GET', `/backtests/${id}/report?format=csv`)
    assert.match(csv.text, /\r\nlatency_ms,ms,/)
  })

  test('a replay whose endpoint fails says why in the report, and the verdict is inconclusive', async () => {
    const { id } = await start({
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      // Nothing listens on port 9: every call fails to connect.
      candidate: {
        provider: 'openai',
        model: 'cand-model',
        base_url: 'http://127.0.0.1:9/v1',
        concurrency: 8,
      },
    })
    await until(id, 'done')
    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal((report.json.replay as Record<string, unknown>).failed, 8)
    assert.match(
      String((report.json.messages as string[])[0]),
      /^8 calls failed at the candidate endpoint and are not compared \(8 × ".+"\)\.$/,
    )
    assert.equal((report.json.verdict as Record<string, unknown>).result, 'inconclusive')
  })

  test('a replay stops at its budget cap with a partial report', async () => {
    const before = fake.requests.length
    const { id } = await start({
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: {
        provider: 'openai',
        model: 'cand-model',
        base_url: fake.baseURL,
        price: { input: 1000, output: 1000 },
        concurrency: 1,
        budget_usd: 0.05,
      },
    })
    const stopped = await until(id, 'stopped_budget')
    assert.match(String(stopped.json.message), /budget cap/)
    assert.equal(fake.requests.length - before, 3) // $0.02, $0.04, $0.06 ≥ $0.05: stop
    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200)
    assert.equal((report.json.replay as Record<string, unknown>).status, 'stopped_budget')
    assert.equal((report.json.replay as Record<string, unknown>).paired_calls, 3)
  })

  test('an Anthropic replay with caching and evaluators (fake Messages server): quality rows, triangle, verdict', async () => {
    const { id } = await start({
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        api: 'anthropic',
        base_url: fakeAnthropic.baseURL,
        caching: 'on',
        concurrency: 2,
      },
      evaluation: {
        evaluators: [
          { type: 'builtin', evaluator: 'exact_match' },
          { type: 'custom', evaluator: 'reference_f1' },
        ],
      },
      objectives: { max_quality_regression: 0.05, quality_score: 'exact_match' },
      options: { resamples: 1000 },
    })
    await until(id, 'done')
    // Every recorded call went to the fake Anthropic server (never api.anthropic.com), with a breakpoint.
    assert.equal(fakeAnthropic.requests.length, 8)
    for (const body of fakeAnthropic.requests) {
      assert.equal(body.model, 'claude-sonnet-4-5')
      assert.match(JSON.stringify(body.messages), /"cache_control":\{"type":"ephemeral"\}/)
    }
    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200, report.text)
    const metrics = report.json.metrics as Array<Record<string, unknown>>
    const exact = metrics.find((m) => m.name === 'quality' && m.score === 'exact_match')
    // The recording agrees with itself; the candidate gives the recorded answer for 4 of 8 questions.
    assert.equal(exact?.baseline, 1)
    assert.equal(exact?.candidate, 0.5)
    assert.deepEqual(exact?.win_tie_loss, { wins: 0, ties: 4, losses: 4 })
    assert.equal((exact?.test as Record<string, unknown> | undefined)?.name, 'McNemar')
    assert.ok(metrics.some((m) => m.name === 'quality' && m.score === 'reference_f1'))
    const quality = report.json.quality as Record<string, unknown>
    assert.equal(quality.primary, 'exact_match')
    assert.equal((quality.evaluators as unknown[]).length, 2)
    const triangle = report.json.triangle as { quality_score: string; baseline: { quality: number } }
    assert.equal(triangle.quality_score, 'exact_match')
    assert.equal(triangle.baseline.quality, 1)
    // −0.5 regression, wholly beyond −0.05: the non-inferiority check fails.
    const verdict = report.json.verdict as { result: string; checks: Array<Record<string, unknown>> }
    assert.equal(verdict.result, 'fail')
    assert.equal(verdict.checks[0]?.objective, 'max_quality_regression')
    assert.equal(verdict.checks[0]?.comparator, '≥')
    assert.equal(verdict.checks[0]?.score, 'exact_match')
    // Caching measured from the usage the endpoint returned: 7 of 8 calls read the cache.
    const caching = report.json.caching as Record<string, unknown>
    assert.equal(caching.enabled, true)
    assert.equal(caching.hit_rate, 7 / 8)
    assert.equal(caching.read_tokens, 7 * 90)
    const md = await call('GET', `/backtests/${id}/report?format=md`)
    assert.match(md.text, /exact_match/)
    assert.match(md.text, /non-streaming, so no candidate time to first token/)
  })

  test('the OpenAPI document lists the back-test endpoints with evaluation, quality and triangle', async () => {
    const res = await app.request(`${PUBLIC_API_BASE}/openapi.json`)
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, unknown>>
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> }
    }
    assert.ok(doc.paths['/backtests']?.post)
    assert.ok(doc.paths['/backtests/{id}']?.get)
    assert.ok(doc.paths['/backtests/{id}/report']?.get)
    const text = JSON.stringify(doc.paths['/backtests']?.post)
    for (const field of [
      'evaluation',
      'max_quality_regression',
      'quality_score',
      'min_quality',
      'reference_f1',
    ])
      assert.ok(text.includes(field), `POST /backtests documents ${field}`)
    const report = doc.components.schemas.BacktestReport?.properties ?? {}
    assert.ok(report.quality && report.triangle, 'the report documents quality and triangle')
    assert.ok(doc.components.schemas.BacktestMetric?.properties?.score, 'metric rows document score')
    assert.ok(doc.components.schemas.BacktestObjectiveCheck?.properties?.comparator)
  })
})
