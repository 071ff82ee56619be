import { createHash } from 'node:crypto'
import type { Storage } from '../storage/client'
import { PRICE_TABLE, type PriceEntry, type PriceTable, parsePriceEntry } from './price-table'

/** A project's custom price: a price-table entry plus when it was stored. */
export interface ProjectPrice extends PriceEntry {
  /** 'YYYY-MM-DD hh:mm:ss.fff' UTC. */
  created_at: string
  updated_at: string
}

/** What identifies one custom price of a project. */
export interface ProjectPriceKey {
  provider: string
  model: string
  /** 'YYYY-MM-DD'. */
  effective_from: string
}

/** Chooses the price table a project's spans are priced with (at ingest and when re-pricing). */
export interface PriceTableResolver {
  tableFor(projectId: string): Promise<PriceTable>
}

/** A resolver that gives every project the same table. */
export function staticPriceResolver(table: PriceTable = PRICE_TABLE): PriceTableResolver {
  return { tableFor: () => Promise.resolve(table) }
}

interface StoredPrice {
  provider: string
  model: string
  model_pattern: string
  effective_from: string
  prices: string
  created_at: string
  updated_at: string
}

// Changes made in this process, by database and project: resolvers compare the generation they
// loaded with the current one, so a price stored through the REST API applies to the next
// ingested span at once (other processes see it after the resolver's TTL).
const generations = new Map<string, number>()
const generationKey = (database: string, projectId: string) => `${database}\u0000${projectId}`

function bumpGeneration(database: string, projectId: string): void {
  const key = generationKey(database, projectId)
  generations.set(key, (generations.get(key) ?? 0) + 1)
}

function generationOf(database: string, projectId: string): number {
  return generations.get(generationKey(database, projectId)) ?? 0
}

/** Custom prices a project may hold (each is a candidate the matcher checks per new model). */
export const MAX_PROJECT_PRICES = 1000
/** Longest custom `model_pattern`. */
const MAX_PATTERN_LENGTH = 200

/**
 * Custom patterns run in the shared ingest path, so they must not backtrack catastrophically:
 * refuse backreferences, lookarounds, and a group repeated with `*`, `+` or `{…}` that itself
 * contains a quantifier or an alternation (`(a+)+`, `(\w*x)*`, `(a|ab)+`), the shapes behind
 * exponential matching. An optional group (`(?:x+)?`) is fine. Throws a RangeError.
 */
export function checkSafePattern(pattern: string): void {
  const fail = (why: string) => {
    throw new RangeError(`model_pattern: ${why}`)
  }
  if (pattern.length > MAX_PATTERN_LENGTH) fail(`at most ${MAX_PATTERN_LENGTH} characters`)
  // Per open group: whether the enclosing group already held a quantifier or alternation.
  const groups: boolean[] = []
  let risky = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') {
      if (/[1-9k]/.test(pattern[i + 1] ?? '')) fail('backreferences are not allowed')
      i += 1
    } else if (c === '[') {
      // Skip the class (a ']' right after '[' or '[^' is literal).
      i += pattern[i + 1] === '^' ? 2 : 1
      if (pattern[i] === ']') i += 1
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1
    } else if (c === '(') {
      if (pattern[i + 1] === '?') {
        if (pattern[i + 2] !== ':') fail('only (?:…) groups are allowed')
        i += 2
      }
      groups.push(risky)
      risky = false
    } else if (c === ')') {
      const inner: boolean = risky
      risky = (groups.pop() ?? false) || inner
      if (inner && /[*+{]/.test(pattern[i + 1] ?? '')) {
        fail('a repeated group must not contain quantifiers or alternatives, e.g. (a+)+ or (a|ab)*')
      }
    } else if (c === '*' || c === '+' || c === '{' || c === '?' || c === '|') {
      risky = true
    }
  }
}

/** 'YYYY-MM-DD hh:mm:ss.fff' UTC for a millisecond timestamp. */
function dateTime3(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23)
}

/** Rates and tiers, as stored in the `prices` JSON column. */
function ratesJson(entry: PriceEntry): string {
  const {
    provider: _provider,
    model: _model,
    model_pattern: _pattern,
    effective_from: _from,
    ...rates
  } = entry
  return JSON.stringify(rates)
}

/**
 * A project's custom prices (`project_prices`, migration 2). They take precedence over the
 * built-in table for that project (see {@link ProjectPriceResolver}). Every value is bound as a
 * query parameter; deletes are tombstones, so reads use FINAL.
 */
export class ProjectPriceRepository {
  private lastUpdate = 0

  constructor(
    private readonly storage: Storage,
    /** Where rows that no longer validate are reported (they are skipped). @default console.warn */
    private readonly onInvalid: (message: string) => void = (m) => console.warn(`[hindsight pricing] ${m}`),
  ) {}

  get database(): string {
    return this.storage.database
  }

  /** The project's custom prices, by provider, model, newest effective date first. */
  async list(projectId: string): Promise<ProjectPrice[]> {
    const result = await this.storage.client.query({
      query: `SELECT provider, model, model_pattern, toString(effective_from) AS effective_from, prices,
          toString(created_at) AS created_at, toString(updated_at) AS updated_at
        FROM ${this.database}.project_prices FINAL
        WHERE project_id = {projectId:String} AND deleted = 0
        ORDER BY provider, model, effective_from DESC`,
      query_params: { projectId },
      format: 'JSONEachRow',
    })
    const prices: ProjectPrice[] = []
    for (const row of await result.json<StoredPrice>()) {
      try {
        const rates: unknown = JSON.parse(row.prices)
        const entry = parsePriceEntry({
          ...(typeof rates === 'object' && rates !== null ? rates : {}),
          provider: row.provider,
          model: row.model,
          ...(row.model_pattern !== '' && { model_pattern: row.model_pattern }),
          effective_from: row.effective_from,
        })
        prices.push({ ...entry, created_at: row.created_at, updated_at: row.updated_at })
      } catch (error) {
        this.onInvalid(
          `project ${projectId}: skipping stored price ${row.provider}/${row.model} from ${row.effective_from}: ${(error as Error).message}`,
        )
      }
    }
    return prices
  }

  /**
   * Validate and store one custom price (insert, or replace the one with the same provider,
   * model and effective date). Throws a RangeError naming the bad field for invalid input.
   */
  async upsert(projectId: string, input: unknown): Promise<ProjectPrice> {
    const parsed = parsePriceEntry(input)
    const entry: PriceEntry = {
      ...parsed,
      provider: parsed.provider.trim().toLowerCase(),
      model: parsed.model.trim(),
    }
    if (entry.model_pattern !== undefined) checkSafePattern(entry.model_pattern)
    const all = await this.list(projectId)
    const existing = all.find(
      (p) =>
        p.provider === entry.provider && p.model === entry.model && p.effective_from === entry.effective_from,
    )
    if (!existing && all.length >= MAX_PROJECT_PRICES) {
      throw new RangeError(
        `price: a project has at most ${MAX_PROJECT_PRICES} custom prices; delete some first`,
      )
    }
    const now = this.nextTimestamp()
    const createdAt = existing?.created_at ?? dateTime3(now)
    await this.storage.client.insert({
      table: `${this.database}.project_prices`,
      values: [
        {
          project_id: projectId,
          provider: entry.provider,
          model: entry.model,
          model_pattern: entry.model_pattern ?? '',
          effective_from: entry.effective_from,
          prices: ratesJson(entry),
          created_at: createdAt,
          updated_at: dateTime3(now),
          deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    })
    bumpGeneration(this.database, projectId)
    return { ...entry, created_at: createdAt, updated_at: dateTime3(now) }
  }

  /** Remove one custom price; false when the project has no such price. */
  async delete(projectId: string, key: ProjectPriceKey): Promise<boolean> {
    const normalized = { ...key, provider: key.provider.trim().toLowerCase(), model: key.model.trim() }
    const existing = await this.find(projectId, normalized)
    if (!existing) return false
    const now = this.nextTimestamp()
    await this.storage.client.insert({
      table: `${this.database}.project_prices`,
      values: [
        {
          project_id: projectId,
          provider: normalized.provider,
          model: normalized.model,
          model_pattern: '',
          effective_from: normalized.effective_from,
          prices: '{}',
          created_at: existing.created_at,
          updated_at: dateTime3(now),
          deleted: 1,
        },
      ],
      format: 'JSONEachRow',
    })
    bumpGeneration(this.database, projectId)
    return true
  }

  private async find(projectId: string, key: ProjectPriceKey): Promise<ProjectPrice | null> {
    const all = await this.list(projectId)
    return (
      all.find(
        (p) =>
          p.provider === key.provider && p.model === key.model && p.effective_from === key.effective_from,
      ) ?? null
    )
  }

  /** Strictly increasing per repository, so two quick writes never tie on the version column. */
  private nextTimestamp(): number {
    this.lastUpdate = Math.max(Date.now(), this.lastUpdate + 1)
    return this.lastUpdate
  }
}

export interface ProjectPriceResolverOptions {
  /** The built-in table custom prices are layered on. @default PRICE_TABLE */
  base?: PriceTable
  /**
   * How long a project's table is reused before its custom prices are read again. Changes made
   * through a repository in this process apply at once; other processes see them after this.
   * @default 10000
   */
  ttlMs?: number
  /**
   * Once a table is older than `ttlMs`, keep answering with it while it is re-read in the
   * background (ingest never waits on storage for a table it already has). @default false
   */
  staleWhileRefresh?: boolean
  /**
   * When custom prices cannot be read and no earlier table exists: 'throw' the error, or use the
   * 'base' table (ingest keeps accepting spans; re-price later to apply custom prices). @default 'throw'
   */
  fallback?: 'throw' | 'base'
  /** With `fallback: 'base'`, how long the first read of a project may take before the base table is used. @default 2000 */
  loadTimeoutMs?: number
  /** Where read failures that were absorbed (stale or base table used) are reported. @default console.warn */
  onError?: (message: string, error: unknown) => void
  /** Projects kept in the cache. @default 10000 */
  maxProjects?: number
  /** Clock, for tests. @default Date.now */
  now?: () => number
}

interface CachedTable {
  table: PriceTable
  until: number
  generation: number
}

/** Version recorded on spans priced with a project's custom prices: a digest of those prices. */
export function customPriceVersion(entries: PriceEntry[]): string {
  return `custom-${createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 12)}`
}

/** How long the base table stands in for a project whose custom prices could not be read. */
const FALLBACK_RETRY_MS = 1000

/**
 * The effective price table of each project: its custom prices as overrides on the built-in
 * table (a custom entry in effect at a span's start beats any built-in one). Tables are cached
 * per project for `ttlMs`; concurrent lookups share one read. When a read fails, the project's
 * last table is kept a while longer; without one, `fallback` decides.
 */
export class ProjectPriceResolver implements PriceTableResolver {
  private readonly cache = new Map<string, CachedTable>()
  private readonly loading = new Map<string, Promise<PriceTable>>()
  private readonly base: PriceTable
  private readonly ttlMs: number
  private readonly staleWhileRefresh: boolean
  private readonly fallback: 'throw' | 'base'
  private readonly loadTimeoutMs: number
  private readonly onError: (message: string, error: unknown) => void
  private readonly maxProjects: number
  private readonly now: () => number

  constructor(
    private readonly prices: Pick<ProjectPriceRepository, 'list' | 'database'>,
    options: ProjectPriceResolverOptions = {},
  ) {
    this.base = options.base ?? PRICE_TABLE
    this.ttlMs = options.ttlMs ?? 10_000
    this.staleWhileRefresh = options.staleWhileRefresh ?? false
    this.fallback = options.fallback ?? 'throw'
    this.loadTimeoutMs = options.loadTimeoutMs ?? 2000
    this.onError =
      options.onError ?? ((message, error) => console.warn(`[hindsight pricing] ${message}`, error))
    this.maxProjects = options.maxProjects ?? 10_000
    this.now = options.now ?? Date.now
  }

  tableFor(projectId: string): Promise<PriceTable> {
    const cached = this.cache.get(projectId)
    const generation = generationOf(this.prices.database, projectId)
    // A change made in this process is always awaited, so it applies to the very next span.
    const current = cached !== undefined && cached.generation === generation
    if (current && cached.until > this.now()) return Promise.resolve(cached.table)
    if (current && this.staleWhileRefresh) {
      this.refresh(projectId, generation).catch(() => {})
      return Promise.resolve(cached.table)
    }
    const loading = this.refresh(projectId, generation)
    if (this.fallback === 'throw') return loading
    return new Promise<PriceTable>((resolve) => {
      let settled = false
      const useBase = (error: unknown) => {
        if (settled) return
        settled = true
        this.onError(`custom prices of project ${projectId} unavailable; using the built-in table`, error)
        this.cache.set(projectId, { table: this.base, until: this.now() + FALLBACK_RETRY_MS, generation })
        resolve(this.base)
      }
      const timer = setTimeout(
        () => useBase(new Error(`no answer in ${this.loadTimeoutMs} ms`)),
        this.loadTimeoutMs,
      )
      timer.unref()
      loading.then(
        (table) => {
          clearTimeout(timer)
          settled = true
          resolve(table)
        },
        (error: unknown) => {
          clearTimeout(timer)
          useBase(error)
        },
      )
    })
  }

  /** Forget cached tables (one project, or all). */
  invalidate(projectId?: string): void {
    if (projectId === undefined) this.cache.clear()
    else this.cache.delete(projectId)
  }

  /** Read a project's custom prices (one read at a time per project) and cache its table. */
  private refresh(projectId: string, generation: number): Promise<PriceTable> {
    let pending = this.loading.get(projectId)
    if (!pending) {
      pending = this.load(projectId, generation).finally(() => this.loading.delete(projectId))
      this.loading.set(projectId, pending)
    }
    return pending
  }

  private async load(projectId: string, generation: number): Promise<PriceTable> {
    const previous = this.cache.get(projectId)
    let table: PriceTable
    try {
      table = this.layer(await this.prices.list(projectId), previous?.table)
    } catch (error) {
      if (!previous) throw error
      this.onError(`re-reading custom prices of project ${projectId} failed; keeping the last table`, error)
      previous.until = this.now() + this.ttlMs
      return previous.table
    }
    if (this.cache.size >= this.maxProjects && !this.cache.has(projectId)) this.cache.clear()
    this.cache.set(projectId, { table, until: this.now() + this.ttlMs, generation })
    return table
  }

  private layer(custom: ProjectPrice[], previous: PriceTable | undefined): PriceTable {
    if (custom.length === 0) return this.base
    const entries = custom.map(({ created_at: _c, updated_at: _u, ...entry }) => entry)
    const version = customPriceVersion(entries)
    // The same prices keep the same table object, and with it the matcher's compiled caches.
    if (previous?.overrides?.version === version) return previous
    return { ...this.base, overrides: { version, entries } }
  }
}

/**
 * The resolver ingest uses: custom prices from `storage` over `base`, answering from cache while
 * re-reading in the background, and with the built-in table when custom prices cannot be read
 * (so a storage outage never turns spans away; `repriceSpans` applies custom prices later).
 */
export function ingestPriceResolver(
  storage: Storage,
  options: { base?: PriceTable; onError?: (message: string, error: unknown) => void } = {},
): ProjectPriceResolver {
  return new ProjectPriceResolver(new ProjectPriceRepository(storage), {
    ...options,
    staleWhileRefresh: true,
    fallback: 'base',
  })
}

const readResolvers = new WeakMap<Storage, ProjectPriceResolver>()

/**
 * The resolver reads use (re-pricing, cache savings): one per storage in the process, so every
 * endpoint shares its cache of project tables. A price stored through any repository in this
 * process applies at once (see the generations above).
 */
export function readPriceResolver(storage: Storage): ProjectPriceResolver {
  let resolver = readResolvers.get(storage)
  if (!resolver) {
    resolver = new ProjectPriceResolver(new ProjectPriceRepository(storage))
    readResolvers.set(storage, resolver)
  }
  return resolver
}
