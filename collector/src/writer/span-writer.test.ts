import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, migrate, type Storage } from '../storage'
import { testRow } from '../testing'
import { isDataError, SpanWriter } from './span-writer'

let storage: Storage
let dir: string
const quiet = () => {}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-writer-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_writer_test' })
  await migrate(storage)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

async function countRows(projectId: string): Promise<number> {
  const result = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.spans FINAL WHERE project_id = {p:String}`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return Number((await result.json<{ n: string }>())[0]?.n)
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('rows are inserted on the timer without a flush, with every column round-tripping', async () => {
  const writer = new SpanWriter({ storage, batchMaxDelayMs: 30, onError: quiet })
  const row = testRow({
    project_id: 'timer',
    cost_usd: '0.016650000',
    ttft_ms: 350,
    attributes: { 'a.b': '1' },
    input: '[{"role":"user","content":"héllo \\n \u2603"}]',
  })
  writer.add([row])
  assert.equal(writer.pendingRows, 1)
  await waitFor(async () => (await countRows('timer')) === 1)
  const result = await storage.client.query({
    query: `SELECT trace_id, toString(start_time) AS start_time, toString(cost_usd) AS cost, ttft_ms, input, attributes
            FROM ${storage.database}.spans FINAL WHERE project_id = 'timer'`,
    format: 'JSONEachRow',
  })
  const [stored] = await result.json<Record<string, unknown>>()
  assert.equal(stored?.trace_id, row.trace_id)
  assert.equal(stored?.start_time, '2026-05-28 20:26:40.123456')
  assert.equal(stored?.cost, '0.01665')
  assert.equal(stored?.ttft_ms, 350)
  assert.equal(stored?.input, row.input)
  assert.deepEqual(stored?.attributes, { 'a.b': '1' })
  assert.equal(writer.stats().inserted_rows, 1)
  await writer.close()
})

test('batches split on size; flush waits for everything added before it', async () => {
  const writer = new SpanWriter({ storage, batchMaxRows: 10, batchMaxDelayMs: 60_000, onError: quiet })
  writer.add(Array.from({ length: 25 }, () => testRow({ project_id: 'size' })))
  // 20 rows go in two full batches without waiting for the (long) timer.
  await waitFor(async () => (await countRows('size')) === 20)
  assert.equal(writer.pendingRows, 5)
  await writer.flush()
  assert.equal(await countRows('size'), 25)
  assert.deepEqual(writer.stats(), {
    inserted_rows: 25,
    pending_rows: 0,
    memory_rows: 0,
    pending_bytes: 0,
    spool_bytes: 0,
    replayed_rows: 0,
    dropped_rows: 0,
    failed_inserts: 0,
  })
  await writer.close()
  assert.throws(() => writer.add([testRow()]), /closed/)
})

test('a row the engine cannot parse is isolated and dropped; the rest of its batch is stored', async () => {
  const errors: Array<{ message: string; error: unknown }> = []
  const writer = new SpanWriter({ storage, onError: (message, error) => errors.push({ message, error }) })
  const rows = Array.from({ length: 9 }, () => testRow({ project_id: 'bad' }))
  const bad = testRow({ project_id: 'bad', start_time: 'not a time' })
  rows.splice(4, 0, bad)
  writer.add(rows)
  await assert.rejects(writer.flush(), /1 span rows could not be stored/)
  assert.equal(await countRows('bad'), 9)
  assert.equal(writer.stats().dropped_rows, 1)
  const report = errors.find((e) => e.message.includes(bad.span_id))
  assert.ok(report, 'the dropped row is reported')
  assert.ok(isDataError(report.error))
  await writer.close()
})

test('the portable client path (exec with a JSONEachRow body) stores the same rows', async () => {
  const writer = new SpanWriter({ storage, rawInsert: false, onError: quiet })
  writer.add([testRow({ project_id: 'exec' }), testRow({ project_id: 'exec' })])
  await writer.flush()
  assert.equal(await countRows('exec'), 2)
  await writer.close()
})

test('transient failures are retried with backoff while admit reports failing; nothing is lost', async () => {
  let failuresLeft = 3
  // Fault injection in front of the real engine: the first inserts fail like a dropped connection.
  const flaky = new Proxy(storage.client, {
    get(target, prop, receiver) {
      if (prop === 'exec') {
        return async (params: Parameters<typeof target.exec>[0]) => {
          if (failuresLeft > 0) {
            failuresLeft -= 1
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
          }
          return target.exec(params)
        }
      }
      return Reflect.get(target, prop, receiver)
    },
  })
  const writer = new SpanWriter({
    storage: { client: flaky, database: storage.database },
    rawInsert: false,
    retryBaseDelayMs: 20,
    onError: quiet,
  })
  writer.add([testRow({ project_id: 'flaky' })])
  const flushed = writer.flush()
  await waitFor(async () => writer.failing)
  assert.equal(writer.admit(1), 'failing')
  await flushed
  assert.equal(writer.failing, false)
  assert.equal(writer.admit(1), 'ok')
  assert.equal(await countRows('flaky'), 1)
  assert.equal(writer.stats().failed_inserts, 3)
  await writer.close()
})

test('admit refuses rows beyond the pending bound, except into an empty writer', async () => {
  const writer = new SpanWriter({ storage, maxPendingRows: 5, batchMaxDelayMs: 60_000, onError: quiet })
  assert.equal(writer.admit(50), 'ok', 'an oversized request into an empty writer is let in')
  writer.add([testRow({ project_id: 'bound' }), testRow({ project_id: 'bound' })])
  assert.equal(writer.admit(3), 'ok')
  assert.equal(writer.admit(4), 'full')
  await writer.flush()
  assert.equal(writer.admit(4), 'ok')
  await writer.close()
  assert.equal(writer.admit(1), 'failing', 'a closed writer takes nothing')
})

test('batches joined from several requests (in a reused buffer) store every row as sent', async () => {
  const writer = new SpanWriter({ storage, batchMaxDelayMs: 10_000, onError: quiet })
  const sent: string[] = []
  for (let batch = 0; batch < 3; batch++) {
    // Later batches are smaller than earlier ones: stale bytes of the reused buffer must not leak.
    const requests = 4 - batch
    for (let r = 0; r < requests; r++) {
      const rows = Array.from({ length: 5 }, (_, i) =>
        testRow({ project_id: 'joined', name: `b${batch}-r${r}-${i}`, input: 'x'.repeat(200 * (3 - batch)) }),
      )
      sent.push(...rows.map((row) => row.name))
      writer.add(rows)
    }
    await writer.flush()
  }
  const result = await storage.client.query({
    query: `SELECT name, length(input) AS n FROM ${storage.database}.spans FINAL WHERE project_id = 'joined' ORDER BY name`,
    format: 'JSONEachRow',
  })
  const stored = await result.json<{ name: string; n: number }>()
  assert.deepEqual(
    stored.map((s) => s.name),
    [...sent].sort(),
  )
  for (const s of stored) assert.equal(Number(s.n), 200 * (3 - Number(s.name[1])))
  await writer.close()
})
