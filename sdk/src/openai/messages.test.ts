import assert from 'node:assert/strict'
import { test } from 'node:test'
import { completionOutputMessages, toInputMessages, toolArguments, toToolDefinitions } from './messages'

test('system and developer messages become system instructions; the rest stay in order', () => {
  const { system, input } = toInputMessages([
    { role: 'developer', content: [{ type: 'text', text: 'Rule one.' }] },
    { role: 'user', name: 'ada', content: 'Hi' },
    { role: 'system', content: 'Rule two.' },
    { role: 'assistant', content: 'Hello', refusal: null },
  ])
  assert.deepEqual(system, [
    { type: 'text', content: 'Rule one.' },
    { type: 'text', content: 'Rule two.' },
  ])
  assert.deepEqual(input, [
    { role: 'user', name: 'ada', parts: [{ type: 'text', content: 'Hi' }] },
    { role: 'assistant', parts: [{ type: 'text', content: 'Hello' }] },
  ])
})

test('media parts keep their kind and URL, but inline data is left out', () => {
  const { input } = toInputMessages([
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(5000)}` } },
        { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
        { type: 'file', file: { file_id: 'file-1' } },
      ],
    },
  ])
  assert.deepEqual(input[0]?.parts, [
    { type: 'text', content: 'What is this?' },
    { type: 'uri', modality: 'image', uri: 'https://example.com/cat.png' },
    { type: 'blob', modality: 'image', mime_type: 'image/png' },
    { type: 'blob', modality: 'audio', mime_type: 'audio/wav' },
    { type: 'file', file_id: 'file-1', filename: undefined },
  ])
  assert.ok(!JSON.stringify(input).includes('AAAA'))
})

test('tool results and malformed entries', () => {
  const { input } = toInputMessages([
    { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: '42' }] },
    null,
    'not a message',
    { role: 'function', name: 'legacy', content: 'old style' },
  ])
  assert.deepEqual(input, [
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: '42' }] },
    { role: 'tool', name: 'legacy', parts: [{ type: 'tool_call_response', response: 'old style' }] },
  ])
  assert.deepEqual(toInputMessages(undefined), { system: [], input: [] })
})

test('tool arguments are parsed when they are JSON and kept as text otherwise', () => {
  assert.deepEqual(toolArguments('{"a":1}'), { a: 1 })
  assert.equal(toolArguments('{"a":'), '{"a":')
  assert.equal(toolArguments(''), '')
})

test('tool definitions and completion output', () => {
  assert.deepEqual(
    toToolDefinitions([
      { type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object' } } },
      { type: 'custom', custom: { name: 'grammar_tool' } },
    ]),
    [
      { type: 'function', name: 'f', description: 'does f', parameters: { type: 'object' } },
      { type: 'custom', name: 'grammar_tool' },
    ],
  )
  assert.deepEqual(
    completionOutputMessages([
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      },
      {
        index: 1,
        finish_reason: 'content_filter',
        message: { role: 'assistant', content: null, refusal: 'No.' },
      },
    ]),
    [
      {
        role: 'assistant',
        parts: [{ type: 'tool_call', id: 'c1', name: 'f', arguments: {} }],
        finish_reason: 'tool_calls',
      },
      { role: 'assistant', parts: [{ type: 'text', content: 'No.' }], finish_reason: 'content_filter' },
    ],
  )
})
