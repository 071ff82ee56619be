/**
 * The back-tests page in a real browser (the production build, Debian's Chromium via
 * playwright-core, real embedded storage): a what-if started from the form runs, and its report
 * renders — verdict, metric table with intervals, the cost × latency chart; a live A/B of two
 * releases started from the same form renders both arms and the same metric table.
 * Needs a prior `next build` (`pnpm test` builds first); skipped, loudly, without one.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { testRow } from '@hindsight/collector/testing'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, seedRows } from '../../../test/seed'

let projectId: string

const skip = browserTestSkip('BACK-TEST BROWSER TESTS')

let h: BrowserHarness

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

describe('back-tests page in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('backtests-browser')
    const { projects, storage } = h
    projectId = (await projects.ensure('backtests', 'hs_backtests_browser_key_0123456789')).project.id
    await insertRows(storage, seedRows({ projectId, traces: 200 }).rows)
    await insertRows(storage, abRows(projectId))
    await h.start()
  })

  after(async () => {
    await h?.close()
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
})
