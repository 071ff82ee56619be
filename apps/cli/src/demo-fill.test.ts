/**
 * The demo against a running all-in-one: the first start fills a separate Demo project in the
 * background, and `hindsight demo`'s key lookup finds that project's key on its own.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { type AllInOne, startAllInOne } from './all-in-one'
import { resolveDemoTarget, runDemo } from './demo'
import { getJson, isRecord, tempDataDir, testConfig } from './test-support'

const dataDir = tempDataDir('demo')
let app: AllInOne
const config = testConfig(dataDir, { HINDSIGHT_DEMO: 'on', CLICKHOUSE_DATABASE: 'hs_cli_demo' })

before(async () => {
  app = await startAllInOne(config, {
    next: false,
    log: () => {},
    demo: { historyDays: 7, calls: 6, timeScale: 0 },
  })
})

after(async () => {
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

interface MetricsRow {
  model?: string
  calls: number
  errors: number
  cost_usd: number | null
  score_mean?: number | null
  score_n?: number
}

async function metricsByModel(apiKey: string, from: Date, score?: string): Promise<MetricsRow[]> {
  const to = new Date(Date.now() + 3_600_000)
  const query =
    `/metrics?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=model` +
    (score ? `&score=${score}` : '')
  const { status, body } = await getJson(app.webUrl, query, apiKey)
  assert.equal(status, 200, JSON.stringify(body))
  assert.ok(isRecord(body) && Array.isArray(body.data))
  return body.data as MetricsRow[]
}

test('the first start fills a separate Demo project: a week of calls, several models, cost and errors', async () => {
  const demo = app.projects.demo
  assert.ok(demo?.created && demo.apiKey, 'a Demo project with a key')
  assert.notEqual(demo.id, app.projects.main.id)
  const result = await app.demoFill
  assert.ok(result, 'the background fill finished')
  assert.ok(result.historySpans > 1000, `${result.historySpans} history spans`)
  assert.equal(result.liveCalls, 6)
  await app.collector.flush()

  const rows = await metricsByModel(demo.apiKey, new Date(Date.now() - 8 * 86_400_000))
  const used = rows.filter((r) => r.calls > 0)
  assert.ok(used.length >= 4, `models with calls: ${used.map((r) => r.model).join(', ')}`)
  const cost = rows.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0)
  assert.ok(cost > 0, `cost ${cost}`)
  assert.ok(rows.reduce((sum, r) => sum + r.errors, 0) > 0, 'some errors')
  for (const model of ['claude-sonnet-4-5', 'claude-haiku-4-5', 'gpt-4o-mini', 'gpt-4o']) {
    assert.ok(
      used.some((r) => r.model?.startsWith(model)),
      `calls of ${model}`,
    )
  }

  // Demo traffic stays out of the main project.
  const mainRows = await metricsByModel(app.projects.main.apiKey ?? '', new Date(Date.now() - 8 * 86_400_000))
  assert.equal(
    mainRows.reduce((sum, r) => sum + r.calls, 0),
    0,
  )
})

test("the Demo project's history carries scores: user feedback and a judge's groundedness, by model", async () => {
  const demo = app.projects.demo
  assert.ok(demo?.apiKey)
  const result = await app.demoFill
  assert.ok(result && result.scoresSent > 100, `${result?.scoresSent} scores sent`)
  await app.collector.flush()
  const { status, body } = await getJson(app.webUrl, '/scores?name=user-feedback&limit=5', demo.apiKey)
  assert.equal(status, 200, JSON.stringify(body))
  assert.ok(isRecord(body) && Array.isArray(body.data) && body.data.length === 5)
  assert.ok(body.data.every((s) => isRecord(s) && s.data_type === 'boolean' && s.source === 'sdk'))
  const rows = await metricsByModel(demo.apiKey, new Date(Date.now() - 8 * 86_400_000), 'groundedness')
  const mean = (model: string) => rows.find((r) => r.model === model)?.score_mean ?? null
  const sonnet = mean('claude-sonnet-4-5')
  const gpt = mean('gpt-4o')
  assert.ok(sonnet !== null && gpt !== null && sonnet > gpt, `groundedness ${sonnet} vs ${gpt}`)

  // The history says who asked: a breakdown by customer (an attribute) and by user has data.
  const from = new Date(Date.now() - 8 * 86_400_000).toISOString()
  const to = new Date(Date.now() + 3_600_000).toISOString()
  const customers = await getJson(
    app.webUrl,
    `/metrics?from=${from}&to=${to}&groupBy=attribute&attribute=hindsight.metadata.customer`,
    demo.apiKey,
  )
  assert.equal(customers.status, 200, JSON.stringify(customers.body))
  assert.ok(isRecord(customers.body) && Array.isArray(customers.body.data))
  const named = customers.body.data
    .filter((r) => isRecord(r) && r.attribute !== '')
    .map((r) => isRecord(r) && r.attribute)
  assert.deepEqual(named.sort(), ['acme', 'globex', 'initech', 'umbrella'])
})

test('`demo` finds the Demo key in the data dir and its live run arrives through the SDK', async () => {
  const target = resolveDemoTarget({ ...config, otlpPort: Number(new URL(app.otlpUrl).port) })
  assert.equal(target.keySource, 'credentials.json')
  assert.equal(target.apiKey, app.projects.demo?.apiKey)
  const since = new Date(Date.now() - 60_000)
  const callsSince = async () => (await metricsByModel(target.apiKey, since)).reduce((n, r) => n + r.calls, 0)
  const before = await callsSince()
  const result = await runDemo({ ...target, history: false, calls: 8, timeScale: 0, log: () => {} })
  assert.equal(result.historySpans, 0)
  assert.ok(result.spansSent >= 8, `${result.spansSent} spans sent`)
  await app.collector.flush()
  const live = (await callsSince()) - before
  assert.equal(live, 8, 'every live call arrived as an LLM span')
  const rows = await metricsByModel(target.apiKey, since)
  assert.ok(
    rows.some((r) => r.model?.startsWith('gpt-4.1-mini')),
    'the v1.4.0 model shows up',
  )
})
