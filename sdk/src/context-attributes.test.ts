import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import OpenAI from 'openai'
import { COMMON, HINDSIGHT } from './attributes'
import { currentTraceAttributes, getTracer, observe, withAttributes, wrapOpenAI } from './index'
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
  fake = await startFakeOpenAI({ reply: { content: 'ok', firstChunkDelayMs: 2 } })
  openai = wrapOpenAI(new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key', maxRetries: 0 }))
})
after(() => fake.close())
beforeEach(() => {
  mem = initInMemory({ release: 'r-init' })
})

function byName(name: string): ReadableSpan[] {
  return mem.spans().filter((span) => span.name === name)
}

function one(name: string): ReadableSpan {
  const [span, ...rest] = byName(name)
  assert.ok(span && rest.length === 0, `one span named ${name}`)
  return span
}

const chat = (content: string) =>
  openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })

describe('withAttributes()', () => {
  test('every span inside gets them: wrapper spans, steps, own spans, across await, Promise.all and timers', async () => {
    const result = await withAttributes(
      {
        userId: 'user-7',
        sessionId: 'sess-1',
        tags: ['beta', 'eu'],
        release: 'r-candidate',
        route: '/api/chat',
        metadata: { plan: 'pro', seats: 3, trial: false, nested: { a: 1 } },
      },
      async () => {
        await chat('first')
        await sleep(1)
        await Promise.all([
          chat('parallel'),
          observe('lookup', async () => sleep(1), { kind: 'tool' }),
          new Promise<void>((resolve) =>
            setTimeout(() => {
              getTracer().startSpan('from a timer').end()
              resolve()
            }, 2),
          ),
        ])
        return 'done'
      },
    )
    assert.equal(result, 'done')
    const spans = [...byName('chat gpt-4o-mini'), one('execute_tool lookup'), one('from a timer')]
    assert.equal(spans.length, 4)
    for (const span of spans) {
      assert.equal(span.attributes[COMMON.userId], 'user-7', span.name)
      assert.equal(span.attributes[COMMON.sessionId], 'sess-1')
      assert.equal(span.attributes[HINDSIGHT.tags], '["beta","eu"]')
      assert.equal(
        span.attributes[HINDSIGHT.release],
        'r-candidate',
        'the trace release beats init({ release })',
      )
      assert.equal(span.attributes[HINDSIGHT.route], '/api/chat')
      assert.equal(span.attributes['hindsight.metadata.plan'], 'pro')
      assert.equal(span.attributes['hindsight.metadata.seats'], 3)
      assert.equal(span.attributes['hindsight.metadata.trial'], false)
      assert.equal(span.attributes['hindsight.metadata.nested'], '{"a":1}')
    }
  })

  test('nested calls merge: inner values win, tags accumulate, metadata keys merge', async () => {
    await withAttributes(
      { userId: 'outer-user', tags: ['a', 'b'], route: '/outer', metadata: { x: 1, y: 1 } },
      () =>
        observe(
          'agent',
          async () => {
            assert.deepEqual(currentTraceAttributes()?.tags, ['a', 'b'])
            await withAttributes({ route: '/inner', tags: ['b', 'c'], metadata: { y: 2 } }, async () => {
              await sleep(1)
              await chat('inner')
              assert.deepEqual(currentTraceAttributes(), {
                userId: 'outer-user',
                sessionId: undefined,
                release: undefined,
                route: '/inner',
                tags: ['a', 'b', 'c'],
                metadata: { x: 1, y: 2 },
              })
            })
            await chat('outer again')
          },
          { kind: 'agent' },
        ),
    )
    const agent = one('invoke_agent agent')
    assert.equal(agent.attributes[HINDSIGHT.route], '/outer')
    const chats = byName('chat gpt-4o-mini')
    const said = (span: ReadableSpan, text: string) =>
      String(span.attributes['gen_ai.input.messages']).includes(text)
    const inner = chats.find((span) => said(span, '"inner"'))
    const outer = chats.find((span) => said(span, 'outer again'))
    assert.ok(inner && outer)
    assert.equal(inner.attributes[HINDSIGHT.route], '/inner')
    assert.equal(inner.attributes[HINDSIGHT.tags], '["a","b","c"]')
    assert.equal(inner.attributes[COMMON.userId], 'outer-user')
    assert.equal(inner.attributes['hindsight.metadata.x'], 1)
    assert.equal(inner.attributes['hindsight.metadata.y'], 2)
    assert.equal(outer.attributes[HINDSIGHT.route], '/outer', 'the inner scope ended')
    assert.equal(outer.attributes[HINDSIGHT.tags], '["a","b"]')
    assert.equal(outer.attributes['hindsight.metadata.y'], 1)
  })

  test('concurrent requests keep their own attributes', async () => {
    await Promise.all(
      ['u1', 'u2', 'u3'].map((userId) =>
        withAttributes({ userId }, async () => {
          await sleep(userId === 'u1' ? 5 : 1)
          await chat(`for ${userId}`)
        }),
      ),
    )
    const spans = byName('chat gpt-4o-mini')
    assert.equal(spans.length, 3)
    for (const span of spans) {
      const input = String(span.attributes['gen_ai.input.messages'])
      assert.ok(input.includes(`for ${span.attributes[COMMON.userId]}`), 'each call carries its own user')
    }
  })

  test('nothing leaks outside; the function runs unchanged, sync and async; bad values are ignored', () => {
    const value = withAttributes({ userId: 'inside' }, () => 5)
    assert.equal(value, 5)
    getTracer().startSpan('outside').end()
    assert.equal(one('outside').attributes[COMMON.userId], undefined)
    assert.equal(one('outside').attributes[HINDSIGHT.release], 'r-init')
    assert.equal(currentTraceAttributes(), undefined)

    const promise = Promise.resolve(1)
    assert.equal(
      withAttributes({}, () => promise),
      promise,
    )
    const bad = {
      userId: 42,
      tags: 'not-a-list',
      metadata: { fn: () => 1, missing: undefined },
    } as unknown as Parameters<typeof withAttributes>[0]
    withAttributes(bad, () => getTracer().startSpan('bad').end())
    const span = one('bad')
    assert.equal(span.attributes[COMMON.userId], '42')
    assert.equal(span.attributes[HINDSIGHT.tags], undefined)
    assert.equal(span.attributes['hindsight.metadata.fn'], undefined)
    assert.throws(
      () =>
        withAttributes({ userId: 'x' }, () => {
          throw new RangeError('from the app')
        }),
      RangeError,
    )
  })

  test('attributes set on the span itself win over the trace attributes', () => {
    withAttributes({ route: '/trace' }, () => {
      observe('step', () => 1, { attributes: { [HINDSIGHT.route]: '/step' } })
    })
    assert.equal(one('step').attributes[HINDSIGHT.route], '/step')
  })
})
