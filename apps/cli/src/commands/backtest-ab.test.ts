/**
 * `hindsight backtest ab --attribute release --baseline v1 --candidate v2` in --direct mode: the
 * storage opened in this process, two releases of recorded traffic with a known difference
 * (v2's calls take 250 ms longer), the report printed as Markdown or JSON.
 */
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { storageOptions } from '../all-in-one'
import { tempDataDir, testConfig } from '../test-support'
import { ab, abRequest, parseAbOptions } from './backtest'

const P = 'project-cli-ab'
const T0 = new Date('2026-05-04T00:00:00Z')
const dataDir = tempDataDir('backtest-ab')
const config = testConfig(dataDir, { CLICKHOUSE_DATABASE: 'hs_cli_backtest_ab' })

function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 30; k++) {
    for (const [arm, release] of [
      [0, 'v1'],
      [1, 'v2'],
    ] as const) {
      rows.push(
        span({
          project_id: P,
          trace_id: hexId(0xcab00 + k * 2 + arm, 32),
          start: new Date(T0.getTime() + (k * 2 + arm) * 60_000),
          durationMs: 900 + 250 * arm + 11 * (k % 8),
          release,
          model: 'gpt-4o',
          input_tokens: 800,
          output_tokens: 80,
          cost_usd: '0.002800000',
        }),
      )
    }
  }
  return rows
}

before(async () => {
  const storage = await createStorage(storageOptions(config))
  try {
    await migrate(storage)
    await insertSpans(storage, fixture())
  } finally {
    await storage.close()
  }
})

after(() => {
  rmSync(dataDir, { recursive: true, force: true })
})

describe('backtest ab (CLI)', () => {
  test('--direct: two releases compared, the report printed', async () => {
    const options = parseAbOptions({
      attribute: 'release',
      baseline: 'v1',
      candidate: 'v2',
      from: T0.toISOString(),
      to: new Date(T0.getTime() + 3_600_000).toISOString(),
      maxP50Ms: 1000,
      format: 'md',
      resamples: 1000,
      direct: true,
      project: P,
      progress: false,
    })
    const { report, output } = await ab(config, options)
    assert.equal(report.mode, 'ab')
    assert.equal(report.ab?.baseline.calls, 30)
    assert.equal(report.ab?.candidate.calls, 30)
    const p50 = report.metrics.find((m) => m.name === 'latency_p50_ms')
    assert.ok(p50 && Math.abs((p50.delta ?? 0) - 250) < 1e-6, `p50 delta ${p50?.delta}`)
    // The candidate's p50 (≈ 1190 ms) is wholly above 1000 ms: fail (exit code 3 in the command).
    assert.equal(report.verdict.result, 'fail')
    assert.match(output, /^# Live A\/B: release v1 → v2/)
    assert.match(output, /\*\*Verdict: FAIL\*\*/)
  })

  test('options: --baseline and --candidate required and different, request built without a candidate spec', () => {
    assert.throws(() => parseAbOptions({ baseline: 'v1' }), /--baseline and --candidate are required/)
    assert.throws(() => parseAbOptions({ baseline: 'v1', candidate: 'v1' }), /must differ/)
    const o = parseAbOptions({
      baseline: 'a',
      candidate: 'b',
      attribute: 'metadata.variant',
      route: ['/x'],
      minQuality: 0.7,
      qualityScore: 'helpful',
      sample: 100,
      format: 'json',
    })
    assert.equal(o.attribute, 'metadata.variant')
    const request = abRequest(o, new Date('2026-05-10T00:00:00Z')) as Record<string, unknown>
    assert.equal(request.mode, 'ab')
    assert.equal(request.candidate, undefined)
    assert.deepEqual(request.ab, { attribute: 'metadata.variant', baseline: 'a', candidate: 'b' })
    assert.deepEqual(request.objectives, { min_quality: 0.7, quality_score: 'helpful' })
    const cohort = request.cohort as { filter: Record<string, unknown>; sample?: { size: number } }
    assert.deepEqual(cohort.filter.route, ['/x'])
    assert.equal(cohort.filter.from, '2026-05-03T00:00:00.000Z')
    assert.equal(cohort.sample?.size, 100)
    assert.equal(parseAbOptions({ baseline: 'v1', candidate: 'v2' }).attribute, 'release')
  })
})
