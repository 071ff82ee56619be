import type { Storage } from './client'

/**
 * Numbered, idempotent migrations. Each statement uses IF NOT EXISTS (or is otherwise safe to
 * repeat), and applied versions are recorded in `schema_migrations`, so running `migrate`
 * twice, or from two processes, leaves the same schema. `{db}` is replaced by the validated
 * database name (identifiers cannot be bound as query parameters).
 */
export interface Migration {
  version: number
  name: string
  statements: string[]
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'projects, api keys and spans',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.projects (
        id String,
        name String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS {db}.api_keys (
        key_hash String,
        key_prefix String,
        project_id String,
        name String,
        created_at DateTime64(3, 'UTC'),
        revoked UInt8 DEFAULT 0,
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY key_hash`,
      `CREATE TABLE IF NOT EXISTS {db}.spans (
        project_id LowCardinality(String),
        trace_id String,
        span_id String,
        parent_span_id String,
        name String,
        kind LowCardinality(String),
        service_name LowCardinality(String),
        environment LowCardinality(String),
        release LowCardinality(String),
        route LowCardinality(String),
        operation LowCardinality(String),
        provider LowCardinality(String),
        model LowCardinality(String),
        request_model LowCardinality(String),
        input_tokens UInt64,
        output_tokens UInt64,
        cache_read_tokens UInt64,
        cache_write_tokens UInt64,
        reasoning_tokens UInt64,
        cost_usd Nullable(Decimal(18, 9)),
        price_version LowCardinality(String),
        pricing_note LowCardinality(String),
        start_time DateTime64(6, 'UTC'),
        end_time DateTime64(6, 'UTC'),
        duration_ms Float64,
        ttft_ms Nullable(Float64),
        status LowCardinality(String),
        status_message String,
        error_type LowCardinality(String),
        user_id String,
        session_id String,
        input String CODEC(ZSTD(3)),
        output String CODEC(ZSTD(3)),
        attributes Map(String, String) CODEC(ZSTD(3)),
        resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
        scope_name LowCardinality(String),
        ingested_at DateTime64(3, 'UTC'),
        INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 4
      ) ENGINE = ReplacingMergeTree(ingested_at)
      PARTITION BY toYYYYMM(start_time)
      ORDER BY (project_id, toStartOfHour(start_time), trace_id, span_id)`,
    ],
  },
]

/** Apply every migration not yet recorded. Safe to call on every start. */
export async function migrate(storage: Storage): Promise<number[]> {
  const { client, database } = storage
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` })
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  })
  const result = await client.query({
    query: `SELECT DISTINCT version FROM ${database}.schema_migrations`,
    format: 'JSONEachRow',
  })
  const done = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)))
  const applied: number[] = []
  for (const migration of MIGRATIONS) {
    if (done.has(migration.version)) continue
    for (const statement of migration.statements) {
      await client.command({ query: statement.replaceAll('{db}', database) })
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name, applied_at: Date.now() }],
      format: 'JSONEachRow',
    })
    applied.push(migration.version)
  }
  return applied
}
