// Dialect rules on spans captured in each package's documented shape (the real packages are
// driven end to end in collector/test/dialects/*.test.ts; these cover providers and versions the
// local fake cannot: Anthropic, Bedrock, Gemini, older SDK versions, unknown instrumentations).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Dialect } from '../conventions'
import type { AttributeValue, OtlpSpan } from '../otlp/types'
import { detectDialect } from './dialects'
import { isMappingPricingNote, mapSpan } from './map-span'

const START = 1_780_000_000_000_000_000n // 2026-05-28T20:26:40Z

function span(
  scope: string,
  attributes: Record<string, AttributeValue>,
  over: Partial<OtlpSpan> = {},
): OtlpSpan {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    name: 'span',
    kind: 1,
    startTimeUnixNano: START,
    endTimeUnixNano: START + 2_000_000_000n,
    attributes: new Map(Object.entries(attributes)),
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource: { attributes: new Map() },
    scope: { name: scope, version: '', attributes: new Map() },
    ...over,
  }
}

const map = (s: OtlpSpan) => mapSpan(s, { projectId: 'p1', now: Date.UTC(2026, 4, 28, 21) })
const tokens = (row: ReturnType<typeof map>) => [
  row.input_tokens,
  row.output_tokens,
  row.cache_read_tokens,
  row.cache_write_tokens,
  row.reasoning_tokens,
]

// claude-sonnet-4-5: input $3, cache read $0.30, cache write (5 min) $3.75, output $15 per 1M.
// 5000 uncached + 3000 read + 1000 written + 400 out: 15000 + 900 + 3750 + 6000 = 25650 → $0.025650.
const CLAUDE_COST = '0.025650000'

test('detection: by scope first, then by attribute names', () => {
  const cases: Array<[string, Record<string, AttributeValue>, Dialect]> = [
    ['@arizeai/openinference-instrumentation-anthropic', {}, 'openinference'],
    ['openinference.instrumentation.langchain', {}, 'openinference'],
    ['@traceloop/instrumentation-anthropic', { 'gen_ai.system': 'anthropic' }, 'openllmetry'],
    ['ai', { 'ai.operationId': 'ai.generateText' }, 'vercel_ai'],
    ['gen_ai', { 'gen_ai.operation.name': 'chat' }, 'vercel_ai_otel'],
    ['@hindsight/sdk', { 'gen_ai.operation.name': 'chat' }, 'hindsight'],
    ['my-app', { 'openinference.span.kind': 'CHAIN' }, 'openinference'],
    ['my-app', { 'llm.token_count.prompt': 5n }, 'openinference'],
    ['my-app', { 'traceloop.span.kind': 'workflow' }, 'openllmetry'],
    ['my-app', { 'gen_ai.system': 'openai', 'llm.request.type': 'chat' }, 'openllmetry'],
    ['my-app', { 'gen_ai.prompt.0.content': 'hi' }, 'openllmetry'],
    ['my-app', { 'ai.model.id': 'gpt-4o', 'ai.usage.promptTokens': 3n }, 'vercel_ai'],
    ['opentelemetry.instrumentation.openai_v2', { 'gen_ai.operation.name': 'chat' }, 'otel_genai'],
    ['my-app', { 'http.method': 'GET' }, 'unknown'],
  ]
  for (const [scope, attributes, dialect] of cases) {
    assert.equal(detectDialect(span(scope, attributes)), dialect, `${scope} ${Object.keys(attributes)}`)
    assert.equal(map(span(scope, attributes)).attributes['hindsight.dialect'], dialect)
  }
})

test('OpenInference + Anthropic (prompt count includes cache, JS ≥ 0.2): taken as is, priced once', () => {
  const row = map(
    span('@arizeai/openinference-instrumentation-anthropic', {
      'openinference.span.kind': 'LLM',
      'llm.system': 'anthropic',
      'llm.provider': 'anthropic',
      'llm.model_name': 'claude-sonnet-4-5-20250929',
      'llm.token_count.prompt': 9000n,
      'llm.token_count.completion': 400n,
      'llm.token_count.prompt_details.cache_read': 3000n,
      'llm.token_count.prompt_details.cache_write': 1000n,
    }),
  )
  assert.equal(row.provider, 'anthropic')
  assert.deepEqual(tokens(row), [9000, 400, 3000, 1000, 0])
  assert.equal(row.cost_usd, CLAUDE_COST)
})

test("OpenInference + Anthropic's raw input (smaller than its cache): corrected once, original kept", () => {
  const row = map(
    span('openinference.instrumentation.anthropic', {
      'openinference.span.kind': 'LLM',
      'llm.system': 'anthropic',
      'llm.model_name': 'claude-sonnet-4-5',
      'llm.token_count.prompt': 50n,
      'llm.token_count.completion': 400n,
      'llm.token_count.prompt_details.cache_read': 10_000n,
      'llm.token_count.prompt_details.cache_write': 2000n,
    }),
  )
  assert.deepEqual(tokens(row), [12_050, 400, 10_000, 2000, 0])
  assert.equal(row.attributes['llm.token_count.prompt'], '50')
  assert.equal(row.cost_usd, '0.016650000')
})

test('OpenInference: Claude on Bedrock is priced by host (llm.provider aws → aws.bedrock); vendor kept', () => {
  const row = map(
    span('@arizeai/openinference-instrumentation-bedrock', {
      'openinference.span.kind': 'LLM',
      'llm.system': 'anthropic',
      'llm.provider': 'aws',
      'llm.model_name': 'anthropic.claude-haiku-4-5-20251001-v1:0',
      'llm.token_count.prompt': 1000n,
      'llm.token_count.completion': 100n,
    }),
  )
  assert.equal(row.provider, 'aws.bedrock')
  assert.equal(row.attributes['llm.provider'], 'aws', 'the original spelling is kept')
  assert.equal(row.attributes['llm.system'], 'anthropic')
  assert.equal(row.cost_usd, '0.001500000') // 1000 × $1 + 100 × $5 per 1M
})

test('OpenInference kinds: chain content from input.value; agent usage not counted; evaluator kept', () => {
  const chain = map(
    span('openinference.instrumentation.langchain', {
      'openinference.span.kind': 'CHAIN',
      'input.value': '{"question":"hi"}',
      'input.mime_type': 'application/json',
      'output.value': 'hello',
      'session.id': 's-1',
      'user.id': 'u-1',
      metadata: '{"tenant":"acme"}',
    }),
  )
  assert.equal(chain.kind, 'chain')
  assert.equal(chain.input, '{"question":"hi"}')
  assert.equal(chain.output, 'hello')
  assert.equal(chain.session_id, 's-1')
  assert.equal(chain.user_id, 'u-1')
  assert.equal(chain.attributes.metadata, '{"tenant":"acme"}')
  assert.equal(chain.attributes['input.mime_type'], 'application/json')

  const agent = map(
    span('openinference.instrumentation.openai_agents', {
      'openinference.span.kind': 'AGENT',
      'llm.model_name': 'gpt-4o',
      'llm.token_count.prompt': 5000n,
      'llm.token_count.completion': 300n,
    }),
  )
  assert.equal(agent.kind, 'agent')
  assert.deepEqual(tokens(agent), [0, 0, 0, 0, 0])
  assert.equal(agent.cost_usd, null)
  assert.equal(agent.attributes['llm.token_count.prompt'], '5000', 'kept as an attribute')

  const retriever = map(span('x', { 'openinference.span.kind': 'RETRIEVER' }))
  assert.equal(retriever.kind, 'retrieval')
  const evaluator = map(span('x', { 'openinference.span.kind': 'EVALUATOR' }))
  assert.equal(evaluator.kind, 'unknown')
  assert.equal(evaluator.attributes['openinference.span.kind'], 'EVALUATOR')
})

test('OpenInference message contents (multi-part, image) and legacy function calls', () => {
  const row = map(
    span('@arizeai/openinference-instrumentation-openai', {
      'openinference.span.kind': 'LLM',
      'llm.input_messages.0.message.role': 'user',
      'llm.input_messages.0.message.contents.0.message_content.type': 'text',
      'llm.input_messages.0.message.contents.0.message_content.text': 'What is this?',
      'llm.input_messages.0.message.contents.1.message_content.type': 'image',
      'llm.input_messages.0.message.contents.1.message_content.image.image.url': 'https://x.test/cat.png',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.function_call_name': 'lookup',
      'llm.output_messages.0.message.function_call_arguments_json': '{"q":"cat"}',
    }),
  )
  assert.deepEqual(JSON.parse(row.input), [
    {
      role: 'user',
      parts: [
        { type: 'text', content: 'What is this?' },
        { type: 'uri', modality: 'image', uri: 'https://x.test/cat.png' },
      ],
    },
  ])
  assert.deepEqual(JSON.parse(row.output), [
    { role: 'assistant', parts: [{ type: 'tool_call', name: 'lookup', arguments: { q: 'cat' } }] },
  ])
})

test('OpenLLMetry + Anthropic: raw input_tokens beside the cache counts is exclusive (every version)', () => {
  // @traceloop/instrumentation-anthropic: input_tokens = Anthropic's usage.input_tokens.
  const row = map(
    span('@traceloop/instrumentation-anthropic', {
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 5000n,
      'gen_ai.usage.output_tokens': 400n,
      'gen_ai.usage.cache_read.input_tokens': 3000n,
      'gen_ai.usage.cache_creation.input_tokens': 1000n,
      'gen_ai.usage.total_tokens': 5400n,
    }),
  )
  assert.deepEqual(tokens(row), [9000, 400, 3000, 1000, 0])
  assert.equal(row.cost_usd, CLAUDE_COST)
  assert.equal(row.attributes['gen_ai.usage.input_tokens'], '5000', 'the corrected count keeps its original')
  // The same counts from the OTel GenAI dialect follow the convention (inclusive): not corrected.
  const otel = map(
    span('opentelemetry.instrumentation.anthropic', {
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 9000n,
      'gen_ai.usage.output_tokens': 400n,
      'gen_ai.usage.cache_read.input_tokens': 3000n,
      'gen_ai.usage.cache_creation.input_tokens': 1000n,
    }),
  )
  assert.deepEqual(tokens(otel), [9000, 400, 3000, 1000, 0])
  assert.equal(otel.cost_usd, CLAUDE_COST)
})

test('OpenLLMetry: decorated workflow spans, entity input/output, association properties', () => {
  const row = map(
    span('traceloop.workflow', {
      'traceloop.span.kind': 'workflow',
      'traceloop.entity.name': 'answer_question',
      'traceloop.entity.input': '{"args":["hi"],"kwargs":{}}',
      'traceloop.entity.output': '"hello"',
      'traceloop.association.properties.user_id': 'u-9',
      'traceloop.association.properties.session_id': 's-9',
    }),
  )
  assert.equal(row.attributes['hindsight.dialect'], 'openllmetry')
  assert.equal(row.kind, 'chain')
  assert.equal(row.input, '{"args":["hi"],"kwargs":{}}')
  assert.equal(row.output, '"hello"')
  assert.equal(row.user_id, 'u-9')
  assert.equal(row.session_id, 's-9')
  assert.equal(row.attributes['traceloop.entity.name'], 'answer_question')
})

test('OpenLLMetry older indexed content with tool calls and a tool result', () => {
  const row = map(
    span('opentelemetry.instrumentation.openai.v1', {
      'llm.request.type': 'chat',
      'gen_ai.system': 'OpenAI',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.prompt_tokens': 50n,
      'gen_ai.usage.completion_tokens': 10n,
      'llm.usage.total_tokens': 60n,
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': '[{"type":"text","text":"Weather?"}]',
      'gen_ai.prompt.1.role': 'assistant',
      'gen_ai.prompt.1.tool_calls.0.id': 'c1',
      'gen_ai.prompt.1.tool_calls.0.name': 'weather',
      'gen_ai.prompt.1.tool_calls.0.arguments': '{"city":"Oslo"}',
      'gen_ai.prompt.2.role': 'tool',
      'gen_ai.prompt.2.tool_call_id': 'c1',
      'gen_ai.prompt.2.content': 'rain',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'It rains.',
      'gen_ai.completion.0.finish_reason': 'stop',
    }),
  )
  assert.equal(row.provider, 'openai', 'lowercased')
  assert.deepEqual(JSON.parse(row.input), [
    { role: 'user', parts: [{ type: 'text', content: 'Weather?' }] },
    {
      role: 'assistant',
      parts: [{ type: 'tool_call', id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }],
    },
    { role: 'tool', parts: [{ type: 'tool_call_response', id: 'c1', response: 'rain' }] },
  ])
  assert.deepEqual(JSON.parse(row.output), [
    { role: 'assistant', parts: [{ type: 'text', content: 'It rains.' }], finish_reason: 'stop' },
  ])
  assert.equal(row.cost_usd, '0.000225000') // gpt-4o: 50 × $2.50 + 10 × $10 per 1M
  assert.equal(row.attributes['llm.usage.total_tokens'], '60')
})

function aiSdkCall(attributes: Record<string, AttributeValue>) {
  return map(
    span('ai', {
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.id': 'claude-sonnet-4-5',
      ...attributes,
    }),
  )
}

test('Vercel AI SDK v5 + Anthropic: raw input, cache read beside it, cache write in provider metadata', () => {
  const row = aiSdkCall({
    'ai.model.provider': 'anthropic.messages',
    'ai.usage.inputTokens': 5000n,
    'ai.usage.outputTokens': 400n,
    'ai.usage.totalTokens': 5400n,
    'ai.usage.cachedInputTokens': 3000n,
    'ai.response.providerMetadata': '{"anthropic":{"cacheCreationInputTokens":1000,"usage":{}}}',
  })
  assert.equal(row.provider, 'anthropic')
  assert.deepEqual(tokens(row), [9000, 400, 3000, 1000, 0])
  assert.equal(row.cost_usd, CLAUDE_COST)
  assert.match(row.attributes['ai.response.providerMetadata'] ?? '', /cacheCreationInputTokens/)
})

test('Vercel AI SDK v6 + Anthropic: the input breakdown is exact, nothing is added twice', () => {
  const row = aiSdkCall({
    'ai.model.provider': 'anthropic.messages',
    'ai.usage.inputTokens': 9000n,
    'ai.usage.inputTokenDetails.noCacheTokens': 5000n,
    'ai.usage.inputTokenDetails.cacheReadTokens': 3000n,
    'ai.usage.inputTokenDetails.cacheWriteTokens': 1000n,
    'ai.usage.outputTokens': 400n,
    'ai.usage.outputTokenDetails.reasoningTokens': 0n,
    'ai.usage.cachedInputTokens': 3000n,
  })
  assert.deepEqual(tokens(row), [9000, 400, 3000, 1000, 0])
  assert.equal(row.cost_usd, CLAUDE_COST)
})

test('Vercel AI SDK: Bedrock v5 (exclusive input), Gemini v5 (thoughts outside output), v4 names', () => {
  const bedrock = aiSdkCall({
    'ai.model.provider': 'amazon-bedrock',
    'ai.model.id': 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'ai.usage.inputTokens': 5000n,
    'ai.usage.outputTokens': 400n,
    'ai.usage.cachedInputTokens': 3000n,
    'ai.response.providerMetadata': '{"bedrock":{"usage":{"cacheWriteInputTokens":1000}}}',
  })
  assert.equal(bedrock.provider, 'aws.bedrock')
  assert.deepEqual(tokens(bedrock), [9000, 400, 3000, 1000, 0])
  assert.equal(bedrock.cost_usd, CLAUDE_COST)

  const gemini = aiSdkCall({
    'ai.model.provider': 'google.generative-ai',
    'ai.model.id': 'gemini-2.5-flash',
    'ai.usage.inputTokens': 1000n,
    'ai.usage.outputTokens': 100n,
    'ai.usage.reasoningTokens': 50n,
  })
  assert.equal(gemini.provider, 'gcp.gemini')
  assert.deepEqual(tokens(gemini), [1000, 150, 0, 0, 50])
  assert.equal(gemini.pricing_note, 'unknown model: gcp.gemini/gemini-2.5-flash')

  const v4 = aiSdkCall({
    'ai.model.provider': 'openai.chat',
    'ai.model.id': 'gpt-4o',
    'ai.usage.promptTokens': 50n,
    'ai.usage.completionTokens': 10n,
  })
  assert.deepEqual(tokens(v4), [50, 10, 0, 0, 0])
  assert.equal(v4.cost_usd, '0.000225000')
})

test('OTel GenAI: usage without a model is an unpriced llm call; provider spellings are normalized', () => {
  const noModel = map(
    span('some-instrumentation', { 'gen_ai.system': 'openai', 'gen_ai.usage.input_tokens': 10n }),
  )
  assert.equal(noModel.kind, 'llm')
  assert.equal(noModel.cost_usd, null)
  assert.equal(noModel.pricing_note, 'no model attribute')

  const azure = map(
    span('some-instrumentation', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'az.ai.openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 10n,
    }),
  )
  assert.equal(azure.provider, 'azure.ai.openai')
  assert.equal(azure.attributes['gen_ai.system'], 'az.ai.openai', 'the original spelling is kept')
  assert.equal(azure.pricing_note, 'unknown model: azure.ai.openai/gpt-4o')
})

test('OTel GenAI: an agent span repeats its children’s usage: not counted, kept as attributes', () => {
  const row = map(
    span('openai-agents', {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 3000n,
      'gen_ai.usage.output_tokens': 200n,
    }),
  )
  assert.equal(row.kind, 'agent')
  assert.deepEqual(tokens(row), [0, 0, 0, 0, 0])
  assert.equal(row.cost_usd, null)
  assert.equal(row.attributes['gen_ai.usage.input_tokens'], '3000')
  assert.equal(row.model, 'gpt-4o')
})

test('OTel GenAI: older content events and tool-call arguments/results', () => {
  const events = map(
    span(
      'opentelemetry.instrumentation.openai',
      { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' },
      {
        events: [
          {
            name: 'gen_ai.content.prompt',
            timeUnixNano: START,
            attributes: new Map([['gen_ai.prompt', '[{"role":"user","content":"hi"}]']]),
          },
          {
            name: 'gen_ai.content.completion',
            timeUnixNano: START,
            attributes: new Map([['gen_ai.completion', '[{"role":"assistant","content":"hello"}]']]),
          },
        ],
      },
    ),
  )
  assert.equal(events.input, '[{"role":"user","content":"hi"}]')
  assert.equal(events.output, '[{"role":"assistant","content":"hello"}]')
  assert.match(events.attributes['otel.events'] ?? '', /gen_ai.content.prompt/, 'events are kept too')

  const toolCall = map(
    span('x', {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'weather',
      'gen_ai.tool.call.arguments': '{"city":"Oslo"}',
      'gen_ai.tool.call.result': 'rain',
    }),
  )
  assert.equal(toolCall.kind, 'tool')
  assert.equal(toolCall.input, '{"city":"Oslo"}')
  assert.equal(toolCall.output, 'rain')
})

test('@hindsight/sdk: observe() input/output; 1-hour cache writes priced at their own rate', () => {
  const step = map(
    span('@hindsight/sdk', {
      'hindsight.span.kind': 'retrieval',
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.data_source.id': 'kb',
      'hindsight.input': '"refund policy"',
      'hindsight.output': '[{"id":"doc-1"}]',
    }),
  )
  assert.equal(step.kind, 'retrieval')
  assert.equal(step.input, '"refund policy"')
  assert.equal(step.output, '[{"id":"doc-1"}]')

  const call = (extra: Record<string, AttributeValue>) =>
    map(
      span('@hindsight/sdk', {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-5',
        'gen_ai.usage.input_tokens': 12_050n,
        'gen_ai.usage.output_tokens': 400n,
        'gen_ai.usage.cache_read.input_tokens': 10_000n,
        'gen_ai.usage.cache_creation.input_tokens': 2000n,
        ...extra,
      }),
    )
  assert.equal(call({}).cost_usd, '0.016650000')
  // 1000 of the 2000 written for 1 h: 150 + 3000 + 1000 × 3.75 + 1000 × 6 + 6000 = 18900 per 1M.
  const with1h = call({ 'hindsight.usage.cache_creation_1h.input_tokens': 1000n })
  assert.equal(with1h.cost_usd, '0.018900000')
  assert.equal(with1h.attributes['hindsight.usage.cache_creation_1h.input_tokens'], '1000')
})

test('unknown instrumentation: lands with every attribute; unpriced with a reason when it looks like a model call', () => {
  const guessed = map(
    span('acme-llm-client', { model: 'gpt-4o', 'usage.prompt_tokens': 10n, 'usage.completion_tokens': 5n }),
  )
  assert.equal(guessed.attributes['hindsight.dialect'], 'unknown')
  assert.equal(guessed.kind, 'llm')
  assert.equal(guessed.model, 'gpt-4o')
  assert.equal(guessed.cost_usd, null)
  assert.equal(guessed.pricing_note, 'unrecognized instrumentation: model from model, token counts not read')
  assert.equal(isMappingPricingNote(guessed.pricing_note), true, 're-pricing leaves it unpriced')
  assert.equal(isMappingPricingNote('unknown model: openai/gpt-9'), false)
  assert.equal(guessed.attributes.model, 'gpt-4o')
  assert.equal(guessed.attributes['usage.prompt_tokens'], '10')

  const noModel = map(span('acme', { 'llm.totalTokens': 15n }, { name: 'embed documents' }))
  assert.equal(noModel.kind, 'embedding')
  assert.equal(noModel.cost_usd, null)
  assert.equal(noModel.pricing_note, 'no model attribute')

  const http = map(
    span('@opentelemetry/instrumentation-http', { 'http.method': 'POST', 'url.path': '/chat' }),
  )
  assert.equal(http.kind, 'unknown')
  assert.equal(http.pricing_note, '')
  assert.equal(http.attributes['url.path'], '/chat')
})
