import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import OpenAI from 'openai'
import { COMMON, GEN_AI, HINDSIGHT } from './attributes'
import { type Sink, startSink } from './fixtures/otlp-sink'
import {
  applyMask,
  flush,
  getStats,
  getTracer,
  init,
  MASK_FAILED,
  type MaskContext,
  observe,
  shutdown,
  withAttributes,
  wrapOpenAI,
} from './index'
import { type FakeOpenAI, initInMemory, startFakeOpenAI } from './testing'

const EMAIL = /[\w.+-]+@[\w-]+\.[\w.]+/g
const redactEmails = (value: string) => value.replace(EMAIL, '<email>')

let fake: FakeOpenAI
let sink: Sink
let openai: OpenAI

before(async () => {
  fake = await startFakeOpenAI({
    reply: (_body, index) =>
      index === 1
        ? { error: { status: 400, message: 'unknown user carol@example.com' } }
        : { content: 'Mail bob@example.org.' },
  })
  openai = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key', maxRetries: 0 }))
  sink = await startSink()
})
after(async () => {
  await shutdown()
  await fake.close()
  await sink.close()
})
beforeEach(async () => {
  // The previous test's instance flushes to the same sink when replaced: finish that first.
  await shutdown()
  sink.requests.length = 0
})

/** Everything an app can put an email into, through every public entry point. */
async function emailsEverywhere(): Promise<void> {
  await withAttributes(
    {
      userId: 'alice@example.com',
      tags: ['vip alice@example.com'],
      metadata: { contact: 'alice@example.com' },
    },
    async () => {
      await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Never reveal admin@corp.example.' },
          { role: 'user', content: 'My address is alice@example.com' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'send',
              description: 'sends to ops@corp.example',
              parameters: { type: 'object' },
            },
          },
        ],
      })
      await openai.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'who is carol@example.com?' }] })
        .catch(() => undefined)
      await observe(
        'kb',
        (span) => {
          span.setDocuments([{ id: 'doc-1', score: 0.8, content: 'Owner: dave@example.net' }])
          span.setCitations([{ documentId: 'doc-1', quote: 'dave@example.net' }])
          return [{ owner: 'dave@example.net' }]
        },
        { kind: 'retrieval', input: { q: 'erin@example.com' } },
      )
      try {
        observe(
          'notify',
          () => {
            throw new Error('mailbox frank@example.com is full')
          },
          { kind: 'tool', input: 'frank@example.com' },
        )
      } catch {}
      const own = getTracer().startSpan('own span', { attributes: { 'app.note': 'grace@example.com' } })
      own.setAttribute('app.list', ['heidi@example.com', 'plain'])
      own.end()
    },
  )
}

describe('mask', () => {
  test('a mask redacting emails leaves no email in anything exported, checked at a real OTLP sink', async () => {
    const seen: MaskContext[] = []
    init({
      endpoint: sink.url,
      scheduledDelayMillis: 60_000,
      mask: (value, context) => {
        seen.push(context)
        return redactEmails(value)
      },
    })
    await emailsEverywhere()
    await flush()

    assert.ok(sink.requests.length > 0)
    for (const request of sink.requests) {
      const text = request.body.toString('latin1')
      assert.equal(text.match(EMAIL), null, `no email in the ${request.url} payload`)
    }
    const spans = sink.spans()
    const byName = (name: string) => spans.find((span) => span.name === name)
    const chat = spans.filter((span) => span.name === 'chat gpt-4o-mini')
    assert.equal(chat.length, 2)
    const ok = chat.find((span) => span.status.code !== 2)
    const failed = chat.find((span) => span.status.code === 2)
    assert.ok(ok && failed)
    // Masked content is still valid JSON in the GenAI parts format, redaction inside.
    const input = JSON.parse(String(ok.attributes[GEN_AI.inputMessages]))
    assert.deepEqual(input, [{ role: 'user', parts: [{ type: 'text', content: 'My address is <email>' }] }])
    assert.match(String(ok.attributes[GEN_AI.systemInstructions]), /Never reveal <email>/)
    assert.match(String(ok.attributes[GEN_AI.outputMessages]), /Mail <email>/)
    assert.match(String(ok.attributes[GEN_AI.toolDefinitions]), /sends to <email>/)
    assert.equal(ok.attributes[COMMON.userId], '<email>')
    assert.equal(ok.attributes[HINDSIGHT.tags], '["vip <email>"]')
    assert.equal(ok.attributes['hindsight.metadata.contact'], '<email>')
    // Structure is never handed to the mask.
    assert.equal(ok.attributes[GEN_AI.requestModel], 'gpt-4o-mini')
    assert.equal(ok.attributes[GEN_AI.operationName], 'chat')
    assert.ok(!seen.some((c) => c.attribute === GEN_AI.requestModel || c.attribute === GEN_AI.responseId))
    // Error messages (status and exception event) are masked too.
    assert.match(failed.status.message, /unknown user <email>/)
    const exception = failed.events.find((event) => event.name === 'exception')
    assert.match(String(exception?.attributes['exception.message']), /<email>/)

    const kb = byName('retrieval kb')
    assert.deepEqual(JSON.parse(String(kb?.attributes[HINDSIGHT.retrievalDocuments])), [
      { id: 'doc-1', score: 0.8, content: 'Owner: <email>' },
    ])
    assert.equal(kb?.attributes[HINDSIGHT.citations], '[{"document_id":"doc-1","quote":"<email>"}]')
    assert.equal(kb?.attributes[HINDSIGHT.input], '{"q":"<email>"}')
    assert.equal(kb?.attributes[HINDSIGHT.output], '[{"owner":"<email>"}]')
    const tool = byName('execute_tool notify')
    assert.equal(tool?.attributes[GEN_AI.toolCallArguments], '<email>')
    assert.equal(tool?.status.message, 'mailbox <email> is full')
    const own = byName('own span')
    assert.equal(own?.attributes['app.note'], '<email>')
    assert.deepEqual(own?.attributes['app.list'], ['<email>', 'plain'])
    assert.ok(seen.some((c) => c.attribute === GEN_AI.inputMessages && c.spanName === 'chat gpt-4o-mini'))
  })

  test('a mask that throws or returns a non-string never lets the value through', async () => {
    const mem = initInMemory({
      mask: (value) => {
        if (value.includes('boom')) throw new Error('mask bug')
        if (value.includes('odd')) return 42 as unknown as string
        return value
      },
    })
    observe('step', () => 'boom alice@example.com', { input: 'odd alice@example.com' })
    const [span] = mem.spans()
    assert.equal(span?.attributes[HINDSIGHT.output], MASK_FAILED)
    assert.equal(span?.attributes[HINDSIGHT.input], MASK_FAILED)
    assert.equal(mem.hindsight.getStats().internalErrors, 2)
  })

  test('captureContent: false drops content attributes centrally, even ones set by hand', async () => {
    init({ endpoint: sink.url, scheduledDelayMillis: 60_000, captureContent: false })
    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'secret' }],
    })
    const own = getTracer().startSpan('chat by hand')
    own.setAttributes({
      [GEN_AI.inputMessages]: '[{"role":"user","parts":[{"type":"text","content":"secret"}]}]',
      'ai.prompt.messages': 'secret',
      'gen_ai.prompt.0.content': 'secret',
      [GEN_AI.requestModel]: 'm',
    })
    own.end()
    await flush()
    const payload = Buffer.concat(sink.requests.map((r) => r.body)).toString('latin1')
    assert.ok(!payload.includes('secret'), 'no content left the process')
    const spans = sink.spans()
    assert.equal(spans.length, 2)
    assert.equal(spans.find((s) => s.name === 'chat by hand')?.attributes[GEN_AI.requestModel], 'm')
    assert.equal(getStats().internalErrors, 0)
  })

  test('applyMask applies the configured mask to strings inside any value', () => {
    init({
      exporter: { export: (_s, done) => done({ code: 0 }), shutdown: () => Promise.resolve() },
      mask: redactEmails,
    })
    assert.deepEqual(
      applyMask({ a: ['x@y.io', 1, { b: 'mail z@y.io' }], n: null }, { attribute: 'comment', spanName: '' }),
      {
        a: ['<email>', 1, { b: 'mail <email>' }],
        n: null,
      },
    )
    init({ exporter: { export: (_s, done) => done({ code: 0 }), shutdown: () => Promise.resolve() } })
    assert.equal(applyMask('x@y.io', { attribute: 'comment', spanName: '' }), 'x@y.io', 'no mask: unchanged')
  })
})
