import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Spool } from '../spool/spool'
import { createStorage, migrate, type Storage } from '../storage'
import { flakyStorage, testRow } from '../testing'
import { SpanWriter, serializeRows } from './span-writer'

let storage: Storage
let dir: string
const quiet = () => {}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-spooled-writer-'))
  storage = await createStorage({ dataDir: join(dir, 'engine'), database: 'hs_spooled_writer_test' })
  await migrate(storage)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

async function counts(projectId: string): Promise<{ final: number; raw: number }> {
  const result = await storage.client.query({
    query: `SELECT (SELECT count() FROM ${storage.database}.spans FINAL WHERE project_id = {p:String}) AS final,
                   (SELECT count() FROM ${storage.database}.spans WHERE project_id = {p:String}) AS raw`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ final: string; raw: string }>()
  return { final: Number(row?.final), raw: Number(row?.raw) }
}

/** The test storage through the portable insert path, each insert delayed by `ms`: slower than intake. */
function slowStorage(ms: number): Pick<Storage, 'client' | 'database'> {
  const client = new Proxy(storage.client, {
    get(target, prop, receiver) {
      if (prop === 'connection') return undefined
      if (prop === 'exec') {
        return async (params: Parameters<typeof target.exec>[0]) => {
          await new Promise((r) => setTimeout(r, ms))
          return target.exec(params)
        }
      }
      return Reflect.get(target, prop, receiver)
    },
  })
  return { ...storage, client }
}

/** 'released' if `p` settles within 30 ms, else 'waiting'. */
const state = (p: Promise<void>) =>
  Promise.race([p.then(() => 'released'), new Promise((r) => setTimeout(() => r('waiting'), 30))])

const chunk = (projectId: string, n: number) => {
  const rows = Array.from({ length: n }, () => testRow({ project_id: projectId }))
  return { body: serializeRows(rows), rows: n }
}

test('with a spool, accept resolves once rows are on disk; inserts move the watermark and free the disk', async () => {
  const spool = await Spool.open({ dir: join(dir, 'spool-basic'), onError: quiet })
  const writer = new SpanWriter({ storage, spool, batchMaxDelayMs: 10, onError: quiet })
  const appended: number[] = []
  const original = spool.onDurable
  spool.onDurable = (record) => {
    appended.push(record.rows)
    original?.(record)
  }
  const { body, rows } = chunk('spool-basic', 3)
  await writer.accept(body, rows)
  assert.deepEqual(appended, [3], 'durable before accept resolved')
  await writer.flush()
  assert.deepEqual(await counts('spool-basic'), { final: 3, raw: 3 })
  assert.equal(spool.pendingBytes, 0)
  assert.equal(writer.stats().spool_bytes, 0)
  await writer.close()
  await spool.close()
})

test('storage down: memory stays bounded, the rest waits on disk up to the spool bound, then everything drains', async () => {
  const down = { value: true }
  const spool = await Spool.open({
    dir: join(dir, 'spool-outage'),
    segmentMaxBytes: 16 * 1024,
    onError: quiet,
  })
  const writer = new SpanWriter({
    storage: flakyStorage(storage, () => down.value),
    spool,
    rawInsert: false,
    maxPendingRows: 10,
    batchMaxRows: 10,
    batchMaxDelayMs: 5,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    spoolMaxBytes: 64 * 1024,
    onError: quiet,
  })
  let accepted = 0
  let maxMemory = 0
  let refusal = 'ok'
  for (let i = 0; i < 400; i++) {
    const { body, rows } = chunk('spool-outage', 5)
    refusal = writer.admit(rows, body.length)
    if (refusal !== 'ok') break
    await writer.accept(body, rows)
    accepted += rows
    maxMemory = Math.max(maxMemory, writer.stats().memory_rows)
  }
  assert.ok(accepted > 50, `accepted ${accepted} rows into the spool while storage was down`)
  assert.ok(accepted < 2000, 'the spool bound stopped admission')
  assert.ok(writer.failing)
  assert.equal(refusal, 'failing', 'a full spool with failing storage answers 503')
  assert.ok(maxMemory <= 10, `memory rows stayed within the bound (max ${maxMemory})`)
  assert.ok(writer.stats().spool_bytes > 60 * 1024)
  assert.equal(writer.stats().pending_rows, accepted)

  down.value = false
  await writer.flush()
  assert.deepEqual(await counts('spool-outage'), { final: accepted, raw: accepted })
  assert.equal(writer.stats().spool_bytes, 0)
  assert.equal(writer.admit(5, 1000), 'ok')
  await writer.close()
  await spool.close()
})

test('closing while storage is down leaves rows in the spool; the next writer replays them once', async () => {
  const down = { value: true }
  const spoolDir = join(dir, 'spool-replay')
  const first = await Spool.open({ dir: spoolDir, onError: quiet })
  const failing = new SpanWriter({
    storage: flakyStorage(storage, () => down.value),
    spool: first,
    rawInsert: false,
    batchMaxDelayMs: 5,
    retryBaseDelayMs: 5,
    closeRetries: 1,
    onError: quiet,
  })
  for (let i = 0; i < 4; i++) {
    const { body, rows } = chunk('spool-replay', 25)
    await failing.accept(body, rows)
  }
  await failing.close()
  assert.equal(failing.stats().dropped_rows, 0, 'nothing is given up with a spool')
  assert.equal(failing.stats().pending_rows, 100)
  await first.close()

  const second = await Spool.open({ dir: spoolDir, onError: quiet })
  assert.equal(second.recovery.rows, 100)
  const writer = new SpanWriter({
    storage,
    spool: second,
    maxPendingRows: 30,
    batchMaxRows: 20,
    onError: quiet,
  })
  assert.equal(writer.stats().replayed_rows, 100)
  await writer.flush()
  assert.deepEqual(await counts('spool-replay'), { final: 100, raw: 100 })
  await writer.close()
  await second.close()

  const third = await Spool.open({ dir: spoolDir, onError: quiet })
  assert.equal(third.recovery.rows, 0, 'the watermark records what was stored')
  await third.close()
})

test('storage slower than intake: throttle holds requests back once the backlog exceeds maxLagMs of inserts, and lets them go as it drains', async () => {
  const spool = await Spool.open({ dir: join(dir, 'spool-lag'), onError: quiet })
  // Storage that works but takes 60 ms per insert (the portable path, delayed).
  const writer = new SpanWriter({
    storage: slowStorage(60),
    spool,
    rawInsert: false,
    batchMaxRows: 50,
    batchMaxDelayMs: 5,
    maxLagMs: 300,
    onError: quiet,
  })
  assert.equal(await state(writer.throttle()), 'released', 'nothing measured yet: never lagging')
  const first = chunk('spool-lag', 50)
  await writer.accept(first.body, first.rows)
  await writer.flush()
  // ~50 rows per ~60 ms: 300 ms of lag is ~250 rows. Queue 1,000.
  for (let i = 0; i < 20; i++) {
    const c = chunk('spool-lag', 50)
    await writer.accept(c.body, c.rows)
  }
  const held = writer.throttle()
  assert.equal(await state(held), 'waiting', 'a second of inserts is waiting')
  assert.equal(writer.admit(50), 'ok', 'held back, not refused')
  const releasedAt = held.then(() => writer.stats().pending_rows)
  const pendingWhenReleased = await releasedAt
  assert.ok(pendingWhenReleased <= 300, `released with ${pendingWhenReleased} rows left`)
  await writer.flush()
  assert.equal(await state(writer.throttle()), 'released', 'drained')
  assert.deepEqual(await counts('spool-lag'), { final: 1050, raw: 1050 })
  await writer.close()
  await spool.close()
})

test('with a spool, throttle also holds requests once the rows not yet stored outgrow memory, so they are not read back from disk', async () => {
  const spool = await Spool.open({ dir: join(dir, 'spool-memory-lag'), onError: quiet })
  const rowBytes = chunk('spool-memory-lag', 1).body.length
  const writer = new SpanWriter({
    storage: slowStorage(40),
    spool,
    rawInsert: false,
    batchMaxRows: 50,
    batchMaxDelayMs: 5,
    // The lag bound alone would never hold anything here: only memory does.
    maxLagMs: 600_000,
    maxPendingBytes: rowBytes * 200,
    onError: quiet,
  })
  const first = chunk('spool-memory-lag', 50)
  await writer.accept(first.body, first.rows)
  await writer.flush()
  for (let i = 0; i < 10; i++) {
    const c = chunk('spool-memory-lag', 50)
    await writer.accept(c.body, c.rows)
  }
  const held = writer.throttle()
  assert.equal(await state(held), 'waiting', '500 rows pending, memory holds 200')
  await held
  assert.ok(
    spool.pendingBytes <= rowBytes * 200,
    `released once the rows not yet stored fit in memory (${spool.pendingBytes} bytes left)`,
  )
  await writer.flush()
  assert.deepEqual(await counts('spool-memory-lag'), { final: 550, raw: 550 })
  await writer.close()
  await spool.close()
})
