/**
 * Replays started through the server reach the project: `hindsight start` routes the candidate
 * spans of a replay posted over REST for project P, in-process, through the collector's own ingest
 * (OTLP protobuf → decode → mapping → prices → spool → writer) into P — never into another
 * project — tagged with the back-test id and arm, with model, tokens and cost.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { type FakeOpenAI, startFakeOpenAI } from '@hindsight/backtest/testing'
import { findPrice, PRICE_TABLE } from '@hindsight/collector'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { type AllInOne, startAllInOne } from './all-in-one'
import { expectedCostUsd, isRecord, tempDataDir, testConfig } from './test-support'

const KEY_P = 'hs_replay_spans_p_0123456789'
const env = {
  HINDSIGHT_INIT_PROJECT: 'ReplaySpansP',
  HINDSIGHT_INIT_API_KEY: KEY_P,
  CLICKHOUSE_DATABASE: 'hs_cli_replay_spans',
}
const dataDir = tempDataDir('replay-spans')
const T0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000)
const CALLS = 6
const USAGE = { prompt_tokens: 1200, completion_tokens: 340 }
let fake: FakeOpenAI
let app: AllInOne

function recorded(projectId: string, base: number): SpanRow[] {
  return Array.from({ length: CALLS }, (_, k) =>
    span({
      project_id: projectId,
      trace_id: hexId(base + k, 32),
      start: new Date(T0.getTime() + k * 60_000),
      durationMs: 900,
      model: 'gpt-4o',
      route: '/spans',
      input_tokens: 100,
      output_tokens: 20,
      input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
      output: `answer ${k}`,
    }),
  )
}

before(async () => {
  fake = await startFakeOpenAI({ reply: { content: 'candidate answer', usage: USAGE } })
  app = await startAllInOne(testConfig(dataDir, env), { next: false, log: () => {} })
})

after(async () => {
  await app?.close()
  await fake?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${app.webUrl}/api/public/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY_P}`, 'content-type': 'application/json', ...init.headers },
  })
  return { status: response.status, body: await response.json() }
}

test('candidate spans of a replay posted over REST are stored under its project, tagged and priced', async () => {
  const p = app.projects.main.id
  const other = await app.repository.ensure('ReplaySpansOther')
  assert.notEqual(other.project.id, p)
  // Both projects have recorded traffic; only P's is replayed.
  await insertSpans(app.storage, [...recorded(p, 0xa000), ...recorded(other.project.id, 0xb000)])

  const started = await api('/backtests', {
    method: 'POST',
    body: JSON.stringify({
      mode: 'replay',
      cohort: { filter: { from: T0.toISOString(), to: new Date(T0.getTime() + 3_600_000).toISOString() } },
      candidate: { provider: 'openai', model: 'gpt-4o-mini', base_url: fake.baseURL, concurrency: 3 },
      options: { resamples: 1000 },
    }),
  })
  assert.equal(started.status, 202, JSON.stringify(started.body))
  assert.ok(isRecord(started.body) && typeof started.body.id === 'string')
  const id = started.body.id
  let status = ''
  for (let i = 0; i < 400 && status !== 'done' && status !== 'failed'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const got = await api(`/backtests/${id}`)
    status = isRecord(got.body) && typeof got.body.status === 'string' ? got.body.status : ''
  }
  assert.equal(status, 'done')
  assert.equal(fake.requests.length, CALLS)
  // The run flushed its spans into the ingest before it finished; store what is batched.
  await app.replayIngest.flush()

  const result = await app.storage.client.query({
    query: `SELECT project_id, service_name, kind, model, provider, input_tokens, output_tokens, toString(cost_usd) AS cost,
                   attributes['hindsight.metadata.backtest_id'] AS backtest_id,
                   attributes['hindsight.metadata.arm'] AS arm,
                   attributes['hindsight.metadata.replay_of'] AS replay_of
            FROM ${app.storage.database}.spans FINAL
            WHERE attributes['hindsight.metadata.backtest_id'] = {id:String}
            ORDER BY replay_of`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  const rows = (await result.json()) as Array<Record<string, string | number>>
  assert.equal(rows.length, CALLS, 'one candidate span per replayed call')
  const price = findPrice(PRICE_TABLE, 'openai', 'gpt-4o-mini', new Date())
  assert.ok(price, 'gpt-4o-mini has a built-in price')
  // Exact decimal arithmetic from the per-1M-token prices (independent of the collector's pricing code).
  const cost = expectedCostUsd(price, { input: USAGE.prompt_tokens, output: USAGE.completion_tokens })
  assert.ok(cost > 0)
  const recordedIds = recorded(p, 0xa000).map((s) => s.trace_id)
  for (const row of rows) {
    assert.equal(row.project_id, p, 'stored under the back-test’s project')
    assert.equal(row.service_name, 'hindsight-backtest')
    assert.equal(row.kind, 'llm')
    assert.equal(row.model, 'gpt-4o-mini')
    assert.equal(row.provider, 'openai')
    assert.equal(Number(row.input_tokens), USAGE.prompt_tokens)
    assert.equal(Number(row.output_tokens), USAGE.completion_tokens)
    assert.equal(Number(row.cost), cost)
    assert.equal(row.arm, 'candidate')
    assert.ok(
      recordedIds.includes(String(row.replay_of).split('/')[0] ?? ''),
      `replays a call of P: ${row.replay_of}`,
    )
  }
  // Nothing reached the other project (or any project but P).
  const elsewhere = await app.storage.client.query({
    query: `SELECT count() AS n FROM ${app.storage.database}.spans FINAL
            WHERE project_id != {p:String} AND service_name = 'hindsight-backtest'`,
    query_params: { p },
    format: 'JSONEachRow',
  })
  assert.deepEqual(await elsewhere.json(), [{ n: 0 }])
  const stats = app.replayIngest.stats()
  assert.equal(stats.accepted_spans, CALLS)
  assert.equal(stats.rejected_spans, 0)
})
