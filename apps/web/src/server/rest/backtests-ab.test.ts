/**
 * Live A/B over the public API, end to end on a real embedded engine: two releases whose true
 * differences are known (release v2's calls cost 40% less and take 300 ms longer), started with
 * `POST /backtests` (`mode: 'ab'`, no candidate), polled, and read back as JSON and Markdown.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import type { Hono } from 'hono'
import { openRestApi, type RestApiFixture } from '../../../test/rest-api'
import { PUBLIC_API_BASE } from './index'

const KEY = 'hs_backtest_ab_rest_key_000001'
const T0 = new Date('2026-05-04T00:00:00Z')
const FILTER = { from: T0.toISOString(), to: new Date(T0.getTime() + 86_400_000).toISOString() }
let api: RestApiFixture
let app: Hono

/** 40 single-call traces per release, interleaved 3 minutes apart. */
function fixture(projectId: string): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 40; k++) {
    for (const [arm, release] of [
      [0, 'v1'],
      [1, 'v2'],
    ] as const) {
      rows.push(
        span({
          project_id: projectId,
          trace_id: hexId(0xa5000 + k * 2 + arm, 32),
          span_id: hexId(0xa5000 + k * 2 + arm, 16),
          start: new Date(T0.getTime() + (k * 2 + arm) * 180_000),
          durationMs: 800 + 300 * arm + 7 * (k % 10),
          release,
          route: '/chat',
          model: 'gpt-4o',
          input_tokens: 500,
          output_tokens: 50,
          cost_usd: (((arm ? 600 : 1000) + (k % 5)) / 1e6).toFixed(9),
        }),
      )
    }
  }
  return rows
}

before(async () => {
  api = await openRestApi('hs_rest_ab', { AB: KEY }, async (storage, ids) => {
    await insertSpans(storage, fixture(ids.AB))
  })
  app = api.app
})

after(() => api?.close())

async function call(method: string, path: string, body?: unknown) {
  const response = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {}
  return { status: response.status, text, json, type: response.headers.get('content-type') ?? '' }
}

async function waitDone(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const polled = await call('GET', `/backtests/${id}`)
    assert.equal(polled.status, 200)
    if (polled.json.status === 'done' || polled.json.status === 'failed') return polled.json
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the A/B did not finish')
}

describe('live A/B over REST', () => {
  test('POST mode ab without a candidate runs to an unpaired report with both arms described', async () => {
    const started = await call('POST', '/backtests', {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { attribute: 'release', baseline: 'v1', candidate: 'v2' },
      objectives: { cost_per_call_max_ratio: 0.7 },
      options: { resamples: 2000, seed: 'rest-ab' },
    })
    assert.equal(started.status, 202, started.text)
    assert.equal(started.json.mode, 'ab')
    const id = String(started.json.id)
    const done = await waitDone(id)
    assert.equal(done.status, 'done', String(done.message))

    const report = await call('GET', `/backtests/${id}/report`)
    assert.equal(report.status, 200)
    const json = report.json as {
      mode: string
      ab: { baseline: { calls: number; traces: number }; candidate: { calls: number }; design: string }
      metrics: Array<{
        name: string
        delta: number | null
        ci_low: number | null
        ci_high: number | null
        ratio: number | null
      }>
      verdict: { result: string }
    }
    assert.equal(json.mode, 'ab')
    assert.equal(json.ab.design, 'unpaired')
    assert.equal(json.ab.baseline.calls, 40)
    assert.equal(json.ab.candidate.calls, 40)
    const cost = json.metrics.find((m) => m.name === 'cost_per_call_usd')
    // Cost per call: 0.001000 + 0.000001·(k mod 5) vs 0.000600 + …: the difference is −0.0004 exactly.
    assert.ok(cost && Math.abs((cost.delta ?? 0) + 0.0004) < 1e-12, `cost delta ${cost?.delta}`)
    assert.ok(cost && (cost.ratio ?? 1) < 0.61 && (cost.ratio ?? 0) > 0.59)
    const p50 = json.metrics.find((m) => m.name === 'latency_p50_ms')
    assert.ok(p50 && Math.abs((p50.delta ?? 0) - 300) < 1e-6)
    assert.ok(p50 && (p50.ci_low ?? 0) < 300 && 300 < (p50.ci_high ?? 0))
    assert.equal(json.verdict.result, 'pass')

    const md = await call('GET', `/backtests/${id}/report?format=md`)
    assert.equal(md.status, 200)
    assert.match(md.type, /text\/markdown/)
    assert.match(md.text, /^# Live A\/B: release v1 → v2/)
    assert.match(md.text, /Win\/tie\/loss is not defined/)
  })

  test('an A/B without its arms, or with equal values, is a 400 naming the field', async () => {
    const missing = await call('POST', '/backtests', { mode: 'ab', cohort: { filter: FILTER } })
    assert.equal(missing.status, 400)
    assert.match(String((missing.json.error as Record<string, unknown>).message), /ab/)
    const same = await call('POST', '/backtests', {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { baseline: 'v1', candidate: 'v1' },
    })
    assert.equal(same.status, 400)
    assert.match(String((same.json.error as Record<string, unknown>).message), /ab\.candidate|must differ/)
    // What-if still needs a candidate.
    const noCandidate = await call('POST', '/backtests', { mode: 'what_if', cohort: { filter: FILTER } })
    assert.equal(noCandidate.status, 400)
  })

  test('the OpenAPI document describes mode ab and the report section', async () => {
    const doc = await call('GET', '/openapi.json')
    assert.equal(doc.status, 200)
    const text = doc.text
    assert.match(text, /BacktestAbSection/)
    assert.match(text, /Mode `ab` \(live A\/B/)
    const schemas = (
      doc.json.components as { schemas: Record<string, { properties?: Record<string, unknown> }> }
    ).schemas
    assert.ok(schemas.BacktestAbSection?.properties?.time)
  })
})
