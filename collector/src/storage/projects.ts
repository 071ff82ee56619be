import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Storage } from './client'

export interface Project {
  id: string
  name: string
  created_at: string
}

export interface CreatedKey {
  projectId: string
  /** The plaintext key; shown once, stored only as a hash. */
  apiKey: string
  prefix: string
}

/** Keys are 32 random bytes, so a fast unsalted SHA-256 is a safe, constant-cost lookup hash. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex')
}

export function generateApiKey(): string {
  return `hs_${randomBytes(24).toString('base64url')}`
}

/** Projects and their keys. All SQL values are bound as parameters. */
export class ProjectRepository {
  private readonly cache = new Map<string, { projectId: string | null; until: number }>()

  constructor(
    private readonly storage: Storage,
    /** How long an authentication result is cached, in ms. @default 30000 */
    private readonly cacheTtlMs = 30_000,
  ) {}

  private get db() {
    return this.storage.database
  }

  async list(): Promise<Project[]> {
    const result = await this.storage.client.query({
      query: `SELECT id, name, toString(created_at) AS created_at FROM ${this.db}.projects FINAL ORDER BY created_at, id`,
      format: 'JSONEachRow',
    })
    return result.json<Project>()
  }

  async get(id: string): Promise<Project | null> {
    const result = await this.storage.client.query({
      query: `SELECT id, name, toString(created_at) AS created_at FROM ${this.db}.projects FINAL WHERE id = {id:String}`,
      query_params: { id },
      format: 'JSONEachRow',
    })
    return (await result.json<Project>())[0] ?? null
  }

  async findByName(name: string): Promise<Project | null> {
    const result = await this.storage.client.query({
      query: `SELECT id, name, toString(created_at) AS created_at FROM ${this.db}.projects FINAL WHERE name = {name:String} ORDER BY created_at LIMIT 1`,
      query_params: { name },
      format: 'JSONEachRow',
    })
    return (await result.json<Project>())[0] ?? null
  }

  async create(name: string, id: string = randomUUID()): Promise<Project> {
    const now = Date.now()
    await this.storage.client.insert({
      table: `${this.db}.projects`,
      values: [{ id, name, created_at: now, updated_at: now }],
      format: 'JSONEachRow',
    })
    return { id, name, created_at: new Date(now).toISOString() }
  }

  /** Store `apiKey` (or a new random key) for the project; idempotent for the same key. */
  async addKey(projectId: string, apiKey: string = generateApiKey(), name = 'default'): Promise<CreatedKey> {
    const now = Date.now()
    const prefix = apiKey.slice(0, 7)
    await this.storage.client.insert({
      table: `${this.db}.api_keys`,
      values: [
        {
          key_hash: hashApiKey(apiKey),
          key_prefix: prefix,
          project_id: projectId,
          name,
          created_at: now,
          revoked: 0,
          updated_at: now,
        },
      ],
      format: 'JSONEachRow',
    })
    this.cache.delete(hashApiKey(apiKey))
    return { projectId, apiKey, prefix }
  }

  /** The project a key belongs to, or null for an unknown or revoked key. Cached briefly. */
  async authenticate(apiKey: string): Promise<string | null> {
    if (!apiKey || apiKey.length > 200) return null
    const hash = hashApiKey(apiKey)
    const cached = this.cache.get(hash)
    const now = Date.now()
    if (cached && cached.until > now) return cached.projectId
    const result = await this.storage.client.query({
      query: `SELECT project_id FROM ${this.db}.api_keys FINAL WHERE key_hash = {hash:String} AND revoked = 0 LIMIT 1`,
      query_params: { hash },
      format: 'JSONEachRow',
    })
    const projectId = (await result.json<{ project_id: string }>())[0]?.project_id ?? null
    if (this.cache.size > 10_000) this.cache.clear()
    this.cache.set(hash, { projectId, until: now + this.cacheTtlMs })
    return projectId
  }

  /**
   * Create the named project and register `apiKey` for it unless both already exist.
   * Used for headless initialization (HINDSIGHT_INIT_PROJECT / HINDSIGHT_INIT_API_KEY).
   */
  async ensure(
    name: string,
    apiKey?: string,
  ): Promise<{ project: Project; created: boolean; key?: CreatedKey }> {
    let project = await this.findByName(name)
    const owner = apiKey ? await this.authenticate(apiKey) : null
    if (owner && owner !== project?.id) {
      throw new Error(`the API key given for project '${name}' already belongs to another project`)
    }
    const created = !project
    if (!project) project = await this.create(name)
    if (apiKey) {
      if (!owner) return { project, created, key: await this.addKey(project.id, apiKey, 'init') }
      return { project, created, key: { projectId: project.id, apiKey, prefix: apiKey.slice(0, 7) } }
    }
    if (created) return { project, created, key: await this.addKey(project.id) }
    return { project, created }
  }
}
