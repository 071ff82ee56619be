#!/usr/bin/env node
// Type-check every workspace with its own tsconfig (strict everywhere).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const tsc = join(root, 'node_modules', '.bin', 'tsc')
let failed = false
for (const dir of [
  'sdk',
  'collector',
  'dashboards',
  'quality',
  'backtest',
  'apps/web',
  'apps/cli',
  'bench',
]) {
  if (!existsSync(join(root, dir, 'tsconfig.json'))) continue
  const r = spawnSync(tsc, ['-p', join(dir, 'tsconfig.json'), '--noEmit'], { cwd: root, stdio: 'inherit' })
  console.log(`${r.status === 0 ? '✔' : '✖'} ${dir}`)
  if (r.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
