import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, MIGRATIONS, migrate, ProjectRepository, type Storage } from './index'

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-storage-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_storage_test' })
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

test('migrations apply once and are idempotent', async () => {
  const first = await migrate(storage)
  assert.deepEqual(
    first,
    MIGRATIONS.map((m) => m.version),
  )
  const second = await migrate(storage)
  assert.deepEqual(second, [])
  const result = await storage.client.query({
    query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
    query_params: { db: 'hs_storage_test' },
    format: 'JSONEachRow',
  })
  const names = (await result.json<{ name: string }>()).map((r) => r.name)
  for (const table of [
    'api_keys',
    'project_prices',
    'project_settings',
    'projects',
    'schema_migrations',
    'spans',
  ]) {
    assert.ok(names.includes(table), `table ${table} exists`)
  }
})

test('projects: keys are stored hashed and authenticate to their project', async () => {
  const repo = new ProjectRepository(storage, 0)
  const { project, created, key } = await repo.ensure('Acme', 'hs_test_key_1234567890')
  assert.equal(created, true)
  assert.equal(key?.apiKey, 'hs_test_key_1234567890')
  assert.equal(await repo.authenticate('hs_test_key_1234567890'), project.id)
  assert.equal(await repo.authenticate('hs_wrong'), null)
  const again = await repo.ensure('Acme', 'hs_test_key_1234567890')
  assert.equal(again.created, false)
  assert.equal(again.project.id, project.id)
  const raw = await storage.client.query({
    query: 'SELECT count() AS n FROM hs_storage_test.api_keys WHERE key_hash = {k:String}',
    query_params: { k: 'hs_test_key_1234567890' },
    format: 'JSONEachRow',
  })
  assert.equal(Number((await raw.json<{ n: string }>())[0]?.n), 0, 'plaintext key must not be stored')
  await assert.rejects(repo.ensure('Other', 'hs_test_key_1234567890'), /belongs to another project/)
  assert.equal((await repo.list()).length, 1, 'a rejected init creates nothing')
})

test('the embedded engine writes span parts below 128 MiB compact (one data file, not one per column)', async () => {
  await migrate(storage)
  const setting = await storage.client.query({
    query: "SELECT value FROM system.merge_tree_settings WHERE name = 'min_bytes_for_wide_part'",
    format: 'JSONEachRow',
  })
  assert.equal((await setting.json<{ value: string }>())[0]?.value, String(128 * 2 ** 20))
  const { testRow } = await import('../testing')
  await storage.client.insert({
    table: 'hs_storage_test.spans',
    // ~16 MB uncompressed: beyond the engine's default 10 MiB, a wide part without the configuration.
    values: Array.from({ length: 4000 }, (_, i) =>
      testRow({ span_id: i.toString(16).padStart(16, '0'), input: `${i} ${'x'.repeat(4000)}` }),
    ),
    format: 'JSONEachRow',
  })
  const parts = await storage.client.query({
    query: `SELECT DISTINCT part_type FROM system.parts
            WHERE database = 'hs_storage_test' AND table = 'spans' AND active`,
    format: 'JSONEachRow',
  })
  assert.deepEqual(
    (await parts.json<{ part_type: string }>()).map((p) => p.part_type),
    ['Compact'],
  )
})

test('the embedded engine starts with its configuration: merge selector base 40, at most 16 idle pool threads', async () => {
  const r = await storage.client.query({
    query: `SELECT
        (SELECT value FROM system.merge_tree_settings WHERE name = 'merge_selector_base') AS base,
        (SELECT value FROM system.server_settings WHERE name = 'max_thread_pool_free_size') AS free`,
    format: 'JSONEachRow',
  })
  assert.deepEqual(await r.json(), [{ base: '40', free: '16' }])
})
