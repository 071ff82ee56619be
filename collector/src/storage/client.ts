import { type ClickHouseClient, createClient } from '@clickhouse/client'

export interface StorageOptions {
  /** Embedded engine data directory (used when `url` is not set). @default './.hindsight' */
  dataDir?: string
  /** ClickHouse server URL, e.g. `http://localhost:8123`; switches from embedded to server mode. */
  url?: string
  user?: string
  password?: string
  /** Database holding Hindsight's tables. @default 'hindsight' */
  database?: string
}

export interface Storage {
  client: ClickHouseClient
  /** Database name, already validated as an identifier. */
  database: string
  mode: 'embedded' | 'server'
  close(): Promise<void>
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * The one entry point to ClickHouse. Embedded mode loads chDB in this process (one data
 * directory per process); server mode talks HTTP to `url`. Both use the same client API.
 */
export async function createStorage(options: StorageOptions = {}): Promise<Storage> {
  const database = options.database ?? 'hindsight'
  if (!IDENTIFIER.test(database)) {
    throw new Error(`invalid database name '${database}': use letters, digits and '_' only`)
  }
  if (options.url) {
    const client = createClient({
      url: options.url,
      username: options.user ?? 'default',
      password: options.password ?? '',
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    })
    return { client, database, mode: 'server', close: () => client.close() }
  }
  const dataDir = options.dataDir ?? './.hindsight'
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: dataDir })
  // chdb's connection implements @clickhouse/client's Connection; its declared type comes from
  // client-common, which can differ in minor version from the client we depend on.
  const client = createClient({ connection } as unknown as Parameters<typeof createClient>[0])
  return { client, database, mode: 'embedded', close: () => client.close() }
}
