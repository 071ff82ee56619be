/**
 * What a local install remembers outside the database, in the data directory:
 * - `credentials.json` (mode 0600): `{ [projectId]: plaintextKey }` for keys this machine created,
 *   so the dashboard's setup snippet can show them on later starts (the database keeps hashes only);
 * - `state.json`: which project is the Demo project, so `hindsight demo` beside a running
 *   `hindsight start` finds its key without opening the (process-bound) embedded database.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'

const credentialsSchema = z.record(z.string(), z.string())
const stateSchema = z.object({ demoProjectId: z.string().optional() })

export type Credentials = z.infer<typeof credentialsSchema>
export type LocalState = z.infer<typeof stateSchema>

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'credentials.json')
}

function statePath(dataDir: string): string {
  return join(dataDir, 'state.json')
}

function readJson<T>(path: string, schema: z.ZodType<T>, fallback: T): T {
  if (!existsSync(path)) return fallback
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}); fix or delete it`)
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new Error(`${path} has an unexpected shape; fix or delete it`)
  return parsed.data
}

/** Write via a temp file and rename, so a crash never leaves half a file; 0600 from creation. */
function writeJsonPrivate(path: string, value: unknown): void {
  const dir = join(path, '..')
  mkdirSync(dir, { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

export function readCredentials(dataDir: string): Credentials {
  return readJson(credentialsPath(dataDir), credentialsSchema, {})
}

/** Remember a plaintext key for a project (one key per project: the newest wins). */
export function saveCredential(dataDir: string, projectId: string, apiKey: string): void {
  const all = readCredentials(dataDir)
  all[projectId] = apiKey
  writeJsonPrivate(credentialsPath(dataDir), all)
}

export function readLocalState(dataDir: string): LocalState {
  return readJson(statePath(dataDir), stateSchema, {})
}

export function saveLocalState(dataDir: string, patch: Partial<LocalState>): void {
  writeJsonPrivate(statePath(dataDir), { ...readLocalState(dataDir), ...patch })
}
