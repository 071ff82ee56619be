/**
 * The dashboard's one Node process: the public REST API, the tRPC API the pages use, and the
 * Next.js app, behind one node:http server. Embedded ClickHouse binds one data directory per
 * process, so everything that reads it must live here (ARCHITECTURE.md, "Storage").
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProjectRepository, Storage } from '@hindsight/collector/storage'
import { getRequestListener } from '@hono/node-server'
import { fetchRequestHandler } from '@trpc/server/adapters/fetch'
import { Hono } from 'hono'
import { createPublicApi, PUBLIC_API_BASE } from './rest'
import { appRouter } from './trpc/router'
import type { TrpcContext } from './trpc/trpc'

export type { AppRouter } from './trpc/router'

export interface WebServerOptions {
  storage: Storage
  projects: ProjectRepository
  /**
   * Interface to bind. Only loopback is accepted: there is no login yet.
   * @default '127.0.0.1'
   */
  host?: string
  /** Port to listen on; 0 picks a free one. @default 3000 */
  port?: number
  /** OTLP/HTTP base URL shown in the setup instructions, e.g. 'http://127.0.0.1:4318'. */
  otlpEndpoint: string
  /**
   * projectId → plaintext API key this process knows (keys are stored hashed), so an empty
   * project's setup snippet can be copied as is. @default {}
   */
  knownKeys?: Record<string, string>
  /** Serve the Next.js pages; false serves the APIs only (fast tests). @default true */
  next?: boolean
  /** Run Next in dev mode (compile on request) instead of the build in apps/web/.next. @default false */
  dev?: boolean
}

export interface WebServer {
  /** Base URL, e.g. 'http://127.0.0.1:3000'. */
  url: string
  port: number
  close(): Promise<void>
}

export const TRPC_ENDPOINT = '/api/trpc'

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]'])

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase()
  if (LOOPBACK_NAMES.has(h)) return true
  // The whole 127.0.0.0/8 block is loopback, not just 127.0.0.1.
  return /^127(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(h)
}

/** The app directory (apps/web), where Next finds its build and config. */
const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Start the dashboard server; resolves once it accepts connections (and Next is prepared). */
export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const host = o.host ?? '127.0.0.1'
  if (!isLoopbackHost(host)) {
    throw new Error(
      `refusing to serve the dashboard on '${host}': there is no login yet, so the dashboard binds to loopback only; set HINDSIGHT_HOST to 127.0.0.1/localhost/::1`,
    )
  }
  const context: TrpcContext = {
    storage: o.storage,
    projects: o.projects,
    otlpEndpoint: o.otlpEndpoint,
    knownKeys: { ...(o.knownKeys ?? {}) },
  }
  // Next installs its own fetch/Request handling in this process; keep Node's globals untouched.
  const listenerOptions = { overrideGlobalObjects: false }
  const trpc = getRequestListener(
    (req) =>
      fetchRequestHandler({
        endpoint: TRPC_ENDPOINT,
        req,
        router: appRouter,
        createContext: () => context,
        onError({ error, path }) {
          if (error.code === 'INTERNAL_SERVER_ERROR')
            console.error(`tRPC ${path ?? '?'} failed:`, error.cause ?? error)
        },
      }),
    listenerOptions,
  )
  // The REST app's routes are relative to its base; mounting it keeps both sides agreeing on it.
  const publicApi = new Hono().route(
    PUBLIC_API_BASE,
    createPublicApi({ storage: o.storage, projects: o.projects }),
  )
  const rest = getRequestListener((req) => publicApi.fetch(req), listenerOptions)

  let pages: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/'
    const done = (p: Promise<void>) =>
      p.catch((error: unknown) => {
        console.error(`request ${req.method} ${path} failed:`, error)
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('internal error')
      })
    if (path === PUBLIC_API_BASE || path.startsWith(`${PUBLIC_API_BASE}/`)) return void done(rest(req, res))
    if (path === TRPC_ENDPOINT || path.startsWith(`${TRPC_ENDPOINT}/`)) return void done(trpc(req, res))
    if (pages) return void done(pages(req, res))
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
    res.end(
      `not found: the dashboard pages are not served by this process (next: false); APIs are under ${TRPC_ENDPOINT} and ${PUBLIC_API_BASE}\n`,
    )
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port ?? 3000, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`

  let closeNext: (() => Promise<void>) | null = null
  if (o.next ?? true) {
    try {
      const started = await startNext({ dev: o.dev ?? false, hostname: host, port, server })
      pages = started.handle
      closeNext = started.close
    } catch (error) {
      await closeServer(server)
      throw error
    }
  }

  return {
    url,
    port,
    async close() {
      await closeServer(server)
      await closeNext?.()
    },
  }
}

async function startNext(o: {
  dev: boolean
  hostname: string
  port: number
  server: ReturnType<typeof createServer>
}): Promise<{
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>
  close: () => Promise<void>
}> {
  // React and Next pick their production or development builds from NODE_ENV when first loaded.
  // (Next's types declare NODE_ENV read-only; it is an ordinary variable at this point.)
  if (!process.env.NODE_ENV) Reflect.set(process.env, 'NODE_ENV', o.dev ? 'development' : 'production')
  // Loaded lazily: API-only servers (and their tests) never pay for Next.
  const { default: next } = await import('next')
  const app = next({ dev: o.dev, dir: APP_DIR, hostname: o.hostname, port: o.port, httpServer: o.server })
  try {
    await app.prepare()
  } catch (error) {
    const hint = o.dev ? '' : ' (is there a production build? run `pnpm --filter @hindsight/web build`)'
    throw new Error(`the dashboard could not start Next.js from ${APP_DIR}${hint}: ${String(error)}`, {
      cause: error,
    })
  }
  if (o.dev) {
    const upgrade = app.getUpgradeHandler()
    o.server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head))
  }
  const handle = app.getRequestHandler()
  return { handle: (req, res) => handle(req, res), close: () => app.close() }
}

function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    // Keep-alive connections (browsers, fetch) would otherwise hold close() open.
    server.closeAllConnections()
  })
}
