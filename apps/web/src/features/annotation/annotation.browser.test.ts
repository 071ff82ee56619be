/**
 * The annotation queue in a real browser (the production build, Debian's Chromium via
 * playwright-core, real embedded storage): create a score config and a queue on the page, score
 * two traces by keyboard only, and find the scores stored with source `annotation`; then the
 * evaluations and objectives pages. Skipped, loudly, without a `next build`.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { AnnotationQueueRepository, ScoreRepository } from '@hindsight/quality'
import type { Page } from 'playwright-core'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, seedRows } from '../../../test/seed'

const skip = browserTestSkip('ANNOTATION BROWSER TESTS')

const KEY = 'hs_annotation_browser_key_0123456789'

let projectId: string

const open = (path: string): Promise<Page> => h.open(path)

let h: BrowserHarness

describe('annotation, evaluations and objectives in Chromium', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('annotation-browser')
    const { projects, storage } = h
    projectId = (await projects.ensure('annotate', KEY)).project.id
    await insertRows(storage, seedRows({ projectId, traces: 5 }).rows)
    await h.start()
  })

  after(async () => {
    await h?.close()
  })

  test('create a score config and a queue, annotate two traces by keyboard, scores are stored', async () => {
    const page = await open(`/annotate?project=${projectId}`)
    await page.getByText('No annotation queue yet').waitFor({ timeout: 30_000 })

    // A categorical config and a boolean one.
    await page.getByTestId('config-name').fill('helpfulness')
    await page.getByTestId('config-categories').fill('bad, ok, great')
    await page.getByTestId('config-submit').click()
    await page.getByTestId('config-chip').first().waitFor({ timeout: 15_000 })
    await page.getByTestId('config-name').fill('correct')
    await page.getByTestId('config-type').selectOption('boolean')
    await page.getByTestId('config-submit').click()
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="config-chip"]').length === 2)

    await page.getByTestId('queue-name').fill('support answers')
    await page.getByTestId('queue-route').fill('/api/answer')
    for (const box of await page.getByTestId('queue-score').all()) await box.check()
    await page.getByTestId('queue-submit').click()
    const row = page.getByTestId('queue-row')
    await row.waitFor({ timeout: 15_000 })
    assert.equal(await page.getByTestId('nav-annotate').getAttribute('class'), 'nav-link active')
    await row.getByRole('link', { name: 'support answers' }).click()
    await page.waitForURL(/queue=/)

    const traceIdNow = async () => {
      await page.getByTestId('score-field').first().waitFor({ timeout: 15_000 })
      return page.getByTestId('annotate-trace-id').getAttribute('data-trace-id')
    }
    await page.getByTestId('annotate-output').waitFor({ timeout: 15_000 })
    assert.match(
      (await page.getByTestId('annotate-progress').textContent()) ?? '',
      /Trace 1 of 5 · 0 annotated/,
    )
    const first = await traceIdNow()

    // The fields follow the queue's score order; a number key fills the active one and moves on.
    const order = await page
      .getByTestId('score-field')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-score-name')))
    assert.deepEqual([...order].sort(), ['correct', 'helpfulness'])
    const keysFor = (picks: Record<string, string>) => order.map((name) => picks[name ?? ''] ?? '')
    // Trace 1: "3" = great (helpfulness), "1" = yes (correct), Enter saves and moves on.
    for (const key of keysFor({ helpfulness: '3', correct: '1' })) await page.keyboard.press(key)
    assert.deepEqual(
      await page.getByTestId('score-value').allTextContents(),
      order.map((name) => (name === 'helpfulness' ? 'great' : 'true')),
    )
    await page.screenshot({ path: join(RESULTS, 'annotate.png'), fullPage: true })
    await page.keyboard.press('Enter')
    await page.getByText(/Trace 2 of 5 · 1 annotated/).waitFor({ timeout: 15_000 })
    const second = await traceIdNow()
    assert.notEqual(second, first)

    // J/K move without saving; S skips.
    await page.keyboard.press('j')
    await page.getByText(/Trace 3 of 5/).waitFor()
    await page.keyboard.press('k')
    await page.getByText(/Trace 2 of 5/).waitFor()
    await page.waitForFunction(
      (id) =>
        document.querySelector('[data-testid="annotate-trace-id"]')?.getAttribute('data-trace-id') === id,
      second,
    )
    // Trace 2: "1" = bad, "0" = no.
    for (const key of keysFor({ helpfulness: '1', correct: '0' })) await page.keyboard.press(key)
    await page.keyboard.press('Enter')
    await page.getByText(/Trace 3 of 5 · 2 annotated/).waitFor({ timeout: 15_000 })
    await page.keyboard.press('s')
    await page.getByText(/Trace 4 of 5/).waitFor()
    // The skip is recorded for the queue: its next item (REST `next`) passes trace 3.
    const queueId = new URL(page.url()).searchParams.get('queue') ?? ''
    const queues = new AnnotationQueueRepository(h.storage)
    let next = await queues.next(projectId, queueId)
    for (let i = 0; i < 50 && next.skipped === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      next = await queues.next(projectId, queueId)
    }
    assert.deepEqual([next.annotated, next.skipped, next.remaining], [2, 1, 2])
    assert.equal(next.item?.trace_id, (await queues.items(projectId, queueId)).items[3]?.trace_id)

    // Esc leaves to the queue list.
    await page.keyboard.press('Escape')
    await page.waitForURL((url) => !url.search.includes('queue='))
    await row.waitFor()

    const scores = await new ScoreRepository(h.storage).list(projectId, { source: 'annotation' })
    const got = scores.items.map((s) => `${s.trace_id} ${s.name}=${s.string_value}`).sort()
    assert.deepEqual(
      got,
      [
        `${first} correct=true`,
        `${first} helpfulness=great`,
        `${second} correct=false`,
        `${second} helpfulness=bad`,
      ].sort(),
    )
    assert.ok(scores.items.every((s) => s.metadata.queue_id && s.config_id))
    await page.close()
  })

  test('evaluations page: create, pause and delete a rule; objectives page: create one and see its status', async () => {
    const page = await open(`/evaluations?project=${projectId}`)
    await page.getByText('No evaluation rule yet').waitFor({ timeout: 30_000 })
    await page.getByTestId('rule-name').fill('answers are JSON')
    await page.getByTestId('rule-submit').click()
    const rule = page.getByTestId('rule-row')
    await rule.waitFor({ timeout: 15_000 })
    assert.match((await rule.textContent()) ?? '', /answers are JSON.*every trace.*100%.*valid_json/)
    await rule.getByTestId('rule-toggle').click()
    await rule.getByText('paused').waitFor({ timeout: 15_000 })
    page.once('dialog', (d) => void d.accept())
    await rule.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No evaluation rule yet').waitFor({ timeout: 15_000 })
    await page.close()

    const objectives = await open(`/objectives?project=${projectId}`)
    await objectives.getByText('No objective yet').waitFor({ timeout: 30_000 })
    await objectives.getByTestId('objective-name').fill('answer p95')
    await objectives.getByTestId('objective-threshold').fill('100')
    await objectives.getByTestId('objective-route').fill('/api/answer')
    await objectives.getByTestId('objective-submit').click()
    const card = objectives.getByTestId('objective')
    await card.waitFor({ timeout: 15_000 })
    assert.equal(
      await card.getByTestId('objective-met').textContent(),
      'not met',
      'seeded calls take > 100 ms',
    )
    assert.match((await card.getByTestId('objective-budget').textContent()) ?? '', /budget left −?-?\d/)
    await card
      .getByTestId('objective-chart')
      .locator('.recharts-bar-rectangle')
      .first()
      .waitFor({ timeout: 15_000 })
    await objectives.screenshot({ path: join(RESULTS, 'objectives.png'), fullPage: true })
    assert.equal(await objectives.getByTestId('nav-objectives').getAttribute('class'), 'nav-link active')
    await objectives.close()
    assert.deepEqual(h.pageErrors, [])
  })
})
