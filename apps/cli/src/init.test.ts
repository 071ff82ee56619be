/**
 * Headless initialization and the Default project, across restarts on the same data dir
 * (each scenario in its own database, since one process binds one embedded data dir).
 */
import assert from 'node:assert/strict'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { after, test } from 'node:test'
import { startAllInOne } from './all-in-one'
import { credentialsPath, readLocalState } from './local-state'
import { getJson, tempDataDir, testConfig } from './test-support'

const dataDir = tempDataDir('init')
after(() => rmSync(dataDir, { recursive: true, force: true }))

const quiet = { next: false, log: () => {} }

test('headless init is idempotent across two starts: same project, key works, no duplicate', async () => {
  const env = {
    HINDSIGHT_INIT_PROJECT: 'Acme Support',
    HINDSIGHT_INIT_API_KEY: 'hs_init_acme_0123456789',
    CLICKHOUSE_DATABASE: 'hs_cli_init',
  }
  const first = await startAllInOne(testConfig(dataDir, env), quiet)
  let firstId: string
  try {
    firstId = first.projects.main.id
    assert.equal(first.projects.main.name, 'Acme Support')
    assert.equal(first.projects.main.created, true)
    assert.equal(first.projects.main.keySource, 'HINDSIGHT_INIT_API_KEY')
    assert.equal(first.projects.demo, null, 'demo off: no Demo project')
    const { status } = await getJson(first.webUrl, '/traces', env.HINDSIGHT_INIT_API_KEY)
    assert.equal(status, 200)
  } finally {
    await first.close()
  }

  const second = await startAllInOne(testConfig(dataDir, env), quiet)
  try {
    assert.equal(second.projects.main.id, firstId)
    assert.equal(second.projects.main.created, false)
    assert.equal(await second.repository.authenticate(env.HINDSIGHT_INIT_API_KEY), firstId)
    const projects = await second.repository.list()
    assert.deepEqual(
      projects.map((p) => p.name),
      ['Acme Support'],
    )
    const { status } = await getJson(second.webUrl, '/traces', env.HINDSIGHT_INIT_API_KEY)
    assert.equal(status, 200, 'the key still works after a restart')
  } finally {
    await second.close()
  }
})

test('without init variables a Default project gets a key, kept in credentials.json (0600)', async () => {
  const env = { CLICKHOUSE_DATABASE: 'hs_cli_default' }
  const first = await startAllInOne(testConfig(dataDir, env), quiet)
  let id: string
  let key: string | null
  try {
    ;({ id, apiKey: key } = first.projects.main)
    assert.equal(first.projects.main.name, 'Default')
    assert.equal(first.projects.main.keySource, 'created')
    assert.ok(key?.startsWith('hs_'))
    const mode = statSync(credentialsPath(dataDir)).mode & 0o777
    assert.equal(mode, 0o600, `credentials.json mode ${mode.toString(8)}`)
    const stored = JSON.parse(readFileSync(credentialsPath(dataDir), 'utf8')) as Record<string, string>
    assert.equal(stored[id], key)
    assert.equal(await first.repository.authenticate(key ?? ''), id)
  } finally {
    await first.close()
  }

  const second = await startAllInOne(testConfig(dataDir, env), quiet)
  try {
    assert.equal(second.projects.main.id, id)
    assert.equal(second.projects.main.created, false)
    assert.equal(second.projects.main.keySource, 'credentials.json', 'the key is known again, not re-created')
    assert.equal(second.projects.main.apiKey, key)
    assert.deepEqual(
      (await second.repository.list()).map((p) => p.name),
      ['Default'],
    )
    assert.equal(readLocalState(dataDir).demoProjectId, undefined)
    assert.equal((await getJson(second.webUrl, '/traces', key ?? '')).status, 200)
  } finally {
    await second.close()
  }
})
