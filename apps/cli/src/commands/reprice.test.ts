import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { testRow } from '@hindsight/collector/testing'
import { storageOptions } from '../all-in-one'
import { parseEnv } from '../env'
import { tempDataDir, testConfig } from '../test-support'
import { parseIsoTime } from './iso-time'
import { repriceCommand } from './reprice'

const dataDir = tempDataDir('reprice')
after(() => rmSync(dataDir, { recursive: true, force: true }))
const config = testConfig(dataDir, { CLICKHOUSE_DATABASE: 'hs_cli_reprice' })
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'hindsight.mjs')

/** A gpt-4o call stored with a stale cost (as if priced by an older, wrong table). */
function staleSpan(projectId: string, n: number): SpanRow {
  const id = (0x5000 + n).toString(16)
  return testRow({
    project_id: projectId,
    trace_id: id.padStart(32, '0'),
    span_id: id.padStart(16, '0'),
    name: 'chat gpt-4o',
    environment: '',
    input_tokens: 10_000,
    output_tokens: 1_000,
    cache_read_tokens: 4_000,
    cost_usd: '0.000000001',
    price_version: 'stale',
    start_time: `2026-03-0${n} 12:00:00.000000`,
    end_time: `2026-03-0${n} 12:00:01.000000`,
    duration_ms: 1000,
    input: '[{"role":"user","content":"hi"}]',
    attributes: {},
    ingested_at: '2026-03-10 00:00:00.000',
  })
}

async function costs(storage: Storage, projectId: string): Promise<string[]> {
  const result = await storage.client.query({
    query: `SELECT toString(cost_usd) AS c FROM ${storage.database}.spans FINAL WHERE project_id = {p:String} ORDER BY start_time`,
    query_params: { p: projectId },
    format: 'JSONEachRow',
  })
  return (await result.json<{ c: string }>()).map((r) => r.c)
}

test('ISO times: dates and times are UTC unless an offset is given; anything else is refused', () => {
  assert.equal(parseIsoTime('2026-03-01')?.toISOString(), '2026-03-01T00:00:00.000Z')
  assert.equal(parseIsoTime('2026-03-01T12:30')?.toISOString(), '2026-03-01T12:30:00.000Z')
  assert.equal(parseIsoTime('2026-03-01 12:30:15.250')?.toISOString(), '2026-03-01T12:30:15.250Z')
  assert.equal(parseIsoTime('2026-03-01T12:00:00+02:00')?.toISOString(), '2026-03-01T10:00:00.000Z')
  for (const bad of ['yesterday', '2026-13-01', '2026-03-01T25:00', '1709294400', '']) {
    assert.equal(parseIsoTime(bad), null, bad)
  }
})

test('HINDSIGHT_RETENTION_DAYS: default 30, 0 = forever, bad values named', () => {
  assert.equal(parseEnv({}).retentionDays, 30)
  assert.equal(parseEnv({ HINDSIGHT_RETENTION_DAYS: '0' }).retentionDays, 0)
  assert.equal(parseEnv({ HINDSIGHT_RETENTION_DAYS: ' 90 ' }).retentionDays, 90)
  for (const bad of ['-1', '1.5', 'a week', '36501']) {
    assert.throws(() => parseEnv({ HINDSIGHT_RETENTION_DAYS: bad }), /HINDSIGHT_RETENTION_DAYS=/)
  }
})

test('hindsight reprice fixes the stored cost of one project, leaves the others alone', async () => {
  let storage = await createStorage(storageOptions(config))
  let acme: string
  let other: string
  try {
    await migrate(storage)
    const projects = new ProjectRepository(storage)
    acme = (await projects.create('Acme')).id
    other = (await projects.create('Other')).id
    const rows = [1, 2, 3].flatMap((n) => [staleSpan(acme, n), staleSpan(other, n)])
    await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
  } finally {
    await storage.close()
  }

  const lines: string[] = []
  const result = await repriceCommand(
    config,
    { from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z'), project: 'Acme' },
    (line) => lines.push(line),
  )
  // gpt-4o: 6,000 uncached × $2.50 + 4,000 cached × $1.25 + 1,000 × $10 per 1M = 0.015 + 0.005 + 0.01
  assert.deepEqual(result, {
    projects: 1,
    spans_scanned: 2,
    spans_changed: 2,
    cost_before_usd: '0.000000002',
    cost_after_usd: '0.060000000',
  })
  assert.match(lines.join('\n'), /project Acme/)
  assert.match(lines.join('\n'), /spans changed {2}2/)
  assert.match(lines.join('\n'), /cost after {5}\$0\.060000000/)

  storage = await createStorage(storageOptions(config))
  try {
    assert.deepEqual(
      await costs(storage, acme),
      ['0.000000001', '0.03', '0.03'],
      'only the range is re-priced',
    )
    assert.deepEqual(await costs(storage, other), ['0.000000001', '0.000000001', '0.000000001'])
  } finally {
    await storage.close()
  }
  await assert.rejects(
    repriceCommand(
      config,
      { from: new Date('2026-03-01'), to: new Date('2026-04-01'), project: 'Nope' },
      () => {},
    ),
    /no project named or with id 'Nope'/,
  )
})

test('the command is registered: bad arguments are refused before any storage is opened', () => {
  const run = spawnSync(process.execPath, [CLI, 'reprice', '--from', 'last week', '--to', '2026-04-01'], {
    encoding: 'utf8',
    env: { ...process.env, HINDSIGHT_DATA_DIR: dataDir },
  })
  assert.equal(run.status, 1)
  assert.match(run.stderr, /--from must be an ISO 8601 date or time, got 'last week'/)
  const help = spawnSync(process.execPath, [CLI, 'reprice', '--help'], { encoding: 'utf8' })
  assert.equal(help.status, 0)
  assert.match(help.stdout, /--project <name\|id>/)
})
