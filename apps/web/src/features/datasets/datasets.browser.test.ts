/**
 * Quality in the dashboard, in a real browser (the production build, Debian's Chromium via
 * playwright-core, real embedded storage): a dataset built from production traces in three clicks,
 * the datasets page with its versions, and scores on the trace page.
 * Needs a prior `next build` (`pnpm test` builds first); skipped, loudly, without one.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ScoreRepository } from '@hindsight/quality'
import type { Page } from 'playwright-core'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, type Seeded, seedRows } from '../../../test/seed'

const skip = browserTestSkip('DATASET BROWSER TESTS')

const KEY = 'hs_datasets_browser_key_0123456789'

let projectId: string
let seeded: Seeded

const open = (path: string): Promise<Page> => h.open(path)

let h: BrowserHarness

describe('datasets and scores in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('datasets-browser')
    const { projects, storage } = h
    projectId = (await projects.ensure('quality', KEY)).project.id
    seeded = seedRows({ projectId, traces: 8 })
    await insertRows(storage, seeded.rows)
    await h.start()
  })

  after(async () => {
    await h?.close()
  })

  test('three clicks from the trace list to a dataset; a second round adds to it; versions on the datasets page', async () => {
    const page = await open(`/traces?project=${projectId}`)
    const rows = page.getByTestId('trace-row')
    await rows.first().waitFor({ timeout: 30_000 })
    const first = await rows.nth(0).getAttribute('data-trace-id')
    const second = await rows.nth(1).getAttribute('data-trace-id')

    // 1: tick a trace, 2: "Add to dataset…", 3: "Add" (a new dataset with a suggested name).
    await rows.nth(0).getByTestId('trace-select').click()
    assert.match(page.url(), /\/traces\?/, 'ticking does not open the trace')
    await page.getByTestId('add-to-dataset-open').click()
    await page.getByTestId('dataset-name').waitFor()
    assert.match(await page.getByTestId('dataset-name').inputValue(), /^traces-\d{4}-\d{2}-\d{2}$/)
    await page.getByTestId('add-to-dataset-submit').click()
    const note = page.getByTestId('add-to-dataset-result')
    await note.waitFor({ timeout: 15_000 })
    assert.match((await note.textContent()) ?? '', /Added 1 trace to traces-.* \(version 1\)/)
    await page.screenshot({ path: join(RESULTS, 'add-to-dataset.png') })

    // Again with the second trace: the dataset just made is preselected.
    await rows.nth(1).getByTestId('trace-select').click()
    await page.getByTestId('add-to-dataset-open').click()
    await page.getByTestId('dataset-choice').waitFor()
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid="dataset-choice"]') as HTMLSelectElement | null)?.disabled ===
        false,
    )
    assert.notEqual(await page.getByTestId('dataset-choice').inputValue(), '__new__')
    await page.getByTestId('add-to-dataset-submit').click()
    await page.getByText(/Added 1 trace to traces-.* \(version 2\)/).waitFor({ timeout: 15_000 })

    await note.getByRole('link', { name: /Open the dataset/ }).click()
    await page.waitForURL(/\/datasets\?.*dataset=/)
    const items = page.getByTestId('dataset-item')
    await items.first().waitFor({ timeout: 15_000 })
    assert.equal(await items.count(), 2)
    const body = (await page.getByTestId('dataset-items-table').textContent()) ?? ''
    for (const id of [first, second]) assert.ok(id && body.includes(id.slice(0, 12)), `${id} listed`)
    assert.equal(await page.getByTestId('dataset-row').count(), 1)
    assert.match((await page.getByTestId('dataset-row').textContent()) ?? '', /v2/)
    await page.screenshot({ path: join(RESULTS, 'datasets.png'), fullPage: true })

    // Version 1 is the snapshot before the second trace was added.
    await page.getByTestId('dataset-version').selectOption('1')
    await page.waitForURL(/version=1/)
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="dataset-item"]').length === 1)
    assert.match(
      (await page.getByTestId('dataset-items-table').textContent()) ?? '',
      new RegExp(first?.slice(0, 12) ?? 'x'),
    )
    assert.equal(await page.getByTestId('nav-datasets').getAttribute('class'), 'nav-link active')
    await page.close()
  })

  test('scores on the trace page: trace-level in the header, span-level in the span details', async () => {
    const traceId = seeded.traceIds[0] ?? ''
    const llm = seeded.rows.find((r) => r.trace_id === traceId && r.kind === 'llm')
    assert.ok(llm)
    await new ScoreRepository(h.storage).create(projectId, [
      { traceId, name: 'helpfulness', value: 0.8, source: 'annotation', comment: 'clear answer' },
      { traceId, name: 'tone', value: 'professional', source: 'evaluator', evaluator: 'tone' },
      { traceId, spanId: llm.span_id, name: 'valid_json', value: false, source: 'evaluator' },
    ])
    const page = await open(`/traces/${traceId}?project=${projectId}`)
    const header = page.getByTestId('trace-scores')
    await header.waitFor({ timeout: 30_000 })
    const chips = await header.getByTestId('score-chip').allTextContents()
    assert.deepEqual(chips.sort(), ['helpfulness: 0.8', 'tone: professional'])
    assert.equal(
      await header.locator('[data-score-name="valid_json"]').count(),
      0,
      'span scores stay on their span',
    )
    await page.locator(`[data-testid="span-row"][data-span-id="${llm.span_id}"]`).click()
    const spanScores = page.getByTestId('span-details').getByTestId('span-scores')
    await spanScores.waitFor()
    assert.equal((await spanScores.textContent())?.trim(), 'valid_json: ✗ false')
    await page.screenshot({ path: join(RESULTS, 'trace-scores.png') })
    await page.close()
  })

  test('no page threw in the browser', () => {
    assert.deepEqual(h.pageErrors, [])
  })
})
