import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildEvaluatorSpec, fieldErrors, type RuleFormValues } from './rule-form'

const base: RuleFormValues = {
  kind: 'judge',
  builtin: 'valid_json',
  option: '',
  provider: 'openai',
  baseURL: '',
  model: '',
  apiKeyEnv: '',
  rubric: 'helpfulness',
  rubricName: '',
  scale: 'boolean',
  min: '',
  max: '',
  prompt: '',
  scoreName: '',
  custom: '',
}

test('a judge with a built-in rubric, an endpoint and a key reference', () => {
  assert.deepEqual(
    buildEvaluatorSpec({
      ...base,
      model: ' gpt-4o-mini ',
      baseURL: 'http://127.0.0.1:11434/v1',
      apiKeyEnv: 'JUDGE_KEY',
    }),
    {
      ok: true,
      spec: {
        type: 'judge',
        rubric: 'helpfulness',
        endpoint: {
          provider: 'openai',
          model: 'gpt-4o-mini',
          baseURL: 'http://127.0.0.1:11434/v1',
          apiKeyEnv: 'JUDGE_KEY',
        },
      },
    },
  )
})

test('a judge with its own rubric template; missing and wrong fields are named, a pasted key is not repeated', () => {
  assert.deepEqual(
    buildEvaluatorSpec({
      ...base,
      provider: 'anthropic',
      model: 'claude-haiku',
      rubric: 'custom',
      rubricName: 'on_topic',
      scale: 'numeric',
      min: '1',
      max: '3',
      prompt: 'Q: {{input}} A: {{ output }}',
      scoreName: 'topic',
    }),
    {
      ok: true,
      spec: {
        type: 'judge',
        rubric: {
          name: 'on_topic',
          prompt: 'Q: {{input}} A: {{ output }}',
          scale: { type: 'numeric', min: 1, max: 3 },
        },
        endpoint: { provider: 'anthropic', model: 'claude-haiku' },
        name: 'topic',
      },
    },
  )
  const bad = buildEvaluatorSpec({
    ...base,
    apiKeyEnv: 'sk-secret-123',
    baseURL: 'localhost',
    rubric: 'custom',
    scale: 'numeric',
    min: '5',
    max: '1',
    prompt: 'no placeholder',
  })
  assert.equal(bad.ok, false)
  if (bad.ok) return
  assert.deepEqual(Object.keys(bad.errors).sort(), [
    'apiKeyEnv',
    'baseURL',
    'model',
    'prompt',
    'rubricName',
    'scale',
  ])
  assert.ok(!JSON.stringify(bad.errors).includes('sk-secret-123'))
})

test('built-ins with their option, and a registered custom evaluator', () => {
  assert.deepEqual(
    buildEvaluatorSpec({ ...base, kind: 'builtin', builtin: 'latency_threshold', option: '2000' }),
    {
      ok: true,
      spec: { type: 'builtin', evaluator: 'latency_threshold', options: { maxMs: 2000 } },
    },
  )
  assert.deepEqual(
    buildEvaluatorSpec({ ...base, kind: 'builtin', builtin: 'contains', option: 'refund, policy' }),
    {
      ok: true,
      spec: {
        type: 'builtin',
        evaluator: 'contains',
        options: { values: ['refund', 'policy'], mode: 'all' },
      },
    },
  )
  assert.deepEqual(buildEvaluatorSpec({ ...base, kind: 'builtin', builtin: 'valid_json' }), {
    ok: true,
    spec: { type: 'builtin', evaluator: 'valid_json' },
  })
  assert.equal(
    buildEvaluatorSpec({ ...base, kind: 'builtin', builtin: 'cost_threshold', option: 'x' }).ok,
    false,
  )
  assert.deepEqual(buildEvaluatorSpec({ ...base, kind: 'custom', custom: ' my-check ' }), {
    ok: true,
    spec: { type: 'custom', evaluator: 'my-check' },
  })
  assert.deepEqual(buildEvaluatorSpec({ ...base, kind: 'custom' }), {
    ok: false,
    errors: { custom: 'the name the evaluator is registered under' },
  })
})

test("the server's messages land beside their fields", () => {
  assert.deepEqual(
    fieldErrors(
      'rule.samplingRate: Too big; rule.evaluators.0.rubric.prompt: must contain {{output}}; ' +
        'rule.evaluators.0.endpoint.model: Too small; rule.evaluators.0.rubric.scale.min: bad; ' +
        'rule.evaluators.0.rubric.scale.max: worse; rule.filter.route: odd',
      'judge',
    ),
    {
      sampling: 'Too big',
      prompt: 'must contain {{output}}',
      model: 'Too small',
      scale: 'bad; worse',
      form: 'filter.route: odd',
    },
  )
  assert.deepEqual(fieldErrors('rule.evaluators.0.evaluator: unknown', 'custom'), { custom: 'unknown' })
  assert.deepEqual(fieldErrors('something else broke', 'builtin'), { form: 'something else broke' })
})
