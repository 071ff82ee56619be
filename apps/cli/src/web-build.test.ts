import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { webAppDir, webBuildState } from './web-build'

const dir = mkdtempSync(join(tmpdir(), 'hs-cli-webbuild-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function file(path: string, secondsAgo: number) {
  const full = join(dir, path)
  mkdirSync(join(full, '..'), { recursive: true })
  writeFileSync(full, 'x')
  const t = new Date(Date.now() - secondsAgo * 1000)
  utimesSync(full, t, t)
}

test('the build is missing, fresh, or stale when a source or next.config.* is newer', () => {
  file('src/app/page.tsx', 300)
  file('next.config.ts', 300)
  assert.deepEqual(webBuildState(dir), { status: 'missing' })
  file('.next/BUILD_ID', 100)
  assert.deepEqual(webBuildState(dir), { status: 'fresh' })
  file('src/app/traces/deep/page.tsx', 50)
  assert.deepEqual(webBuildState(dir), { status: 'stale', newer: join(dir, 'src/app/traces/deep/page.tsx') })
  file('src/app/traces/deep/page.tsx', 200)
  file('next.config.ts', 10)
  assert.deepEqual(webBuildState(dir), { status: 'stale', newer: join(dir, 'next.config.ts') })
})

test('the web app is found through the workspace dependency', () => {
  assert.ok(existsSync(join(webAppDir(), 'package.json')))
  assert.ok(existsSync(join(webAppDir(), 'src')))
})
