/**
 * `hindsight backtest what-if` against a running all-in-one server (REST, the project of the key,
 * progress polled), and in --direct mode against the storage opened in-process.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { type AllInOne, startAllInOne } from '../all-in-one'
import { tempDataDir, testConfig } from '../test-support'
import { inferProvider, parseWhatIfOptions, whatIf, whatIfRequest } from './backtest'

const API_KEY = 'hs_backtest_cli_key_0123456789'
// Recent traffic: the all-in-one server applies data retention to old spans.
const T0 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000)
const dataDir = tempDataDir('backtest')
let app: AllInOne

function fixture(projectId: string): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 20; k++) {
    rows.push(
      span({
        project_id: projectId,
        trace_id: hexId(0xc000 + k, 32),
        start: new Date(T0.getTime() + k * 60_000),
        durationMs: 1000 + k * 20,
        model: 'gpt-4o',
        route: k % 2 ? '/a' : '/b',
        input_tokens: 2000,
        output_tokens: 100,
      }),
    )
  }
  return rows
}

before(async () => {
  app = await startAllInOne(
    testConfig(dataDir, {
      HINDSIGHT_INIT_PROJECT: 'BacktestCli',
      HINDSIGHT_INIT_API_KEY: API_KEY,
      CLICKHOUSE_DATABASE: 'hs_cli_backtest',
    }),
    { next: false, log: () => {} },
  )
  await insertSpans(app.storage, fixture(app.projects.main.id))
})

after(async () => {
  await app?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const base = {
  from: T0.toISOString(),
  to: new Date(T0.getTime() + 3_600_000).toISOString(),
  candidateModel: 'gpt-4o-mini',
  progress: false,
} as const

describe('backtest what-if (CLI)', () => {
  test('asks the running server with the key and prints the report', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    const { report, output } = await whatIf(config, {
      ...base,
      url: app.webUrl,
      route: ['/a'],
      maxCostRatio: 0.5,
      format: 'md',
      resamples: 1000,
    })
    assert.equal(report.cohort.calls, 10)
    // 10 × (2,000 × $2.5 + 100 × $10)/1M vs 10 × (2,000 × $0.15 + 100 × $0.6)/1M.
    assert.equal(report.totals.baseline_cost_usd, '0.060000000')
    assert.equal(report.totals.candidate_cost_usd, '0.003600000')
    assert.equal(report.verdict.result, 'pass')
    assert.match(output, /\*\*Verdict: PASS\*\*/)
    const csv = await whatIf(config, { ...base, url: app.webUrl, format: 'csv', resamples: 1000 })
    assert.match(csv.output, /^metric,unit,baseline/)
  })

  test('a refused request is an error that says why', async () => {
    const config = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY, CLICKHOUSE_DATABASE: 'hs_cli_backtest' })
    await assert.rejects(
      whatIf(config, { ...base, url: app.webUrl, candidateModel: 'x-unknown', format: 'json' }),
      /refused \(400\): unknown candidate price/,
    )
    const noServer = testConfig(dataDir, { HINDSIGHT_API_KEY: API_KEY })
    await assert.rejects(
      whatIf(noServer, { ...base, url: 'http://127.0.0.1:9', format: 'json' }),
      /Nothing answers at http:\/\/127\.0\.0\.1:9/,
    )
  })

  test('options: provider inferred from the model, choices checked, request built', () => {
    assert.equal(inferProvider('claude-sonnet-4-5'), 'anthropic')
    assert.equal(inferProvider('gemini-2.5-flash'), 'gcp.gemini')
    assert.equal(inferProvider('gpt-4.1-mini'), 'openai')
    assert.throws(
      () => parseWhatIfOptions({ candidateModel: 'x', caching: 'maybe' }),
      /--caching must be one of on, off/,
    )
    const options = parseWhatIfOptions({
      candidateModel: 'claude-haiku-4-5',
      caching: 'on',
      sample: 50,
      seed: 's',
      format: 'json',
    })
    const request = whatIfRequest(options, new Date('2026-05-11T00:00:00Z'))
    assert.deepEqual(request.candidate, {
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      caching: 'on',
      cache_ttl: '5m',
      prompt: {},
    })
    assert.equal((request.cohort as { filter: { from: string } }).filter.from, '2026-05-04T00:00:00.000Z')
    assert.throws(() => whatIfRequest({ ...options, from: 'last week' }), /--from must be an ISO 8601 time/)
  })
})
