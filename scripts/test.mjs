#!/usr/bin/env node
// The one test command (`pnpm test`): lint, type-check, dependency rules, build the web app,
// then every test file of every workspace with node's own test runner (on the pinned Node 24),
// and the SDK's tests once more on the system Node (the SDK supports Node 18+).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { delimiter, join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const sdkOnly = process.argv.includes('--sdk-only')
const bin = (name) => join(root, 'node_modules', '.bin', name)

function step(title, cmd, args, opts = {}) {
  console.log(`\n▶ ${title}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.status !== 0) {
    console.error(`✖ ${title} failed (exit ${r.status ?? r.signal})`)
    process.exit(r.status || 1)
  }
}

function testFiles(dir) {
  const out = []
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name === '.next' || name === 'dist' || name.startsWith('.')) continue
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.test\.tsx?$/.test(name)) out.push(relative(root, p))
    }
  }
  if (existsSync(join(root, dir))) walk(join(root, dir))
  return out.sort()
}

/** A system Node (outside node_modules) older than the pinned one, to run the SDK tests on. */
function systemNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (!existsSync(candidate)) continue
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim()
      return { path: candidate, version }
    } catch {}
  }
  return null
}

const sdkTests = testFiles('sdk')
if (!sdkOnly) {
  step('lint and format (biome)', bin('biome'), ['ci', '.', '--colors=off'])
  step('type-check', process.execPath, [join(root, 'scripts/typecheck.mjs')])
  step('dependency rules', process.execPath, [join(root, 'scripts/check-deps.mjs')])
  step('browser available', 'bash', [join(root, 'scripts/ensure-chromium.sh')])
  step('build the web app', process.execPath, [join(root, 'apps/cli/bin/hindsight.mjs'), 'build'])
  const files = ['sdk', 'collector', 'dashboards', 'quality', 'backtest', 'apps', 'bench'].flatMap(testFiles)
  step(`tests on Node ${process.version} (${files.length} files)`, process.execPath, [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=300000',
    ...files,
  ])
}
const sys = systemNode()
if (sys && sys.version !== process.version) {
  step(`SDK tests on the system Node ${sys.version}`, sys.path, ['--import', 'tsx', '--test', ...sdkTests])
} else if (sdkOnly) {
  step(`SDK tests on Node ${process.version}`, process.execPath, ['--import', 'tsx', '--test', ...sdkTests])
}
