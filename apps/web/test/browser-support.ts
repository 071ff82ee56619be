/**
 * Shared set-up of the browser tests: the production build they need, and Debian's Chromium launched
 * the way this closed-network machine requires (no background networking, no sandbox as root).
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const RESULTS = join(WEB_DIR, 'test-results')
export const CHROMIUM = '/usr/bin/chromium'

/**
 * `false` when the production build exists. Without it a developer's run skips loudly; under CI the
 * test command has just built the app, so a missing build is an error, never a silent skip.
 */
export function browserTestSkip(label: string): false | string {
  if (existsSync(join(WEB_DIR, '.next', 'BUILD_ID'))) return false
  const reason =
    'apps/web/.next/BUILD_ID is missing: run `pnpm --filter @hindsight/web build` (pnpm test builds first)'
  if (process.env.CI) throw new Error(`${label}: ${reason}`)
  console.warn(`\n${'!'.repeat(100)}\n!!! ${label} SKIPPED: ${reason}\n${'!'.repeat(100)}\n`)
  return reason
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
