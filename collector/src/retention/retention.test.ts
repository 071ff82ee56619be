import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'
import { testRow } from '../testing'
import { msToDateTime3 } from '../time'
import { enforceRetention, startRetentionJob } from './retention'
import { DEFAULT_RETENTION_DAYS, ProjectSettingsRepository } from './settings'

let dir: string
let storage: Storage

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-retention-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_retention_test' })
  await migrate(storage)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

const DAY = 86_400_000
const NOW = Date.parse('2026-06-30T12:00:00Z')
/** Span start `days` days before NOW, in the DateTime64(6) text form. */
const daysAgo = (days: number) => `${msToDateTime3(NOW - days * DAY)}000`

/** One span per age (days before NOW) per project, in one insert. */
async function seed(spans: Record<string, number[]>): Promise<void> {
  const rows = Object.entries(spans).flatMap(([projectId, ages]) =>
    ages.map((age) => testRow({ project_id: projectId, start_time: daysAgo(age), name: `age ${age}` })),
  )
  await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
}

/** The ages (in days, from the span names) still stored for a project, ascending. */
async function ages(projectId: string): Promise<number[]> {
  const result = await storage.client.query({
    query: `SELECT name FROM ${storage.database}.spans FINAL WHERE project_id = {p:String}`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return (await result.json<{ name: string }>()).map((r) => Number(r.name.slice(4))).sort((a, b) => a - b)
}

test('settings: default, per-project value, keep forever (0), back to the default, validation', async () => {
  const settings = new ProjectSettingsRepository(storage)
  assert.deepEqual(await settings.retention('p1'), {
    retention_days: DEFAULT_RETENTION_DAYS,
    source: 'default',
    default_retention_days: DEFAULT_RETENTION_DAYS,
  })
  await settings.recordDefaultRetention(45)
  assert.deepEqual(await settings.retention('p1'), {
    retention_days: 45,
    source: 'default',
    default_retention_days: 45,
  })
  assert.deepEqual(await settings.setRetention('p1', 7), {
    retention_days: 7,
    source: 'project',
    default_retention_days: 45,
  })
  assert.deepEqual(await settings.setRetention('p1', 0), {
    retention_days: 0,
    source: 'project',
    default_retention_days: 45,
  })
  assert.deepEqual(await settings.setRetention('p1', null), {
    retention_days: 45,
    source: 'default',
    default_retention_days: 45,
  })
  for (const bad of [-1, 1.5, 36_501, Number.NaN]) {
    await assert.rejects(settings.setRetention('p1', bad), /^RangeError: retention_days: /)
  }
  await assert.rejects(settings.setRetention('', 3), RangeError)
  // Reset for the next tests.
  await settings.recordDefaultRetention(DEFAULT_RETENTION_DAYS)
})

test('enforceRetention deletes each project’s spans older than its retention, and nothing else', async () => {
  const settings = new ProjectSettingsRepository(storage)
  // Ages stay within a few months: every monthly partition touched makes a DELETE slower.
  await seed({
    'r-default': [1, 29, 31, 95],
    'r-week': [1, 6, 8, 40],
    'r-forever': [1, 31, 100],
    'r-long': [1, 31, 89, 91],
  })
  await settings.setRetention('r-week', 7)
  await settings.setRetention('r-forever', 0)
  await settings.setRetention('r-long', 90)

  const result = await enforceRetention(storage, { defaultDays: 30, now: () => NOW })
  assert.deepEqual(await ages('r-default'), [1, 29])
  assert.deepEqual(await ages('r-week'), [1, 6])
  assert.deepEqual(await ages('r-forever'), [1, 31, 100])
  assert.deepEqual(await ages('r-long'), [1, 31, 89])
  assert.equal(result.deleted_rows, 5)
  assert.deepEqual(result.deleted.map((d) => [d.project, d.retention_days, d.rows]).sort(), [
    ['*', 30, 2],
    ['r-long', 90, 1],
    ['r-week', 7, 2],
  ])
  // Nothing left to delete: no rows, no mutation.
  assert.deepEqual(await enforceRetention(storage, { defaultDays: 30, now: () => NOW }), {
    deleted_rows: 0,
    deleted: [],
  })
  // A default of 0 keeps projects on the default forever.
  await seed({ 'r-default': [60] })
  assert.equal((await enforceRetention(storage, { defaultDays: 0, now: () => NOW })).deleted_rows, 0)
  assert.deepEqual(await ages('r-default'), [1, 29, 60])
})

test('the job records the default and runs at start; startCollector starts and stops it', async () => {
  await seed({ 'j-project': [2, 10] })
  const runs: number[] = []
  const job = startRetentionJob(storage, {
    defaultDays: 5,
    now: () => NOW,
    intervalMs: 60_000,
    onRun: (r) => runs.push(r.deleted_rows),
  })
  // It runs at once, without being asked; runNow joins or repeats it.
  for (let i = 0; i < 100 && runs.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
  await job.runNow()
  await job.stop()
  assert.ok(runs[0] !== undefined && runs[0] >= 1)
  assert.deepEqual(await ages('j-project'), [2])
  assert.equal(await new ProjectSettingsRepository(storage).defaultRetentionDays(), 5)

  // Through the collector: enforced at start with the configured default, stopped by close().
  await seed({ 'c-project': [1, 3, 12] })
  const projects = new ProjectRepository(storage)
  const collector = await startCollector({
    storage,
    projects,
    port: 0,
    retention: { defaultDays: 2, now: () => NOW, onRun: () => {} },
  })
  try {
    for (let i = 0; i < 100 && (await ages('c-project')).length > 1; i++) {
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.deepEqual(await ages('c-project'), [1])
    assert.equal(await new ProjectSettingsRepository(storage).defaultRetentionDays(), 2)
  } finally {
    await collector.close()
  }
})
