import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CONFIG_TABLE, EnvError, envSchema, isLoopbackHost, parseEnv } from './env'

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseEnv(env, '/srv/app')
  } catch (error) {
    assert.ok(error instanceof EnvError, `expected EnvError, got ${String(error)}`)
    return error.problems
  }
  assert.fail(`expected ${JSON.stringify(env)} to be rejected`)
}

test('defaults follow the runtime contract', () => {
  const config = parseEnv({}, '/srv/app')
  assert.deepEqual(config, {
    host: '127.0.0.1',
    port: 3000,
    otlpPort: 4318,
    otlpGrpcPort: 4317,
    dataDir: '/srv/app/.hindsight',
    clickhouse: { url: undefined, user: 'default', password: '', database: 'hindsight' },
    initProject: undefined,
    initApiKey: undefined,
    demo: true,
    apiKey: undefined,
    retentionDays: 30,
  })
})

test('values are parsed; empty strings count as unset; the data dir resolves against cwd', () => {
  const config = parseEnv(
    {
      HINDSIGHT_HOST: 'localhost',
      HINDSIGHT_PORT: '8080',
      HINDSIGHT_OTLP_PORT: '0',
      HINDSIGHT_DATA_DIR: 'data/hs',
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      CLICKHOUSE_USER: '',
      CLICKHOUSE_PASSWORD: ' secret ',
      CLICKHOUSE_DATABASE: 'obs_1',
      HINDSIGHT_INIT_PROJECT: ' Acme ',
      HINDSIGHT_INIT_API_KEY: 'hs_init_key_123456',
      HINDSIGHT_DEMO: 'OFF',
      HINDSIGHT_API_KEY: '',
    },
    '/srv/app',
  )
  assert.equal(config.host, 'localhost')
  assert.equal(config.port, 8080)
  assert.equal(config.otlpPort, 0)
  assert.equal(config.dataDir, '/srv/app/data/hs')
  assert.deepEqual(config.clickhouse, {
    url: 'http://clickhouse:8123',
    user: 'default',
    password: ' secret ',
    database: 'obs_1',
  })
  assert.equal(config.initProject, 'Acme')
  assert.equal(config.initApiKey, 'hs_init_key_123456')
  assert.equal(config.demo, false)
  assert.equal(config.apiKey, undefined)
  assert.equal(parseEnv({ HINDSIGHT_DATA_DIR: '/var/lib/hs' }, '/srv/app').dataDir, '/var/lib/hs')
})

test('bad values are rejected, naming the variable and the value', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ HINDSIGHT_PORT: 'abc' }, 'HINDSIGHT_PORT="abc"', /port number/],
    [{ HINDSIGHT_OTLP_PORT: '70000' }, 'HINDSIGHT_OTLP_PORT="70000"', /between 0 and 65535/],
    [{ HINDSIGHT_PORT: '-1' }, 'HINDSIGHT_PORT="-1"', /port number/],
    [{ CLICKHOUSE_URL: 'localhost:8123' }, 'CLICKHOUSE_URL="localhost:8123"', /http/],
    [{ CLICKHOUSE_DATABASE: 'drop table' }, 'CLICKHOUSE_DATABASE="drop table"', /identifier/],
    [{ HINDSIGHT_DEMO: 'yes' }, 'HINDSIGHT_DEMO="yes"', /'on' or 'off'/],
    [{ HINDSIGHT_INIT_API_KEY: 'short' }, 'HINDSIGHT_INIT_API_KEY=<hidden>', /too short/],
    [{ HINDSIGHT_API_KEY: 'has a space' }, 'HINDSIGHT_API_KEY=<hidden>', /without spaces/],
  ]
  for (const [env, prefix, reason] of cases) {
    const problems = problemsOf(env)
    assert.equal(problems.length, 1, problems.join('\n'))
    assert.ok(problems[0]?.startsWith(prefix), problems[0])
    assert.match(problems[0] ?? '', reason)
  }
  // Several problems are reported together, and secrets are not echoed.
  const problems = problemsOf({
    HINDSIGHT_PORT: 'x',
    HINDSIGHT_DEMO: 'maybe',
    HINDSIGHT_API_KEY: 'a b c d e f',
  })
  assert.equal(problems.length, 3)
  assert.ok(!problems.join('\n').includes('a b c d e f'))
})

test('a non-loopback host is refused, saying why', () => {
  for (const host of ['0.0.0.0', '192.168.1.10', 'example.com', '::']) {
    const [problem] = problemsOf({ HINDSIGHT_HOST: host })
    assert.ok(problem?.startsWith(`HINDSIGHT_HOST="${host}"`), problem)
    assert.match(problem ?? '', /no login yet/)
    assert.match(problem ?? '', /127\.0\.0\.1, localhost or ::1/)
  }
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', 'LOCALHOST']) {
    assert.equal(isLoopbackHost(host), true, host)
    assert.doesNotThrow(() => parseEnv({ HINDSIGHT_HOST: host }))
  }
})

test('the config table documents every variable of the schema, and the README matches it', () => {
  assert.deepEqual(CONFIG_TABLE.map((v) => v.name).sort(), Object.keys(envSchema.shape).sort())
  const readme = readFileSync(join(fileURLToPath(import.meta.url), '..', '..', 'README.md'), 'utf8')
  const rows = readme
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split('|').map((cell) => cell.trim()))
  for (const v of CONFIG_TABLE) {
    const cells = rows.find((r) => r[1] === `\`${v.name}\``)
    assert.ok(cells, `README.md has no table row for ${v.name}`)
    assert.equal(cells[2], v.default ? `\`${v.default}\`` : '', `README default of ${v.name}`)
  }
})
