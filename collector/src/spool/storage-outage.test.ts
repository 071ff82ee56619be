import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { GEN_AI } from '../conventions'
import { RpcStatus } from '../otlp/proto'
import { startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'
import { flakyStorage, nanos, newSpanId, newTraceId, otlpProtobuf } from '../testing'

const KEY = 'hs_test_outage_key_0123456789abc'
let dir: string
let storage: Storage
let projects: ProjectRepository
let projectId: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-outage-'))
  storage = await createStorage({ dataDir: join(dir, 'engine'), database: 'hs_outage_test' })
  await migrate(storage)
  projects = new ProjectRepository(storage)
  projectId = (await projects.ensure('Outage', KEY)).project.id
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

async function count(final: boolean): Promise<number> {
  const result = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.spans ${final ? 'FINAL' : ''} WHERE project_id = {p:String}`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return Number((await result.json<{ n: string }>())[0]?.n)
}

test('storage outage: spans are acknowledged into the spool up to its bound, then 503 + Retry-After, then everything drains once', async () => {
  let storageDown = true
  const maxPendingRows = 100
  const spoolMaxBytes = 512 * 1024
  const collector = await startCollector({
    // Inserts fail like a lost connection, in front of the real engine; key lookups keep working.
    storage: flakyStorage(storage, () => storageDown),
    projects,
    port: 0,
    grpcPort: false,
    spoolDir: join(dir, 'spool'),
    spoolMaxBytes,
    spoolSegmentBytes: 64 * 1024,
    maxPendingRows,
    batchMaxRows: 50,
    batchMaxDelayMs: 10,
    onError: () => {},
  })
  try {
    const acked = new Set<string>()
    const post = async () => {
      const traceId = newTraceId()
      const start = Date.now() - 1000
      const spans = Array.from({ length: 20 }, () => ({
        traceId,
        spanId: newSpanId(),
        startTimeUnixNano: nanos(start),
        endTimeUnixNano: nanos(start + 250),
        attributes: {
          [GEN_AI.requestModel]: 'gpt-4o',
          [GEN_AI.inputMessages]: JSON.stringify([{ role: 'user', content: 'q'.repeat(400) }]),
        },
      }))
      const reply = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-protobuf' },
        body: otlpProtobuf({ spans }),
      })
      if (reply.status === 200) for (const s of spans) acked.add(s.spanId)
      return reply
    }

    let refused: Response | undefined
    let maxMemory = 0
    for (let i = 0; i < 2000 && !refused; i++) {
      const reply = await post()
      maxMemory = Math.max(maxMemory, collector.stats().memory_rows)
      // 429 only if the spool filled before the first insert failed: keep going until storage is known down.
      if (reply.status === 429) await new Promise((r) => setTimeout(r, 20))
      else if (reply.status !== 200) refused = reply
    }
    assert.ok(refused, 'the collector refuses once the spool is full')
    assert.equal(refused.status, 503)
    assert.equal(refused.headers.get('retry-after'), '5')
    const status = RpcStatus.toObject(RpcStatus.decode(Buffer.from(await refused.arrayBuffer())))
    assert.equal(status.code, 14)
    assert.match(String(status.message), /spool is full/)

    const stats = collector.stats()
    assert.ok(acked.size > 3 * maxPendingRows, `${acked.size} spans acknowledged while storage was down`)
    assert.equal(stats.pending_rows, acked.size, 'every acknowledged span is waiting, none stored')
    assert.ok(stats.spool_bytes >= spoolMaxBytes * 0.9, `the spool holds ${stats.spool_bytes} bytes`)
    assert.ok(maxMemory <= maxPendingRows, `memory held at most ${maxMemory} rows (bound ${maxPendingRows})`)
    assert.equal(await count(true), 0)

    storageDown = false
    await collector.flush()
    assert.equal(await count(true), acked.size, 'SELECT … FINAL: every acknowledged span')
    await storage.client.command({ query: `OPTIMIZE TABLE ${storage.database}.spans FINAL` })
    assert.equal(await count(false), acked.size, 'no duplicates after OPTIMIZE … FINAL')
    assert.equal(collector.stats().spool_bytes, 0, 'the spool is drained')
    assert.equal((await post()).status, 200, 'accepting again')
    await collector.flush()
    assert.equal(await count(true), acked.size)
  } finally {
    storageDown = false
    await collector.close()
  }
})
