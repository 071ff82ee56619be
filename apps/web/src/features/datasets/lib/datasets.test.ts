import assert from 'node:assert/strict'
import { test } from 'node:test'
import { datasetHref, defaultDatasetName, previewJson } from './datasets'

test('defaultDatasetName is the UTC day', () => {
  assert.equal(defaultDatasetName(new Date('2025-06-30T23:59:59Z')), 'traces-2025-06-30')
})

test('datasetHref keeps the view query and sets dataset and version', () => {
  assert.equal(
    datasetHref('/datasets?project=p1&range=7d', 'd-1'),
    '/datasets?project=p1&range=7d&dataset=d-1',
  )
  assert.equal(datasetHref('/datasets', 'd 2', 3), '/datasets?dataset=d+2&version=3')
  assert.equal(datasetHref('/datasets?dataset=old&version=2', 'new'), '/datasets?dataset=new')
})

test('previewJson shows strings raw, values as JSON, and truncates', () => {
  assert.equal(previewJson('hello'), 'hello')
  assert.equal(previewJson({ a: [1, 2] }), '{"a":[1,2]}')
  assert.equal(previewJson(null), '')
  assert.equal(previewJson('x'.repeat(10), 5), 'xxxx…')
})
