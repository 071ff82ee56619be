import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { BacktestReport, MetricRow } from '@hindsight/backtest'
import { abArms, formatInterval, formatMetric, formatP, formatRatio, trianglePoints } from './report-view'

function metric(over: Partial<MetricRow>): MetricRow {
  return {
    name: 'cost_per_call_usd',
    label: '',
    unit: 'usd',
    better: 'lower',
    baseline: null,
    candidate: null,
    delta: null,
    ci_low: null,
    ci_high: null,
    ratio: null,
    ratio_ci_low: null,
    ratio_ci_high: null,
    candidate_ci_low: null,
    candidate_ci_high: null,
    p_value: null,
    p_value_adjusted: null,
    n: 0,
    clusters: 0,
    mde: null,
    n_needed: null,
    method: '',
    test: null,
    win_tie_loss: null,
    projection: false,
    note: null,
    ...over,
  }
}

describe('report view helpers', () => {
  test('formats per-call dollars with enough digits, ms, rates and p-values', () => {
    assert.equal(formatMetric(0.00529, 'usd'), '$0.005290')
    assert.equal(formatMetric(-0.0012, 'usd'), '−$0.001200')
    assert.equal(formatMetric(12.5, 'usd'), '$12.50')
    assert.equal(formatMetric(1341.2, 'ms'), '1341 ms')
    assert.equal(formatMetric(0.5, 'rate'), '50.0%')
    assert.equal(formatMetric(null, 'ms'), '—')
    assert.equal(formatInterval(1, 2, 'ms'), '1.0 ms … 2.0 ms')
    assert.equal(formatP(0.00001), '< 0.0001')
    assert.equal(
      formatRatio({ ratio: 0.62, ratio_ci_low: 0.58, ratio_ci_high: 0.66 }),
      '× 0.620 (0.580–0.660)',
    )
  })

  test('the chart puts both arms on cost × latency, with the candidate’s intervals as error bars', () => {
    const report = {
      metrics: [
        metric({ baseline: 0.01, candidate: 0.006, candidate_ci_low: 0.005, candidate_ci_high: 0.0072 }),
        metric({
          name: 'latency_p95_ms',
          unit: 'ms',
          baseline: 2000,
          candidate: 1200,
          candidate_ci_low: 1100,
          candidate_ci_high: 1300,
        }),
        metric({ name: 'quality', unit: 'score' }),
      ],
    } as unknown as BacktestReport
    const points = trianglePoints(report)
    assert.ok(points)
    assert.deepEqual(points[0], {
      arm: 'baseline',
      cost: 0.01,
      latency: 2000,
      costError: [0, 0],
      latencyError: [0, 0],
      quality: null,
    })
    assert.equal(points[1]?.latency, 1200)
    assert.deepEqual(points[1]?.latencyError, [100, 100])
    assert.ok(Math.abs((points[1]?.costError[0] ?? 0) - 0.001) < 1e-12)
    assert.equal(trianglePoints({ metrics: [] } as unknown as BacktestReport), null)
  })

  test('a live A/B report gives one row per arm; other modes none', () => {
    const arm = (value: string, calls: number) => ({
      value,
      traces: calls / 2,
      calls,
      first_call: calls ? '2026-05-04T00:00:00.000Z' : null,
      last_call: calls ? '2026-05-04T09:55:01.000Z' : null,
      priced_calls: calls,
      error_calls: 1,
      cost_usd: '0.123480000',
      models: calls ? [{ provider: 'openai', model: 'gpt-4o', calls }] : [],
      routes: [],
      mean_input_tokens: null,
    })
    const report = { ab: { baseline: arm('v1', 120), candidate: arm('v2', 0) } } as unknown as BacktestReport
    assert.deepEqual(abArms(report), [
      {
        arm: 'baseline',
        value: 'v1',
        traces: 60,
        calls: 120,
        range: '2026-05-04 00:00 → 2026-05-04 09:55 UTC',
        cost: '0.123480000',
        errors: 1,
        models: 'gpt-4o (120)',
      },
      {
        arm: 'candidate',
        value: 'v2',
        traces: 0,
        calls: 0,
        range: '—',
        cost: '0.123480000',
        errors: 1,
        models: '—',
      },
    ])
    assert.equal(abArms({ metrics: [] } as unknown as BacktestReport), null)
  })
})
