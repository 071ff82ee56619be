import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, test } from 'node:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import OpenAIv5 from 'openai-v5'
import OpenAIv6 from 'openai-v6'
import { httpIsInstrumented, isBuiltinFetch, isPlainData, requestIsObservable } from './request-observers'

const base = { apiKey: 'test', baseURL: 'http://127.0.0.1:9', maxRetries: 0 }

describe('requestIsObservable', () => {
  const majors = [
    ['openai v5', (options: object) => new OpenAIv5({ ...base, ...options })],
    ['openai v6', (options: object) => new OpenAIv6({ ...base, ...options })],
    ['openai v7', (options: object) => new OpenAI({ ...base, ...options })],
  ] as const

  for (const [label, make] of majors) {
    describe(label, () => {
      test('a client with only data options and Node’s own fetch: nothing can observe the request', () => {
        assert.equal(httpIsInstrumented(), false)
        const client = make({ defaultHeaders: { 'x-team': 'search' }, fetchOptions: { keepalive: true } })
        assert.equal(requestIsObservable(client.chat.completions, undefined), false)
        assert.equal(
          requestIsObservable(client.chat.completions, { timeout: 1000, headers: { a: 'b' } }),
          false,
        )
      })

      test('a custom fetch, a logger, a key function or a dispatcher can', () => {
        const customFetch: typeof fetch = (input, init) => fetch(input, init)
        assert.equal(requestIsObservable(make({ fetch: customFetch }).chat.completions, undefined), true)
        assert.equal(requestIsObservable(make({ logger: console }).chat.completions, undefined), true)
        class Dispatcher {}
        const withDispatcher = make({ fetchOptions: { dispatcher: new Dispatcher() } })
        assert.equal(requestIsObservable(withDispatcher.chat.completions, undefined), true)
        const plain = make({})
        const perCall = { fetchOptions: { dispatcher: new Dispatcher() } }
        assert.equal(requestIsObservable(plain.chat.completions, perCall), true)
      })
    })
  }

  test('openai v7 with an API key function', () => {
    const client = new OpenAI({ ...base, apiKey: async () => 'rotated' })
    assert.equal(requestIsObservable(client.chat.completions, undefined), true)
  })

  test('Anthropic: its client traces its own requests with OpenTelemetry, so the request is observable', () => {
    // @anthropic-ai/sdk 1.x settles an `openTelemetry` option on every client (it starts spans of its
    // own from the active context); nested options like that are not plain data.
    const client = new Anthropic({ apiKey: 'test', baseURL: 'http://127.0.0.1:9', maxRetries: 0 })
    assert.equal(requestIsObservable(client.messages, undefined), true)
  })

  test('a subscriber to any of undici’s channels makes every request observable, while it is subscribed', () => {
    const client = new OpenAI(base)
    for (const name of ['undici:request:create', 'undici:client:sendHeaders']) {
      const listener = (): void => {}
      diagnostics.subscribe(name, listener)
      try {
        assert.equal(requestIsObservable(client.chat.completions, undefined), true, name)
      } finally {
        diagnostics.unsubscribe(name, listener)
      }
      assert.equal(requestIsObservable(client.chat.completions, undefined), false, name)
    }
  })

  test('anything it cannot read counts as observable', () => {
    assert.equal(requestIsObservable(undefined, undefined), true)
    assert.equal(requestIsObservable({}, undefined), true)
    assert.equal(requestIsObservable({ _client: { fetch: 'not a function' } }, undefined), true)
  })
})

describe('isBuiltinFetch', () => {
  test('Node’s global fetch is; a wrapper around it is not', () => {
    assert.equal(isBuiltinFetch(globalThis.fetch), true)
    const wrapped = function fetch(input: string, init?: RequestInit) {
      return globalThis.fetch(input, init)
    }
    assert.equal(isBuiltinFetch(wrapped), false)
    assert.equal(isBuiltinFetch(undefined), false)
  })
})

describe('isPlainData', () => {
  test('primitives and plain objects of them, to the depth asked for', () => {
    assert.equal(isPlainData('x'), true)
    assert.equal(isPlainData(null), true)
    assert.equal(isPlainData({ a: 1, b: 'two', c: null }), true)
    assert.equal(isPlainData({ a: { b: 1 } }), false)
    assert.equal(isPlainData({ a: { b: 1 } }, 2), true)
    assert.equal(isPlainData(Object.assign(Object.create(null), { a: 1 })), true)
  })

  test('functions, class instances, getters and arrays are not', () => {
    assert.equal(
      isPlainData(() => 1),
      false,
    )
    assert.equal(isPlainData({ f: () => 1 }), false)
    assert.equal(isPlainData(new Map()), false)
    assert.equal(isPlainData([1, 2]), false)
    assert.equal(
      isPlainData(
        Object.defineProperty({}, 'x', {
          get() {
            return 1
          },
          enumerable: true,
        }),
      ),
      false,
    )
  })
})
