/**
 * `/evaluations` in Chromium (the production build, real embedded storage): an LLM-judge rule with
 * its own rubric template and a key reference, a rule on a registered custom evaluator; errors from
 * the form's checks and from the server show beside their fields; pause and delete. Skipped,
 * loudly, without a build.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { EvaluationRuleRepository } from '@hindsight/quality'
import type { Page } from 'playwright-core'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'

const skip = browserTestSkip('EVALUATIONS BROWSER TESTS')
const KEY = 'hs_evaluations_browser_key_0123456'

let h: BrowserHarness
let projectId: string

/** The stored rules' names and enabled flags, once they equal `want` (or after 5 s, as they are). */
async function ruleStates(...want: [string, boolean][]): Promise<[string, boolean][]> {
  const deadline = Date.now() + 5000
  for (;;) {
    const rules = await new EvaluationRuleRepository(h.storage).list(projectId)
    const got = rules.map((r): [string, boolean] => [r.name, r.enabled]).sort()
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > deadline) return got
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const fieldError = (page: Page, field: string) =>
  page.locator(`[data-testid="field-error"][data-field="${field}"]`)

describe('evaluation rules from the UI', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('evaluations-browser')
    projectId = (await h.projects.ensure('evals', KEY)).project.id
    await h.start()
  })

  after(async () => {
    await h?.close()
  })

  test('an LLM-judge rule with its own rubric, a custom rule; inline errors; pause and delete', async () => {
    const page = await h.open(`/evaluations?project=${projectId}`)
    await page.getByText('No evaluation rule yet').waitFor({ timeout: 30_000 })

    // The form's own checks: a judge needs a model; a pasted key is refused without being repeated.
    await page.getByTestId('rule-name').fill('on topic')
    await page.getByTestId('rule-kind').selectOption('judge')
    await page.getByTestId('judge-fields').waitFor()
    await page.getByTestId('judge-key-env').fill('sk-live-not-a-variable')
    await page.getByTestId('rule-submit').click()
    await fieldError(page, 'model').waitFor({ timeout: 10_000 })
    assert.match((await fieldError(page, 'model').textContent()) ?? '', /model is required/)
    assert.match((await fieldError(page, 'apiKeyEnv').textContent()) ?? '', /NAME of an environment variable/)
    assert.ok(!((await page.getByTestId('rule-form').textContent()) ?? '').includes('sk-live'))

    // An own rubric template (prefilled from a built-in); the server's refusal lands beside the field.
    await page.getByTestId('judge-model').fill('gpt-4o-mini')
    await page.getByTestId('judge-base-url').fill('http://127.0.0.1:9/v1')
    await page.getByTestId('judge-key-env').fill('JUDGE_KEY')
    await page.getByTestId('judge-rubric').selectOption('custom')
    assert.match(await page.getByTestId('rubric-prompt').inputValue(), /\{\{output\}\}/)
    await page.getByTestId('rubric-name').fill('on topic?!')
    await page.getByTestId('rubric-scale').selectOption('boolean')
    await page
      .getByTestId('rubric-prompt')
      .fill('Is the ANSWER about billing?\n\nQUESTION: {{input}}\nANSWER: {{output}}')
    await page.getByTestId('rule-submit').click()
    await fieldError(page, 'rubricName').waitFor({ timeout: 10_000 })
    assert.match(
      (await fieldError(page, 'rubricName').textContent()) ?? '',
      /letters, digits, spaces and _\.:\/-/,
    )
    assert.equal(await fieldError(page, 'model').count(), 0)
    await page.screenshot({ path: join(RESULTS, 'evaluations-errors.png'), fullPage: true })

    await page.getByTestId('rubric-name').fill('on_topic')
    await page.getByTestId('rule-submit').click()
    const judgeRow = page.getByTestId('rule-row').filter({ hasText: 'on topic' })
    await judgeRow.waitFor({ timeout: 15_000 })
    assert.match(
      (await judgeRow.textContent()) ?? '',
      /judge: own rubric on_topic \(gpt-4o-mini @ http:\/\/127\.0\.0\.1:9\/v1, key \$JUDGE_KEY\)/,
    )
    assert.equal(await fieldError(page, 'rubricName').count(), 0)

    // A registered custom evaluator, sampled at 25%.
    await page.getByTestId('rule-name').fill('house rules')
    await page.getByTestId('rule-kind').selectOption('custom')
    await page.getByTestId('rule-sampling').fill('25')
    await page.getByTestId('rule-submit').click()
    await fieldError(page, 'custom').waitFor({ timeout: 10_000 })
    await page.getByTestId('rule-custom').fill('house-style')
    await page.getByTestId('rule-submit').click()
    const customRow = page.getByTestId('rule-row').filter({ hasText: 'house rules' })
    await customRow.waitFor({ timeout: 15_000 })
    assert.match((await customRow.textContent()) ?? '', /25%.*custom: house-style/)
    await page.screenshot({ path: join(RESULTS, 'evaluations.png'), fullPage: true })

    // What was stored: the key's variable name, never a key.
    const stored = await new EvaluationRuleRepository(h.storage).list(projectId)
    assert.deepEqual(
      stored.map((r) => [r.name, r.sampling_rate, r.evaluators]),
      [
        [
          'on topic',
          1,
          [
            {
              type: 'judge',
              rubric: {
                name: 'on_topic',
                prompt: 'Is the ANSWER about billing?\n\nQUESTION: {{input}}\nANSWER: {{output}}',
                scale: { type: 'boolean' },
              },
              endpoint: {
                provider: 'openai',
                model: 'gpt-4o-mini',
                baseURL: 'http://127.0.0.1:9/v1',
                apiKeyEnv: 'JUDGE_KEY',
              },
            },
          ],
        ],
        ['house rules', 0.25, [{ type: 'custom', evaluator: 'house-style' }]],
      ],
    )

    // Pause, then delete, the judge rule.
    await judgeRow.getByTestId('rule-toggle').click()
    await judgeRow.getByText('paused').waitFor({ timeout: 15_000 })
    assert.deepEqual(await ruleStates(['house rules', true], ['on topic', false]), [
      ['house rules', true],
      ['on topic', false],
    ])
    page.once('dialog', (d) => void d.accept())
    await judgeRow.getByRole('button', { name: 'Delete' }).click()
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="rule-row"]').length === 1,
      null,
      {
        timeout: 15_000,
      },
    )
    assert.deepEqual(await ruleStates(['house rules', true]), [['house rules', true]])
    await page.close()
    assert.deepEqual(h.pageErrors, [])
  })
})
