import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { keepShape, releaseShapes } from './shape-anchor'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Whether the object `ref` points to survives a full collection. */
async function survivesFullGc(ref: WeakRef<object>): Promise<boolean> {
  await tick() // a WeakRef's target is kept until the job that created it ends
  gc()
  return ref.deref() !== undefined
}

class Shape {
  a = 1
  b = 'two'
}

test('the latest instance of each kind is kept through full collections, the one before it is not', async () => {
  const first = new WeakRef(new Shape())
  keepShape(Shape, first.deref() as Shape)
  const second = new WeakRef(new Shape())
  keepShape(Shape, second.deref() as Shape)
  assert.equal(await survivesFullGc(first), false)
  assert.equal(await survivesFullGc(second), true)
  releaseShapes()
})

test('releaseShapes lets go of every kept instance', async () => {
  const kept = new WeakRef(new Shape())
  keepShape(Shape, kept.deref() as Shape)
  assert.equal(await survivesFullGc(kept), true)
  releaseShapes()
  assert.equal(await survivesFullGc(kept), false)
})
