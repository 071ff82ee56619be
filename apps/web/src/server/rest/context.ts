import type { ProjectRepository, Storage } from '@hindsight/collector/storage'
import type { SpanFilter } from '@hindsight/dashboards'
import type { OpenAPIHono } from '@hono/zod-openapi'

/** What the public API needs from the server it is mounted in. */
export interface PublicApiDeps {
  /** Storage the spans are read from. */
  storage: Storage
  /** Resolves `Authorization: Bearer <key>` to the project every query is scoped to. */
  projects: ProjectRepository
}

/** Request-scoped values set by the auth middleware. */
export interface PublicApiEnv {
  Variables: { projectId: string }
}

export type PublicApiApp = OpenAPIHono<PublicApiEnv>

export const BEARER = { bearerAuth: [] as string[] }

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The requested range, defaulting to the 24 hours before `to` (itself defaulting to now).
 * Returns an error message naming the parameter when the range is empty.
 */
export function resolveRange(query: { from?: string; to?: string }): { from: Date; to: Date } | string {
  const to = query.to ? new Date(query.to) : new Date()
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS)
  if (from.getTime() >= to.getTime()) return 'from: must be before to'
  return { from, to }
}

/** The span filters every read endpoint takes (`filterParams` in schemas.ts), as the read model's filter. */
export function spanFilter(query: {
  model?: string[]
  provider?: string[]
  release?: string[]
  route?: string[]
  name?: string
}): SpanFilter {
  return {
    model: query.model,
    provider: query.provider,
    release: query.release,
    route: query.route,
    name: query.name,
  }
}
