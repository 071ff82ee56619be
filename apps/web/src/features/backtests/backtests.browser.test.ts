/**
 * The back-tests page in a real browser (the production build, Debian's Chromium via
 * playwright-core, real embedded storage): a what-if started from the form runs, and its report
 * renders — verdict, metric table with intervals, the cost × latency chart.
 * Needs a prior `next build` (`pnpm test` builds first); skipped, loudly, without one.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, seedRows } from '../../../test/seed'

let projectId: string

const skip = browserTestSkip('BACK-TEST BROWSER TESTS')

let h: BrowserHarness

describe('back-tests page in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('backtests-browser')
    const { projects, storage } = h
    projectId = (await projects.ensure('backtests', 'hs_backtests_browser_key_0123456789')).project.id
    await insertRows(storage, seedRows({ projectId, traces: 200 }).rows)
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
})
