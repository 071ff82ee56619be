import assert from 'node:assert/strict'
import { test } from 'node:test'
import { COMMON, GEN_AI, HINDSIGHT, OTLP_EXTRA, TRACELOOP } from '../conventions'
import type { AttributeValue, OtlpSpan } from '../otlp/types'
import { mapSpan } from './map-span'

const START = 1_780_000_000_000_000_000n // 2026-05-28T20:26:40Z

function span(
  attributes: Record<string, AttributeValue>,
  over: Partial<OtlpSpan> = {},
  resource: Record<string, AttributeValue> = {},
): OtlpSpan {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '',
    traceState: '',
    name: 'chat gpt-4o',
    kind: 3,
    startTimeUnixNano: START + 123_456_789n,
    endTimeUnixNano: START + 1_623_456_789n,
    attributes: new Map(Object.entries(attributes)),
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource: { attributes: new Map(Object.entries(resource)) },
    scope: { name: '@hindsight/sdk', version: '0.1.0', attributes: new Map() },
    ...over,
  }
}

const map = (s: OtlpSpan) => mapSpan(s, { projectId: 'p1', now: Date.UTC(2026, 4, 28, 21) })

test('current GenAI names map to columns; times keep microseconds; price is computed', () => {
  const row = map(
    span(
      {
        [GEN_AI.operationName]: 'chat',
        [GEN_AI.providerName]: 'openai',
        [GEN_AI.requestModel]: 'gpt-4o',
        [GEN_AI.responseModel]: 'gpt-4o-2024-08-06',
        [GEN_AI.usageInputTokens]: 10_000n,
        [GEN_AI.usageOutputTokens]: 500n,
        [GEN_AI.usageCacheReadInputTokens]: 8_000n,
        [GEN_AI.usageReasoningOutputTokens]: 0n,
        [GEN_AI.responseTimeToFirstChunk]: 0.35,
        [GEN_AI.inputMessages]: '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
        [GEN_AI.outputMessages]: '[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]',
        [GEN_AI.systemInstructions]: '[{"type":"text","content":"be brief"}]',
        [GEN_AI.requestTemperature]: 0.2,
        [HINDSIGHT.release]: 'v2',
        [HINDSIGHT.route]: '/chat',
        [COMMON.userId]: 'u1',
        [COMMON.sessionId]: 's1',
      },
      {},
      {
        [COMMON.serviceName]: 'support-bot',
        [COMMON.serviceVersion]: '1.0.0',
        [COMMON.deploymentEnvironment]: 'prod',
      },
    ),
  )
  assert.equal(row.project_id, 'p1')
  assert.equal(row.kind, 'llm')
  assert.equal(row.operation, 'chat')
  assert.equal(row.provider, 'openai')
  assert.equal(row.model, 'gpt-4o-2024-08-06', 'response model wins')
  assert.equal(row.request_model, 'gpt-4o')
  assert.equal(row.input_tokens, 10_000)
  assert.equal(row.output_tokens, 500)
  assert.equal(row.cache_read_tokens, 8_000)
  assert.equal(row.ttft_ms, 350)
  assert.equal(row.start_time, '2026-05-28 20:26:40.123456')
  assert.equal(row.end_time, '2026-05-28 20:26:41.623456')
  assert.equal(row.duration_ms, 1500)
  assert.equal(row.release, 'v2', 'hindsight.release beats service.version')
  assert.equal(row.route, '/chat')
  assert.equal(row.environment, 'prod')
  assert.equal(row.service_name, 'support-bot')
  assert.equal(row.user_id, 'u1')
  assert.equal(row.session_id, 's1')
  // System instructions lead the input as a system message in the same parts format.
  assert.deepEqual(JSON.parse(row.input), [
    { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
    { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
  ])
  assert.match(row.output, /"content":"hello"/)
  assert.equal(row.cost_usd, '0.020000000') // see pricing.test.ts for the arithmetic
  assert.equal(row.scope_name, '@hindsight/sdk')
  assert.equal(row.ingested_at, '2026-05-28 21:00:00.000')
  // Mapped attributes are not duplicated (system instructions are in the input); params stay.
  assert.deepEqual(
    Object.keys(row.attributes).sort(),
    [GEN_AI.requestTemperature, HINDSIGHT.dialect, OTLP_EXTRA.spanKind, OTLP_EXTRA.scopeVersion].sort(),
  )
  assert.equal(row.attributes[HINDSIGHT.dialect], 'hindsight')
  assert.equal(row.attributes[GEN_AI.requestTemperature], '0.2')
  assert.equal(row.attributes[OTLP_EXTRA.spanKind], 'client')
  assert.equal(row.resource_attributes[COMMON.serviceName], 'support-bot')
})

test('older names: gen_ai.system, prompt/completion tokens, underscore cache names, gen_ai.prompt', () => {
  const row = map(
    span({
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.system]: 'anthropic',
      [GEN_AI.requestModel]: 'claude-sonnet-4-5',
      [GEN_AI.usagePromptTokens]: 12_050n,
      [GEN_AI.usageCompletionTokens]: 400n,
      [GEN_AI.usageCacheReadInputTokensOld]: 10_000n,
      [GEN_AI.usageCacheCreationInputTokensOld]: 2_000n,
      [GEN_AI.prompt]: 'Say hi',
      [GEN_AI.completion]: 'Hi',
    }),
  )
  assert.equal(row.provider, 'anthropic')
  assert.equal(row.model, 'claude-sonnet-4-5', 'request model when no response model')
  assert.deepEqual(
    [row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens],
    [12_050, 400, 10_000, 2_000],
  )
  assert.equal(row.input, 'Say hi')
  assert.equal(row.output, 'Hi')
  assert.equal(row.cost_usd, '0.016650000')
  assert.deepEqual(Object.keys(row.attributes), [
    HINDSIGHT.dialect,
    OTLP_EXTRA.spanKind,
    OTLP_EXTRA.scopeVersion,
  ])
})

test('every cache-write spelling is read', () => {
  for (const key of [
    GEN_AI.usageCacheCreationInputTokens,
    GEN_AI.usageCacheWriteInputTokens,
    GEN_AI.usageCacheCreationInputTokensOld,
  ]) {
    const row = map(span({ [GEN_AI.usageInputTokens]: 3000n, [key]: 1000n }))
    assert.equal(row.cache_write_tokens, 1000, key)
    assert.equal(row.attributes[key], undefined, `${key} is consumed`)
  }
  const read = map(span({ [GEN_AI.usageInputTokens]: 3000n, [GEN_AI.usageCacheReadInputTokens]: 700n }))
  assert.equal(read.cache_read_tokens, 700)
})

test('anthropic raw input (excluding cache) is corrected once and the original attribute kept', () => {
  const row = map(
    span({
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'anthropic',
      [GEN_AI.requestModel]: 'claude-sonnet-4-5',
      [GEN_AI.usageInputTokens]: 50n,
      [GEN_AI.usageOutputTokens]: 400n,
      [GEN_AI.usageCacheReadInputTokens]: 10_000n,
      [GEN_AI.usageCacheCreationInputTokens]: 2_000n,
    }),
  )
  assert.equal(row.input_tokens, 12_050)
  assert.equal(row.attributes[GEN_AI.usageInputTokens], '50')
  assert.equal(row.cost_usd, '0.016650000')
})

test('OpenLLMetry indexed prompt/completion attributes are assembled into JSON', () => {
  const row = map(
    span(
      {
        [GEN_AI.system]: 'openai',
        [TRACELOOP.requestType]: 'chat',
        'gen_ai.prompt.1.role': 'user',
        'gen_ai.prompt.1.content': 'What is 2+2?',
        'gen_ai.prompt.0.role': 'system',
        'gen_ai.prompt.0.content': 'Be terse.',
        'gen_ai.completion.0.role': 'assistant',
        'gen_ai.completion.0.content': '4',
        'gen_ai.completion.0.finish_reason': 'stop',
      },
      {
        scope: { name: 'opentelemetry.instrumentation.openai.v1', version: '0.40.0', attributes: new Map() },
      },
    ),
  )
  assert.deepEqual(JSON.parse(row.input), [
    { role: 'system', parts: [{ type: 'text', content: 'Be terse.' }] },
    { role: 'user', parts: [{ type: 'text', content: 'What is 2+2?' }] },
  ])
  assert.deepEqual(JSON.parse(row.output), [
    { role: 'assistant', parts: [{ type: 'text', content: '4' }], finish_reason: 'stop' },
  ])
  assert.equal(row.kind, 'llm', 'llm.request.type=chat')
  assert.equal(row.attributes[HINDSIGHT.dialect], 'openllmetry')
  assert.equal(Object.keys(row.attributes).filter((k) => k.startsWith('gen_ai.prompt')).length, 0)
})

test('kind derivation from the operation, the override, and the fallbacks', () => {
  const cases: Array<[Record<string, AttributeValue>, string]> = [
    [{ [GEN_AI.operationName]: 'chat' }, 'llm'],
    [{ [GEN_AI.operationName]: 'text_completion' }, 'llm'],
    [{ [GEN_AI.operationName]: 'generate_content' }, 'llm'],
    [{ [GEN_AI.operationName]: 'embeddings' }, 'embedding'],
    [{ [GEN_AI.operationName]: 'execute_tool' }, 'tool'],
    [{ [GEN_AI.operationName]: 'invoke_agent' }, 'agent'],
    [{ [GEN_AI.operationName]: 'create_agent' }, 'agent'],
    [{ [GEN_AI.operationName]: 'retrieval' }, 'retrieval'],
    [{ [GEN_AI.operationName]: 'invoke_workflow' }, 'chain'],
    [{ [GEN_AI.operationName]: 'chat', [HINDSIGHT.spanKind]: 'guardrail' }, 'guardrail'],
    [{ [GEN_AI.operationName]: 'something_new' }, 'unknown'],
    [{ 'http.method': 'GET' }, 'unknown'],
    // A model and usage without an operation name is still a model call.
    [{ [GEN_AI.requestModel]: 'gpt-4o', [GEN_AI.usagePromptTokens]: 10n }, 'llm'],
  ]
  for (const [attributes, kind] of cases)
    assert.equal(
      map(span(attributes)).kind,
      kind,
      JSON.stringify(attributes, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
    )
  const invalid = map(span({ [HINDSIGHT.spanKind]: 'banana' }))
  assert.equal(invalid.kind, 'unknown')
  assert.equal(invalid.attributes[HINDSIGHT.spanKind], 'banana', 'an unusable override is kept, not dropped')
})

test('status, error type (attribute or exception event), older environment name, release fallback', () => {
  const failed = map(
    span(
      { [GEN_AI.operationName]: 'chat', [COMMON.errorType]: 'RateLimitError' },
      { status: { code: 2, message: '429 Too Many Requests' } },
      { [COMMON.deploymentEnvironmentOld]: 'staging', [COMMON.serviceVersion]: '3.1.4' },
    ),
  )
  assert.equal(failed.status, 'error')
  assert.equal(failed.status_message, '429 Too Many Requests')
  assert.equal(failed.error_type, 'RateLimitError')
  assert.equal(failed.environment, 'staging')
  assert.equal(failed.release, '3.1.4')

  const fromEvent = map(
    span(
      {},
      {
        status: { code: 2, message: '' },
        events: [
          {
            name: 'exception',
            timeUnixNano: START,
            attributes: new Map<string, AttributeValue>([[COMMON.exceptionType, 'TimeoutError']]),
          },
        ],
      },
    ),
  )
  assert.equal(fromEvent.error_type, 'TimeoutError')
  assert.match(fromEvent.attributes[OTLP_EXTRA.events] ?? '', /"name":"exception"/)
  assert.equal(map(span({}, { status: { code: 1, message: '' } })).status, 'ok')
  assert.equal(map(span({})).status, 'unset')
})

test('unknown attributes are kept, stringified: arrays and maps as JSON, big ints exact', () => {
  const input = span({
    'app.feature': 'refunds',
    'app.count': 3n,
    'app.huge': 12345678901234567890n,
    'app.ratio': 0.25,
    'app.flag': false,
    'app.tags': ['a', 'b'],
    'app.obj': new Map<string, AttributeValue>([
      ['k', 1n],
      ['__proto__', 'x'],
    ]),
    'app.bytes': new Uint8Array([1, 2, 3]),
  })
  ;(input.attributes as Map<string, AttributeValue>).set('__proto__', 'plain key')
  const row = map(input)
  assert.equal(row.attributes['app.feature'], 'refunds')
  assert.equal(row.attributes['app.count'], '3')
  assert.equal(row.attributes['app.huge'], '12345678901234567890')
  assert.equal(row.attributes['app.ratio'], '0.25')
  assert.equal(row.attributes['app.flag'], 'false')
  assert.equal(row.attributes['app.tags'], '["a","b"]')
  assert.equal(row.attributes['app.obj'], '{"k":1,"__proto__":"x"}')
  assert.equal(row.attributes['app.bytes'], 'AQID')
  assert.equal(Object.getOwnPropertyDescriptor(row.attributes, '__proto__')?.value, 'plain key')
  assert.match(JSON.stringify(row.attributes), /"__proto__":"plain key"/)
  assert.equal(row.kind, 'unknown')
  assert.equal(row.cost_usd, null)
  assert.equal(row.pricing_note, '')
})
