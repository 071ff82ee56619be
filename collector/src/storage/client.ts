import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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
 * Server configuration of the embedded engine (written beside its data as `engine-config.xml`).
 * `min_bytes_for_wide_part`: parts smaller than 128 MiB (uncompressed) are written in the compact
 * format, one data file for all columns, instead of the wide format's files per column (~50 for
 * `spans`, with its maps). Every span insert creates such a part: measured on the ingest
 * benchmark's rows, the engine's system CPU per inserted row fell from ~15 to ~2.5 µs (user CPU
 * unchanged), about 45% of the insert's CPU. Merges still produce wide parts once they are large
 * enough, which is what queries over big parts want. `merge_selector_base` 40 (default 5): merges
 * wait for more parts of similar size and combine them at once, so each row is rewritten fewer times
 * on its way to a large part — measured over the ingest benchmark's 180 s: 5 → 10 took 2.6 → 1.9
 * rewrites per inserted row and merge CPU 18 → 13–15 µs per span; 10 → 20 took merge CPU to 10–12
 * µs per span (two runs each; ~30% fewer merges); 20 → 40 took 1.8 → 1.48 rewrites per row, merge
 * CPU ~10.5 → ~8.4 µs and the collector's CPU 43–46 → 40 µs per span, and sustained ingest up 6–8%
 * (two runs each) — for more active parts between merges (up to ~40 under that load instead of
 * ~30). (Server mode: `infra/clickhouse/merge-tree.xml` sets the same MergeTree settings in the
 * server's configuration.)
 * `max_thread_pool_free_size` 16 (default 1,000): the engine's global thread pool keeps at most 16
 * idle threads. Under the ingest benchmark's load, about 90 s in, one burst of work starts ~125 pool
 * threads at once; with the default they all stay, idle, and the process keeps ~100–150 MiB of
 * their stacks and allocator caches for good (the RSS floor rose by that much and never came
 * back). With 16 the extra threads exit after the burst: the RSS floors of the 3-minute load no
 * longer climb (slope +78 MiB/min before; −13 to +40 after, the allocator's swing), at the same CPU
 * per span. Steady ingest uses ~8 pool threads.
 */
export const EMBEDDED_ENGINE_CONFIG = `<clickhouse>
  <max_thread_pool_free_size>16</max_thread_pool_free_size>
  <merge_tree>
    <min_bytes_for_wide_part>134217728</min_bytes_for_wide_part>
    <merge_selector_base>40</merge_selector_base>
  </merge_tree>
</clickhouse>
`

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
  const { Session } = await import('chdb')
  const { createChdbConnection } = await import('chdb/connection')
  // The engine is process-wide and configured by the first connection to its data directory:
  // open one with the configuration, attach the client's connection to the same engine, and
  // close the first (the engine lives on with the client's). If the engine is already running in
  // this process, it keeps the configuration it started with.
  mkdirSync(dataDir, { recursive: true })
  const configFile = join(dataDir, 'engine-config.xml')
  writeFileSync(configFile, EMBEDDED_ENGINE_CONFIG, { mode: 0o600 })
  const starter = new Session(dataDir, { connectionArgs: [`--config-file=${configFile}`] })
  let connection: ReturnType<typeof createChdbConnection>
  try {
    connection = createChdbConnection({ path: dataDir })
  } finally {
    starter.close()
  }
  // chdb's connection implements @clickhouse/client's Connection; its declared type comes from
  // client-common, which can differ in minor version from the client we depend on.
  const client = createClient({ connection } as unknown as Parameters<typeof createClient>[0])
  return { client, database, mode: 'embedded', close: () => client.close() }
}
