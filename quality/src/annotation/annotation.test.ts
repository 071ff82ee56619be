/** Annotation queues on the real embedded engine: filter and dataset queues, annotate, replace. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { hexId } from '@hindsight/dashboards/testing'
import { DatasetRepository } from '../datasets/repository'
import { ScoreRepository } from '../scores/repository'
import { seedAnnotationTraces, type TestStorage, testStorage } from '../testing'
import { AnnotationQueueRepository } from './repository'

const P = 'proj-annotation'
let db: TestStorage
const trace = (k: number) => hexId(9000 + k, 32)

before(async () => {
  db = await testStorage('hs_quality_annotation')
  await seedAnnotationTraces(db.storage, P, trace)
  const scores = new ScoreRepository(db.storage)
  await scores.upsertConfig(P, { name: 'stars', dataType: 'numeric', minValue: 1, maxValue: 5 })
})
after(() => db.close())

test('a filter queue lists matching traces; annotating stores annotation scores that replace on re-save', async () => {
  const queues = new AnnotationQueueRepository(db.storage)
  const bad = await queues.create(P, { name: 'x', scoreNames: [] }).catch((e: Error) => e)
  assert.match(String(bad), /queue\.scoreNames: name at least one score config/)

  const queue = await queues.create(P, {
    name: 'chat review',
    filter: { route: ['/chat'] },
    scoreNames: ['helpful', 'correct', 'stars', 'unconfigured'],
  })
  const listed = await queues.items(P, queue.id)
  assert.deepEqual(
    listed.items.map((i) => i.trace_id),
    [trace(0), trace(1), trace(2)],
    'newest first, /search left out',
  )
  assert.equal(listed.annotated, 0)

  const target = await queues.target(P, queue.id, trace(1))
  assert.deepEqual(target.input, { question: 'q1' })
  assert.equal(target.output, 'a1')
  assert.deepEqual(
    target.configs.map((c) => c.name),
    ['helpful', 'correct', 'stars'],
  )
  assert.deepEqual(target.missing_configs, ['unconfigured'])

  await queues.annotate(P, queue.id, trace(1), [
    { name: 'helpful', value: 'great' },
    { name: 'correct', value: true },
  ])
  await queues.annotate(P, queue.id, trace(1), [
    { name: 'helpful', value: 'ok' },
    { name: 'stars', value: 4 },
  ])
  const stored = (await new ScoreRepository(db.storage).forTrace(P, trace(1))).filter(
    (s) => s.source === 'annotation',
  )
  const byName = Object.fromEntries(stored.map((s) => [s.name, s]))
  assert.equal(stored.length, 3, 're-saving replaced helpful')
  assert.equal(byName.helpful?.string_value, 'ok')
  assert.equal(byName.helpful?.value, 1)
  assert.equal(byName.correct?.value, 1)
  assert.equal(byName.stars?.value, 4)
  assert.equal(byName.stars?.metadata.queue_id, queue.id)

  const rejected = await queues
    .annotate(P, queue.id, trace(2), [{ name: 'stars', value: 9 }])
    .catch((e: Error) => e)
  assert.match(String(rejected), /values\.0/)
  const notInQueue = await queues
    .annotate(P, queue.id, trace(2), [{ name: 'other', value: 1 }])
    .catch((e: Error) => e)
  assert.match(String(notInQueue), /values\.0\.name: 'other' is not a score/)

  const after = await queues.items(P, queue.id)
  assert.deepEqual(
    after.items.filter((i) => i.annotated).map((i) => i.trace_id),
    [trace(1)],
  )
  assert.equal((await queues.target(P, queue.id, trace(1))).scores.stars?.value, 4)

  await queues.delete(P, queue.id)
  assert.equal(await queues.get(P, queue.id), null)
  assert.equal((await queues.list(P)).length, 0)
})

test('a dataset queue lists the dataset source traces and links scores to the item and version', async () => {
  const datasets = DatasetRepository.for(db.storage)
  const ds = await datasets.create(P, { name: 'to label' })
  await datasets.addFromTraces(P, ds.id, { traceIds: [trace(0), trace(3)] })
  const queues = new AnnotationQueueRepository(db.storage)
  const queue = await queues.create(P, { name: 'labels', scoreNames: ['correct'], datasetId: ds.id })
  const listed = await queues.items(P, queue.id)
  assert.deepEqual(
    listed.items.map((i) => i.trace_id),
    [trace(0), trace(3)],
  )
  assert.ok(listed.items.every((i) => i.dataset_item_id))
  const [score] = await queues.annotate(P, queue.id, trace(3), [{ name: 'correct', value: false }])
  assert.equal(score?.dataset_id, ds.id)
  assert.equal(score?.dataset_version, 1)
  assert.equal(score?.dataset_item_id, listed.items[1]?.dataset_item_id)
  const missing = await queues
    .create(P, { name: 'x', scoreNames: ['correct'], datasetId: 'nope' })
    .catch((e) => e)
  assert.match(String(missing), /queue\.datasetId: no dataset nope/)
})

test('next serves the first trace neither annotated nor skipped; skip passes a trace for everyone', async () => {
  const queues = new AnnotationQueueRepository(db.storage)
  const queue = await queues.create(P, {
    name: 'next and skip',
    filter: { route: ['/chat'] },
    scoreNames: ['stars'],
  })
  const first = await queues.next(P, queue.id)
  assert.equal(first.item?.trace_id, trace(0))
  assert.deepEqual(first.target?.input, { question: 'q0' })
  assert.deepEqual(
    first.target?.configs.map((c) => c.name),
    ['stars'],
  )
  assert.deepEqual([first.total, first.annotated, first.skipped, first.remaining], [3, 0, 0, 3])

  await queues.annotate(P, queue.id, trace(0), [{ name: 'stars', value: 4 }])
  const skipped = await queues.skip(P, queue.id, trace(1), { author: 'ana' })
  assert.equal(skipped.skipped, true)
  const after = await queues.next(P, queue.id)
  assert.equal(after.item?.trace_id, trace(2))
  assert.deepEqual([after.total, after.annotated, after.skipped, after.remaining], [3, 1, 1, 1])
  const listed = await queues.items(P, queue.id)
  assert.deepEqual(
    listed.items.map((i) => [i.trace_id, i.annotated, i.skipped]),
    [
      [trace(0), true, false],
      [trace(1), false, true],
      [trace(2), false, false],
    ],
  )

  // A skip is per queue; a trace outside the queue cannot be skipped.
  const other = await queues.create(P, { name: 'other', filter: { route: ['/chat'] }, scoreNames: ['stars'] })
  assert.equal((await queues.next(P, other.id)).item?.trace_id, trace(0))
  await assert.rejects(queues.skip(P, queue.id, trace(3)), /not in this annotation queue/)

  // A skipped trace can still be scored; then the queue is done.
  await queues.annotate(P, queue.id, trace(1), [{ name: 'stars', value: 2 }])
  await queues.annotate(P, queue.id, trace(2), [{ name: 'stars', value: 5 }])
  const done = await queues.next(P, queue.id)
  assert.deepEqual(
    [done.item, done.target, done.remaining, done.annotated, done.skipped],
    [null, null, 0, 3, 0],
  )
})
