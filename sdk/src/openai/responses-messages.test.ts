import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  responseFinishReason,
  responseOutputMessages,
  toResponsesInput,
  toResponsesToolDefinitions,
} from './responses-messages'

test('input items: instructions and system/developer messages are system instructions; assistant items group', () => {
  const { system, input } = toResponsesInput(
    [
      { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'Rule.' }] },
      {
        role: 'user',
        content: [{ type: 'input_image', image_url: 'data:image/jpeg;base64,AAAA', detail: 'auto' }],
      },
      { role: 'assistant', content: [{ type: 'output_text', text: 'Calling tools.' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Two lookups.' }] },
      { type: 'function_call', call_id: 'c1', name: 'a', arguments: '{}' },
      { type: 'function_call', call_id: 'c2', name: 'b', arguments: 'not json' },
      { type: 'function_call_output', call_id: 'c1', output: 'A' },
      { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'B' }] },
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      { type: 'item_reference', id: 'msg_old' },
      42,
    ],
    'Be brief.',
  )
  assert.deepEqual(system, [
    { type: 'text', content: 'Be brief.' },
    { type: 'text', content: 'Rule.' },
  ])
  assert.deepEqual(input, [
    { role: 'user', parts: [{ type: 'blob', modality: 'image', mime_type: 'image/jpeg' }] },
    {
      role: 'assistant',
      parts: [
        { type: 'text', content: 'Calling tools.' },
        { type: 'reasoning', content: 'Two lookups.' },
        { type: 'tool_call', id: 'c1', name: 'a', arguments: {} },
        { type: 'tool_call', id: 'c2', name: 'b', arguments: 'not json' },
      ],
    },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: 'A' }] },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c2', response: 'B' }] },
    { role: 'assistant', parts: [{ type: 'server_tool_call', id: 'ws_1', name: 'web_search_call' }] },
    { role: 'user', parts: [{ type: 'item_reference', id: 'msg_old' }] },
  ])
  assert.ok(!JSON.stringify(input).includes('AAAA'))
  assert.deepEqual(toResponsesInput('hi', undefined), {
    system: [],
    input: [{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }],
  })
})

test('finish reasons follow the GenAI output-message vocabulary', () => {
  const call = [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' }]
  assert.equal(responseFinishReason({ status: 'completed' }, []), 'stop')
  assert.equal(responseFinishReason({ status: 'completed' }, call), 'tool_call')
  assert.equal(
    responseFinishReason({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }, []),
    'length',
  )
  assert.equal(
    responseFinishReason({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } }, []),
    'content_filter',
  )
  assert.equal(responseFinishReason({ status: 'failed' }, []), 'error')
  assert.equal(responseFinishReason({ status: 'in_progress' }, []), undefined)
  assert.equal(responseFinishReason(undefined, []), undefined)
})

test('output items become one assistant message; tools are named by function name or built-in type', () => {
  assert.deepEqual(
    responseOutputMessages(
      [
        { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
        { type: 'custom_tool_call', call_id: 'x', name: 'sql', input: 'SELECT 1' },
      ],
      'tool_call',
    ),
    [
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: 'No.' },
          { type: 'tool_call', id: 'x', name: 'sql', arguments: 'SELECT 1' },
        ],
        finish_reason: 'tool_call',
      },
    ],
  )
  assert.deepEqual(
    toResponsesToolDefinitions([
      { type: 'function', name: 'f', parameters: { type: 'object' }, strict: true },
      { type: 'file_search', vector_store_ids: ['vs_1'] },
      { type: 'custom', name: 'sql', description: 'Runs SQL' },
    ]),
    [
      { type: 'function', name: 'f', parameters: { type: 'object' } },
      { type: 'file_search', name: 'file_search' },
      { type: 'custom', name: 'sql', description: 'Runs SQL' },
    ],
  )
})
