import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type BacktestReport, emptyMetricRow, type MetricRow } from '@hindsight/backtest'
import {
  abArms,
  checkLabel,
  formatInterval,
  formatMetric,
  formatP,
  formatRatio,
  qualityView,
  trianglePoints,
  triangleRows,
} from './report-view'

function metric(over: Partial<MetricRow>): MetricRow {
  return {
    ...emptyMetricRow({ name: 'cost_per_call_usd', label: '', unit: 'usd', better: 'lower' }, null),
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

  test('quality rows: one per evaluator with win/tie/loss, the paired test and the scored calls', () => {
    const report = {
      metrics: [
        metric({}),
        metric({
          name: 'quality',
          score: 'exact_match',
          unit: 'rate',
          better: 'higher',
          baseline: 1,
          candidate: 0.5,
          delta: -0.5,
          ci_low: -0.8,
          ci_high: -0.2,
          n: 8,
          test: { name: 'McNemar', statistic: 4, p_value: 0.0455, method: 'exact' },
          win_tie_loss: { wins: 0, ties: 4, losses: 4 },
        }),
        metric({ name: 'quality', score: 'refusal', unit: 'rate', better: 'lower', note: 'not scored' }),
      ],
      quality: {
        evaluators: [
          {
            name: 'exact_match',
            data_type: 'boolean',
            better: 'higher',
            origin: 'request',
            rule_id: null,
            paired: 8,
            failed: { baseline: 0, candidate: 1 },
          },
        ],
      },
    } as unknown as BacktestReport
    const rows = qualityView(report)
    assert.equal(rows.length, 2)
    assert.deepEqual(rows[0], {
      score: 'exact_match',
      evaluator: 'boolean, higher is better',
      baseline: '100.0%',
      candidate: '50.0%',
      delta: '-50.0%',
      interval: '-80.0% … -20.0%',
      winTieLoss: '0 / 4 / 4',
      test: 'McNemar p = 0.0455',
      paired: '8 (failed: 0 baseline, 1 candidate)',
      note: null,
    })
    assert.equal(rows[1]?.evaluator, 'lower is better')
    assert.equal(rows[1]?.winTieLoss, '—')
    assert.equal(rows[1]?.note, 'not scored')
  })

  test('objective checks print their own comparator; the triangle table has both arms', () => {
    const check = {
      objective: 'max_quality_regression',
      threshold: -0.05,
      comparator: '≥',
      score: 'exact_match',
    } as BacktestReport['verdict']['checks'][number]
    assert.equal(checkLabel(check), 'max_quality_regression (exact_match) ≥ -0.05')
    assert.equal(
      checkLabel({
        ...check,
        objective: 'latency_p95_max_ms',
        comparator: '≤',
        threshold: 4000,
        score: undefined,
      }),
      'latency_p95_max_ms ≤ 4000',
    )
    const report = {
      metrics: [],
      triangle: {
        quality_score: 'reference_f1',
        quality_unit: 'score',
        baseline: {
          quality: 1,
          quality_ci: null,
          cost_per_call_usd: 0.002,
          cost_ci: null,
          latency_p50_ms: 800,
          latency_p95_ms: 1500,
          latency_p95_ci: null,
        },
        candidate: {
          quality: 0.9,
          quality_ci: [0.85, 0.95],
          cost_per_call_usd: 0.001,
          cost_ci: [0.0009, 0.0011],
          latency_p50_ms: 400,
          latency_p95_ms: 700,
          latency_p95_ci: [600, 800],
        },
        latency_projection: false,
      },
    } as unknown as BacktestReport
    assert.deepEqual(triangleRows(report), {
      score: 'reference_f1',
      rows: [
        { arm: 'baseline', quality: '1.000', cost: '$0.002000', latencyP50: '800 ms', latencyP95: '1500 ms' },
        {
          arm: 'candidate',
          quality: '0.900 (0.850 … 0.950)',
          cost: '$0.001000 ($0.0009000 … $0.001100)',
          latencyP50: '400 ms',
          latencyP95: '700 ms (600 ms … 800 ms)',
        },
      ],
    })
    assert.equal(triangleRows({ metrics: [] } as unknown as BacktestReport), null)
  })
})
