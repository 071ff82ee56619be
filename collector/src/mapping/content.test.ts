import assert from 'node:assert/strict'
import { test } from 'node:test'
import { aiSdkPromptJson, unflatten, withSystemInstructions } from './content'

test('system instructions become the leading system message, spliced without parsing the messages', () => {
  const messages = '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
  assert.equal(
    withSystemInstructions(messages, '[{"type":"text","content":"be brief"}]'),
    '[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
  )
  // A plain string (some senders) becomes a text part; a single part object is wrapped.
  assert.deepEqual(JSON.parse(withSystemInstructions(messages, 'be brief') ?? ''), [
    { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
    { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
  ])
  assert.deepEqual(JSON.parse(withSystemInstructions('', '{"type":"text","content":"x"}') ?? '')[0], {
    role: 'system',
    parts: [{ type: 'text', content: 'x' }],
  })
  assert.equal(
    withSystemInstructions('[]', '"x"'),
    '[{"role":"system","parts":[{"type":"text","content":"x"}]}]',
  )
  assert.deepEqual(JSON.parse(withSystemInstructions('plain question', 'x') ?? '')[1], {
    role: 'user',
    parts: [{ type: 'text', content: 'plain question' }],
  })
})

test('nothing changes when the messages already start with a system message or there are no instructions', () => {
  assert.equal(
    withSystemInstructions('[ { "role" : "system", "parts": [] }]', '[{"type":"text","content":"x"}]'),
    undefined,
  )
  assert.equal(withSystemInstructions('[]', '  '), undefined)
})

test('unflatten: numeric segments are ordered array positions; odd keys stay plain data', () => {
  const value = unflatten([
    ['10.a', 'ten'],
    ['2.a', 'two'],
    ['2.__proto__.polluted', 'yes'],
    ['2.b.c', 1n],
  ])
  assert.deepEqual(JSON.parse(JSON.stringify(value)), [
    { a: 'two', ['__proto__']: { polluted: 'yes' }, b: { c: 1 } },
    { a: 'ten' },
  ])
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution')
})

test('AI SDK outer prompt: system, prompt string or messages', () => {
  assert.deepEqual(JSON.parse(aiSdkPromptJson('{"system":"s","prompt":"p"}')), [
    { role: 'system', parts: [{ type: 'text', content: 's' }] },
    { role: 'user', parts: [{ type: 'text', content: 'p' }] },
  ])
  assert.deepEqual(
    JSON.parse(
      aiSdkPromptJson(
        '{"messages":[{"role":"user","content":[{"type":"image","image":"https://x.test/a.png","mediaType":"image/png"}]}]}',
      ),
    ),
    [
      {
        role: 'user',
        parts: [{ type: 'uri', modality: 'image', mime_type: 'image/png', uri: 'https://x.test/a.png' }],
      },
    ],
  )
  assert.equal(aiSdkPromptJson('not json'), 'not json', 'unreadable content is kept as sent')
})
