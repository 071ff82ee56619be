import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type KeyConfig, keyAction } from './keys'

const cat: KeyConfig = {
  name: 'tone',
  data_type: 'categorical',
  min_value: null,
  max_value: null,
  categories: ['rude', 'neutral', 'kind'],
}
const bool: KeyConfig = { name: 'ok', data_type: 'boolean', min_value: null, max_value: null, categories: [] }
const num: KeyConfig = { name: 'stars', data_type: 'numeric', min_value: 1, max_value: 5, categories: [] }

test('navigation keys, in and out of a text field', () => {
  assert.deepEqual(keyAction('j', cat), { type: 'next' })
  assert.deepEqual(keyAction('K', cat), { type: 'previous' })
  assert.deepEqual(keyAction('s', undefined), { type: 'skip' })
  assert.deepEqual(keyAction('Enter', cat, true), { type: 'save' })
  assert.deepEqual(keyAction('Escape', cat, true), { type: 'leave' })
  assert.equal(keyAction('j', cat, true), null, 'typing in a field is not navigation')
  assert.equal(keyAction('x', cat), null)
})

test('number keys pick a category by position, yes/no, or a number in range', () => {
  assert.deepEqual(keyAction('1', cat), { type: 'pick', value: 'rude' })
  assert.deepEqual(keyAction('3', cat), { type: 'pick', value: 'kind' })
  assert.equal(keyAction('4', cat), null)
  assert.equal(keyAction('0', cat), null)
  assert.deepEqual(keyAction('1', bool), { type: 'pick', value: true })
  assert.deepEqual(keyAction('0', bool), { type: 'pick', value: false })
  assert.deepEqual(keyAction('2', bool), { type: 'pick', value: false })
  assert.deepEqual(keyAction('4', num), { type: 'pick', value: 4 })
  assert.equal(keyAction('9', num), null, 'out of range')
  assert.equal(keyAction('0', num), null)
  assert.equal(keyAction('3', undefined), null, 'no active score')
})
