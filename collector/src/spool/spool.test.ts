import assert from 'node:assert/strict'
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { HEADER_BYTES } from './records'
import { comparePositions, Spool, type SpoolRecord } from './spool'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hs-spool-'))
  dirs.push(dir)
  return dir
}

const quiet = () => {}
const body = (text: string) => Buffer.from(`${text}\n`)

async function readAll(spool: Spool, from = spool.watermark): Promise<SpoolRecord[]> {
  const { records } = await spool.read(from, {
    rows: Number.MAX_SAFE_INTEGER,
    bytes: Number.MAX_SAFE_INTEGER,
    atLeastOne: true,
  })
  return records
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
}

test('concurrent appends share fsyncs (group commit), are durable in order and read back byte for byte', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  const durable: number[] = []
  spool.onDurable = (record) => durable.push(record.rows)
  const appends = Array.from({ length: 200 }, (_, i) => spool.append(body(`{"n":${i}}`), i + 1))
  const records = await Promise.all(appends)
  assert.deepEqual(
    durable,
    Array.from({ length: 200 }, (_, i) => i + 1),
    'onDurable sees every record, in order',
  )
  for (let i = 1; i < records.length; i++) {
    const previous = records[i - 1]
    const current = records[i]
    assert.ok(previous && current)
    assert.equal(comparePositions(previous.end, current.start), 0, 'records are contiguous')
  }
  const stats = spool.stats()
  assert.equal(stats.appended_records, 200)
  assert.ok(stats.fsyncs < 200, `group commit: ${stats.fsyncs} fsyncs for 200 appends`)
  const read = await readAll(spool)
  assert.deepEqual(
    read.map((r) => r.body.toString()),
    Array.from({ length: 200 }, (_, i) => `{"n":${i}}\n`),
  )
  assert.ok(spool.isAtEnd(records.at(-1)?.end ?? spool.watermark))
  await spool.close()
})

test('reopen replays what is beyond the watermark; committed segments are deleted', async () => {
  const dir = tempDir()
  const first = await Spool.open({ dir, segmentMaxBytes: 200, onError: quiet })
  const records: SpoolRecord[] = []
  for (let i = 0; i < 20; i++)
    records.push(await first.append(body(`{"row":${i},"pad":"${'x'.repeat(40)}"}`), 1))
  assert.ok(segmentFiles(dir).length >= 5, 'small segments rotate')
  const tenth = records[9]
  assert.ok(tenth)
  first.commit(tenth.end)
  await first.close()

  const second = await Spool.open({ dir, segmentMaxBytes: 200, onError: quiet })
  assert.equal(second.recovery.records, 10)
  assert.equal(second.recovery.rows, 10)
  assert.equal(second.recovery.tornBytes, 0)
  const replay = await readAll(second)
  assert.deepEqual(
    replay.map((r) => JSON.parse(r.body.toString()).row),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  )
  const last = replay.at(-1)
  assert.ok(last)
  const before = segmentFiles(dir).length
  second.commit(last.end)
  assert.equal(second.pendingBytes, 0)
  await second.close()
  assert.ok(segmentFiles(dir).length < before, 'stored segments are deleted')

  const third = await Spool.open({ dir, onError: quiet })
  assert.equal(third.recovery.records, 0, 'nothing left to replay')
  await third.close()
})

test('a torn last record (crash mid-write) is cut off; every complete record is replayed', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  await spool.append(body('{"a":1}'), 1)
  await spool.append(body('{"a":2}'), 1)
  await spool.close()
  const [segment] = segmentFiles(dir)
  assert.ok(segment)
  const path = join(dir, segment)
  const good = statSync(path).size
  // Half a header and a body of a record that was never acknowledged.
  appendFileSync(path, Buffer.from([0x48, 0x53, 0x52, 0x31, 0xff, 0x00, 0x00]))
  const errors: string[] = []
  const reopened = await Spool.open({ dir, onError: (m) => errors.push(m) })
  assert.equal(reopened.recovery.records, 2)
  assert.equal(reopened.recovery.tornBytes, 7)
  assert.equal(statSync(path).size, good, 'the torn tail is truncated')
  assert.deepEqual(
    (await readAll(reopened)).map((r) => r.body.toString()),
    ['{"a":1}\n', '{"a":2}\n'],
  )
  await reopened.close()
})

test('a record with a bad checksum is skipped and reported; the records after it survive', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  const a = await spool.append(body('{"a":1}'), 1)
  await spool.append(body('{"a":2}'), 1)
  await spool.close()
  const [segment] = segmentFiles(dir)
  assert.ok(segment)
  const path = join(dir, segment)
  const bytes = readFileSync(path)
  const flip = a.start.offset + HEADER_BYTES + 2
  bytes[flip] = (bytes[flip] ?? 0) ^ 0x01
  writeFileSync(path, bytes)
  const errors: string[] = []
  const reopened = await Spool.open({ dir, onError: (m) => errors.push(m) })
  assert.equal(reopened.recovery.corruptRecords, 1)
  assert.equal(reopened.recovery.records, 1)
  assert.ok(errors.some((m) => /corrupt/.test(m)))
  assert.deepEqual(
    (await readAll(reopened)).map((r) => r.body.toString()),
    ['{"a":2}\n'],
  )
  await reopened.close()
})

test('a damaged watermark replays everything rather than losing rows', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  const r1 = await spool.append(body('{"a":1}'), 1)
  await spool.append(body('{"a":2}'), 1)
  spool.commit(r1.end)
  await spool.close()
  writeFileSync(join(dir, 'watermark'), '{"segment": "garbage"')
  const errors: string[] = []
  const reopened = await Spool.open({ dir, onError: (m) => errors.push(m) })
  assert.equal(reopened.recovery.records, 2)
  assert.ok(errors.some((m) => /watermark/.test(m)))
  await reopened.close()
})

test('reads respect the budget but always make progress; one process per directory', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  for (let i = 0; i < 5; i++) await spool.append(body(`{"i":${i}}`), 10)
  const one = await spool.read(spool.watermark, { rows: 5, bytes: 1 << 20, atLeastOne: true })
  assert.equal(one.records.length, 1, 'an oversized record is returned alone when progress is required')
  const none = await spool.read(one.next, { rows: 5, bytes: 1 << 20, atLeastOne: false })
  assert.equal(none.records.length, 0)
  const two = await spool.read(one.next, { rows: 20, bytes: 1 << 20, atLeastOne: false })
  assert.equal(two.records.length, 2)
  await assert.rejects(Spool.open({ dir, onError: quiet }), /already open/)
  await spool.close()
  await assert.rejects(spool.append(body('{}'), 1), /closed/)
})

test('a lock left by a dead process is taken over', async () => {
  const dir = tempDir()
  const spool = await Spool.open({ dir, onError: quiet })
  await spool.append(body('{"a":1}'), 1)
  await spool.close()
  // A pid that cannot be alive (beyond the kernel's pid_max).
  writeFileSync(join(dir, 'lock'), '99999999')
  const reopened = await Spool.open({ dir, onError: quiet })
  assert.equal(reopened.recovery.records, 1)
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), String(process.pid))
  await reopened.close()
})
