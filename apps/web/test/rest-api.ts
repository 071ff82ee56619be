/**
 * The public REST API for tests: a fresh real embedded engine (migrated, in a temporary folder),
 * projects with their keys, optional seed data, and the API mounted the way the web server mounts
 * it. `close()` closes the engine and removes the folder.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, migrate, ProjectRepository, type Storage } from '@hindsight/collector/storage'
import { Hono } from 'hono'
import { createPublicApi, PUBLIC_API_BASE } from '../src/server/rest/index'

export interface RestApiFixture<P extends string = string> {
  storage: Storage
  app: Hono
  /** Project id by project name, for each of `projects`. */
  projectIds: Record<P, string>
  close(): Promise<void>
}

/**
 * `database` names the engine database (unique per test file; the temporary folder is named after it);
 * `projects` maps each project name to its key; `seed` writes the test's data before the API is mounted.
 */
export async function openRestApi<P extends string>(
  database: string,
  projects: Record<P, string>,
  seed?: (storage: Storage, projectIds: Record<P, string>) => Promise<void>,
): Promise<RestApiFixture<P>> {
  const dir = mkdtempSync(join(tmpdir(), `${database.replaceAll('_', '-')}-`))
  const storage = await createStorage({ dataDir: dir, database })
  try {
    await migrate(storage)
    const repository = new ProjectRepository(storage, 0)
    const projectIds = {} as Record<P, string>
    for (const name of Object.keys(projects) as P[]) {
      projectIds[name] = (await repository.ensure(name, projects[name])).project.id
    }
    await seed?.(storage, projectIds)
    const app = new Hono()
    app.route(PUBLIC_API_BASE, createPublicApi({ storage, projects: repository }))
    return {
      storage,
      app,
      projectIds,
      close: async () => {
        await storage.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await storage.close()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * One request to the API with the key as bearer token; a body is sent as JSON. The answer's body is
 * parsed JSON (`null` when empty), untyped as tests read its fields freely.
 */
export async function requestJson(app: Hono, method: string, path: string, body: unknown, key: string) {
  const res = await app.request(`${PUBLIC_API_BASE}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/** Narrows JSON without a schema: tests fail with a clear message when the shape is wrong. */
export function obj(value: unknown): Record<string, unknown> {
  assert.ok(
    value !== null && typeof value === 'object' && !Array.isArray(value),
    `object: ${JSON.stringify(value)}`,
  )
  return value as Record<string, unknown>
}

export function arr(value: unknown): Record<string, unknown>[] {
  assert.ok(Array.isArray(value), `array: ${JSON.stringify(value)}`)
  return value.map(obj)
}

/** The `error` of an error answer's body: its code and (asserted string) message. */
export function errorOf(body: unknown): { code: unknown; message: string } {
  const error = obj(obj(body).error)
  assert.equal(typeof error.message, 'string')
  return { code: error.code, message: String(error.message) }
}
