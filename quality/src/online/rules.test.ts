/** Rule validation on the real embedded engine: judge and custom rules, errors naming the field. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { QualityError } from '../errors'
import { type TestStorage, testStorage } from '../testing'
import { EvaluationRuleRepository } from './rules'

let db: TestStorage
before(async () => {
  db = await testStorage('hs_quality_rules')
})
after(() => db.close())

async function refusal(repo: EvaluationRuleRepository, evaluator: unknown): Promise<string> {
  const error = await repo
    .create('p', { name: 'r', samplingRate: 1, evaluators: [evaluator] })
    .catch((e) => e)
  assert.ok(QualityError.isInstance(error), String(error))
  assert.equal(error.code, 'invalid_input')
  return error.message
}

test('a judge rule with a rubric template of its own and a key reference; a custom rule', async () => {
  const repo = new EvaluationRuleRepository(db.storage)
  const judge = {
    type: 'judge' as const,
    rubric: {
      name: 'on_topic',
      prompt: 'Is the answer about billing?\n{{input}}\n{{output}}',
      scale: { type: 'boolean' as const },
    },
    endpoint: {
      provider: 'openai' as const,
      model: 'gpt-4o-mini',
      baseURL: 'http://127.0.0.1:11434/v1',
      apiKeyEnv: 'JUDGE_KEY',
    },
  }
  const rule = await repo.create('p', {
    name: 'judged',
    samplingRate: 0.25,
    evaluators: [judge, { type: 'custom', evaluator: 'my-check' }],
  })
  assert.deepEqual(rule.evaluators, [judge, { type: 'custom', evaluator: 'my-check' }])
  assert.deepEqual(await repo.get('p', rule.id), rule)
})

test('bad judge input names the field, explains the union branch meant, and never echoes a key', async () => {
  const repo = new EvaluationRuleRepository(db.storage)
  const secret = 'sk-live-0123456789abcdef'
  const message = await refusal(repo, {
    type: 'judge',
    rubric: { name: 'x', prompt: 'no placeholder', scale: { type: 'boolean' } },
    endpoint: { provider: 'openai', model: 'm', apiKeyEnv: secret, baseURL: 'not a url' },
  })
  assert.match(message, /rule\.evaluators\.0\.rubric\.prompt: must contain \{\{output\}\}/)
  assert.match(message, /rule\.evaluators\.0\.endpoint\.baseURL: /)
  assert.match(message, /rule\.evaluators\.0\.endpoint\.apiKeyEnv: the name of an environment variable/)
  assert.ok(!message.includes(secret))
  assert.match(
    await refusal(repo, { type: 'judge', rubric: 'nope', endpoint: { provider: 'openai', model: '' } }),
    /rule\.evaluators\.0\.rubric: Invalid option: expected one of "helpfulness".*rule\.evaluators\.0\.endpoint\.model: /,
  )
  assert.match(await refusal(repo, { type: 'custom', evaluator: '' }), /^rule\.evaluators\.0\.evaluator: /)
})
