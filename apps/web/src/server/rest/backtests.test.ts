import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type FakeOpenAI, startFakeOpenAI } from '@hindsight/backtest/testing'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { Hono } from 'hono'
import { createPublicApi, PUBLIC_API_BASE } from './index'

const KEY_A = 'hs_backtest_rest_key_a_000001'
const KEY_B = 'hs_backtest_rest_key_b_000002'
const T0 = new Date('2026-05-04T00:00:00Z')
const FILTER = {
  from: T0.toISOString(),
  to: new Date(T0.getTime() + 86_400_000).toISOString(),
  model: ['gpt-4o'],
}
let storage: Storage
let dir: string
let app: Hono
let fake: FakeOpenAI
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
  dir = mkdtempSync(join(tmpdir(), 'hs-rest-backtest-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_rest_backtest' })
  await migrate(storage)
  const projects = new ProjectRepository(storage, 0)
  const a = (await projects.ensure('A', KEY_A)).project.id
  await projects.ensure('B', KEY_B)
  await insertSpans(storage, fixture(a))
  fake = await startFakeOpenAI({
    reply: { content: 'candidate answer', usage: { prompt_tokens: 12, completion_tokens: 8 } },
  })
  app = new Hono()
  app.route(PUBLIC_API_BASE, createPublicApi({ storage, projects }))
})

after(async () => {
  await fake.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
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

describe('POST /backtests (what-if) → GET status → GET report', () => {
  test('a what-if runs to a report with a verdict, in JSON, Markdown and CSV', async () => {
    const started = await call('POST', '/backtests', {
      cohort: { filter: FILTER },
      candidate: { provider: 'openai', model: 'gpt-4.1-mini' },
      objectives: { cost_per_call_max_ratio: 0.5 },
      options: { resamples: 1000 },
    })
    assert.equal(started.status, 202, started.text)
    const id = String(started.json.id)
    assert.match(id, /^bt_[0-9a-f]{32}$/)
    assert.equal(
      (started.json.links as Record<string, string>).report,
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

  test('A/B without arms, a replay without base_url or to Anthropic, an unknown price, a bad body or a bad id answer 400', async () => {
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
    const anthropic = await call('POST', '/backtests', {
      mode: 'replay',
      cohort: { filter: REPLAY_FILTER },
      candidate: { provider: 'anthropic', model: 'claude-sonnet-4-5', api: 'anthropic' },
    })
    assert.equal(anthropic.status, 400)
    assert.match(String((anthropic.json.error as Record<string, unknown>).message), /OpenAI-compatible/)
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
    const started = await call('POST', '/backtests', {
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
    assert.equal(started.status, 202, started.text)
    assert.equal(started.json.mode, 'replay')
    const id = String(started.json.id)
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

  test('a replay stops at its budget cap with a partial report', async () => {
    const before = fake.requests.length
    const started = await call('POST', '/backtests', {
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
    assert.equal(started.status, 202, started.text)
    const id = String(started.json.id)
    const stopped = await until(id, 'stopped_budget')
    assert.match(String(stopped.json.message), /budget cap/)
    assert.equal(fake.requests.length - before, 3) // $0.02, $0.04, $0.06 ≥ $0.05: stop
    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200)
    assert.equal((report.json.replay as Record<string, unknown>).status, 'stopped_budget')
    assert.equal((report.json.replay as Record<string, unknown>).paired_calls, 3)
  })

  test('the OpenAPI document lists the back-test endpoints', async () => {
    const res = await app.request(`${PUBLIC_API_BASE}/openapi.json`)
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> }
    assert.ok(doc.paths['/backtests']?.post)
    assert.ok(doc.paths['/backtests/{id}']?.get)
    assert.ok(doc.paths['/backtests/{id}/report']?.get)
  })
})
