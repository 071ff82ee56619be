/**
 * The back-tests page in a real browser (the production build, Debian's Chromium via
 * playwright-core, real embedded storage): a what-if started from the form runs, and its report
 * renders — verdict, metric table with intervals, the cost × latency chart; a live A/B of two
 * releases started from the same form renders both arms and the same metric table; a replay with an
 * evaluator, started from the form against a local fake OpenAI-compatible provider, renders the
 * quality row (win/tie/loss, paired test), the triangle table and the verdict.
 * Needs a prior `next build` (`pnpm test` builds first); skipped, loudly, without one.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type FakeOpenAI, startFakeOpenAI } from '@hindsight/backtest/testing'
import { testRow } from '@hindsight/collector/testing'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, seedRows } from '../../../test/seed'

let projectId: string

const skip = browserTestSkip('BACK-TEST BROWSER TESTS')

let h: BrowserHarness
/** The candidate provider: answers "answer k" to "question k" for even k, something else for odd k. */
let fake: FakeOpenAI

/** 'YYYY-MM-DD hh:mm:ss.fff' UTC. */
const chText = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')

/**
 * Live A/B traffic over the last hours: 30 single-call traces of release ab-1 and 30 of ab-2
 * (interleaved), ab-2 300 ms slower per call.
 */
function abRows(projectId: string) {
  const now = Date.now()
  return Array.from({ length: 60 }, (_, i) => {
    const arm = i % 2
    const start = now - 6 * 3_600_000 + i * 300_000
    const duration = 900 + 300 * arm + 13 * (i % 9)
    return testRow({
      project_id: projectId,
      trace_id: `ab${String(i).padStart(30, '0')}`,
      span_id: `ab${String(i).padStart(14, '0')}`,
      release: `ab-${arm + 1}`,
      route: '/ab',
      start_time: chText(start),
      end_time: chText(start + duration),
      duration_ms: duration,
      ttft_ms: 150 + 40 * arm,
      ingested_at: chText(now),
    })
  })
}

/** 12 single-call traces on route /replay-bt with recorded messages (a replay needs them). */
function replayRows(projectId: string) {
  const now = Date.now()
  return Array.from({ length: 12 }, (_, k) => {
    const start = now - 3 * 3_600_000 + k * 60_000
    return testRow({
      project_id: projectId,
      trace_id: `rb${String(k).padStart(30, '0')}`,
      span_id: `rb${String(k).padStart(14, '0')}`,
      route: '/replay-bt',
      model: 'gpt-4o-mini',
      request_model: 'gpt-4o-mini',
      input_tokens: 100,
      output_tokens: 20,
      cost_usd: '0.000027000',
      start_time: chText(start),
      end_time: chText(start + 800 + 10 * k),
      duration_ms: 800 + 10 * k,
      input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question ${k}` }] }]),
      output: `answer ${k}`,
      ingested_at: chText(now),
    })
  })
}

describe('back-tests page in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('backtests-browser')
    const { projects, storage } = h
    projectId = (await projects.ensure('backtests', 'hs_backtests_browser_key_0123456789')).project.id
    await insertRows(storage, seedRows({ projectId, traces: 200 }).rows)
    await insertRows(storage, abRows(projectId))
    await insertRows(storage, replayRows(projectId))
    fake = await startFakeOpenAI({
      reply: (request) => {
        const k = Number(/question (\d+)/.exec(JSON.stringify(request.messages))?.[1] ?? -1)
        return {
          content: k % 2 === 0 ? `answer ${k}` : `not sure (${k})`,
          usage: { prompt_tokens: 100, completion_tokens: 10 },
        }
      },
    })
    await h.start()
  })

  after(async () => {
    await h?.close()
    await fake?.close()
  })

  test('a what-if from the form: progress, then the report with verdict, intervals and chart', async () => {
    const page = await h.open(`/backtests?project=${projectId}&range=24h`, { width: 1440, height: 1100 })
    const form = page.getByTestId('backtest-form')
    await form.waitFor({ timeout: 30_000 })
    await form.locator('select[name="baseline"]').selectOption('gpt-4o', { timeout: 30_000 })
    await form.locator('select[name="provider"]').selectOption('anthropic')
    await page.getByTestId('candidate-model').fill('claude-sonnet-4')
    await form.locator('select[name="caching"]').selectOption('on')
    await form.locator('input[name="maxCostRatio"]').fill('10')
    await page.getByTestId('run-backtest').click()

    await page.getByTestId('backtest-report').waitFor({ timeout: 60_000 })
    assert.match(page.url(), /[?&]backtest=bt_[0-9a-f]{32}/)
    const verdict = await page.getByTestId('backtest-verdict').textContent()
    assert.ok(['pass', 'fail', 'inconclusive'].includes(verdict ?? ''), `verdict ${verdict}`)
    const rows = page.getByTestId('backtest-metrics').locator('tbody tr')
    assert.ok((await rows.count()) >= 4)
    assert.match((await rows.first().textContent()) ?? '', /Cost per call/)
    assert.match((await rows.first().textContent()) ?? '', /…/, 'the cost row shows an interval')
    await page.getByTestId('backtest-triangle').locator('svg').first().waitFor()
    await page.screenshot({ path: join(RESULTS, 'backtests.png'), fullPage: true })
    // The run is listed, and the nav link leads here.
    assert.ok(await page.getByText('anthropic/claude-sonnet-4 + caching').first().isVisible())
    assert.match((await page.getByTestId('nav-backtests').getAttribute('class')) ?? '', /active/)
    assert.deepEqual(h.pageErrors, [])
  })

  test('a live A/B of two releases from the same form: both arms, unpaired intervals, verdict', async () => {
    const page = await h.open(`/backtests?project=${projectId}&range=24h`, { width: 1440, height: 1100 })
    const form = page.getByTestId('backtest-form')
    await form.waitFor({ timeout: 30_000 })
    await page.getByTestId('backtest-mode').selectOption('ab')
    assert.equal(await page.getByTestId('candidate-model').count(), 0, 'the what-if fields are hidden')
    assert.equal(await page.getByTestId('ab-attribute').inputValue(), 'release')
    await page.getByTestId('ab-baseline').fill('ab-1')
    await page.getByTestId('ab-candidate').fill('ab-2')
    await form.locator('input[name="maxP95"]').fill('5000')
    await page.getByTestId('run-backtest').click()

    await page.getByTestId('backtest-ab-arms').waitFor({ timeout: 60_000 })
    const report = page.getByTestId('backtest-report')
    assert.match((await report.locator('h3').first().textContent()) ?? '', /Live A\/B: release ab-1 → ab-2/)
    const arms = page.getByTestId('backtest-ab-arms').locator('tbody tr')
    assert.equal(await arms.count(), 2)
    // 30 single-call traces per arm, as seeded.
    assert.match((await arms.nth(0).textContent()) ?? '', /baseline\s*ab-1\s*3030/)
    assert.match((await arms.nth(1).textContent()) ?? '', /candidate\s*ab-2\s*3030/)
    assert.match((await page.getByTestId('backtest-ab-arms').textContent()) ?? '', /Unpaired design/)
    const rows = page.getByTestId('backtest-metrics').locator('tbody tr')
    const p50 = rows.filter({ hasText: 'Latency p50' })
    assert.match((await p50.textContent()) ?? '', /…/, 'the latency row shows an interval')
    assert.ok((await rows.filter({ hasText: 'Error rate' }).count()) === 1)
    // The candidate's p95 (≈ 1300 ms) is wholly below 5000 ms.
    assert.equal(await page.getByTestId('backtest-verdict').textContent(), 'pass')
    await page.screenshot({ path: join(RESULTS, 'backtests-ab.png'), fullPage: true })
    assert.ok(await page.getByText('A/B release: ab-1 → ab-2').first().isVisible())
    assert.deepEqual(h.pageErrors, [])
  })

  test('a replay with an evaluator from the form: real calls to the fake provider, quality row, triangle, verdict', async () => {
    const page = await h.open(`/backtests?project=${projectId}&range=24h`, { width: 1440, height: 1300 })
    const form = page.getByTestId('backtest-form')
    await form.waitFor({ timeout: 30_000 })
    await page.getByTestId('backtest-mode').selectOption('replay')
    await form.locator('input[name="route"]').fill('/replay-bt')
    await page.getByTestId('candidate-model').fill('cand-model')
    await page.getByTestId('replay-base-url').fill(fake.baseURL)
    await page.getByTestId('evaluator-exact_match').check()
    await page.getByTestId('objective-max-regression').fill('0.05')
    await page.getByTestId('run-backtest').click()

    await page.getByTestId('backtest-quality').waitFor({ timeout: 60_000 })
    // Every recorded call of the route went to the candidate, once.
    assert.equal(fake.requests.length, 12)
    for (const body of fake.requests) assert.equal(body.model, 'cand-model')
    const report = page.getByTestId('backtest-report')
    assert.match(
      (await report.locator('h3').first().textContent()) ?? '',
      /Replay: gpt-4o-mini → openai\/cand-model/,
    )
    assert.match((await page.getByTestId('backtest-replay').textContent()) ?? '', /12 of 12 calls answered/)
    // The candidate repeats the recorded answer for the 6 even questions: 100% → 50%, 6 ties and 6 losses.
    const row = page.getByTestId('backtest-quality').locator('tbody tr').filter({ hasText: 'exact_match' })
    const text = (await row.textContent()) ?? ''
    assert.match(text, /100\.0%/)
    assert.match(text, /50\.0%/)
    assert.match(text, /0 \/ 6 \/ 6/)
    assert.match(text, /McNemar p = /)
    const triangle = page.getByTestId('backtest-triangle-table')
    assert.match((await triangle.locator('thead').textContent()) ?? '', /Quality \(exact_match\)/)
    assert.match((await triangle.locator('tbody tr').nth(1).textContent()) ?? '', /candidate\s*50\.0%/)
    // −0.5 with its interval wholly below −0.05: the non-inferiority objective fails, and so does the verdict.
    assert.match(
      (await page.getByTestId('backtest-checks').textContent()) ?? '',
      /max_quality_regression \(exact_match\) ≥ -0\.05: fail/,
    )
    assert.equal(await page.getByTestId('backtest-verdict').textContent(), 'fail')
    await page.screenshot({ path: join(RESULTS, 'backtests-replay.png'), fullPage: true })
    assert.ok(await page.getByText('replay → openai/cand-model (evaluated)').first().isVisible())
    assert.deepEqual(h.pageErrors, [])
  })
})
