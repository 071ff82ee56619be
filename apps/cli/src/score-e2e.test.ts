/**
 * `score()` end to end: the SDK traces an openai call (simulated provider) and scores the trace it
 * runs in; the score goes through the real REST API of the all-in-one server into embedded
 * ClickHouse, and comes back from `GET /scores` and as the mean score in `GET /metrics`.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { flush, getTracer, init, score, shutdown, wrapOpenAI } from '@hindsight/sdk'
import OpenAI from 'openai'
import { type AllInOne, startAllInOne } from './all-in-one'
import { type SimulatedProvider, startSimulatedProvider } from './demo/simulated-provider'
import { getJson, isRecord, tempDataDir, testConfig } from './test-support'

const API_KEY = 'hs_score_e2e_key_0123456789abcdef'
const dataDir = tempDataDir('score-e2e')
let app: AllInOne
let provider: SimulatedProvider

before(async () => {
  app = await startAllInOne(
    testConfig(dataDir, {
      HINDSIGHT_INIT_PROJECT: 'ScoreE2E',
      HINDSIGHT_INIT_API_KEY: API_KEY,
      CLICKHOUSE_DATABASE: 'hs_cli_score_e2e',
    }),
    { next: false, log: () => {} },
  )
  provider = await startSimulatedProvider({ errorRate: 0, timeScale: 0.05, seed: 11 })
  init({
    endpoint: app.otlpUrl,
    apiUrl: app.webUrl,
    apiKey: API_KEY,
    serviceName: 'score-e2e',
    scheduledDelayMillis: 50,
  })
})

after(async () => {
  await shutdown()
  await provider?.close()
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function postJson(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${app.webUrl}/api/public/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() }
}

function rows(body: unknown): Record<string, unknown>[] {
  assert.ok(isRecord(body) && Array.isArray(body.data), JSON.stringify(body))
  return body.data.filter(isRecord)
}

test('score() on the active trace is stored, listed, and averaged per model in /metrics', async () => {
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: provider.baseURL, maxRetries: 0 }))
  const config = await postJson('/score-configs', {
    name: 'helpfulness',
    dataType: 'numeric',
    minValue: 0,
    maxValue: 1,
  })
  assert.equal(config.status, 200)

  const traceIds: string[] = []
  const values = [0.25, 0.75, 1]
  for (const value of values) {
    const traceId = await getTracer().startActiveSpan('answer', async (span) => {
      try {
        await openai.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Where is my order?' }],
        })
        // No traceId: score() takes the trace of the active span.
        const result = await score({ name: 'helpfulness', value, comment: `value ${value}` })
        assert.equal(result.ok, true, JSON.stringify(result))
        return span.spanContext().traceId
      } finally {
        span.end()
      }
    })
    traceIds.push(traceId)
  }
  // A value outside the config is refused by the server, with its reason, and not stored.
  const refused = await score({ traceId: traceIds[0], name: 'helpfulness', value: 3 })
  assert.deepEqual(refused, {
    ok: false,
    error: "HTTP 400: score.value: 3 is above the maximum 1 of score 'helpfulness'",
  })
  const thumbs = await score({ traceId: traceIds[0], name: 'thumbs_up', value: true })
  assert.equal(thumbs.ok, true)

  await flush()
  await app.collector.flush()

  const listed = rows((await getJson(app.webUrl, `/scores?traceId=${traceIds[0]}`, API_KEY)).body)
  assert.deepEqual(listed.map((s) => [s.name, s.value, s.source, s.data_type]).sort(), [
    ['helpfulness', 0.25, 'sdk', 'numeric'],
    ['thumbs_up', 1, 'sdk', 'boolean'],
  ])

  // The spans arrive through the collector; wait until /metrics sees all three calls.
  const from = new Date(Date.now() - 60 * 60_000).toISOString()
  const to = new Date(Date.now() + 60_000).toISOString()
  const deadline = Date.now() + 10_000
  let model: Record<string, unknown> | undefined
  for (;;) {
    const metrics = await getJson(
      app.webUrl,
      `/metrics?from=${from}&to=${to}&groupBy=model&score=helpfulness`,
      API_KEY,
    )
    assert.equal(metrics.status, 200, JSON.stringify(metrics.body))
    model = rows(metrics.body).find((r) => String(r.model).startsWith('gpt-4o-mini'))
    if (model?.calls === 3 || Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(model?.calls, 3)
  assert.equal(model?.score_n, 3)
  assert.ok(Math.abs(Number(model?.score_mean) - (0.25 + 0.75 + 1) / 3) < 1e-12, String(model?.score_mean))
})
