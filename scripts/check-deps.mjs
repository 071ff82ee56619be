#!/usr/bin/env node
// Dependencies point one way (docs/architecture.md):
//   apps/* → backtest → quality → dashboards → collector ; sdk depends on none of them; nothing imports an app
// (apps/cli may launch apps/web: the all-in-one server is one process).
// Checks both package.json dependencies and import specifiers in source files.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const allowed = {
  '@hindsight/sdk': [],
  '@hindsight/collector': [],
  '@hindsight/dashboards': ['@hindsight/collector'],
  '@hindsight/quality': ['@hindsight/dashboards', '@hindsight/collector'],
  '@hindsight/backtest': [
    '@hindsight/quality',
    '@hindsight/dashboards',
    '@hindsight/collector',
    '@hindsight/sdk',
  ],
  '@hindsight/web': [
    '@hindsight/backtest',
    '@hindsight/quality',
    '@hindsight/dashboards',
    '@hindsight/collector',
  ],
  'hindsight-cli': [
    '@hindsight/web',
    '@hindsight/quality',
    '@hindsight/dashboards',
    '@hindsight/collector',
    '@hindsight/sdk',
    '@hindsight/backtest',
  ],
  '@hindsight/bench': [
    '@hindsight/collector',
    '@hindsight/sdk',
    '@hindsight/dashboards',
    '@hindsight/backtest',
  ],
}
const dirs = {
  '@hindsight/sdk': 'sdk',
  '@hindsight/collector': 'collector',
  '@hindsight/dashboards': 'dashboards',
  '@hindsight/quality': 'quality',
  '@hindsight/backtest': 'backtest',
  '@hindsight/web': 'apps/web',
  'hindsight-cli': 'apps/cli',
  '@hindsight/bench': 'bench',
}
const problems = []
for (const [name, dir] of Object.entries(dirs)) {
  let pkg
  try {
    pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  } catch {
    continue
  }
  const deps = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }
  for (const dep of Object.keys(deps)) {
    if (dep in dirs && !allowed[name].includes(dep)) problems.push(`${dir}/package.json depends on ${dep}`)
  }
  const walk = (d) => {
    for (const entry of readdirSync(d)) {
      if (['node_modules', '.next', 'dist'].includes(entry)) continue
      const p = join(d, entry)
      if (statSync(p).isDirectory()) walk(p)
      else if (/\.(ts|tsx|mjs|js)$/.test(entry)) {
        const text = readFileSync(p, 'utf8')
        for (const m of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
          const spec = m[1]
          const target = Object.keys(dirs).find((n) => spec === n || spec.startsWith(`${n}/`))
          if (target && target !== name && !allowed[name].includes(target)) {
            problems.push(`${relative(root, p)} imports ${spec}`)
          }
          if (
            spec.startsWith('.') &&
            /(^|\/)apps\//.test(join(relative(root, d), spec)) &&
            !dir.startsWith('apps')
          ) {
            problems.push(`${relative(root, p)} imports an app by path: ${spec}`)
          }
        }
      }
    }
  }
  walk(join(root, dir))
}
if (problems.length) {
  console.error(`Dependency rule violations:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  process.exit(1)
}
console.log('dependency rules hold')
