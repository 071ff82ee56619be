/**
 * The what-if end to end on a real embedded engine: a cohort of recorded conversations is frozen,
 * re-priced to the cent, replayed against simulated caches (and calibrated against the recorded
 * cache reads), latency is projected, and the report carries intervals and a verdict.
 *
 * Fixture (project P): 40 traces, 10 minutes apart, each a two-turn gpt-4o conversation with a
 * shared 6,000-character system prompt and 400-character message blocks, so token counts are
 * exact multiples (0.25 tokens per character):
 *   turn 1 at +0 s:  system + user           → 1,600 input tokens, 200 + k output, no cache
 *   turn 2 at +60 s: system + user, assistant, user → 1,800 input, 200 + k output, 1,536 cached (OpenAI's
 *                    1,024 + 4 × 128 steps of the 1,600-token shared prefix)
 * plus 30 claude-sonnet-4-5 calls in other traces (600–890 ms), the candidate's recorded latencies.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { z } from 'zod'
import { loadCalls } from './calls'
import { candidateSchema } from './candidate'
import { createCohort } from './cohort'
import { renderReport } from './report'
import { BacktestService } from './service'
import { BacktestInputError, runWhatIf } from './whatif'

const P = 'project-whatif'
const T0 = new Date('2026-05-04T00:00:00Z')
const MIN = 60_000
const FILTER = {
  from: T0.toISOString(),
  to: new Date(T0.getTime() + 24 * 60 * MIN).toISOString(),
  model: ['gpt-4o'],
}
let storage: Storage
let dir: string

function systemBlock(chars: number): string {
  const empty = JSON.stringify([{ type: 'text', content: '' }])
  return JSON.stringify([{ type: 'text', content: 's'.repeat(chars - empty.length) }])
}

/** A message whose block (its JSON without the '{"role":' separator) is exactly 400 characters. */
function message(role: 'user' | 'assistant', tag: string) {
  const overhead = JSON.stringify({ role, parts: [{ type: 'text', content: '' }] }).length - '{"role":'.length
  return { role, parts: [{ type: 'text', content: `${tag} `.padEnd(400 - overhead, 'x') }] }
}

const SYSTEM = systemBlock(6000)

function fixture(): SpanRow[] {
  const rows: SpanRow[] = []
  for (let k = 0; k < 40; k++) {
    const trace = hexId(0x7000 + k, 32)
    const start = new Date(T0.getTime() + k * 10 * MIN)
    const m1 = message('user', `t${k}u1`)
    const a1 = message('assistant', `t${k}a1`)
    const m2 = message('user', `t${k}u2`)
    const common = {
      project_id: P,
      trace_id: trace,
      provider: 'openai',
      model: 'gpt-4o',
      route: '/support',
      output_tokens: 200 + k,
      attributes: { 'gen_ai.system_instructions': SYSTEM },
      ttft_ms: 300,
    }
    rows.push(
      span({
        ...common,
        span_id: hexId(0x7000 + k * 2, 16),
        start,
        durationMs: 1000 + k * 10,
        input_tokens: 1600,
        input: JSON.stringify([m1]),
        cost_usd: ((6000 + 10 * k) / 1e6).toFixed(6),
      }),
      span({
        ...common,
        span_id: hexId(0x7001 + k * 2, 16),
        start: new Date(start.getTime() + MIN),
        durationMs: 1500 + k * 10,
        input_tokens: 1800,
        cache_read_tokens: 1536,
        input: JSON.stringify([m1, a1, m2]),
        cost_usd: ((4580 + 10 * k) / 1e6).toFixed(6),
      }),
    )
  }
  for (let k = 0; k < 30; k++) {
    rows.push(
      span({
        project_id: P,
        trace_id: hexId(0x8000 + k, 32),
        start: new Date(T0.getTime() + k * 7 * MIN),
        durationMs: 600 + k * 10,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        input_tokens: 1000,
        output_tokens: 100,
      }),
    )
  }
  return rows
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-whatif-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_whatif_test' })
  await migrate(storage)
  await insertSpans(storage, fixture())
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const sonnet = (over: Record<string, unknown> = {}) =>
  candidateSchema.parse({ provider: 'anthropic', model: 'claude-sonnet-4-5', ...over })

describe('loadCalls', () => {
  test('prompt blocks are rendered tools → system → messages and hashed in the engine', async () => {
    const cohort = await createCohort(storage, P, FILTER)
    const calls = await loadCalls(storage, {
      projectId: P,
      from: new Date(FILTER.from),
      to: new Date(FILTER.to),
      cohortId: cohort.id,
      model: ['gpt-4o'],
    })
    assert.equal(calls.n, 80)
    const blocks = (i: number) =>
      Array.from(calls.blockChars.subarray(calls.blockStart[i] ?? 0, calls.blockStart[i + 1] ?? 0))
    assert.deepEqual(blocks(0), [6000, 400])
    assert.deepEqual(blocks(1), [6000, 400, 400, 400])
    // Same system prompt, same user message: same block hashes; the trace's turns are ordered.
    const hashes = (i: number) =>
      Array.from(calls.blockHash.subarray(calls.blockStart[i] ?? 0, calls.blockStart[i + 1] ?? 0))
    assert.deepEqual(hashes(1).slice(0, 2), hashes(0))
    assert.notEqual(hashes(2)[1], hashes(0)[1])
    assert.equal(calls.staticBlocks[0], 1)
    assert.ok((calls.start[1] ?? 0) > (calls.start[0] ?? 0))
  })
})

describe('runWhatIf', () => {
  test('gpt-4o → claude-sonnet-4-5 with caching: re-priced to the cent, cache simulated and calibrated', async () => {
    const cohort = await createCohort(storage, P, FILTER)
    const report = await runWhatIf(storage, {
      projectId: P,
      cohort,
      candidate: sonnet({ caching: 'on' }),
      objectives: { cost_per_call_max_ratio: 0.8, latency_p95_max_ms: 4000 },
      resamples: 2000,
    })
    // Baseline: 40 × (1,600 × $2.5 + 200 × $10)/1M + 40 × (264 × $2.5 + 1,536 × $1.25 + 200 × $10)/1M
    // = $0.4232, plus the extra output Σk = 780 tokens per turn: 2 × 780 × $10/M = $0.0156.
    assert.equal(report.totals.baseline_cost_usd, '0.438800000')
    assert.equal(report.totals.recorded_cost_usd, '0.438800000')
    // Candidate (Anthropic, breakpoints at the system prompt and the last message, 5 min TTL):
    // turn 1 writes 1,600 tokens ($3.75/M) + 200 output ($15/M) = $0.009; turn 2 reads 1,600 ($0.30/M),
    // writes 200 ($3.75/M), 200 output = $0.00423; 40 traces = $0.5292, plus 2 × 780 × $15/M = $0.0234.
    assert.equal(report.totals.candidate_cost_usd, '0.552600000')
    assert.equal(report.totals.savings_usd, '-0.113800000')
    assert.equal(report.caching.read_tokens, 40 * 1600)
    assert.equal(report.caching.write_tokens, 40 * 1800)
    assert.equal(report.caching.hit_rate, 0.5)
    // Without caching: 40 × (1,600 + 1,800) × $3/M + 17,560 × $15/M = $0.6714 → caching saves $0.1188.
    assert.equal(report.caching.savings_usd, '0.118800000')
    // Simulating the recorded gpt-4o traffic with OpenAI's rules reproduces its 1,536 cached tokens.
    assert.deepEqual(report.caching.calibration, {
      calls: 80,
      models: ['gpt-4o'],
      recorded_read_tokens: 40 * 1536,
      simulated_read_tokens: 40 * 1536,
      relative_error: 0,
      hit_agreement: 1,
    })
    assert.match(report.caching.token_counts, /estimated from text length/)

    const cost = report.metrics.find((m) => m.name === 'cost_per_call_usd')
    assert.ok(cost)
    assert.equal(cost.n, 80)
    assert.equal(cost.clusters, 40)
    assert.ok(Math.abs((cost.baseline ?? 0) - 0.4388 / 80) < 1e-12)
    assert.ok(Math.abs((cost.candidate ?? 0) - 0.5526 / 80) < 1e-12)
    assert.ok(Math.abs((cost.delta ?? 0) - 0.1138 / 80) < 1e-12)
    assert.ok((cost.ci_low ?? 0) <= (cost.delta ?? 0) && (cost.delta ?? 0) <= (cost.ci_high ?? 0))
    assert.ok((cost.ratio_ci_low ?? 0) > 0.8, 'the candidate is clearly more expensive')
    assert.equal(cost.test?.name, 'Wilcoxon signed-rank')
    assert.deepEqual(cost.win_tie_loss, { wins: 40, ties: 0, losses: 40 })
    assert.ok(cost.mde !== null && cost.mde > 0)

    const p95 = report.metrics.find((m) => m.name === 'latency_p95_ms')
    assert.ok(p95?.projection)
    assert.ok((p95.candidate ?? 0) >= 600 && (p95.candidate ?? 0) <= 890, `projected p95 ${p95.candidate}`)
    assert.ok((p95.baseline ?? 0) > 1500)
    assert.equal(report.latency.source?.calls, 30)

    const hit = report.metrics.find((m) => m.name === 'cache_hit_rate')
    assert.equal(hit?.baseline, 0.5)
    assert.equal(hit?.candidate, 0.5)
    assert.equal(hit?.test?.name, 'McNemar')
    assert.equal(report.correction.method, 'holm')
    for (const m of report.metrics.filter((x) => x.p_value !== null)) {
      assert.ok((m.p_value_adjusted ?? 0) >= (m.p_value ?? 0))
    }

    assert.equal(report.verdict.result, 'fail')
    const ratioCheck = report.verdict.checks.find((c) => c.objective === 'cost_per_call_max_ratio')
    assert.equal(ratioCheck?.result, 'fail')
    assert.equal(report.verdict.checks.find((c) => c.objective === 'latency_p95_max_ms')?.result, 'pass')
    assert.equal(report.metrics.find((m) => m.name === 'quality')?.candidate, null)
  })

  test('caching off, a cheaper model: the cost objective passes, quality stays inconclusive', async () => {
    const cohort = await createCohort(storage, P, FILTER)
    const report = await runWhatIf(storage, {
      projectId: P,
      cohort,
      candidate: candidateSchema.parse({ provider: 'openai', model: 'gpt-4.1-mini' }),
      objectives: { cost_per_call_max_ratio: 0.8 },
      resamples: 2000,
    })
    // 40 × (1,600 + 1,800) × $0.40/M + 17,560 × $1.60/M = $0.0544 + $0.028096.
    assert.equal(report.totals.candidate_cost_usd, '0.082496000')
    assert.equal(report.caching.enabled, false)
    assert.equal(report.verdict.result, 'pass')
    // No recorded gpt-4.1-mini calls: latency cannot be projected and says so.
    assert.match(report.latency.note ?? '', /no recorded calls of gpt-4\.1-mini/)
    const withQuality = await runWhatIf(storage, {
      projectId: P,
      cohort,
      candidate: candidateSchema.parse({ provider: 'openai', model: 'gpt-4.1-mini' }),
      objectives: { cost_per_call_max_ratio: 0.8, min_quality: 0.9 },
      resamples: 1000,
    })
    assert.equal(withQuality.verdict.result, 'inconclusive')
    assert.match(withQuality.verdict.summary, /quality needs a replay/)
  })

  test('a replaced system prompt changes what is sent and priced', async () => {
    const cohort = await createCohort(storage, P, FILTER)
    const report = await runWhatIf(storage, {
      projectId: P,
      cohort,
      // A 2,000-character system block instead of 6,000: 1,000 fewer tokens per call.
      candidate: candidateSchema.parse({
        provider: 'openai',
        model: 'gpt-4o',
        prompt: { system: 's'.repeat(2000 - JSON.stringify([{ type: 'text', content: '' }]).length) },
      }),
      resamples: 1000,
    })
    assert.equal(report.caching.input_tokens, 40 * (600 + 800))
    // Same model as recorded: latency is the recorded one, not a projection.
    assert.equal(report.metrics.find((m) => m.name === 'latency_p50_ms')?.projection, false)
  })

  test('an unknown candidate price is a clear error; a custom price makes it work', async () => {
    const cohort = await createCohort(storage, P, FILTER)
    await assert.rejects(
      runWhatIf(storage, {
        projectId: P,
        cohort,
        candidate: candidateSchema.parse({ provider: 'acme', model: 'x-1' }),
      }),
      (error: unknown) =>
        error instanceof BacktestInputError &&
        /unknown candidate price: .*acme\/x-1.*"price"/.test(error.message),
    )
    await assert.rejects(
      runWhatIf(storage, {
        projectId: P,
        cohort,
        candidate: candidateSchema.parse({
          provider: 'acme',
          model: 'x-1',
          caching: 'on',
          price: { input: 1, output: 2 },
        }),
      }),
      /no prompt-caching rules for provider 'acme'/,
    )
    const report = await runWhatIf(storage, {
      projectId: P,
      cohort,
      candidate: candidateSchema.parse({ provider: 'acme', model: 'x-1', price: { input: 1, output: 2 } }),
      resamples: 1000,
    })
    // 40 × 3,400 × $1/M + 17,560 × $2/M.
    assert.equal(report.totals.candidate_cost_usd, '0.171120000')
    assert.equal(report.pricing.candidate_price?.source, 'custom')
  })

  test('an empty or tiny cohort is inconclusive with a message, not a guess', async () => {
    const empty = await createCohort(storage, P, { ...FILTER, route: ['/nowhere'] })
    const report = await runWhatIf(storage, {
      projectId: P,
      cohort: empty,
      candidate: sonnet(),
      objectives: { cost_per_call_max_ratio: 0.8 },
    })
    assert.equal(report.totals.calls, 0)
    assert.equal(report.verdict.result, 'inconclusive')
    assert.match(report.verdict.summary, /no model calls matching the filter/)
    const tiny = await createCohort(storage, P, FILTER, { size: 2, seed: 1 })
    const small = await runWhatIf(storage, { projectId: P, cohort: tiny, candidate: sonnet() })
    assert.match(small.messages.join(' '), /4 calls in 2 traces: too small/)
    assert.equal(small.verdict.result, 'inconclusive')
    for (const format of ['md', 'html', 'csv', 'json'] as const)
      assert.ok(renderReport(report, format).length > 100)
  })
})

describe('BacktestService', () => {
  test('runs in the background, records progress and the report; A/B needs its arms; refused: replay without base_url, unpriced budget, unknown api, evaluation on a what-if', async () => {
    const service = new BacktestService(storage)
    const record = await service.start(P, {
      cohort: { filter: FILTER, sample: { size: 20, seed: 'svc' } },
      candidate: { provider: 'anthropic', model: 'claude-sonnet-4-5', caching: 'on' },
      objectives: { latency_p95_max_ms: 4000 },
      options: { resamples: 1000 },
    })
    assert.equal(record.status, 'queued')
    await service.wait(record.id)
    const done = await service.store.get(P, record.id)
    assert.equal(done?.status, 'done')
    assert.equal(done?.progress, 1)
    assert.match(done?.cohort_id ?? '', /^coh_/)
    const report = await service.store.report(P, record.id)
    assert.equal(report?.backtest_id, record.id)
    assert.equal(report?.cohort.traces, 20)
    assert.equal((await service.store.list(P)).at(0)?.id, record.id)
    assert.equal(await service.store.report('another-project', record.id), null)

    assert.throws(
      () =>
        service.validate({
          mode: 'ab',
          cohort: { filter: FILTER },
          candidate: { provider: 'openai', model: 'gpt-4o' },
        }),
      // Live A/B needs its arms (backtest/src/ab.test.ts covers the mode).
      (e: unknown) => e instanceof BacktestInputError && /ab: mode 'ab' needs/.test(e.message),
    )
    assert.throws(
      () =>
        service.validate({
          mode: 'replay',
          cohort: { filter: FILTER },
          candidate: { provider: 'openai', model: 'gpt-4o' },
        }),
      (e: unknown) => e instanceof BacktestInputError && /base_url/.test(e.message),
    )
    // Claude is replayed through the Anthropic Messages API (api.anthropic.com unless base_url).
    assert.equal(
      service.validate({
        mode: 'replay',
        cohort: { filter: FILTER },
        candidate: { provider: 'anthropic', model: 'claude-sonnet-4-5', api: 'anthropic' },
      }).candidate.api,
      'anthropic',
    )
    // Still refused: a budget cap on a model without a price (nothing to stop the spend by),
    assert.throws(
      () =>
        service.validate({
          mode: 'replay',
          cohort: { filter: FILTER },
          candidate: {
            provider: 'acme',
            model: 'acme-unknown-1',
            api: 'anthropic',
            base_url: 'http://127.0.0.1:9',
            budget_usd: 1,
          },
        }),
      (e: unknown) =>
        e instanceof BacktestInputError &&
        /candidate\.price: no price for acme\/acme-unknown-1/.test(e.message),
    )
    // an unknown wire protocol,
    assert.throws(
      () =>
        service.validate({
          mode: 'replay',
          cohort: { filter: FILTER },
          candidate: { provider: 'google', model: 'gemini-2.5-pro', api: 'gemini' },
        }),
      (e: unknown) => e instanceof z.ZodError && e.issues.some((i) => i.path.join('.') === 'candidate.api'),
    )
    // and an evaluation on a what-if (no candidate answers to score) rather than ignoring it.
    assert.throws(
      () =>
        service.validate({
          mode: 'what_if',
          cohort: { filter: FILTER },
          candidate: { provider: 'openai', model: 'gpt-4o' },
          evaluation: { evaluators: [{ type: 'builtin', evaluator: 'exact_match' }] },
        }),
      (e: unknown) =>
        e instanceof BacktestInputError &&
        /evaluation: only for mode 'replay'.*what-if makes no model calls/.test(e.message),
    )
    assert.equal(
      service.validate({
        mode: 'replay',
        cohort: { filter: FILTER },
        candidate: { provider: 'openai', model: 'gpt-4o', base_url: 'http://127.0.0.1:9/v1' },
      }).mode,
      'replay',
    )
    await assert.rejects(
      service.start(P, { cohort: { id: 'coh_missing' }, candidate: { provider: 'openai', model: 'gpt-4o' } }),
      /no cohort 'coh_missing'/,
    )
    // The same request again on the frozen cohort gives the same report figures.
    const again = await service.run(P, {
      cohort: { id: done?.cohort_id },
      candidate: { provider: 'anthropic', model: 'claude-sonnet-4-5', caching: 'on' },
      objectives: { latency_p95_max_ms: 4000 },
      options: { resamples: 1000 },
    })
    assert.equal(again.report.totals.candidate_cost_usd, report?.totals.candidate_cost_usd)
  })
})
