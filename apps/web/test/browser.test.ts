/**
 * The dashboard in a real browser: the production build served by `startWebServer`, real
 * embedded storage with seeded spans, Debian's Chromium driven by playwright-core.
 * Needs a prior `next build` (`pnpm test` builds first).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GEN_AI } from '@hindsight/collector/conventions'
import type { Page } from 'playwright-core'
import { formatPercent, formatUsd } from '../src/lib/format'
import { BrowserHarness, browserTestSkip, RESULTS } from './browser-support'
import { expectedTotals, insertRows, type Seeded, seedRows } from './seed'

const skip = browserTestSkip('BROWSER TESTS')

const KEY = 'hs_browser_test_key_abcdefghijklmnop'
const EMPTY_KEY = 'hs_browser_empty_key_qrstuvwxyz012345'

let projectId: string
let emptyProjectId: string
let seeded: Seeded
/** Model calls in the previous 24 h: a handful, too few for a rate or percentile to compare with. */
let previousCalls = 0

const open = (path: string): Promise<Page> => h.open(path)

let h: BrowserHarness

describe('dashboard in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('browser-test')
    const { projects, storage } = h
    projectId = (await projects.ensure('support-bot', KEY)).project.id
    emptyProjectId = (await projects.ensure('brand-new', EMPTY_KEY)).project.id
    seeded = seedRows({ projectId, traces: 60 })
    await insertRows(storage, seeded.rows)
    const before = seedRows({
      projectId,
      traces: 2,
      now: Date.now() - 30 * 3_600_000,
      spreadMs: 3_600_000,
      seed: 9,
    })
    previousCalls = expectedTotals(before.rows).calls
    await insertRows(storage, before.rows)
    await h.start({ knownKeys: { [projectId]: KEY, [emptyProjectId]: EMPTY_KEY } })
  })

  after(async () => {
    await h?.close()
  })

  test('auto-refresh moves "now" on its period, and the URL keeps it', async () => {
    const page = await h.open(`/?project=${projectId}&refresh=30`, undefined, (p) => p.clock.install())
    const asOf = page.getByTestId('as-of')
    await page.getByTestId('kpi-calls').waitFor({ timeout: 30_000 })
    assert.equal(await page.getByTestId('auto-refresh').inputValue(), '30')
    const before = await asOf.textContent()
    await page.clock.runFor(31_000)
    await page.waitForFunction(
      (text) => document.querySelector('[data-testid="as-of"]')?.textContent !== text,
      before,
    )
    // Off: the anchor stays, and nothing is fetched again.
    await page.getByTestId('auto-refresh').selectOption('')
    await page.waitForURL((url) => !url.searchParams.has('refresh'))
    const fixed = await asOf.textContent()
    let fetches = 0
    page.on('request', (request) => {
      if (request.url().includes('/api/trpc/')) fetches++
    })
    await page.clock.runFor(61_000)
    await page.waitForTimeout(500)
    assert.equal(fetches, 0, 'no refresh while off')
    assert.equal(await asOf.textContent(), fixed)
    await page.close()
  })

  test('the most expensive calls, most expensive first; one opens in its trace with the call selected', async () => {
    const page = await open(`/?project=${projectId}`)
    const rows = page.getByTestId('top-call')
    await rows.first().waitFor({ timeout: 30_000 })
    const priced = seeded.rows
      .filter((r) => (r.kind === 'llm' || r.kind === 'embedding') && r.cost_usd !== null)
      .sort((a, b) => Number(b.cost_usd) - Number(a.cost_usd))
    assert.equal(await rows.count(), Math.min(10, priced.length))
    const [first] = priced
    assert.ok(first)
    assert.equal(
      await rows.first().getByTestId('top-call-cost').textContent(),
      formatUsd(Number(first.cost_usd)),
    )
    const spanId = await rows.first().getAttribute('data-span-id')
    assert.equal(spanId, first.span_id)
    await rows.first().getByRole('link').click()
    await page.waitForURL(new RegExp(`/traces/${first.trace_id}\\?.*span=${first.span_id}`), {
      timeout: 10_000,
    })
    await page.getByTestId('span-details').waitFor({ timeout: 15_000 })
    assert.equal(await page.getByTestId('span-model').textContent(), first.model)
    await page.close()
  })

  test('breakdown by any attribute key, kept in the URL', async () => {
    const page = await open(`/?project=${projectId}`)
    const picker = page.getByTestId('breakdown-by')
    await picker.waitFor({ timeout: 30_000 })
    await page.locator('[data-testid="provider-row"]').first().waitFor({ timeout: 15_000 })
    await picker.selectOption('attribute')
    await page.getByTestId('breakdown-key').fill(GEN_AI.requestTemperature)
    await page.getByTestId('breakdown-key-apply').click()
    await page.waitForURL(/by=attribute&by_key=gen_ai\.request\.temperature/)
    const rows = page.getByTestId('attribute-row')
    await rows.first().waitFor({ timeout: 15_000 })
    // What the seed's model calls carry under that key, counted here.
    const expected: Record<string, string> = {}
    for (const r of seeded.rows) {
      if (r.kind !== 'llm' && r.kind !== 'embedding') continue
      const value = r.attributes[GEN_AI.requestTemperature] ?? ''
      expected[value] = String(Number(expected[value] ?? 0) + 1)
    }
    const byKey = Object.fromEntries(
      await rows.evaluateAll((els) =>
        els.map((e) => [
          e.getAttribute('data-key'),
          e.querySelector('[data-testid="cell-calls"]')?.textContent,
        ]),
      ),
    )
    assert.deepEqual(byKey, expected)
    assert.ok(Object.keys(expected).includes('0.2'))
    assert.equal(
      await page.getByTestId('attribute-table').locator('th').first().textContent(),
      'gen_ai.request.temperature',
    )
    await page.close()
  })

  test('errors: the failure by type with its newest trace, and one click to every failing trace', async () => {
    const page = await open(`/?project=${projectId}`)
    const row = page.locator('[data-testid="error-type-row"][data-key="APITimeoutError"]')
    await row.waitFor({ timeout: 30_000 })
    const failed = seeded.rows.filter((r) => r.status === 'error' && r.kind === 'llm')
    assert.equal(await row.getByTestId('error-type-calls').textContent(), String(failed.length))
    assert.equal(await page.getByTestId('error-type-row').count(), 1, 'one error type in the seed')
    await page.locator('[data-testid="chart-errors"] path.recharts-rectangle').first().waitFor()
    await page.getByTestId('errors-all-traces').click()
    await page.waitForURL(/\/traces\?.*status=error/, { timeout: 10_000 })
    await page.getByTestId('trace-row').first().waitFor({ timeout: 15_000 })
    assert.deepEqual(
      await page
        .getByTestId('trace-row')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-trace-id'))),
      [seeded.errorTraceId],
    )
    await page.goBack()
    await row.getByTestId('error-type-example').click()
    await page.waitForURL(new RegExp(`/traces/${seeded.errorTraceId}`), { timeout: 10_000 })
    await page.close()
  })

  test('overview shows real KPIs, charts and the model breakdown', async () => {
    const page = await open(`/?project=${projectId}`)
    const calls = page.getByTestId('kpi-calls')
    await calls.waitFor({ timeout: 30_000 })
    const expected = expectedTotals(seeded.rows)
    assert.equal(Number((await calls.textContent())?.replaceAll(',', '')), expected.calls)
    const cost = (await page.getByTestId('kpi-cost').textContent()) ?? ''
    assert.match(cost, /^\$\d/)
    assert.ok(Number(cost.replace(/[$,]/g, '')) > 0, cost)
    assert.match((await page.getByTestId('kpi-p95').textContent()) ?? '', /\d+(\.\d+)? (ms|s)$/)
    // Time to first token: the seed's successful calls all record one, between 120 and 520 ms.
    assert.match((await page.getByTestId('kpi-ttft').textContent()) ?? '', /^[1-5]\d\d ms$/)
    // Totals compare with the few previous calls; percentiles and rates do not pretend to.
    assert.ok(previousCalls > 0 && previousCalls < 30 && expected.calls >= 10 * previousCalls)
    assert.match(
      (await page.getByTestId('kpi-calls-change').textContent()) ?? '',
      /^×\d+(\.\d)? vs previous 24h$/,
    )
    assert.equal(
      await page.getByTestId('kpi-p95-change').textContent(),
      `only ${previousCalls} calls in previous 24h`,
    )
    const partial = (await page.getByTestId('partial-cost').textContent()) ?? ''
    const unbilled = seeded.rows.filter((r) => r.status === 'error' && r.kind === 'llm').length
    assert.equal(unbilled, 1, 'the seed has one failed call, with no usage')
    assert.match(
      partial,
      new RegExp(`^Partial cost: ${expected.unpriced - unbilled} of ${expected.calls} calls have no price`),
    )
    assert.match(partial, /Not counted among them: 1 failed call that reported no usage/)
    // Prompt cache: the hit rate of the seeded LLM calls, dollars saved, a row per model that cached.
    const llm = seeded.rows.filter((r) => r.kind === 'llm')
    const sum = (pick: (r: (typeof llm)[number]) => number) => llm.reduce((n, r) => n + pick(r), 0)
    const hitRate = sum((r) => r.cache_read_tokens) / sum((r) => r.input_tokens)
    assert.equal(await page.getByTestId('cache-hit-rate').textContent(), formatPercent(hitRate))
    const saved = (await page.getByTestId('cache-saved').textContent()) ?? ''
    assert.ok(/^\$\d/.test(saved) && Number(saved.replace(/[$,]/g, '')) > 0, saved)
    const cachedModels = new Set(llm.filter((r) => r.cache_read_tokens > 0).map((r) => r.model))
    const cacheRows = page.getByTestId('cache-row')
    assert.deepEqual(
      new Set(await cacheRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-key')))),
      cachedModels,
    )
    assert.ok(cachedModels.has('llama-3-local'), 'the seed caches on the unpriced model too')
    assert.equal(
      await page
        .locator('[data-testid="cache-row"][data-key="llama-3-local"] [data-testid="cache-row-saved"]')
        .textContent(),
      'unpriced',
      'a model missing from the price table has tokens but no dollars',
    )
    // Charts rendered: stacked cost bars and latency lines are SVG paths.
    await page
      .locator('[data-testid="chart-cost"] svg path.recharts-rectangle')
      .first()
      .waitFor({ timeout: 15_000 })
    await page.locator('[data-testid="chart-latency"] svg path.recharts-curve').first().waitFor()
    // …and the dashed time-to-first-token line beside the percentiles.
    await page
      .locator('[data-testid="chart-latency"] svg path.recharts-curve[stroke-dasharray="4 3"]')
      .waitFor()
    await page.locator('[data-testid="chart-tokens"] svg path.recharts-curve').first().waitFor()
    assert.ok((await page.getByTestId('model-row').count()) >= 4)
    await page.screenshot({ path: join(RESULTS, 'overview.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.screenshot({ path: join(RESULTS, 'overview-dark.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'light' })

    // A cost bar leads to the traces of its model in its bucket.
    await page.locator('[data-testid="chart-cost"] path.recharts-rectangle').first().click()
    await page.waitForURL(/\/traces\?.*from=.*&to=.*&model=/)
    await page.getByTestId('trace-row').first().waitFor()
    await page.goBack()
    await page.getByTestId('model-row').first().waitFor()

    // A model row leads to the trace list filtered to that model.
    await page.getByTestId('model-row').filter({ hasText: 'claude-sonnet-4' }).click()
    await page.waitForURL(/\/traces\?.*model=claude-sonnet-4/)
    await page.getByTestId('trace-row').first().waitFor()
    const models = await page.getByTestId('trace-row').locator('td:last-child').allTextContents()
    assert.ok(models.length > 0 && models.every((m) => m.includes('claude-sonnet-4')), models.join('|'))
    await page.close()
  })

  test('trace list pages, and a row opens the trace with spans, tokens and cost', async () => {
    const page = await open(`/traces?project=${projectId}`)
    const rows = page.getByTestId('trace-row')
    await rows.first().waitFor({ timeout: 30_000 })
    assert.equal(await rows.count(), 50)
    await page.screenshot({ path: join(RESULTS, 'traces.png') })
    await page.getByTestId('load-more').click()
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="trace-row"]').length === 60)
    await page.evaluate(() => window.scrollTo(0, 0))

    const traceId = await rows.first().getAttribute('data-trace-id')
    await rows.first().locator('td').first().click()
    await page.waitForURL(new RegExp(`/traces/${traceId}`))
    const spans = page.getByTestId('span-row')
    await spans.first().waitFor({ timeout: 30_000 })
    const stored = seeded.rows.filter((r) => r.trace_id === traceId)
    assert.equal(await spans.count(), stored.length)
    assert.match((await page.getByTestId('trace-tokens').textContent()) ?? '', /^[\d.]+K? \/ [\d.]+K?$/)
    assert.doesNotMatch((await page.getByTestId('trace-tokens').textContent()) ?? '', /^0 \/ 0$/)
    assert.match((await page.getByTestId('trace-cost').textContent()) ?? '', /^\$|^—$/)

    // Select the first model call: its details show the model, tokens and cost.
    const llm = stored.find((r) => r.kind === 'llm')
    assert.ok(llm)
    await page.locator(`[data-testid="span-row"][data-span-id="${llm.span_id}"]`).click()
    const details = page.getByTestId('span-details')
    await page.waitForURL(new RegExp(`span=${llm.span_id}`))
    assert.equal(await details.getByTestId('span-model').textContent(), llm.model)
    assert.match((await details.getByTestId('span-input-tokens').textContent()) ?? '', /tokens$/)
    assert.match((await details.getByTestId('span-cost').textContent()) ?? '', /^\$\d|^unpriced/)
    assert.ok(await details.locator('.message.role-user').count(), 'input messages are rendered')
    await page.screenshot({ path: join(RESULTS, 'trace.png') })
    await page.close()
  })

  test('a filter that matches nothing says so, with the filter', async () => {
    const page = await open(`/traces?project=${projectId}&model=no-such-model`)
    await page.getByText('No traces match model no-such-model').waitFor({ timeout: 30_000 })
    await page.close()
  })

  test('an empty project shows the SDK setup with its endpoint and key', async () => {
    const page = await open(`/?project=${emptyProjectId}`)
    const code = page.getByTestId('setup-code')
    await code.waitFor({ timeout: 30_000 })
    const text = (await code.textContent()) ?? ''
    assert.match(text, /import \{ init, wrapOpenAI \} from '@hindsight\/sdk'/)
    assert.ok(text.includes(`init({ endpoint: 'http://127.0.0.1:4318', apiKey: '${EMPTY_KEY}' })`), text)
    assert.ok(text.includes('const openai = wrapOpenAI(new OpenAI())'))
    assert.match((await page.getByTestId('setup-snippet').textContent()) ?? '', /pnpm demo/)
    await page.screenshot({ path: join(RESULTS, 'empty.png') })
    await page.close()
  })

  test('no page threw in the browser', () => {
    assert.deepEqual(h.pageErrors, [])
  })
})
