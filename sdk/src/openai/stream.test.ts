import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StreamAccumulator } from './stream'

test('stream accumulator: one choice, text deltas, usage in the last chunk', () => {
  const acc = new StreamAccumulator()
  acc.add({ id: 'c1', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] })
  acc.add({ id: 'c2', model: 'other', choices: [{ index: 0, delta: { content: 'Hel' } }] })
  acc.add({ choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] })
  acc.add({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })
  acc.add({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } })
  acc.add('not a chunk')
  assert.equal(acc.chunks, 6)
  assert.equal(acc.id, 'c1')
  assert.equal(acc.model, 'm')
  assert.deepEqual(acc.usage, { prompt_tokens: 3, completion_tokens: 2 })
  assert.deepEqual(acc.finishReasons(), ['stop'])
  assert.deepEqual(acc.outputMessages(), [
    { role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'stop' },
  ])
  // The message's keys keep their order (role, parts, finish_reason): the exported JSON is the same.
  assert.deepEqual(Object.keys(acc.outputMessages()[0] ?? {}), ['role', 'parts', 'finish_reason'])
})

test('stream accumulator: several choices in index order, tool-call fragments by their index', () => {
  const acc = new StreamAccumulator()
  acc.add({
    choices: [
      { index: 2, delta: { content: 'two' } },
      { index: 1, delta: { refusal: 'no' } },
    ],
  })
  acc.add({
    choices: [
      {
        delta: {
          tool_calls: [
            { index: 1, id: 'call_b', function: { name: 'second', arguments: '{"b":' } },
            { index: 0, id: 'call_a', function: { name: 'first', arguments: '' } },
          ],
        },
      },
    ],
  })
  acc.add({
    choices: [
      { index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '1}' } }] } },
      { index: 0, delta: { tool_calls: [{ function: { arguments: '{}' } }] } },
      { index: 2, finish_reason: 'length' },
      { index: 0, finish_reason: 'tool_calls' },
      { index: 1, finish_reason: 'content_filter' },
    ],
  })
  assert.deepEqual(acc.finishReasons(), ['tool_calls', 'content_filter', 'length'])
  assert.deepEqual(acc.outputMessages(), [
    {
      role: 'assistant',
      parts: [
        { type: 'tool_call', id: 'call_a', name: 'first', arguments: '' },
        { type: 'tool_call', id: 'call_b', name: 'second', arguments: { b: 1 } },
        { type: 'tool_call', id: undefined, name: '', arguments: {} },
      ],
      finish_reason: 'tool_calls',
    },
    { role: 'assistant', parts: [{ type: 'text', content: 'no' }], finish_reason: 'content_filter' },
    { role: 'assistant', parts: [{ type: 'text', content: 'two' }], finish_reason: 'length' },
  ])
})

test('stream accumulator: nothing but chunks without choices', () => {
  const acc = new StreamAccumulator()
  acc.add({ id: 'x' })
  assert.deepEqual(acc.finishReasons(), [])
  assert.deepEqual(acc.outputMessages(), [])
})
