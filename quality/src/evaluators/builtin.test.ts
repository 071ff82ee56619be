import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HINDSIGHT } from '@hindsight/collector/conventions'
import {
  citationPresent,
  citationsResolvable,
  contains,
  costThreshold,
  exactMatch,
  jsonSchema,
  latencyThreshold,
  lengthBounds,
  refusal,
  regexMatch,
  validJson,
} from './builtin'
import { defineEvaluator, resultToScore, runEvaluator, runEvaluators } from './run'
import { extractJson, textOf } from './text'
import type { EvalInput, EvalSpan, Evaluator } from './types'

async function run(evaluator: Evaluator, input: EvalInput) {
  return runEvaluator(evaluator, input)
}

async function value(evaluator: Evaluator, input: EvalInput) {
  const result = await run(evaluator, input)
  assert.equal(result.status, 'ok', result.reason)
  return result.value
}

function spanOf(overrides: Partial<EvalSpan>): EvalSpan {
  return {
    span_id: '0000000000000001',
    parent_span_id: '',
    name: 'step',
    kind: 'chain',
    model: '',
    provider: '',
    input: '',
    output: '',
    attributes: {},
    duration_ms: 10,
    cost_usd: null,
    status: 'ok',
    ...overrides,
  }
}

describe('text extraction', () => {
  test('plain text, GenAI messages, OpenAI messages and completions, Anthropic blocks, JSON', () => {
    assert.equal(textOf('hello'), 'hello')
    assert.equal(
      textOf(
        JSON.stringify([
          { role: 'assistant', parts: [{ type: 'text', content: 'Paris' }], finish_reason: 'stop' },
        ]),
      ),
      'Paris',
    )
    assert.equal(textOf({ role: 'assistant', content: 'Lyon' }), 'Lyon')
    assert.equal(textOf({ choices: [{ message: { role: 'assistant', content: 'Nice' } }] }), 'Nice')
    assert.equal(
      textOf([
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ]),
      'ab',
    )
    assert.equal(textOf({ answer: 42 }), '{"answer":42}')
    assert.equal(textOf('{"not": "messages"}'), '{"not": "messages"}')
    assert.equal(textOf(null), '')
  })

  test('extractJson tolerates code fences and prose around one object', () => {
    assert.deepEqual(extractJson('{"a": 1}'), { a: 1 })
    assert.deepEqual(extractJson('```json\n{"score": 3, "reason": "ok"}\n```'), { score: 3, reason: 'ok' })
    assert.deepEqual(extractJson('Here you go: {"score": 5, "reason": "a {brace} \\"q\\""} Thanks!'), {
      score: 5,
      reason: 'a {brace} "q"',
    })
    assert.equal(extractJson('no json here'), undefined)
    assert.equal(extractJson('{"broken": '), undefined)
  })
})

describe('match evaluators', () => {
  test('exact match: whitespace and case options; needs an expected output', async () => {
    assert.equal(await value(exactMatch(), { output: ' Paris \n', expected: 'Paris' }), true)
    assert.equal(await value(exactMatch(), { output: 'paris', expected: 'Paris' }), false)
    assert.equal(
      await value(exactMatch({ caseSensitive: false }), { output: 'paris', expected: 'Paris' }),
      true,
    )
    assert.equal(await value(exactMatch({ expected: '4' }), { output: '4' }), true)
    const mismatch = await run(exactMatch(), { output: 'Lyon', expected: 'Paris' })
    assert.equal(mismatch.reason, 'expected "Paris", got "Lyon"')
    const missing = await run(exactMatch(), { output: 'x' })
    assert.deepEqual([missing.status, missing.reason], ['failed', 'no expected output to compare with'])
  })

  test('contains all / any', async () => {
    const all = contains({ values: ['refund', '30 days'] })
    assert.equal(await value(all, { output: 'A refund is possible within 30 days.' }), true)
    const partial = await run(all, { output: 'A refund is possible.' })
    assert.deepEqual([partial.value, partial.reason], [false, 'missing "30 days"'])
    const any = contains({ values: ['Paris', 'Lyon'], mode: 'any', caseSensitive: false })
    assert.equal(await value(any, { output: 'lyon it is' }), true)
    assert.equal(await value(any, { output: 'Marseille' }), false)
    assert.throws(() => contains({ values: [] }), /non-empty/)
  })

  test('regex match, and its negation', async () => {
    assert.equal(
      await value(regexMatch({ pattern: /order #\d{5}/ }), { output: 'Your order #12345 shipped' }),
      true,
    )
    assert.equal(await value(regexMatch({ pattern: '^\\d+$' }), { output: 'abc' }), false)
    const noEmail = regexMatch({ name: 'no_email', pattern: /[\w.]+@[\w.]+/g, shouldMatch: false })
    assert.equal(await value(noEmail, { output: 'write to a@b.co' }), false)
    assert.equal(
      await value(noEmail, { output: 'write to a@b.co' }),
      false,
      'a global regex is reset between runs',
    )
    assert.equal(await value(noEmail, { output: 'no address' }), true)
  })
})

describe('JSON evaluators', () => {
  test('valid JSON: strict unless code fences are allowed', async () => {
    assert.equal(await value(validJson(), { output: '{"a": [1, 2]}' }), true)
    const bad = await run(validJson(), { output: '{a: 1}' })
    assert.equal(bad.value, false)
    assert.match(bad.reason, /^not valid JSON: /)
    assert.equal(await value(validJson(), { output: '```json\n{"a": 1}\n```' }), false)
    assert.equal(await value(validJson({ allowCodeFence: true }), { output: '```json\n{"a": 1}\n```' }), true)
    assert.equal(await value(validJson(), { output: { already: 'parsed' } }), true)
  })

  test('JSON schema via Ajv, every error in the reason', async () => {
    const evaluator = jsonSchema({
      schema: {
        type: 'object',
        required: ['city', 'population'],
        properties: { city: { type: 'string' }, population: { type: 'integer', minimum: 0 } },
        additionalProperties: false,
      },
    })
    assert.equal(await value(evaluator, { output: '{"city": "Paris", "population": 2100000}' }), true)
    const wrong = await run(evaluator, { output: '{"city": 1, "population": -5, "x": true}' })
    assert.equal(wrong.value, false)
    assert.match(wrong.reason, /output\/city must be string/)
    assert.match(wrong.reason, /output\/population must be >= 0/)
    assert.match(wrong.reason, /must NOT have additional properties/)
    assert.match((await run(evaluator, { output: 'nope' })).reason, /^not valid JSON/)
    assert.throws(() => jsonSchema({ schema: { type: 'no-such-type' } }))
  })

  test('length bounds in characters (code points) and words', async () => {
    const chars = lengthBounds({ min: 2, max: 5 })
    assert.equal(await value(chars, { output: 'héllo' }), true)
    assert.equal(await value(chars, { output: '😀😀😀' }), true, 'emoji count once')
    const long = await run(chars, { output: 'too long' })
    assert.deepEqual([long.value, long.reason], [false, '8 characters, above 5'])
    const words = lengthBounds({ min: 3, unit: 'words' })
    assert.equal(await value(words, { output: 'one two three' }), true)
    assert.equal((await run(words, { output: 'one two' })).reason, '2 words, below 3')
  })
})

describe('citations', () => {
  const retrieval = spanOf({
    kind: 'retrieval',
    attributes: {
      [HINDSIGHT.retrievalDocuments]: JSON.stringify([
        { id: 'doc-1', score: 0.9 },
        { id: 'doc-2', score: 0.7 },
      ]),
    },
  })
  const answer = (ids: string[]) =>
    spanOf({
      kind: 'llm',
      attributes: { [HINDSIGHT.citations]: JSON.stringify(ids.map((id) => ({ document_id: id }))) },
    })

  test('citation present', async () => {
    assert.equal(await value(citationPresent(), { output: 'x', spans: [retrieval, answer(['doc-1'])] }), true)
    assert.equal(await value(citationPresent(), { output: 'x', spans: [retrieval] }), false)
    assert.equal((await run(citationPresent(), { output: 'x' })).status, 'failed')
    // A malformed attribute counts as no citation rather than an error.
    const garbled = spanOf({ attributes: { [HINDSIGHT.citations]: 'not json' } })
    assert.equal(await value(citationPresent(), { output: 'x', spans: [garbled] }), false)
  })

  test('citations resolvable to documents retrieved in the same trace', async () => {
    const ok = await run(citationsResolvable(), {
      output: 'x',
      spans: [retrieval, answer(['doc-1', 'doc-2', 'doc-1'])],
    })
    assert.deepEqual([ok.value, ok.reason], [true, 'all 2 cited documents were retrieved'])
    const bad = await run(citationsResolvable(), {
      output: 'x',
      spans: [retrieval, answer(['doc-1', 'doc-9'])],
    })
    assert.deepEqual([bad.value, bad.reason], [false, '1 of 2 cited documents were not retrieved: doc-9'])
    const none = await run(citationsResolvable(), { output: 'x', spans: [retrieval] })
    assert.deepEqual([none.value, none.reason], [false, 'no citation to resolve'])
    const camel = spanOf({ attributes: { [HINDSIGHT.citations]: JSON.stringify([{ documentId: 'doc-2' }]) } })
    assert.equal(await value(citationsResolvable(), { output: 'x', spans: [retrieval, camel] }), true)
  })
})

describe('refusal detection', () => {
  const refusals = [
    "I'm sorry, but I can't help with that.",
    'I cannot assist with this request.',
    'As an AI language model, I cannot browse the internet.',
    'I’m afraid I can’t do that.',
    'This request violates our policies.',
    'Je ne peux pas vous aider avec cela.',
    'Lo siento, pero no puedo ayudar con eso.',
  ]
  const answers = [
    'Your refund was issued on May 3.',
    "Sorry for the delay! Here's your tracking number: 123.",
    'I can help with that: click Settings, then Billing.',
    'The function cannot return null because of the guard.',
  ]
  test('fixed refusals are detected and ordinary answers are not', async () => {
    for (const text of refusals) assert.equal(await value(refusal(), { output: text }), true, text)
    for (const text of answers) assert.equal(await value(refusal(), { output: text }), false, text)
    const custom = refusal({ patterns: [/\bout of scope\b/] })
    assert.equal(await value(custom, { output: 'That is out of scope for me.' }), true)
  })
})

describe('latency and cost thresholds', () => {
  const spans = [
    spanOf({ kind: 'chain', duration_ms: 1800 }),
    spanOf({ kind: 'llm', duration_ms: 1200, cost_usd: 0.004 }),
    spanOf({ kind: 'llm', duration_ms: 500, cost_usd: 0.002 }),
  ]
  test('latency from latencyMs or the span envelope', async () => {
    assert.equal(await value(latencyThreshold({ maxMs: 2000 }), { output: '', spans }), true)
    const slow = await run(latencyThreshold({ maxMs: 1000 }), { output: '', spans })
    assert.deepEqual([slow.value, slow.reason], [false, '1800 ms > 1000 ms'])
    assert.equal(await value(latencyThreshold({ maxMs: 1000 }), { output: '', latencyMs: 999 }), true)
    assert.equal((await run(latencyThreshold({ maxMs: 1 }), { output: '' })).status, 'failed')
  })

  test('cost summed over model calls; unknown prices fail rather than pass', async () => {
    const cheap = await run(costThreshold({ maxUsd: 0.01 }), { output: '', spans })
    assert.deepEqual([cheap.value, cheap.reason], [true, '$0.006000 ≤ $0.01'])
    assert.equal(await value(costThreshold({ maxUsd: 0.005 }), { output: '', spans }), false)
    const unpriced = [...spans, spanOf({ kind: 'llm', cost_usd: null })]
    const unknown = await run(costThreshold({ maxUsd: 1 }), { output: '', spans: unpriced })
    assert.deepEqual(
      [unknown.status, unknown.reason],
      ['failed', 'cost unknown: some model calls have no price'],
    )
    assert.equal(await value(costThreshold({ maxUsd: 1 }), { output: '', costUsd: 0.5 }), true)
  })
})

describe('custom evaluators and the runner', () => {
  test('defineEvaluator: typed values; throws, wrong types and timeouts become failed results', async () => {
    const words = defineEvaluator({
      name: 'word_count',
      dataType: 'numeric',
      evaluate: ({ output }) => ({ value: textOf(output).split(/\s+/).length, reason: 'counted' }),
    })
    const ok = await run(words, { output: 'a b c' })
    assert.deepEqual([ok.status, ok.value, ok.evaluator, ok.dataType], ['ok', 3, 'word_count', 'numeric'])

    const throws = defineEvaluator({
      name: 'broken',
      dataType: 'boolean',
      evaluate: () => {
        throw new Error('kaboom')
      },
    })
    const thrown = await run(throws, { output: '' })
    assert.deepEqual(
      [thrown.status, thrown.value, thrown.reason],
      ['failed', null, 'evaluator threw: kaboom'],
    )

    const lies = {
      name: 'liar',
      dataType: 'numeric' as const,
      // A JavaScript caller can return anything; the runner checks.
      evaluate: () => ({ value: 'high' as unknown as number, reason: '' }),
    }
    assert.match((await run(lies, { output: '' })).reason, /returned "high", not a numeric value/)

    const slow = defineEvaluator({
      name: 'slow',
      dataType: 'boolean',
      evaluate: () => new Promise<never>(() => {}),
    })
    const timedOut = await runEvaluator(slow, { output: '' }, {}, { timeoutMs: 50 })
    assert.deepEqual([timedOut.status, timedOut.reason], ['failed', 'evaluator threw: timed out after 50 ms'])
    assert.throws(() =>
      defineEvaluator({ name: ' ', dataType: 'boolean', evaluate: () => ({ value: true, reason: '' }) }),
    )
  })

  test('runEvaluators keeps order; resultToScore makes an evaluator score', async () => {
    const results = await runEvaluators([validJson(), refusal(), lengthBounds({ max: 3 })], { output: '[1]' })
    assert.deepEqual(
      results.map((r) => [r.evaluator, r.value]),
      [
        ['valid_json', true],
        ['refusal', false],
        ['length_bounds', true],
      ],
    )
    const traceId = 'ab'.repeat(16)
    const [first] = results
    assert.ok(first)
    const score = resultToScore(first, { traceId, dataset: { id: 'ds', itemId: 'i1', version: 3 } })
    assert.deepEqual(score, {
      traceId,
      name: 'valid_json',
      value: true,
      dataType: 'boolean',
      source: 'evaluator',
      status: 'ok',
      comment: 'valid JSON',
      evaluator: 'valid_json',
      dataset: { id: 'ds', itemId: 'i1', version: 3 },
    })
  })
})

describe('evalInputFromTrace', () => {
  test('root content, all spans, duration, and cost (null when a call is unpriced)', async () => {
    const { evalInputFromTrace } = await import('./trace-input')
    type Trace = Parameters<typeof evalInputFromTrace>[0]
    const span = (o: Record<string, unknown>): Trace['spans'][number] =>
      ({
        trace_id: 't',
        span_id: 's',
        parent_span_id: '',
        name: 'n',
        kind: 'chain',
        model: '',
        provider: '',
        input: '',
        output: '',
        attributes: {},
        duration_ms: 1,
        cost_usd: null,
        status: 'ok',
        ...o,
      }) as unknown as Trace['spans'][number]
    const trace = {
      trace_id: 't',
      name: 'ask',
      start_time: '2025-01-01T00:00:00.000000Z',
      duration_ms: 1500,
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: 0.003,
      spans: [
        span({ span_id: 'root', input: 'question?', output: '' }),
        span({ span_id: 'a', parent_span_id: 'root', kind: 'llm', output: 'draft', cost_usd: 0.001 }),
        span({ span_id: 'b', parent_span_id: 'root', kind: 'llm', output: 'final answer', cost_usd: 0.002 }),
      ],
    } as unknown as Parameters<typeof evalInputFromTrace>[0]
    const input = evalInputFromTrace(trace, { expected: 'final answer' })
    assert.deepEqual(
      [input.input, input.output, input.expected, input.latencyMs],
      ['question?', 'final answer', 'final answer', 1500],
    )
    assert.ok(Math.abs((input.costUsd ?? 0) - 0.003) < 1e-12)
    assert.equal(input.spans?.length, 3)
    assert.equal(await value(exactMatch(), input), true)
    const unpriced = { ...trace, spans: [...trace.spans, span({ kind: 'llm', cost_usd: null })] }
    assert.equal(evalInputFromTrace(unpriced).costUsd, null)
  })
})
