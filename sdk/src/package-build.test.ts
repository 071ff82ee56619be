/**
 * The published package: built with tsup (ESM + CJS + types), packed with `pnpm pack` (which applies
 * `publishConfig`), then loaded by a CommonJS app with `require` and an ES module app with `import`,
 * each on the system Node and on the pinned Node 24, each calling init / wrapOpenAI / observe /
 * withAttributes / shutdown against a local fake OpenAI and a local OTLP sink. The types are checked
 * from both module systems with `tsc --module node16`.
 *
 * `dist/` is rebuilt only when it is missing or older than the sources (`pnpm --filter @hindsight/sdk
 * build` ahead of the tests makes this test skip the build).
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Sink, startSink } from './fixtures/otlp-sink'
import { type FakeOpenAI, startFakeOpenAI } from './testing'

const sdkDir = fileURLToPath(new URL('..', import.meta.url))
const repoDir = join(sdkDir, '..')
const pinnedNode = join(repoDir, 'node_modules', 'node', 'bin', 'node')

/** The newest modification time under `dir` of files `keep` accepts. */
function newest(dir: string, keep: (name: string) => boolean): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, keep))
    else if (keep(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs)
  }
  return latest
}

const DIST_FILES = ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts', 'testing.js', 'testing.cjs']

function ensureBuilt(): void {
  const dist = join(sdkDir, 'dist')
  const sources = Math.max(
    newest(join(sdkDir, 'src'), (name) => name.endsWith('.ts') && !name.endsWith('.test.ts')),
    statSync(join(sdkDir, 'package.json')).mtimeMs,
    statSync(join(sdkDir, 'tsup.config.ts')).mtimeMs,
  )
  const built = DIST_FILES.map((file) => join(dist, file))
  if (built.every((file) => existsSync(file) && statSync(file).mtimeMs >= sources)) return
  // tsup needs a recent Node; the pinned one builds even when the tests run on an older Node.
  const node = existsSync(pinnedNode) ? pinnedNode : process.execPath
  execFileSync(node, [join(sdkDir, 'node_modules', 'tsup', 'dist', 'cli-default.js')], {
    cwd: sdkDir,
    stdio: 'pipe',
    timeout: 120_000,
  })
}

/** The system Node (first `node` on PATH outside node_modules) and the pinned Node 24. */
function nodes(): { label: string; path: string }[] {
  const out: { label: string; path: string }[] = []
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (existsSync(candidate)) {
      out.push({
        label: `system ${execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim()}`,
        path: candidate,
      })
      break
    }
  }
  if (existsSync(pinnedNode)) {
    out.push({
      label: `pinned ${execFileSync(pinnedNode, ['--version'], { encoding: 'utf8' }).trim()}`,
      path: pinnedNode,
    })
  }
  return out
}

const APP_BODY = `
  const [endpoint, baseURL, label] = process.argv.slice(2)
  const hindsight = init({ endpoint, apiKey: 'build-key', serviceName: label })
  const client = wrapOpenAI(new OpenAI({ baseURL, apiKey: 'k', maxRetries: 0 }))
  const answer = await withAttributes({ userId: label }, () =>
    observe('step', () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), { kind: 'agent' }),
  )
  await shutdown()
  process.stdout.write(JSON.stringify({
    stats: getStats(),
    answer: answer.choices[0].message.content,
    enabled: hindsight.enabled,
    testingHelpers: typeof testing.startFakeOpenAI === 'function' && typeof testing.initInMemory === 'function',
    sharedWithOtherBuild,
  }))
`

/** A span made through the OTHER build's getTracer() records only if that build sees this init(). */
const SHARED_PROBE = (
  other: string,
) => `const probe = ${other}.getTracer().startSpan('probe from the other build')
  sharedWithOtherBuild = probe.isRecording()
  probe.end()
  await shutdown()`

const CJS_APP = `'use strict'
const { init, wrapOpenAI, observe, withAttributes, shutdown, getStats } = require('@hindsight/sdk')
const testing = require('@hindsight/sdk/testing')
const OpenAI = require('openai')
;(async () => {
  // The ESM build loaded next to the CJS one must see the same instance (no dual-package split).
  const esm = await import('@hindsight/sdk')
  let sharedWithOtherBuild
  ${APP_BODY.replace('await shutdown()', SHARED_PROBE('esm'))}
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
`

const ESM_APP = `import { init, wrapOpenAI, observe, withAttributes, shutdown, getStats } from '@hindsight/sdk'
import * as testing from '@hindsight/sdk/testing'
import OpenAI from 'openai'
import { createRequire } from 'node:module'
const cjs = createRequire(import.meta.url)('@hindsight/sdk')
let sharedWithOtherBuild
${APP_BODY.replace('await shutdown()', SHARED_PROBE('cjs'))}
`

const TYPES_CTS = `import sdk = require('@hindsight/sdk')
import testing = require('@hindsight/sdk/testing')
const hindsight: sdk.Hindsight = sdk.init({ captureContent: false, mask: (value: string) => value })
const step: number = sdk.observe('s', (span: sdk.StepSpan) => span.spanId.length, { kind: 'tool' })
const processor = sdk.hindsightSpanProcessor({})
void [hindsight, step, processor, testing.initInMemory]
`

const TYPES_MTS = `import { init, observe, withAttributes, type TraceAttributes, type StepSpan } from '@hindsight/sdk'
import { startFakeOpenAI } from '@hindsight/sdk/testing'
const attributes: TraceAttributes = { userId: 'u', tags: ['a'] }
const n: Promise<number> = withAttributes(attributes, async () => observe('s', (span: StepSpan) => span.traceId.length))
init({ metrics: true })
void [n, startFakeOpenAI]
`

// The apps below already run on both the system Node and the pinned one; when the whole suite runs
// a second time on the system Node, building and packing again would prove nothing new.
const pinnedVersion = existsSync(pinnedNode)
  ? execFileSync(pinnedNode, ['--version'], { encoding: 'utf8' }).trim()
  : ''
const skip =
  pinnedVersion && pinnedVersion !== process.version
    ? `runs once, on the pinned Node ${pinnedVersion}, and starts the apps on both Nodes from there`
    : false

let workDir: string
let fake: FakeOpenAI
let sink: Sink

before(async () => {
  if (skip) return
  ensureBuilt()
  workDir = mkdtempSync(join(tmpdir(), 'hindsight-sdk-package-'))
  execFileSync(
    'npx',
    ['-y', 'pnpm@12.4.2', 'pack', '--config.ignore-scripts=true', '--pack-destination', workDir],
    {
      cwd: sdkDir,
      stdio: 'pipe',
      timeout: 120_000,
    },
  )
  const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'))
  assert.ok(tarball, 'pnpm pack wrote a tarball')
  const installed = join(workDir, 'node_modules', '@hindsight', 'sdk')
  mkdirSync(installed, { recursive: true })
  execFileSync('tar', ['xzf', join(workDir, tarball), '-C', installed, '--strip-components=1'])
  // The runtime dependencies and the client, as an app's package manager would provide them.
  symlinkSync(join(sdkDir, 'node_modules', '@opentelemetry'), join(workDir, 'node_modules', '@opentelemetry'))
  symlinkSync(join(sdkDir, 'node_modules', 'openai-v6'), join(workDir, 'node_modules', 'openai'))
  symlinkSync(join(repoDir, 'node_modules', '@types'), join(workDir, 'node_modules', '@types'))
  writeFileSync(join(workDir, 'app.cjs'), CJS_APP)
  writeFileSync(join(workDir, 'app.mjs'), ESM_APP)
  fake = await startFakeOpenAI({ reply: { content: 'Hello from the build test.' } })
  sink = await startSink()
})
after(async () => {
  await fake?.close()
  await sink?.close()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

function runApp(node: string, app: string, label: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      node,
      [join(workDir, app), sink.url, fake.baseURL, label],
      { cwd: workDir, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${label} failed: ${error.message}\n${stderr}`))
        else resolve(JSON.parse(stdout) as Record<string, unknown>)
      },
    )
  })
}

describe('the packed package', { skip }, () => {
  test('the tarball holds the ESM and CJS builds with their types, and no sources', () => {
    const files = readdirSync(join(workDir, 'node_modules', '@hindsight', 'sdk', 'dist'))
    for (const file of DIST_FILES) assert.ok(files.includes(file), `dist/${file}`)
    assert.ok(files.includes('testing.d.ts') && files.includes('testing.d.cts'))
    assert.ok(!existsSync(join(workDir, 'node_modules', '@hindsight', 'sdk', 'src')))
  })

  for (const node of nodes()) {
    for (const [app, format] of [
      ['app.cjs', 'require'],
      ['app.mjs', 'import'],
    ] as const) {
      test(`${format} on Node ${node.label}: init, wrapOpenAI, observe, withAttributes, shutdown`, async () => {
        const label = `${format}-${node.label.replace(/\W+/g, '-')}`
        const result = await runApp(node.path, app, label)
        assert.equal(result.answer, 'Hello from the build test.')
        assert.equal(result.enabled, true)
        assert.equal(result.testingHelpers, true)
        assert.equal(result.sharedWithOtherBuild, true, 'the ESM and CJS builds share one instance')
        assert.deepEqual(result.stats, { exported: 3, dropped: 0, failedExports: 0, internalErrors: 0 })
        const spans = sink.spans().filter((span) => span.resource['service.name'] === label)
        assert.deepEqual(spans.map((span) => span.name).sort(), [
          'chat gpt-4o-mini',
          'invoke_agent step',
          'probe from the other build',
        ])
        for (const span of spans.filter((s) => s.name !== 'probe from the other build')) {
          assert.equal(span.attributes['user.id'], label)
        }
      })
    }
  }

  test('the type declarations resolve from CommonJS and ES modules (tsc, module node16)', () => {
    writeFileSync(join(workDir, 'types.cts'), TYPES_CTS)
    writeFileSync(join(workDir, 'types.mts'), TYPES_MTS)
    const tsc = join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc')
    const node = existsSync(pinnedNode) ? pinnedNode : process.execPath
    execFileSync(
      node,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--target',
        'es2022',
        '--types',
        'node',
        'types.cts',
        'types.mts',
      ],
      { cwd: workDir, stdio: 'pipe', timeout: 120_000 },
    )
  })
})
