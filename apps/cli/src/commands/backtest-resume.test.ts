/**
 * The all-in-one process owns the back-test service: a replay running when `hindsight start` is
 * stopped is interrupted cleanly (calls in flight finish and are stored, storage is closed after
 * the replay), and the next start resumes it at boot, sending only the calls not yet stored.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { backtestServiceFor } from '@hindsight/backtest'
import { type FakeOpenAI, startFakeOpenAI } from '@hindsight/backtest/testing'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { type AllInOne, startAllInOne } from '../all-in-one'
import { tempDataDir, testConfig } from '../test-support'

const env = {
  HINDSIGHT_INIT_PROJECT: 'BacktestResume',
  HINDSIGHT_INIT_API_KEY: 'hs_backtest_resume_0123456789',
  CLICKHOUSE_DATABASE: 'hs_cli_backtest_resume',
}
const quiet = { next: false, log: () => {} }
const dataDir = tempDataDir('backtest-resume')
const T0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000)
const CALLS = 12
let fake: FakeOpenAI
let app: AllInOne | undefined

function fixture(projectId: string): SpanRow[] {
  return Array.from({ length: CALLS }, (_, k) =>
    span({
      project_id: projectId,
      trace_id: hexId(0xe000 + k, 32),
      start: new Date(T0.getTime() + k * 60_000),
      durationMs: 700,
      model: 'gpt-4o',
      route: '/resume',
      input_tokens: 50,
      output_tokens: 10,
      input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
      output: `answer ${k}`,
    }),
  )
}

before(async () => {
  fake = await startFakeOpenAI({ reply: { content: 'ok', firstChunkDelayMs: 120 } })
})

after(async () => {
  await app?.close()
  await fake.close()
  rmSync(dataDir, { recursive: true, force: true })
})

test('a replay interrupted by stopping the server resumes at the next start without re-sending a call', async () => {
  app = await startAllInOne(testConfig(dataDir, env), quiet)
  const projectId = app.projects.main.id
  await insertSpans(app.storage, fixture(projectId))
  // The service the REST API and the dashboard use (created by the all-in-one at boot).
  const record = await backtestServiceFor(app.storage).start(projectId, {
    mode: 'replay',
    cohort: { filter: { from: T0.toISOString(), to: new Date(T0.getTime() + 3_600_000).toISOString() } },
    candidate: { provider: 'openai', model: 'cand', base_url: fake.baseURL, concurrency: 1 },
    options: { resamples: 1000 },
  })
  while (fake.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
  // Stopping the server stops the replay first (no write into a closed storage).
  await app.close()
  app = undefined
  const sentBefore = fake.requests.length
  assert.ok(sentBefore >= 3 && sentBefore < CALLS, `stopped mid-run after ${sentBefore} calls`)

  app = await startAllInOne(testConfig(dataDir, env), quiet)
  // Resumed by the start itself (nothing here asks for the service until every call has been sent).
  for (let i = 0; i < 300 && fake.requests.length < CALLS; i++)
    await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(fake.requests.length, CALLS, 'the start resumed the replay on its own')
  const service = backtestServiceFor(app.storage)
  let done = await service.store.get(projectId, record.id)
  for (let i = 0; i < 300 && done?.status !== 'done'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    done = await service.store.get(projectId, record.id)
  }
  assert.equal(done?.status, 'done', done?.message)
  // Every recorded call was sent exactly once over both processes.
  assert.equal(fake.requests.length, CALLS)
  const sentQuestions = fake.requests.map((r) => JSON.stringify(r.messages))
  assert.equal(new Set(sentQuestions).size, CALLS)
  const report = await service.store.report(projectId, record.id)
  assert.equal(report?.replay?.paired_calls, CALLS)
  assert.equal(report?.replay?.resumed, sentBefore)
  assert.equal(report?.replay?.issued, CALLS - sentBefore)
})
