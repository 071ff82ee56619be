/**
 * Building the Next.js dashboard (apps/web) when its production build is missing or older than
 * its sources. `pnpm test` calls this before every run, so the up-to-date check must be cheap.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childProcessEnv } from './env'

/** The web app's folder (apps/web), found through our workspace dependency on it. */
export function webAppDir(): string {
  const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..')
  const linked = join(cliDir, 'node_modules', '@hindsight', 'web')
  return existsSync(linked) ? realpathSync(linked) : join(cliDir, '..', 'web')
}

export type BuildState = { status: 'fresh' } | { status: 'missing' } | { status: 'stale'; newer: string }

function newestFile(dir: string, newerThan: number): string | null {
  if (!existsSync(dir)) return null
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      const found = newestFile(path, newerThan)
      if (found) return found
    } else if (statSync(path).mtimeMs > newerThan) {
      return path
    }
  }
  return null
}

/**
 * Whether `.next/BUILD_ID` exists and is newer than every file under `src/` and `next.config.*`.
 * Stops at the first newer file found.
 */
export function webBuildState(webDir: string = webAppDir()): BuildState {
  const buildId = join(webDir, '.next', 'BUILD_ID')
  if (!existsSync(buildId)) return { status: 'missing' }
  const builtAt = statSync(buildId).mtimeMs
  for (const name of readdirSync(webDir)) {
    if (name.startsWith('next.config.') && statSync(join(webDir, name)).mtimeMs > builtAt) {
      return { status: 'stale', newer: join(webDir, name) }
    }
  }
  const newer = newestFile(join(webDir, 'src'), builtAt)
  return newer ? { status: 'stale', newer } : { status: 'fresh' }
}

/** Run `next build` in the web app folder with this Node binary. Rejects when the build fails. */
export function runNextBuild(webDir: string = webAppDir()): Promise<void> {
  const nextBin = createRequire(join(webDir, 'package.json')).resolve('next/dist/bin/next')
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [nextBin, 'build'], {
      cwd: webDir,
      stdio: 'inherit',
      env: childProcessEnv({ NEXT_TELEMETRY_DISABLED: '1' }),
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise()
      else reject(new Error(`next build failed (${signal ?? `exit ${code}`}) in ${webDir}`))
    })
  })
}

/**
 * Build the dashboard unless its build is fresh. Returns what was found, after building.
 * `log` says why a build runs, since it takes a while.
 */
export async function ensureWebBuild(
  log: (line: string) => void,
  webDir: string = webAppDir(),
): Promise<BuildState> {
  const state = webBuildState(webDir)
  if (state.status === 'fresh') return state
  log(
    state.status === 'missing'
      ? 'The dashboard has not been built yet: building it now (next build, about a minute)…'
      : `The dashboard build is older than ${state.newer}: rebuilding it (next build)…`,
  )
  await runNextBuild(webDir)
  return state
}
