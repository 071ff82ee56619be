/**
 * Live A/B end to end on a real embedded engine: two releases of production traffic whose true
 * differences are built into the fixture, through the service (cohort frozen, arms assigned per
 * trace, unpaired statistics, verdict) and the renderers.
 *
 * Fixture (project P), 60 traces per release, interleaved 5 minutes apart over 10 hours; each
 * trace is a chain span (carrying the release) with two gpt-4o calls:
 *   v1: cost 0.002000 + 0.00001·(k mod 7) USD, duration 1000 + 10·(k mod 20) + 5j ms, TTFT 200 ms
 *       + (k mod 9), errors on the first call of traces k ≡ 0 (mod 30) (2 of 120 calls),
 *       quality score `helpful` 0.6 + 0.01·(k mod 11);
 *   v2: the same patterns with cost − 0.001 (ratio ≈ 0.5), duration + 500 ms, TTFT + 100 ms,
 *       errors in traces k ≡ 0 (mod 5) (12 of 120 calls), `helpful` + 0.2.
 * Two more traces carry both releases (left out), 4 traces of v3 (too few), and 20 traces of v0
 * recorded a day earlier (no time overlap with v1).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { renderAnyReport } from './ab-report'
import { BacktestService } from './service'

const P = 'project-ab'
const T0 = new Date('2026-05-04T00:00:00Z')
const MIN = 60_000
const FILTER = { from: T0.toISOString(), to: new Date(T0.getTime() + 24 * 60 * MIN).toISOString() }
let storage: Storage
let dir: string
let service: BacktestService
let seq = 0

function trace(
  release: string,
  start: Date,
  calls: Array<{ cost: string; duration: number; ttft: number; error?: boolean; unbilled?: boolean }>,
  extra: { tags?: string[]; variant?: string; secondRelease?: string } = {},
): { rows: SpanRow[]; traceId: string } {
  seq++
  const traceId = hexId(0xab0000 + seq, 32)
  const root = span({
    project_id: P,
    trace_id: traceId,
    span_id: hexId(0xab0000 + seq * 4, 16),
    kind: 'chain',
    name: 'answer',
    model: '',
    release,
    route: '/support',
    start,
    durationMs: 3000,
    attributes: {
      ...(extra.tags ? { 'hindsight.tags': JSON.stringify(extra.tags) } : {}),
      ...(extra.variant ? { 'hindsight.metadata.variant': extra.variant } : {}),
    },
  })
  const rows = [root]
  calls.forEach((c, j) => {
    rows.push(
      span({
        project_id: P,
        trace_id: traceId,
        span_id: hexId(0xab0000 + seq * 4 + j + 1, 16),
        parent_span_id: root.span_id,
        release: j === 1 && extra.secondRelease ? extra.secondRelease : release,
        route: '/support',
        model: 'gpt-4o',
        provider: 'openai',
        start: new Date(start.getTime() + j * 1000),
        durationMs: c.duration,
        ttft_ms: c.ttft,
        input_tokens: c.unbilled ? 0 : 1000,
        output_tokens: c.unbilled ? 0 : 100,
        cost_usd: c.unbilled ? null : c.cost,
        status: c.error || c.unbilled ? 'error' : 'ok',
      }),
    )
  })
  return { rows, traceId }
}

const scores: Array<{ trace_id: string; value: number }> = []

function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 60; k++) {
    for (const release of ['v1', 'v2'] as const) {
      const v2 = release === 'v2'
      const start = new Date(T0.getTime() + (2 * k + (v2 ? 1 : 0)) * 5 * MIN)
      const cost = ((v2 ? 1000 : 2000) + 10 * (k % 7)) / 1e6
      const error = v2 ? k % 5 === 0 : k % 30 === 0
      const t = trace(
        release,
        start,
        [0, 1].map((j) => ({
          cost: cost.toFixed(9),
          duration: (v2 ? 1500 : 1000) + 10 * (k % 20) + 5 * j,
          ttft: (v2 ? 300 : 200) + (k % 9),
          error: j === 0 && error,
        })),
        { tags: [v2 ? 'exp-b' : 'exp-a'], variant: v2 ? 'treatment' : 'control' },
      )
      rows.push(...t.rows)
      scores.push({ trace_id: t.traceId, value: (v2 ? 0.8 : 0.6) + 0.01 * (k % 11) })
    }
  }
  // Traces carrying both releases: left out.
  for (let k = 0; k < 2; k++)
    rows.push(
      ...trace(
        'v1',
        new Date(T0.getTime() + (k * 7 + 3) * MIN),
        [0, 1].map(() => ({ cost: '0.5', duration: 9e5, ttft: 9e4 })),
        {
          secondRelease: 'v2',
        },
      ).rows,
    )
  // v3: too few traces for any conclusion.
  for (let k = 0; k < 4; k++)
    rows.push(
      ...trace('v3', new Date(T0.getTime() + (k * 11 + 2) * MIN), [
        { cost: '0.001', duration: 900, ttft: 100 },
      ]).rows,
    )
  // u1 / u2: 10 traces each of two $0.001 calls; in u2 the first call of 3 traces was rejected
  // and reported no usage (no cost recorded).
  for (let k = 0; k < 10; k++)
    for (const release of ['u1', 'u2'] as const)
      rows.push(
        ...trace(
          release,
          new Date(T0.getTime() + (k * 20 + (release === 'u2' ? 10 : 0) + 1) * MIN),
          [0, 1].map((j) => ({
            cost: '0.001',
            duration: 800,
            ttft: 100,
            unbilled: release === 'u2' && j === 0 && k < 3,
          })),
        ).rows,
      )
  // v0: a day earlier, only partly inside the cohort's range (the filter below widens it).
  for (let k = 0; k < 20; k++)
    rows.push(
      ...trace('v0', new Date(T0.getTime() - 20 * 60 * MIN + k * 10 * MIN), [
        { cost: '0.002', duration: 1000 + k, ttft: 200 },
        { cost: '0.002', duration: 1005 + k, ttft: 201 },
      ]).rows,
    )
  return rows
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-backtest-ab-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_backtest_ab' })
  await migrate(storage)
  await insertSpans(storage, fixture())
  await storage.client.insert({
    table: `${storage.database}.scores`,
    values: scores.map((s, i) => ({
      project_id: P,
      id: `score-${i}`,
      trace_id: s.trace_id,
      name: 'helpful',
      value: s.value,
      data_type: 'numeric',
      source: 'api',
      status: 'ok',
      created_at: T0.getTime(),
      updated_at: T0.getTime(),
    })),
    format: 'JSONEachRow',
  })
  service = new BacktestService(storage, { now: () => new Date('2026-05-06T00:00:00Z') })
})

after(async () => {
  await storage?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const metric = (report: Awaited<ReturnType<BacktestService['run']>>['report'], name: string) => {
  const row = report.metrics.find((m) => m.name === name)
  assert.ok(row, `metric ${name}`)
  return row
}

describe('live A/B (mode ab)', () => {
  test('two releases: unpaired intervals contain the built-in differences, and the verdict follows the objectives', async () => {
    const { record, report } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { baseline: 'v1', candidate: 'v2' },
      objectives: { cost_per_call_max_ratio: 0.8, latency_p95_max_ms: 1400 },
      options: { resamples: 2000, seed: 'ab-test' },
    })
    assert.equal(record.status, 'done')
    assert.equal(record.mode, 'ab')
    assert.equal(report.mode, 'ab')
    const ab = report.ab
    assert.ok(ab)
    assert.equal(ab.attribute, 'release')
    assert.equal(ab.design, 'unpaired')
    assert.equal(ab.baseline.traces, 60)
    assert.equal(ab.candidate.traces, 60)
    assert.equal(ab.baseline.calls, 120)
    assert.equal(ab.candidate.calls, 120)
    assert.deepEqual(ab.excluded_traces.both, 2)
    assert.equal(ab.baseline.first_call, '2026-05-04T00:00:00.000Z')
    assert.equal(ab.candidate.first_call, '2026-05-04T00:05:00.000Z')
    assert.ok((ab.time.overlap_fraction ?? 0) > 0.95)
    assert.equal(ab.traffic_mix.comparable, true)
    assert.equal(ab.win_tie_loss, null)
    assert.match(ab.win_tie_loss_note, /not defined/)
    // Exact recorded totals: Σ 2 calls × (0.002 + 0.00001 (k mod 7)) over k < 60 (Σ (k mod 7) = 174) = 0.24348 (v1), 0.12348 (v2).
    assert.equal(ab.baseline.cost_usd, '0.243480000')
    assert.equal(ab.candidate.cost_usd, '0.123480000')
    assert.equal(report.totals.savings_usd, 'n/a')

    const cost = metric(report, 'cost_per_call_usd')
    assert.ok(Math.abs((cost.delta ?? 0) + 0.001) < 1e-12, `cost delta ${cost.delta}`)
    assert.ok((cost.ci_low ?? 0) < -0.001 && -0.001 < (cost.ci_high ?? 0))
    assert.ok((cost.ratio ?? 0) > 0.49 && (cost.ratio ?? 0) < 0.51)
    assert.ok((cost.ratio_ci_high ?? 1) < 0.8)
    assert.equal(cost.n, 240)
    assert.equal(cost.clusters, 120)
    assert.equal(cost.win_tie_loss, null)
    assert.match(cost.method, /Welch/)
    assert.match(cost.method, /unpaired cluster bootstrap/)
    assert.equal(cost.test?.name, 'Mann–Whitney U')
    assert.ok((cost.mde ?? 0) > 0)
    const perTrace = metric(report, 'cost_per_trace_usd')
    assert.ok(Math.abs((perTrace.delta ?? 0) + 0.002) < 1e-12)
    assert.equal(perTrace.clusters, 120)

    // Harrell–Davis quantiles are location-equivariant: the +500 ms shift comes out exactly.
    for (const name of ['latency_p50_ms', 'latency_p95_ms']) {
      const row = metric(report, name)
      assert.ok(Math.abs((row.delta ?? 0) - 500) < 1e-6, `${name} delta ${row.delta}`)
      assert.ok((row.ci_low ?? 0) < 500 && 500 < (row.ci_high ?? 0), `${name} CI`)
      assert.ok((row.p_value_adjusted ?? 1) < 0.001)
      assert.match(row.method, /Harrell–Davis/)
    }
    const ttft = metric(report, 'ttft_p50_ms')
    assert.ok(Math.abs((ttft.delta ?? 0) - 100) < 1e-6)
    const errors = metric(report, 'error_rate')
    assert.equal(errors.baseline, 2 / 120)
    assert.equal(errors.candidate, 12 / 120)
    assert.ok((errors.ci_low ?? 0) > 0, 'ten more errors in 120 calls is a significant increase')
    assert.equal(errors.test?.name, 'two-proportion z test')
    const quality = metric(report, 'quality')
    assert.equal(quality.score, 'helpful')
    assert.ok(Math.abs((quality.delta ?? 0) - 0.2) < 1e-9)
    assert.ok((quality.ci_low ?? 0) < 0.2 && 0.2 < (quality.ci_high ?? 0))

    // Holm over every metric with a test, stated.
    assert.ok(report.correction.family_size >= 8)
    for (const m of report.metrics) if (m.p_value !== null) assert.ok((m.p_value_adjusted ?? 0) >= m.p_value)
    // Cost ratio ≤ 0.8 passes; the candidate's p95 (≈ 1700 ms) fails ≤ 1400 ms.
    assert.equal(report.verdict.result, 'fail')
    const checks = Object.fromEntries(report.verdict.checks.map((c) => [c.objective, c.result]))
    assert.deepEqual(checks, { cost_per_call_max_ratio: 'pass', latency_p95_max_ms: 'fail' })

    // The exports render the same JSON.
    const md = renderAnyReport(report, 'md')
    assert.match(md, /# Live A\/B: release v1 → v2/)
    assert.match(md, /unpaired/)
    assert.match(md, /Win\/tie\/loss is not defined/)
    assert.match(md, /\| Latency p95 \(ms\) \|/)
    const html = renderAnyReport(report, 'html')
    assert.match(html, /<h1>Live A\/B: release v1 → v2<\/h1>/)
    const csv = renderAnyReport(report, 'csv')
    assert.match(csv.split('\r\n')[1] ?? '', /^cost_per_call_usd,usd,/)
  })

  test('any attribute splits the arms: tags and SDK metadata', async () => {
    const { report: tags } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { attribute: 'tag', baseline: 'exp-a', candidate: 'exp-b' },
      options: { resamples: 1000 },
    })
    assert.equal(tags.ab?.attribute_kind, 'tag')
    assert.equal(tags.ab?.baseline.traces, 60)
    assert.equal(tags.ab?.candidate.traces, 60)
    assert.ok(Math.abs((metric(tags, 'latency_p50_ms').delta ?? 0) - 500) < 1e-6)
    // No objectives: nothing to judge, said so.
    assert.equal(tags.verdict.result, 'inconclusive')
    assert.match(tags.verdict.summary, /no objectives/)
    const { report: meta } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { attribute: 'metadata.variant', baseline: 'control', candidate: 'treatment' },
      options: { resamples: 1000 },
    })
    assert.equal(meta.ab?.attribute_kind, 'attribute')
    assert.equal(meta.ab?.candidate.calls, 120)
    assert.ok(Math.abs((metric(meta, 'cost_per_call_usd').delta ?? 0) + 0.001) < 1e-12)
  })

  test('an arm with too few calls is inconclusive with a clear message; arms apart in time are flagged', async () => {
    const { report } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { baseline: 'v1', candidate: 'v3' },
      objectives: { cost_per_call_max_ratio: 0.8 },
      options: { resamples: 1000 },
    })
    assert.equal(report.verdict.result, 'inconclusive')
    assert.match(report.verdict.summary, /arm candidate \(release = v3\) has 4 calls in 4 traces: too few/)
    assert.equal(metric(report, 'cost_per_call_usd').delta, null)
    assert.equal(report.ab?.candidate.calls, 4)

    // A cohort filtered to one release leaves the other arm empty, and says why.
    const { report: filtered } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: { ...FILTER, release: ['v1'] } },
      ab: { baseline: 'v1', candidate: 'v2' },
      options: { resamples: 1000 },
    })
    assert.equal(filtered.verdict.result, 'inconclusive')
    assert.equal(filtered.ab?.candidate.calls, 0)
    assert.ok(
      filtered.messages.some((m) =>
        /filter keeps only release v1, which leaves out the candidate arm/.test(m),
      ),
    )

    const wide = { from: new Date(T0.getTime() - 24 * 60 * MIN).toISOString(), to: FILTER.to }
    const { report: apart } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: wide },
      ab: { baseline: 'v0', candidate: 'v1' },
      options: { resamples: 1000 },
    })
    assert.equal(apart.ab?.time.overlap_fraction, 0)
    assert.ok(apart.messages.some((m) => /do not overlap in time/.test(m)))
    assert.equal(apart.ab?.baseline.last_call, '2026-05-03T07:10:01.000Z')
  })

  test('failed calls that reported no usage: $0 in their trace, left out of cost per call, never "unpriced"', async () => {
    const { report } = await service.run(P, {
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { baseline: 'u1', candidate: 'u2' },
      options: { resamples: 1000 },
    })
    const cost = metric(report, 'cost_per_call_usd')
    assert.equal(cost.n, 37, 'billed calls only: failing more must not look cheaper per call')
    assert.ok(Math.abs(cost.delta ?? 1) < 1e-12, `delta ${cost.delta}`)
    // Per trace: 7 traces of $0.002 and 3 of $0.001 (their rejected call at $0) against 10 of $0.002.
    const trace = metric(report, 'cost_per_trace_usd')
    assert.equal(trace.n, 20)
    assert.ok(Math.abs((trace.delta ?? 0) + 0.0003) < 1e-12, `per-trace delta ${trace.delta}`)
    assert.ok(
      report.messages.some((m) =>
        /^3 failed calls reported no usage \(0 baseline, 3 candidate\): not billed, so they count at \$0 in cost per trace/.test(
          m,
        ),
      ),
    )
    assert.ok(!report.messages.some((m) => /have no recorded cost/.test(m)))
    assert.equal(report.ab?.candidate.error_calls, 3)
  })

  test('bad A/B requests are refused before anything runs', () => {
    assert.throws(() => service.validate({ mode: 'ab', cohort: { filter: FILTER } }), /ab: mode 'ab' needs/)
    assert.throws(
      () =>
        service.validate({ mode: 'ab', cohort: { filter: FILTER }, ab: { baseline: 'v1', candidate: 'v1' } }),
      /must differ/,
    )
    assert.throws(
      () =>
        service.validate({
          mode: 'ab',
          cohort: { filter: FILTER },
          ab: { attribute: "release'; DROP", baseline: 'v1', candidate: 'v2' },
        }),
      /letters, digits/,
    )
    const ok = service.validate({
      mode: 'ab',
      cohort: { filter: FILTER },
      ab: { baseline: 'v1', candidate: 'v2' },
    })
    assert.equal(ok.ab?.attribute, 'release')
    assert.equal(ok.candidate.name, 'release = v2')
  })
})
