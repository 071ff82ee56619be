/**
 * Quality beside cost and latency on the overview, in Chromium (the production build, real embedded
 * storage): seeded spans over four models and two releases, four score names on their traces; the
 * by-model and by-release tables must show each row's calls, errors, cost and the mean (with n) of
 * each score, computed here independently from the seeded rows. Skipped, loudly, without a build.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { type ScoreInput, ScoreRepository } from '@hindsight/quality'
import type { Locator } from 'playwright-core'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, type Seeded, seedRows } from '../../../test/seed'
import { formatCount, formatUsd } from '../../lib/format'
import { formatScoreMean } from './lib/breakdown'

const skip = browserTestSkip('OVERVIEW QUALITY BROWSER TESTS')
const KEY = 'hs_overview_quality_key_0123456789'

let h: BrowserHarness
let projectId: string
let seeded: Seeded
/** Score name → trace id → value (booleans as 1/0, as they are averaged). */
const given = new Map<string, Map<string, number>>()

/** Four names with different counts, so the three most frequent are shown and one is picked. */
function scoresFor(traceIds: string[]): ScoreInput[] {
  const out: ScoreInput[] = []
  const add = (name: string, traceId: string, value: number | boolean) => {
    out.push({ traceId, name, value, source: 'api' })
    const byTrace = given.get(name) ?? new Map<string, number>()
    byTrace.set(traceId, typeof value === 'boolean' ? (value ? 1 : 0) : value)
    given.set(name, byTrace)
  }
  traceIds.forEach((traceId, i) => {
    add('helpfulness', traceId, ((i * 7) % 5) + 1)
    if (i % 3 !== 2) add('correct', traceId, i % 4 !== 1)
    if (i % 2 === 0) add('tone', traceId, (i % 10) / 10)
    if (i % 5 === 0) add('brevity', traceId, i % 2 === 0 ? 1 : 0.5)
  })
  return out
}

interface Expected {
  calls: number
  errors: number
  /** null when no call of the row is priced. */
  cost: number | null
  scores: Map<string, { mean: number; n: number }>
}

/** What a row must say, from the seeded rows: model calls are llm and embedding spans. */
function expectedBy(dimension: 'model' | 'release'): Map<string, Expected> {
  const calls = seeded.rows.filter((r: SpanRow) => r.kind === 'llm' || r.kind === 'embedding')
  const out = new Map<string, Expected>()
  const tracesOf = new Map<string, Set<string>>()
  for (const r of calls) {
    const key = r[dimension]
    const e: Expected = out.get(key) ?? { calls: 0, errors: 0, cost: null, scores: new Map() }
    e.calls += 1
    e.errors += r.status === 'error' ? 1 : 0
    if (r.cost_usd !== null) e.cost = (e.cost ?? 0) + Number(r.cost_usd)
    out.set(key, e)
    tracesOf.set(key, (tracesOf.get(key) ?? new Set()).add(r.trace_id))
  }
  for (const [key, e] of out) {
    for (const [name, byTrace] of given) {
      const values = [...(tracesOf.get(key) ?? [])].flatMap((t) =>
        byTrace.has(t) ? [byTrace.get(t) ?? 0] : [],
      )
      if (values.length > 0)
        e.scores.set(name, { mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length })
    }
  }
  return out
}

async function checkTable(table: Locator, dimension: 'model' | 'release', shown: string[]): Promise<void> {
  const expected = expectedBy(dimension)
  const rows = table.getByTestId(`${dimension}-row`)
  await rows.first().waitFor({ timeout: 15_000 })
  assert.equal(await rows.count(), expected.size, `${dimension}: one row per ${dimension}`)
  assert.deepEqual(
    await table.getByTestId('score-column').allTextContents(),
    shown.map((name) => name),
  )
  for (const [key, e] of expected) {
    const row = table.locator(`[data-testid="${dimension}-row"][data-key="${key}"]`)
    const where = `${dimension} ${key}`
    assert.equal(await row.getByTestId('cell-calls').textContent(), formatCount(e.calls), `${where} calls`)
    assert.match(
      (await row.getByTestId('cell-errors').textContent()) ?? '',
      new RegExp(`^${e.errors}\\b`),
      where,
    )
    assert.match(
      (await row.getByTestId('cell-cost').textContent()) ?? '',
      new RegExp(`^\\${formatUsd(e.cost)}`),
      where,
    )
    assert.match((await row.getByTestId('cell-p95').textContent()) ?? '', /\d/, `${where} p95`)
    for (const name of shown) {
      const cell = row.locator(`[data-testid="score-cell"][data-score-name="${name}"]`)
      const want = e.scores.get(name)
      const shownMean = (await cell.getByTestId('score-mean').textContent()) ?? ''
      if (!want) assert.equal(shownMean, formatScoreMean(null), `${where} ${name}`)
      else {
        // Two decimals, rounded by the page; the engine's float sum may differ from ours in the last bit.
        assert.match(shownMean, /^-?\d+\.\d{2,3}$/, `${where} ${name}`)
        assert.ok(
          Math.abs(Number(shownMean) - want.mean) <= 0.005 + 1e-9,
          `${where} ${name}: ${shownMean} vs ${want.mean}`,
        )
      }
      if (want)
        assert.equal(await cell.getByTestId('score-n').textContent(), ` (n=${want.n})`, `${where} ${name} n`)
    }
  }
}

describe('overview: quality beside cost and latency, by model and by release', { skip }, () => {
  before(async () => {
    h = await BrowserHarness.create('overview-quality')
    projectId = (await h.projects.ensure('quality', KEY)).project.id
    seeded = seedRows({ projectId, traces: 16, seed: 7 })
    await insertRows(h.storage, seeded.rows)
    await new ScoreRepository(h.storage).create(projectId, scoresFor(seeded.traceIds))
    await h.start()
  })

  after(async () => {
    await h?.close()
  })

  test('each model and release row shows calls, errors, cost, latency and mean scores with n; the picker adds a score', async () => {
    const page = await h.open(`/?project=${projectId}`)
    const byModel = page.getByTestId('model-table')
    const byRelease = page.getByTestId('release-table')
    await byRelease.waitFor({ timeout: 30_000 })
    // Most scored first: helpfulness (16), correct (11), tone (8); brevity (4) is left for the picker.
    const picks = page.getByTestId('score-pick')
    assert.deepEqual(await picks.evaluateAll((els) => els.map((e) => e.getAttribute('data-score-name'))), [
      'helpfulness',
      'correct',
      'tone',
      'brevity',
    ])
    await checkTable(byModel, 'model', ['helpfulness', 'correct', 'tone'])
    await checkTable(byRelease, 'release', ['helpfulness', 'correct', 'tone'])

    await page.locator('[data-testid="score-pick"][data-score-name="brevity"] input').check()
    await page.locator('[data-testid="score-pick"][data-score-name="correct"] input').uncheck()
    await byModel.getByTestId('score-column').filter({ hasText: 'brevity' }).waitFor({ timeout: 10_000 })
    await checkTable(byModel, 'model', ['helpfulness', 'tone', 'brevity'])
    await checkTable(byRelease, 'release', ['helpfulness', 'tone', 'brevity'])
    await page.screenshot({ path: join(RESULTS, 'overview-quality.png'), fullPage: true })

    // Sorting by a score column orders the rows by their mean.
    await byModel.getByTestId('score-column').filter({ hasText: 'helpfulness' }).click()
    const means = (
      await byModel.locator('[data-score-name="helpfulness"] [data-testid="score-mean"]').allTextContents()
    ).map((t) => (t === '—' ? Number.NEGATIVE_INFINITY : Number(t)))
    assert.deepEqual(
      means,
      [...means].sort((a, b) => b - a),
    )
    await page.close()
    assert.deepEqual(h.pageErrors, [])
  })
})
