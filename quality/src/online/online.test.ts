import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type RunningCollector, startCollector } from '@hindsight/collector'
import { ProjectRepository } from '@hindsight/collector/storage'
import { startFakeJudge } from '../../test/fake-judge'
import { newSpanId, newTraceId, sendSpans } from '../../test/otlp'
import { defineEvaluator } from '../evaluators/run'
import { ScoreRepository } from '../scores/repository'
import { type TestStorage, testStorage } from '../testing'
import { isSampled, sampleFraction } from './sampling'
import { OnlineEvaluationWorker } from './worker'

const KEY = 'hs_test_online_eval_key_0123456789'

describe('sampling', () => {
  test('is deterministic and close to the rate', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => i.toString(16).padStart(32, '0'))
    assert.equal(isSampled(ids[0] ?? '', 0.3), isSampled(ids[0] ?? '', 0.3))
    const share = ids.filter((id) => isSampled(id, 0.3)).length / ids.length
    assert.ok(Math.abs(share - 0.3) < 0.03, `share ${share}`)
    assert.equal(ids.filter((id) => isSampled(id, 0)).length, 0)
    assert.equal(ids.filter((id) => isSampled(id, 1)).length, ids.length)
    // A lower rate samples a subset of a higher one.
    for (const id of ids.slice(0, 500)) if (isSampled(id, 0.1)) assert.ok(isSampled(id, 0.5))
    assert.ok(sampleFraction('a') >= 0 && sampleFraction('a') < 1)
  })
})

describe('online evaluation, end to end through the real collector', () => {
  let db: TestStorage
  let collector: RunningCollector
  let projectId: string
  let clock = Date.now()

  before(async () => {
    db = await testStorage('hs_quality_online')
    const projects = new ProjectRepository(db.storage)
    projectId = (await projects.ensure('Online', KEY)).project.id
    collector = await startCollector({
      storage: db.storage,
      projects,
      port: 0,
      grpcPort: false,
      batchMaxDelayMs: 10,
    })
  })
  after(async () => {
    await collector.close()
    await db.close()
  })

  async function ingest(route: string, output: string, extraSpan = false): Promise<string> {
    const traceId = newTraceId()
    const root = newSpanId()
    const now = Date.now()
    await sendSpans(collector.url, KEY, [
      {
        traceId,
        spanId: root,
        name: 'answer',
        startMs: now - 50,
        durationMs: 40,
        attributes: {
          'hindsight.route': route,
          'hindsight.input': 'What is 2+2?',
          'hindsight.output': output,
        },
      },
      ...(extraSpan
        ? [{ traceId, parentSpanId: root, name: 'child', startMs: now - 40, durationMs: 10 }]
        : []),
    ])
    await collector.flush()
    return traceId
  }

  test('ingest → score appears; filter, watermark, sampling and idempotence', async () => {
    const worker = new OnlineEvaluationWorker({
      storage: db.storage,
      quietSeconds: 5,
      now: () => clock,
      custom: [
        defineEvaluator({
          name: 'mentions_four',
          dataType: 'boolean',
          evaluate: ({ output }) => ({ value: String(output).includes('4'), reason: 'looked for 4' }),
        }),
      ],
    })
    const rule = await worker.rules.create(projectId, {
      name: 'chat answers',
      filter: { route: ['/chat'] },
      samplingRate: 1,
      evaluators: [
        { type: 'builtin', evaluator: 'valid_json' },
        { type: 'builtin', evaluator: 'length_bounds', options: { max: 5 } },
        { type: 'custom', evaluator: 'mentions_four' },
      ],
    })
    const chat = await ingest('/chat', '{"answer": 4}', true)
    const other = await ingest('/search', 'not json')

    clock = Date.now() // the traces are not complete yet: nothing happens
    assert.equal((await worker.runOnce()).processed, 0)
    const pending = await worker.status(projectId, rule.id)
    assert.equal(pending.pending, 1)
    assert.equal(pending.backlog, 0)

    clock = Date.now() + 6000 // quiet for longer than quietSeconds: complete
    assert.equal((await worker.status(projectId, rule.id)).backlog, 1)
    const run = await worker.runOnce()
    assert.deepEqual(run, { rules: 1, processed: 1, scored: 3, failures: 0, sampledOut: 0 })

    const scores = new ScoreRepository(db.storage)
    const stored = await scores.forTrace(projectId, chat)
    const byName = Object.fromEntries(stored.map((s) => [s.name, s]))
    assert.equal(byName.valid_json?.value, 1, JSON.stringify(stored))
    assert.equal(byName.valid_json?.source, 'evaluator')
    assert.equal(byName.length_bounds?.value, 0, 'the output is longer than 5 characters')
    assert.equal(byName.mentions_four?.value, 1)
    assert.equal(byName.valid_json?.metadata.rule_id, rule.id)
    assert.equal((await scores.forTrace(projectId, other)).length, 0, 'the filter excludes /search')

    // The watermark persists: a new worker does not re-evaluate the trace.
    const again = new OnlineEvaluationWorker({ storage: db.storage, quietSeconds: 5, now: () => clock })
    assert.equal((await again.runOnce()).processed, 0)
    const status = await again.status(projectId, rule.id)
    assert.equal(status.processed, 1)
    assert.equal(status.scored, 3)
    assert.equal(status.backlog, 0)
    assert.ok(status.watermark)

    // Sampling 0 looks at traces but evaluates none; disabled rules are skipped.
    await worker.rules.update(projectId, rule.id, { samplingRate: 0 })
    await ingest('/chat', 'x')
    clock = Date.now() + 6000
    const sampled = await worker.runOnce()
    assert.equal(sampled.processed, 1)
    assert.equal(sampled.sampledOut, 1)
    assert.equal(sampled.scored, 0)
    await worker.rules.update(projectId, rule.id, { enabled: false })
    assert.equal((await worker.runOnce()).rules, 0)
    await worker.rules.delete(projectId, rule.id)
    assert.equal(await worker.rules.get(projectId, rule.id), null)
  })

  test('a judge that times out: failed scores with the reason, counted, ingestion unaffected', async () => {
    const judge = await startFakeJudge(() => ({ delayMs: 2000 }))
    try {
      const worker = new OnlineEvaluationWorker({
        storage: db.storage,
        quietSeconds: 5,
        now: () => clock,
        judge: { timeoutMs: 150, maxAttempts: 2, retryDelayMs: 10 },
        recordJudgeSpans: true,
      })
      const rule = await worker.rules.create(projectId, {
        name: 'judged',
        filter: { route: ['/judge'] },
        samplingRate: 1,
        evaluators: [
          {
            type: 'judge',
            rubric: 'helpfulness',
            endpoint: { provider: 'openai', model: 'gpt-4o-mini', baseURL: `${judge.url}/v1` },
          },
          { type: 'custom', evaluator: 'not_registered' },
        ],
      })
      const t1 = await ingest('/judge', 'four')
      const t2 = await ingest('/judge', '4')
      clock = Date.now() + 6000
      const started = Date.now()
      const run = await worker.runOnce()
      assert.equal(run.processed, 2)
      assert.equal(run.scored, 0)
      assert.equal(run.failures, 4)
      assert.ok(Date.now() - started < 5000, 'bounded by the judge timeout, not its delay')

      // Ingestion kept working meanwhile, and the judge's own spans are not evaluated.
      const t3 = await ingest('/chat', 'still ingesting')
      assert.ok(t3)

      const scores = new ScoreRepository(db.storage)
      for (const traceId of [t1, t2]) {
        const stored = await scores.forTrace(projectId, traceId)
        const helpful = stored.find((s) => s.name === 'helpfulness')
        assert.equal(helpful?.status, 'failed')
        assert.equal(helpful?.value, null)
        assert.match(helpful?.comment ?? '', /timed out \(2 attempts\)/)
        assert.match(stored.find((s) => s.name === 'not_registered')?.comment ?? '', /no custom evaluator/)
      }
      const status = await worker.status(projectId, rule.id)
      assert.equal(status.failures, 4)
      assert.equal(status.recent_failures.length, 4)
      assert.ok(status.recent_failures.some((f) => /timed out/.test(f.reason)))
      assert.ok(judge.requests.length >= 4, 'two attempts per trace')

      clock = Date.now() + 6000
      assert.equal((await worker.runOnce()).processed, 0, 'judge spans are never evaluated')
    } finally {
      await judge.close()
    }
  })

  test('start/stop polls in the background', async () => {
    const worker = new OnlineEvaluationWorker({ storage: db.storage, quietSeconds: 0, pollIntervalMs: 20 })
    const rule = await worker.rules.create(projectId, {
      name: 'background',
      filter: { route: ['/bg'] },
      samplingRate: 1,
      evaluators: [{ type: 'builtin', evaluator: 'valid_json' }],
    })
    await new Promise((r) => setTimeout(r, 5))
    const traceId = await ingest('/bg', '[1]')
    worker.start()
    const scores = new ScoreRepository(db.storage)
    const deadline = Date.now() + 5000
    while (Date.now() < deadline && (await scores.forTrace(projectId, traceId)).length === 0) {
      await new Promise((r) => setTimeout(r, 50))
    }
    await worker.stop()
    assert.equal((await scores.forTrace(projectId, traceId))[0]?.value, 1)
    await worker.rules.delete(projectId, rule.id)
  })
})
