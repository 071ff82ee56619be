import assert from 'node:assert/strict'
import { test } from 'node:test'
import { APIError, InternalServerError, RateLimitError } from 'openai'
import { errorType, sanitizeAttributes } from './record-span'

test('error.type is the class name, or the HTTP status for a generic API error', () => {
  const headers = new Headers()
  assert.equal(errorType(new RateLimitError(429, undefined, 'slow down', headers)), 'RateLimitError')
  assert.equal(errorType(new InternalServerError(500, undefined, 'oops', headers)), 'InternalServerError')
  assert.equal(errorType(new APIError(418, undefined, 'teapot', headers)), '418')
  assert.equal(
    errorType(new APIError(undefined, { message: 'mid-stream' }, undefined, undefined)),
    'APIError',
  )
  assert.equal(errorType(new TypeError('x')), 'TypeError')
  assert.equal(errorType(new Error('x')), 'Error')
  assert.equal(errorType({ status: 503 }), '503')
  assert.equal(errorType('a string'), '_OTHER')
  assert.equal(errorType(Object.create(null)), '_OTHER')
})

test('attributes keep only valid OpenTelemetry values', () => {
  assert.deepEqual(
    sanitizeAttributes({
      text: 'a',
      number: 1.5,
      flag: false,
      list: ['x', 'y'],
      mixed: ['x', 1],
      empty: [],
      missing: undefined,
      nothing: null,
      notANumber: Number.NaN,
      object: { a: 1 },
    }),
    { text: 'a', number: 1.5, flag: false, list: ['x', 'y'] },
  )
})
