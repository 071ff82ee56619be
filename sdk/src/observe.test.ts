import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import OpenAI from 'openai'
import { COMMON, GEN_AI, HINDSIGHT } from './attributes'
import { init, observe, wrapOpenAI } from './index'
import {
  type FakeOpenAI,
  type InMemoryHindsight,
  initInMemory,
  type ReadableSpan,
  startFakeOpenAI,
} from './testing'

let fake: FakeOpenAI
let mem: InMemoryHindsight
let openai: OpenAI

before(async () => {
  fake = await startFakeOpenAI({ reply: { content: 'The answer is 42.' } })
  openai = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key', maxRetries: 0 }))
})
after(() => fake.close())
beforeEach(() => {
  mem = initInMemory()
})

function only(name: string): ReadableSpan {
  const found = mem.spans().filter((span) => span.name === name)
  assert.equal(
    found.length,
    1,
    `one span named ${name}, got ${mem
      .spans()
      .map((s) => s.name)
      .join(', ')}`,
  )
  return found[0] as ReadableSpan
}

class LookupError extends Error {}

describe('observe()', () => {
  test('a tool step: GenAI name and attributes, arguments in, result out', async () => {
    const result = await observe(
      'get_weather',
      async () => {
        await sleep(1)
        return { city: 'Paris', temperature: 21 }
      },
      { kind: 'tool', input: { city: 'Paris' }, attributes: { 'app.region': 'eu' } },
    )
    assert.deepEqual(result, { city: 'Paris', temperature: 21 })
    const span = only('execute_tool get_weather')
    assert.equal(span.kind, SpanKind.INTERNAL)
    assert.equal(span.attributes[GEN_AI.operationName], 'execute_tool')
    assert.equal(span.attributes[GEN_AI.toolName], 'get_weather')
    assert.equal(span.attributes[HINDSIGHT.spanKind], 'tool')
    assert.equal(span.attributes['app.region'], 'eu')
    assert.equal(span.attributes[GEN_AI.toolCallArguments], '{"city":"Paris"}')
    assert.equal(span.attributes[GEN_AI.toolCallResult], '{"city":"Paris","temperature":21}')
    assert.equal(span.status.code, SpanStatusCode.UNSET)
  })

  test('agent and retrieval steps get their GenAI names; a retrieval records its documents', async () => {
    await observe(
      'support-bot',
      () =>
        observe(
          'kb',
          (span) => {
            span.setDocuments([
              { id: 'doc-1', score: 0.92, content: 'Refunds take 5 days.' },
              { id: 'doc-2', score: 0.4 },
            ])
            return ['doc-1', 'doc-2']
          },
          { kind: 'retrieval', input: 'how long do refunds take?' },
        ),
      { kind: 'agent' },
    )
    const agent = only('invoke_agent support-bot')
    assert.equal(agent.attributes[GEN_AI.operationName], 'invoke_agent')
    assert.equal(agent.attributes[GEN_AI.agentName], 'support-bot')
    assert.equal(agent.attributes[HINDSIGHT.spanKind], 'agent')
    const retrieval = only('retrieval kb')
    assert.equal(retrieval.attributes[GEN_AI.operationName], 'retrieval')
    assert.equal(retrieval.attributes[GEN_AI.dataSourceId], 'kb')
    assert.equal(retrieval.attributes[HINDSIGHT.input], 'how long do refunds take?')
    assert.equal(retrieval.attributes[HINDSIGHT.output], '["doc-1","doc-2"]')
    assert.deepEqual(JSON.parse(String(retrieval.attributes[HINDSIGHT.retrievalDocuments])), [
      { id: 'doc-1', score: 0.92, content: 'Refunds take 5 days.' },
      { id: 'doc-2', score: 0.4 },
    ])
    assert.equal(retrieval.parentSpanContext?.spanId, agent.spanContext().spanId)
  })

  test('citations, an explicit output, and kinds without a GenAI name', () => {
    const value = observe(
      'answer',
      (span) => {
        span.setCitations([{ documentId: 'doc-1', quote: 'Refunds take 5 days.' }, { documentId: 'doc-9' }])
        span.setOutput('Refunds take five days [1].')
        return { internal: 'not recorded' }
      },
      { kind: 'chain' },
    )
    assert.deepEqual(value, { internal: 'not recorded' })
    const span = only('answer')
    assert.equal(span.attributes[HINDSIGHT.spanKind], 'chain')
    assert.equal(span.attributes[GEN_AI.operationName], undefined)
    assert.equal(span.attributes[HINDSIGHT.output], 'Refunds take five days [1].')
    assert.deepEqual(JSON.parse(String(span.attributes[HINDSIGHT.citations])), [
      { document_id: 'doc-1', quote: 'Refunds take 5 days.' },
      { document_id: 'doc-9' },
    ])

    observe('moderation', () => true, { kind: 'guardrail' })
    assert.equal(only('moderation').attributes[HINDSIGHT.spanKind], 'guardrail')
    observe('custom-model', () => 'ok', { kind: 'llm', attributes: { [GEN_AI.requestModel]: 'my-model' } })
    const llm = only('custom-model')
    assert.equal(llm.kind, SpanKind.CLIENT)
    assert.equal(llm.attributes[GEN_AI.operationName], 'chat')
    assert.equal(llm.attributes[GEN_AI.requestModel], 'my-model')
    observe('embed', () => [0.1, 0.2], { kind: 'embedding' })
    assert.equal(only('embed').attributes[GEN_AI.operationName], 'embeddings')
    observe('default', () => 1)
    assert.equal(only('default').attributes[HINDSIGHT.spanKind], 'chain')
  })

  test('children nest under the step across await, Promise.all and timers, LLM calls included', async () => {
    await observe(
      'planner',
      async () => {
        await sleep(1)
        await Promise.all([
          observe('search', async () => sleep(2).then(() => 'a'), { kind: 'tool' }),
          observe('fetch', () => 'b', { kind: 'tool' }),
          new Promise<void>((resolve) => setTimeout(() => observe('timer', () => resolve()), 3)),
        ])
        await openai.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        })
      },
      { kind: 'agent' },
    )
    const parent = only('invoke_agent planner').spanContext()
    for (const name of ['execute_tool search', 'execute_tool fetch', 'timer', 'chat gpt-4o-mini']) {
      const child = only(name)
      assert.equal(child.parentSpanContext?.spanId, parent.spanId, `${name} nests under the agent`)
      assert.equal(child.spanContext().traceId, parent.traceId)
    }
  })

  test('errors are recorded and re-thrown unchanged, sync and async', async () => {
    const asyncError = new LookupError('index offline')
    await assert.rejects(
      observe(
        'kb',
        async () => {
          await sleep(1)
          throw asyncError
        },
        { kind: 'retrieval' },
      ),
      (error: unknown) => error === asyncError,
    )
    const failed = only('retrieval kb')
    assert.equal(failed.status.code, SpanStatusCode.ERROR)
    assert.equal(failed.status.message, 'index offline')
    assert.equal(failed.attributes[COMMON.errorType], 'LookupError')
    assert.equal(failed.attributes[HINDSIGHT.output], undefined)

    const syncError = new TypeError('bad input')
    assert.throws(
      () =>
        observe(
          'parse',
          () => {
            throw syncError
          },
          { kind: 'tool' },
        ),
      (error: unknown) => error === syncError,
    )
    assert.equal(only('execute_tool parse').attributes[COMMON.errorType], 'TypeError')
  })

  test('sync functions stay sync; a promise comes back as the same promise', async () => {
    const sync = observe('sync', () => 7)
    assert.equal(sync, 7)
    assert.equal(only('sync').ended, true, 'the span of a sync step ends before observe() returns')
    const promise = Promise.resolve('x')
    const returned = observe('same', () => promise)
    assert.equal(returned, promise)
    assert.equal(await returned, 'x')
  })

  test('the span handle: ids while running, harmless after the step ended', async () => {
    let kept: Parameters<Parameters<typeof observe>[1]>[0] | undefined
    observe('handle', (span) => {
      assert.match(span.traceId, /^[0-9a-f]{32}$/)
      assert.match(span.spanId, /^[0-9a-f]{16}$/)
      span.setAttributes({ 'app.ok': true, 'app.bad': { nested: 1 } })
      kept = span
    })
    kept
      ?.setAttributes({ 'app.late': 1 })
      .setOutput('late')
      .setDocuments([{ id: 'x' }])
    const span = only('handle')
    assert.equal(span.attributes['app.ok'], true)
    assert.equal(span.attributes['app.bad'], undefined, 'non-attribute values are dropped')
    assert.equal(span.attributes['app.late'], undefined)
    assert.equal(span.attributes[HINDSIGHT.output], undefined)
  })

  test('outputs that JSON cannot express are still recorded safely', () => {
    const cyclic: Record<string, unknown> = { n: 10n }
    cyclic.self = cyclic
    observe('odd', () => cyclic)
    assert.equal(only('odd').attributes[HINDSIGHT.output], '{"n":"10","self":"[Circular]"}')
    observe('huge', () => 'x'.repeat(100_000))
    const huge = String(only('huge').attributes[HINDSIGHT.output])
    assert.ok(huge.length < 70_000 && huge.endsWith('…[truncated]'))
  })

  test('captureContent: false keeps ids and scores but no input, output, text or quotes', () => {
    mem = initInMemory({ captureContent: false })
    observe(
      'kb',
      (span) => {
        span.setDocuments([{ id: 'doc-1', score: 0.9, content: 'secret text' }])
        span.setCitations([{ documentId: 'doc-1', quote: 'secret quote' }])
        return 'secret output'
      },
      { kind: 'retrieval', input: 'secret question' },
    )
    const span = only('retrieval kb')
    assert.equal(span.attributes[HINDSIGHT.input], undefined)
    assert.equal(span.attributes[HINDSIGHT.output], undefined)
    assert.equal(span.attributes[HINDSIGHT.retrievalDocuments], '[{"id":"doc-1","score":0.9}]')
    assert.equal(span.attributes[HINDSIGHT.citations], '[{"document_id":"doc-1"}]')
  })

  test('disabled: the function just runs, with a handle that does nothing', async () => {
    init({ enabled: false })
    const value = await observe('off', async (span) => {
      span.setDocuments([{ id: 'x' }]).setOutput('y')
      assert.equal(span.traceId, '')
      return 'ran'
    })
    assert.equal(value, 'ran')
    assert.equal(mem.spans().length, 0)
  })
})
