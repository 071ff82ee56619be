/**
 * A replay survives its process: a graceful `close()` leaves the run `running` (marked
 * interrupted) and the next service resumes it; a SIGKILLed process (a child running the real
 * service) leaves it `running` and the next `backtestServiceFor` on that data directory resumes
 * it on its own; with a ClickHouse server, a row another process may still be running is left
 * alone until it is stale. In every case no call already stored is sent again.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { insertSpans } from '@hindsight/dashboards/testing'
import { type FakeOpenAI, initInMemory, startFakeOpenAI } from '@hindsight/sdk/testing'
import { BacktestService, backtestServiceFor } from '../service'
import type { BacktestRecord } from '../store'
import { RESTART_PROJECT as P, RESTART_CALLS, restartFixture, restartRequest } from './restart-child'
import { ReplayCallStore } from './store'

let fake: FakeOpenAI
const dirs: string[] = []

/** The question (`q-<k>`) of each request the fake received, in arrival order. */
const questions = (from = 0) =>
  fake.requests.slice(from).map((body) => /q-\d+/.exec(JSON.stringify(body.messages))?.[0] ?? '?')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, ms = 30_000) {
  const end = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

async function openStorage(dir: string): Promise<Storage> {
  const storage = await createStorage({ dataDir: dir, database: 'hs_restart' })
  await migrate(storage)
  return storage
}

const finished = (service: BacktestService, id: string) =>
  until(`${id} to finish`, async () => {
    const r = await service.store.get(P, id)
    return r && r.status !== 'running' && r.status !== 'queued' ? r : null
  })

/** Questions of the stored calls of a run. */
async function storedQuestions(storage: Storage, id: string): Promise<Set<string>> {
  const stored = await new ReplayCallStore(storage).list(P, id)
  return new Set(stored.map((r) => `q-${Number.parseInt(r.span_id, 16) - 0x5000}`))
}

before(async () => {
  fake = await startFakeOpenAI({ reply: { content: 'ok', firstChunkDelayMs: 15 } })
  initInMemory()
})

after(async () => {
  await fake.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('replay restart', () => {
  let storage: Storage
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hs-restart-'))
    dirs.push(dir)
    storage = await openStorage(dir)
    await insertSpans(storage, restartFixture())
  })
  after(async () => {
    await storage.close()
  })

  test('close() mid-run leaves it running and interrupted; the next service resumes it without re-sending a call', async () => {
    const start = fake.requests.length
    const first = new BacktestService(storage, { replayApiKey: 'k' })
    const record = await first.start(P, restartRequest(fake.baseURL, 4))
    await until('12 calls', async () => fake.requests.length - start >= 12)
    await first.close()
    const left = await first.store.get(P, record.id)
    assert.equal(left?.status, 'running')
    assert.match(left?.message ?? '', /^interrupted: stopped by a shutdown after \d+ of 40 calls/)
    const stored = await storedQuestions(storage, record.id)
    // Calls in flight at close() finished and were stored: everything sent so far is stored.
    assert.equal(stored.size, fake.requests.length - start)
    assert.ok(stored.size < RESTART_CALLS)

    const second = new BacktestService(storage, { replayApiKey: 'k' })
    const resumedAt = fake.requests.length
    assert.deepEqual(await second.resumeInterrupted(), [record.id])
    await second.wait(record.id)
    const done = await second.store.get(P, record.id)
    assert.equal(done?.status, 'done')
    const after = questions(resumedAt)
    for (const q of after) assert.ok(!stored.has(q), `${q} was stored before the restart and sent again`)
    assert.equal(fake.requests.length - start, RESTART_CALLS) // each call exactly once
    const report = await second.store.report(P, record.id)
    assert.equal(report?.replay?.resumed, stored.size)
    assert.equal(report?.replay?.issued, RESTART_CALLS - stored.size)
    // Nothing left to resume.
    assert.deepEqual(await new BacktestService(storage).resumeInterrupted(), [])
  })

  test('with a ClickHouse server, a recently updated running row is left to its process until it is stale', async () => {
    const server: Storage = { ...storage, mode: 'server' }
    const owner = new BacktestService(server, { replayApiKey: 'k' })
    const record = await owner.start(P, restartRequest(fake.baseURL, 2))
    await until('a call', async () => (await storedQuestions(storage, record.id)).size >= 2)
    // The owner "dies" without a trace: its replays stop, its row is not marked.
    const row = (await owner.store.get(P, record.id)) as BacktestRecord
    await owner.close()
    const marked = (await owner.store.get(P, record.id)) as BacktestRecord
    const now = Math.max(Date.now(), Date.parse(marked.updated_at) + 1)
    await owner.store.save({ ...row, updated_at: new Date(now).toISOString() })
    const other = new BacktestService(server, { replayApiKey: 'k', staleAfterMs: 800 })
    const startedAt = Date.now()
    assert.deepEqual(await other.resumeInterrupted(), [])
    await sleep(400)
    assert.equal((await other.store.get(P, record.id))?.message, row.message) // untouched
    const done = await finished(other, record.id)
    assert.equal(done.status, 'done')
    assert.ok(Date.now() - startedAt >= 800)
    assert.equal((await storedQuestions(storage, record.id)).size, RESTART_CALLS)
  })
})

describe('replay after a crash (SIGKILL)', () => {
  test('a killed process leaves the run running; backtestServiceFor resumes it on start; stored calls are not re-sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hs-restart-kill-'))
    dirs.push(dir)
    const start = fake.requests.length
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'restart-child.ts')],
      {
        env: { ...process.env, HS_DATA_DIR: dir, HS_BASE_URL: fake.baseURL },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const { id } = await until('the child to start a replay', async () => {
      const line = out.split('\n').find((l) => l.startsWith('{'))
      return line ? (JSON.parse(line) as { id: string }) : null
    })
    await until('15 calls', async () => fake.requests.length - start >= 15)
    child.kill('SIGKILL')
    await exited
    const beforeRestart = questions(start)

    const storage = await openStorage(dir)
    try {
      const stored = await storedQuestions(storage, id)
      const resumedAt = fake.requests.length
      const service = backtestServiceFor(storage, { replayApiKey: 'k' })
      const done = await finished(service, id)
      assert.equal(done.status, 'done')
      const after = questions(resumedAt)
      for (const q of after) assert.ok(!stored.has(q), `${q} was stored before the crash and sent again`)
      // Every call was answered once, except those in flight (or finished, unstored) at the kill.
      const all = [...beforeRestart, ...after]
      assert.equal(new Set(all).size, RESTART_CALLS)
      assert.ok(all.length - RESTART_CALLS <= 2 * 4, `${all.length - RESTART_CALLS} re-sent`)
      assert.equal((await storedQuestions(storage, id)).size, RESTART_CALLS)
      const report = await service.store.report(P, id)
      assert.equal(report?.replay?.resumed, stored.size)
    } finally {
      await storage.close()
    }
  })
})
