import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { evaluationSchema } from '@hindsight/backtest'
import { type EvaluationChoices, evaluationFromChoices, scoreNames } from './evaluation-form'

const none: EvaluationChoices = {
  simple: [],
  contains: '',
  lengthMin: '',
  lengthMax: '',
  judge: null,
  rules: false,
}

describe('replay form → evaluation', () => {
  test('nothing chosen: no evaluation (the replay compares cost and latency only)', () => {
    assert.equal(evaluationFromChoices(none), undefined)
  })

  test('built-ins, reference F1, contains, length, a judge and the route rules → a valid evaluation', () => {
    const evaluation = evaluationFromChoices({
      simple: ['exact_match', 'reference_f1', 'refusal'],
      contains: 'refund, order id ,',
      lengthMin: '10',
      lengthMax: '',
      judge: {
        rubric: 'correctness',
        provider: 'openai',
        model: 'gpt-4o-mini',
        apiKeyEnv: 'JUDGE_KEY',
        baseURL: '',
      },
      rules: true,
    })
    assert.deepEqual(evaluation, {
      evaluators: [
        { type: 'builtin', evaluator: 'exact_match' },
        { type: 'custom', evaluator: 'reference_f1' },
        { type: 'builtin', evaluator: 'refusal' },
        { type: 'builtin', evaluator: 'contains', options: { values: ['refund', 'order id'] } },
        { type: 'builtin', evaluator: 'length_bounds', options: { min: 10 } },
        {
          type: 'judge',
          rubric: 'correctness',
          endpoint: { provider: 'openai', model: 'gpt-4o-mini', apiKeyEnv: 'JUDGE_KEY' },
        },
      ],
      rules: 'route',
    })
    // The service's own schema accepts it as it is.
    assert.equal(evaluationSchema.parse(evaluation).evaluators.length, 6)
    assert.deepEqual(scoreNames(evaluation), [
      'exact_match',
      'reference_f1',
      'refusal',
      'contains',
      'length_bounds',
      'correctness',
    ])
    // Only the route's rules.
    assert.deepEqual(evaluationFromChoices({ ...none, rules: true }), { evaluators: [], rules: 'route' })
  })

  test('incomplete choices are refused with a message for the form', () => {
    assert.throws(
      () =>
        evaluationFromChoices({
          ...none,
          judge: { rubric: 'correctness', provider: 'openai', model: ' ', apiKeyEnv: '', baseURL: '' },
        }),
      /Name the judge model/,
    )
    assert.throws(
      () =>
        evaluationFromChoices({
          ...none,
          judge: { rubric: 'correctness', provider: 'openai', model: 'm', apiKeyEnv: 'sk-123', baseURL: '' },
        }),
      /NAME of a server environment variable/,
    )
    assert.throws(
      () => evaluationFromChoices({ ...none, lengthMin: '50', lengthMax: '10' }),
      /must not exceed/,
    )
    assert.throws(() => evaluationFromChoices({ ...none, lengthMin: 'ten' }), /whole number/)
    assert.throws(() => evaluationFromChoices({ ...none, simple: ['bleu'] }), /unknown evaluator bleu/)
  })
})
