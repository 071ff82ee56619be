import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GEN_AI, HINDSIGHT } from '../attributes'
import { MessageAccumulator, toInputMessages, toToolDefinitions, usageAttributes } from './messages'

test('usage: input tokens include cache reads and writes, added exactly once', () => {
  assert.deepEqual(
    usageAttributes({
      input_tokens: 100,
      output_tokens: 50,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 500,
      cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 300 },
    }),
    {
      [GEN_AI.usageInputTokens]: 1600,
      [GEN_AI.usageOutputTokens]: 50,
      [GEN_AI.usageCacheReadInputTokens]: 1000,
      [GEN_AI.usageCacheCreationInputTokens]: 500,
      [HINDSIGHT.usageCacheCreation1hInputTokens]: 300,
    },
  )
  // Without cache fields (or with nulls, as some responses send) the input is Anthropic's own count.
  const plain = usageAttributes({ input_tokens: 7, output_tokens: 3, cache_read_input_tokens: null })
  assert.equal(plain[GEN_AI.usageInputTokens], 7)
  assert.equal(plain[GEN_AI.usageCacheReadInputTokens], undefined)
  assert.equal(plain[HINDSIGHT.usageCacheCreation1hInputTokens], undefined)
  // No input count: nothing is invented from the cache counts alone.
  assert.equal(usageAttributes({ cache_read_input_tokens: 5 })[GEN_AI.usageInputTokens], undefined)
  assert.deepEqual(usageAttributes(undefined), {})
})

test('stream usage is merged across message_start and message_delta, never summed', () => {
  const start = {
    type: 'message_start',
    message: {
      id: 'msg_1',
      model: 'claude-x',
      usage: {
        input_tokens: 100,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 500,
        output_tokens: 1,
      },
    },
  }
  const classic = new MessageAccumulator()
  classic.add(start)
  classic.add({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 50 } })
  assert.equal(usageAttributes(classic.finalUsage())[GEN_AI.usageInputTokens], 1600)
  assert.equal(usageAttributes(classic.finalUsage())[GEN_AI.usageOutputTokens], 50)

  const totals = new MessageAccumulator()
  totals.add(start)
  totals.add({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn' },
    usage: {
      input_tokens: 100,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 500,
      output_tokens: 20,
      server_tool_use: null,
    },
  })
  totals.add({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 50 } })
  assert.equal(usageAttributes(totals.finalUsage())[GEN_AI.usageInputTokens], 1600)
  assert.equal(usageAttributes(totals.finalUsage())[GEN_AI.usageOutputTokens], 50)
  assert.equal(totals.stopReason, 'end_turn')

  // Before any message_delta, message_start's output count is a placeholder: left out.
  const early = new MessageAccumulator()
  early.add(start)
  assert.equal(usageAttributes(early.finalUsage())[GEN_AI.usageOutputTokens], undefined)
  assert.equal(usageAttributes(early.finalUsage())[GEN_AI.usageInputTokens], 1600)
})

test('stream content: text, thinking and tool input rebuilt from deltas; unparsable JSON kept as text', () => {
  const acc = new MessageAccumulator()
  acc.add({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  acc.add({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } })
  acc.add({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } })
  acc.add({
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 't1', name: 'f', input: {} },
  })
  acc.add({
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: '{"a":' },
  })
  acc.add({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } })
  acc.add({
    type: 'content_block_start',
    index: 2,
    content_block: { type: 'tool_use', id: 't2', name: 'g', input: {} },
  })
  acc.add({
    type: 'content_block_delta',
    index: 2,
    delta: { type: 'input_json_delta', partial_json: '{"cut' },
  })
  acc.add({ type: 'content_block_delta', index: 9, delta: { type: 'text_delta', text: 'orphan' } })
  acc.add('not an event')
  assert.deepEqual(acc.content(), [
    { type: 'text', text: 'Hello' },
    { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } },
    { type: 'tool_use', id: 't2', name: 'g', input: '{"cut' },
  ])
})

test('input: system blocks, media without inline data, tool results as tool messages', () => {
  const { system, input } = toInputMessages(
    [{ type: 'text', text: 'Be kind.' }],
    [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'QUFBQQ==' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
          { type: 'document', source: { type: 'file', file_id: 'file_1' } },
          { type: 'text', text: 'What are these?' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Hmm.', signature: 's' },
          { type: 'redacted_thinking', data: 'xyz' },
          { type: 'tool_use', id: 't1', name: 'look', input: { q: 1 } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a cat' }] },
          { type: 'tool_result', tool_use_id: 't2', content: 'a dog', is_error: false },
        ],
      },
      null,
    ],
  )
  assert.deepEqual(system, [{ type: 'text', content: 'Be kind.' }])
  assert.deepEqual(input, [
    {
      role: 'user',
      parts: [
        { type: 'blob', modality: 'image', mime_type: 'image/png' },
        { type: 'uri', modality: 'image', uri: 'https://example.com/cat.png' },
        { type: 'file', modality: 'document', file_id: 'file_1' },
        { type: 'text', content: 'What are these?' },
      ],
    },
    {
      role: 'assistant',
      parts: [
        { type: 'reasoning', content: 'Hmm.' },
        { type: 'reasoning' },
        { type: 'tool_call', id: 't1', name: 'look', arguments: { q: 1 } },
      ],
    },
    {
      role: 'tool',
      parts: [
        { type: 'tool_call_response', id: 't1', response: 'a cat' },
        { type: 'tool_call_response', id: 't2', response: 'a dog' },
      ],
    },
  ])
  assert.ok(!JSON.stringify(input).includes('QUFBQQ'))
})

test('tool definitions: client tools as functions, server tools by type', () => {
  assert.deepEqual(
    toToolDefinitions([
      { name: 'f', description: 'does f', input_schema: { type: 'object' } },
      { type: 'custom', name: 'g', input_schema: { type: 'object' } },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      'junk',
    ]),
    [
      { type: 'function', name: 'f', description: 'does f', parameters: { type: 'object' } },
      { type: 'function', name: 'g', parameters: { type: 'object' } },
      { type: 'web_search_20250305', name: 'web_search' },
    ],
  )
})
