/**
 * LLM-as-judge through the real `openai` and `@anthropic-ai/sdk` clients against a local fake
 * judge: structured output parsing, the retry policy, failed results with reasons, tokens, cost
 * and latency on the result, judge calls recorded as spans in a real embedded engine, and the
 * result stored as a score.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import { getTrace } from '@hindsight/dashboards'
import {
  judgeSpanSinkFor,
  llmJudge,
  parseJudgeReply,
  RUBRICS,
  resultToScore,
  runEvaluator,
  ScoreRepository,
} from '../src/index'
import { type TestStorage, testStorage } from '../src/testing'
import { type FakeJudge, type FakeJudgeReply, startFakeJudge } from './fake-judge'

let judge: FakeJudge
let db: TestStorage
/** The scripted replies, consumed in order; then the default (a valid score of 4). */
let script: FakeJudgeReply[] = []

before(async () => {
  judge = await startFakeJudge(() => script.shift() ?? {})
  db = await testStorage('hs_quality_judge')
})

after(async () => {
  await judge.close()
  await db.close()
})

const ITEM = {
  input: 'How long do refunds take?',
  output: 'Refunds take 5 business days.',
  expected: '5 business days',
}
const openaiEndpoint = () => ({
  provider: 'openai' as const,
  model: 'gpt-4o-mini',
  apiKey: 'sk-fake',
  baseURL: `${judge.url}/v1`,
})

function reset(replies: FakeJudgeReply[]): number {
  script = replies
  return judge.requests.length
}

describe('parsing judge replies', () => {
  const scale = { type: 'numeric' as const, min: 1, max: 5 }
  test('JSON, fenced JSON, prose around JSON, numeric strings', () => {
    assert.deepEqual(parseJudgeReply('{"score": 4, "reason": "good"}', scale), {
      ok: true,
      value: 4,
      reason: 'good',
    })
    assert.deepEqual(parseJudgeReply('```json\n{"score": 2}\n```', scale), { ok: true, value: 2, reason: '' })
    assert.deepEqual(parseJudgeReply('Verdict: {"score": "3", "reason": "meh"}.', scale), {
      ok: true,
      value: 3,
      reason: 'meh',
    })
  })
  test('non-JSON, missing score, out of range, wrong type: a reason each', () => {
    const nonJson = parseJudgeReply('I think it is a 4.', scale)
    assert.deepEqual(nonJson, { ok: false, reason: 'judge returned non-JSON output: "I think it is a 4."' })
    const missing = parseJudgeReply('{"grade": 4}', scale)
    assert.equal(missing.ok, false)
    assert.match(missing.ok ? '' : missing.reason, /no valid "score"/)
    const range = parseJudgeReply('{"score": 7}', scale)
    assert.deepEqual(range, { ok: false, reason: 'judge score 7 is out of range 1–5' })
    assert.deepEqual(parseJudgeReply('{"score": "yes"}', { type: 'boolean' }), {
      ok: true,
      value: true,
      reason: '',
    })
    assert.deepEqual(
      parseJudgeReply('{"score": "Casual"}', { type: 'categorical', categories: ['professional', 'casual'] }),
      {
        ok: true,
        value: 'casual',
        reason: '',
      },
    )
    const category = parseJudgeReply('{"score": "angry"}', {
      type: 'categorical',
      categories: ['professional', 'casual'],
    })
    assert.equal(category.ok, false)
  })
})

describe('OpenAI-compatible judge', () => {
  test('a score with its reason, tokens, cost from the price table and latency; the request is the rubric', async () => {
    const first = reset([
      {
        text: '```json\n{"score": 5, "reason": "Accurate and complete."}\n```',
        usage: { input: 1000, output: 100 },
      },
    ])
    const result = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness }),
      ITEM,
    )
    assert.equal(result.status, 'ok', result.reason)
    assert.equal(result.value, 5)
    assert.equal(result.reason, 'Accurate and complete.')
    assert.equal(result.usage?.inputTokens, 1000)
    assert.equal(result.usage?.outputTokens, 100)
    // gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output (collector/src/pricing/prices.json).
    assert.ok(
      Math.abs((result.usage?.costUsd ?? 0) - (1000 * 0.15 + 100 * 0.6) / 1e6) < 1e-12,
      String(result.usage?.costUsd),
    )
    assert.ok((result.usage?.latencyMs ?? 0) > 0)
    const request = judge.requests[first]
    assert.equal(request?.path, '/v1/chat/completions')
    assert.equal(request?.headers.authorization, 'Bearer sk-fake')
    assert.equal(request?.body.model, 'gpt-4o-mini')
    assert.equal(request?.body.temperature, 0)
    const messages = request?.body.messages as { role: string; content: string }[]
    assert.match(messages[0]?.content ?? '', /"score" is a number from 1 to 5/)
    assert.match(messages[1]?.content ?? '', /USER REQUEST:\nHow long do refunds take\?/)
    assert.match(messages[1]?.content ?? '', /ASSISTANT ANSWER:\nRefunds take 5 business days\./)
  })

  test('non-JSON twice: a failed result naming the output, after maxAttempts; tokens of both calls counted', async () => {
    const first = reset([{ text: 'Looks good to me!' }, { text: 'Definitely a five.' }])
    const result = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness, maxAttempts: 2, retryDelayMs: 1 }),
      ITEM,
    )
    assert.equal(result.status, 'failed')
    assert.equal(result.value, null)
    assert.equal(result.reason, 'judge returned non-JSON output: "Definitely a five." (2 attempts)')
    assert.equal(judge.requests.length - first, 2)
    assert.equal(result.usage?.inputTokens, 200)
  })

  test('out of range, then a valid answer: the retry succeeds', async () => {
    reset([{ text: '{"score": 9, "reason": "great"}' }, { text: '{"score": 4, "reason": "good"}' }])
    const result = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness, retryDelayMs: 1 }),
      ITEM,
    )
    assert.deepEqual([result.status, result.value], ['ok', 4])
  })

  test('out of range on every attempt: failed with the range in the reason', async () => {
    reset([{ text: '{"score": 0}' }, { text: '{"score": 6}' }])
    const result = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness, retryDelayMs: 1 }),
      ITEM,
    )
    assert.deepEqual(
      [result.status, result.reason],
      ['failed', 'judge score 6 is out of range 1–5 (2 attempts)'],
    )
  })

  test('a judge that times out: failed after the retries, within the time budget', async () => {
    const first = reset([{ delayMs: 2000 }, { delayMs: 2000 }, { delayMs: 2000 }])
    const started = Date.now()
    const result = await runEvaluator(
      llmJudge({
        endpoint: openaiEndpoint(),
        rubric: RUBRICS.helpfulness,
        timeoutMs: 150,
        maxAttempts: 3,
        retryDelayMs: 1,
      }),
      ITEM,
    )
    assert.deepEqual([result.status, result.reason], ['failed', 'judge timed out (3 attempts)'])
    assert.equal(judge.requests.length - first, 3)
    assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`)
    assert.equal(result.usage?.inputTokens, 0)
  })

  test('503 is retried; 401 is not', async () => {
    let first = reset([{ status: 503 }, { text: '{"score": 3, "reason": "ok"}' }])
    const retried = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.relevance, retryDelayMs: 1 }),
      ITEM,
    )
    assert.deepEqual([retried.status, retried.value, judge.requests.length - first], ['ok', 3, 2])
    first = reset([{ status: 401 }, { text: '{"score": 3}' }])
    const refused = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.relevance, maxAttempts: 3, retryDelayMs: 1 }),
      ITEM,
    )
    assert.equal(refused.status, 'failed')
    assert.match(refused.reason, /^judge endpoint answered HTTP 401: .* \(1 attempt\)$/)
    assert.equal(judge.requests.length - first, 1)
    script = []
  })

  test('boolean rubric against the expected answer; a rubric without its expected answer fails without a call', async () => {
    reset([{ text: '{"score": true, "reason": "same facts"}' }])
    const correct = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.correctness }),
      ITEM,
    )
    assert.deepEqual([correct.status, correct.value, correct.dataType], ['ok', true, 'boolean'])
    const first = judge.requests.length
    const missing = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.correctness }),
      {
        output: 'x',
      },
    )
    assert.deepEqual(
      [missing.status, missing.reason],
      ['failed', "rubric 'correctness' needs an expected output and the item has none"],
    )
    assert.equal(judge.requests.length, first)
  })

  test('an unknown judge model has no price: cost is null, tokens are kept', async () => {
    reset([{ text: '{"score": 2}', model: 'my-local-llama' }])
    const result = await runEvaluator(
      llmJudge({ endpoint: { ...openaiEndpoint(), model: 'my-local-llama' }, rubric: RUBRICS.relevance }),
      ITEM,
    )
    assert.equal(result.status, 'ok')
    assert.equal(result.usage?.costUsd, null)
    assert.equal(result.usage?.model, 'my-local-llama')
  })
})

describe('Anthropic judge', () => {
  test('Messages API: categorical rubric, usage and cost', async () => {
    const first = reset([
      {
        text: 'Here is my grade:\n{"score": "professional", "reason": "polite"}',
        usage: { input: 2000, output: 50 },
      },
    ])
    const result = await runEvaluator(
      llmJudge({
        endpoint: {
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          apiKey: 'sk-ant-fake',
          baseURL: judge.url,
        },
        rubric: RUBRICS.tone,
      }),
      ITEM,
    )
    assert.equal(result.status, 'ok', result.reason)
    assert.deepEqual([result.value, result.dataType], ['professional', 'categorical'])
    const request = judge.requests[first]
    assert.equal(request?.path, '/v1/messages')
    assert.ok(
      request?.headers['x-api-key'] === 'sk-ant-fake' ||
        request?.headers.authorization === 'Bearer sk-ant-fake',
      JSON.stringify(request?.headers),
    )
    assert.match(String(request?.body.system), /exactly one of: "professional", "casual", "rude"/)
    // claude-sonnet-4: $3 / 1M input, $15 / 1M output.
    assert.ok(
      Math.abs((result.usage?.costUsd ?? 0) - (2000 * 3 + 50 * 15) / 1e6) < 1e-12,
      String(result.usage?.costUsd),
    )
  })

  test('Messages API errors: 529 overloaded is retried, then a failed result', async () => {
    reset([{ status: 529 }, { status: 529 }])
    const result = await runEvaluator(
      llmJudge({
        endpoint: { provider: 'anthropic', model: 'claude-sonnet-4', apiKey: 'k', baseURL: judge.url },
        rubric: RUBRICS.relevance,
        retryDelayMs: 1,
      }),
      ITEM,
    )
    assert.equal(result.status, 'failed')
    assert.match(result.reason, /^judge endpoint answered HTTP 529: .*\(2 attempts\)$/)
  })
})

describe('recording', () => {
  test('judge calls become LLM spans in their own trace, naming the evaluated trace; results become scores', async () => {
    const projectId = 'project-judge'
    const evaluatedTrace = 'cd'.repeat(16)
    reset([{ text: 'nope' }, { text: '{"score": 4, "reason": "clear"}', usage: { input: 500, output: 40 } }])
    const evaluator = llmJudge({
      endpoint: openaiEndpoint(),
      rubric: RUBRICS.helpfulness,
      retryDelayMs: 1,
      spanSink: judgeSpanSinkFor(db.storage),
    })
    const result = await runEvaluator(evaluator, ITEM, { projectId, traceId: evaluatedTrace })
    assert.equal(result.status, 'ok')

    const rows = await db.storage.client.query({
      query: `SELECT DISTINCT trace_id FROM ${db.storage.database}.spans WHERE project_id = {p:String}`,
      query_params: { p: projectId },
      format: 'JSONEachRow',
    })
    const traces = await rows.json<{ trace_id: string }>()
    assert.equal(traces.length, 1, 'one trace per evaluation')
    const trace = await getTrace(db.storage, projectId, traces[0]?.trace_id ?? '')
    assert.ok(trace)
    assert.equal(trace.spans.length, 2, 'one span per attempt')
    const [failedCall, goodCall] = trace.spans
    assert.equal(failedCall?.status, 'error')
    assert.equal(failedCall?.error_type, 'InvalidJudgeOutput')
    assert.equal(goodCall?.status, 'ok')
    assert.equal(goodCall?.kind, 'llm')
    assert.equal(goodCall?.service_name, 'hindsight-evaluator')
    assert.equal(goodCall?.model, 'gpt-4o-mini')
    assert.equal(goodCall?.input_tokens, 500)
    assert.ok(Math.abs((goodCall?.cost_usd ?? 0) - (500 * 0.15 + 40 * 0.6) / 1e6) < 1e-12)
    assert.equal(goodCall?.attributes[HINDSIGHT.evaluatedTraceId], evaluatedTrace)
    assert.equal(goodCall?.attributes[HINDSIGHT.evaluator], 'helpfulness')
    assert.match(JSON.stringify(JSON.parse(goodCall?.output ?? '[]')), /\\"score\\": 4/)
    // The result's cost is both calls' cost.
    assert.ok(Math.abs((result.usage?.costUsd ?? 0) - (600 * 0.15 + 60 * 0.6) / 1e6) < 1e-12)

    const scores = new ScoreRepository(db.storage)
    const failedResult = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness, maxAttempts: 1 }),
      { output: 'x', input: 'y' },
    )
    assert.equal(failedResult.status, 'ok', 'the default reply is a valid score')
    reset([{ text: 'garbage' }])
    const failing = await runEvaluator(
      llmJudge({ endpoint: openaiEndpoint(), rubric: RUBRICS.helpfulness, maxAttempts: 1 }),
      ITEM,
    )
    const stored = await scores.create(projectId, [
      resultToScore(result, { traceId: evaluatedTrace }),
      resultToScore(failing, { traceId: evaluatedTrace, name: 'helpfulness' }),
    ])
    assert.deepEqual(
      stored.map((s) => [
        s.name,
        s.status,
        s.value,
        s.source,
        s.evaluator,
        s.eval_model,
        s.eval_input_tokens,
      ]),
      [
        ['helpfulness', 'ok', 4, 'evaluator', 'helpfulness', 'gpt-4o-mini', 600],
        ['helpfulness', 'failed', null, 'evaluator', 'helpfulness', 'gpt-4o-mini', 100],
      ],
    )
    assert.equal(stored[1]?.comment, 'judge returned non-JSON output: "garbage" (1 attempt)')
    const read = await scores.forTrace(projectId, evaluatedTrace)
    assert.ok(read.every((s) => s.eval_latency_ms !== null && s.eval_latency_ms > 0))
    assert.ok(
      Math.abs((read.find((s) => s.status === 'ok')?.eval_cost_usd ?? 0) - (600 * 0.15 + 60 * 0.6) / 1e6) <
        1e-9,
    )
  })
})
