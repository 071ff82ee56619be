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
import { chooseInterval } from '@hindsight/dashboards'
import { type ScoreInput, ScoreRepository } from '@hindsight/quality'
import type { Locator } from 'playwright-core'
import { BrowserHarness, browserTestSkip, RESULTS } from '../../../test/browser-support'
import { insertRows, type Seeded, seedRows } from '../../../test/seed'
import { formatCount, formatUsd } from '../../lib/format'
import { formatScoreMean } from './lib/breakdown'
import { qualityInterval } from './lib/quality-series'

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
function expectedBy(dimension: 'model' | 'route' | 'release'): Map<string, Expected> {
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

async function checkTable(
  table: Locator,
  dimension: 'model' | 'route' | 'release',
  shown: string[],
): Promise<void> {
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
    seeded = seedRows({ projectId, traces: 16, seed: 7, routes: ['/api/answer', '/api/summarize'] })
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
    await checkTable(page.getByTestId('route-table'), 'route', ['helpfulness', 'correct', 'tone'])
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

  test('quality over time: a chart per shown score, a point per bucket with scores, a click opens its traces', async () => {
    const page = await h.open(`/?project=${projectId}`)
    const trends = page.getByTestId('quality-trend')
    await trends.first().waitFor({ timeout: 30_000 })
    assert.deepEqual(await trends.evaluateAll((els) => els.map((e) => e.getAttribute('data-score-name'))), [
      'helpfulness',
      'correct',
      'tone',
    ])
    // The page's range is the last 24 h; a trace's scores fall in the bucket of its first model call.
    const to = new Date()
    const range = { from: new Date(to.getTime() - 24 * 3_600_000), to }
    const step = qualityInterval(range, chooseInterval(range)) * 1000
    const firstCall = new Map<string, number>()
    for (const r of seeded.rows) {
      if (r.kind !== 'llm' && r.kind !== 'embedding') continue
      const t = Date.parse(`${r.start_time.replace(' ', 'T')}Z`)
      firstCall.set(r.trace_id, Math.min(firstCall.get(r.trace_id) ?? t, t))
    }
    for (const name of ['helpfulness', 'correct', 'tone']) {
      const buckets = new Set(
        [...(given.get(name)?.keys() ?? [])].flatMap((trace) => {
          const t = firstCall.get(trace)
          return t === undefined ? [] : [Math.floor(t / step) * step]
        }),
      )
      const chart = page.locator(`[data-testid="quality-trend"][data-score-name="${name}"]`)
      assert.equal(await chart.getAttribute('data-points'), String(buckets.size), `${name}: scored buckets`)
      assert.equal(await chart.locator('.recharts-line-dots circle').count(), buckets.size, `${name}: dots`)
    }
    const correct = page.locator('[data-testid="quality-trend"][data-score-name="correct"]')
    assert.match((await correct.textContent()) ?? '', /pass rate · n = 11/)
    // A numeric score shows how its values spread (every score counted once); a pass rate does not.
    const spread = page.locator(
      '[data-testid="quality-trend"][data-score-name="helpfulness"] [data-testid="quality-histogram"]',
    )
    await spread.waitFor()
    assert.equal(await spread.getAttribute('data-n'), String(given.get('helpfulness')?.size))
    // helpfulness is a 1–5 scale: one bin per value.
    assert.equal(await spread.getAttribute('data-bins'), '5')
    assert.equal(await correct.getByTestId('quality-histogram').count(), 0)
    await correct.locator('.recharts-area-area').first().waitFor()
    await page.screenshot({ path: join(RESULTS, 'overview-quality-trends.png'), fullPage: true })

    await correct.locator('.recharts-line-dots circle').first().click()
    await page.waitForURL(/\/traces\?/, { timeout: 10_000 })
    const url = new URL(page.url())
    const from = Date.parse(url.searchParams.get('from') ?? '')
    const until = Date.parse(url.searchParams.get('to') ?? '')
    assert.equal(until - from, step, 'one bucket of traces')
    await page.close()
    assert.deepEqual(h.pageErrors, [])
  })

  test('a route row opens the traces of that route, with the filter shown and removable', async () => {
    const page = await h.open(`/?project=${projectId}`)
    const row = page.locator('[data-testid="route-row"][data-key="/api/summarize"]')
    await row.waitFor({ timeout: 30_000 })
    await row.click()
    await page.waitForURL(/\/traces\?.*route=%2Fapi%2Fsummarize/, { timeout: 10_000 })
    const summarize = new Set(seeded.rows.filter((r) => r.route === '/api/summarize').map((r) => r.trace_id))
    const rows = page.getByTestId('trace-row')
    await rows.first().waitFor({ timeout: 15_000 })
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="trace-row"]').length === n,
      summarize.size,
      { timeout: 10_000 },
    )
    const shown = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-trace-id')))
    assert.ok(
      shown.every((id) => id !== null && summarize.has(id)),
      'only traces of the route',
    )
    const chip = page.getByTestId('active-filters').getByRole('button', { name: /route = \/api\/summarize/ })
    await chip.click()
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="trace-row"]').length === n,
      seeded.traceIds.length,
      { timeout: 10_000 },
    )
    await page.close()
    assert.deepEqual(h.pageErrors, [])
  })
})
