/**
 * Shared set-up of the browser tests: the production build they need, and Debian's Chromium launched
 * the way this closed-network machine requires (no background networking, no sandbox as root).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { type Browser, chromium, type Page } from 'playwright-core'
import { startWebServer, type WebServer, type WebServerOptions } from '../src/server/index'

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

function launchChromium(): Promise<Browser> {
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

/**
 * The storage, web server and browser every browser test runs against: a fresh embedded engine in a
 * temp dir (migrated, one project repository), the production server on a free port, and Chromium.
 * Create it, seed through `storage`/`projects`, then `start()`; `close()` tears everything down.
 */
export class BrowserHarness {
  readonly pageErrors: string[] = []
  #server: WebServer | undefined
  #browser: Browser | undefined

  private constructor(
    readonly dir: string,
    readonly storage: Storage,
    readonly projects: ProjectRepository,
  ) {}

  static async create(name: string): Promise<BrowserHarness> {
    const dir = mkdtempSync(join(tmpdir(), `hs-web-${name}-`))
    const storage = await createStorage({ dataDir: dir, database: `hs_web_${name.replaceAll('-', '_')}` })
    await migrate(storage)
    return new BrowserHarness(dir, storage, new ProjectRepository(storage, 0))
  }

  get server(): WebServer {
    if (!this.#server) throw new Error('BrowserHarness.start() has not run')
    return this.#server
  }

  get browser(): Browser {
    if (!this.#browser) throw new Error('BrowserHarness.start() has not run')
    return this.#browser
  }

  async start(options: Pick<WebServerOptions, 'knownKeys'> = {}): Promise<void> {
    this.#server = await startWebServer({
      storage: this.storage,
      projects: this.projects,
      port: 0,
      otlpEndpoint: 'http://127.0.0.1:4318',
      ...options,
    })
    this.#browser = await launchChromium()
    mkdirSync(RESULTS, { recursive: true })
  }

  /**
   * A new page at `path`, its uncaught errors collected in `pageErrors`. `before` runs on the blank
   * page first (e.g. `page.clock.install()`, which must precede the page's scripts).
   */
  async open(
    path: string,
    viewport = { width: 1440, height: 1000 },
    before?: (page: Page) => Promise<void>,
  ): Promise<Page> {
    const page = await this.browser.newPage({ viewport })
    page.on('pageerror', (error) => this.pageErrors.push(`${path}: ${error.message}`))
    await before?.(page)
    await page.goto(`${this.server.url}${path}`, { waitUntil: 'domcontentloaded' })
    return page
  }

  async close(): Promise<void> {
    await this.#browser?.close()
    await this.#server?.close()
    await this.storage.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
