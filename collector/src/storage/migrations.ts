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
  {
    version: 2,
    name: 'project prices and project settings (retention)',
    statements: [
      // A project's custom prices (pricing/project-prices.ts). One row per (provider, model,
      // effective_from); `prices` is the JSON of the rates (and tiers); deletes are tombstones.
      `CREATE TABLE IF NOT EXISTS {db}.project_prices (
        project_id String,
        provider String,
        model String,
        model_pattern String,
        effective_from Date,
        prices String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, provider, model, effective_from)`,
      // Per-project settings (retention/settings.ts); NULL = the instance default, which the
      // collector records under project_id ''.
      `CREATE TABLE IF NOT EXISTS {db}.project_settings (
        project_id String,
        retention_days Nullable(UInt32),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY project_id`,
    ],
  },
  {
    version: 3,
    name: 'scores, score configs, datasets and dataset items (quality)',
    statements: [
      // One score per row (quality/src/scores). `value` holds numbers and booleans (0/1) and a
      // categorical score's category index; `string_value` its label. A re-sent id replaces the
      // row; `status = 'failed'` records an evaluation that could not score (reason in `comment`).
      `CREATE TABLE IF NOT EXISTS {db}.scores (
        project_id LowCardinality(String),
        id String,
        trace_id String,
        span_id String,
        name LowCardinality(String),
        value Float64,
        string_value String,
        data_type LowCardinality(String),
        source LowCardinality(String),
        status LowCardinality(String),
        comment String,
        author String,
        evaluator LowCardinality(String),
        config_id String,
        dataset_id String,
        dataset_item_id String,
        dataset_version UInt64,
        eval_model LowCardinality(String),
        eval_input_tokens UInt64,
        eval_output_tokens UInt64,
        eval_cost_usd Nullable(Decimal(18, 9)),
        eval_latency_ms Nullable(Float64),
        metadata Map(String, String),
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 4
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
      `CREATE TABLE IF NOT EXISTS {db}.score_configs (
        project_id String,
        name String,
        id String,
        data_type LowCardinality(String),
        min_value Nullable(Float64),
        max_value Nullable(Float64),
        categories Array(String),
        description String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, name)`,
      // `version` is the dataset's current version: incremented on every change to its items.
      `CREATE TABLE IF NOT EXISTS {db}.datasets (
        project_id String,
        id String,
        name String,
        description String,
        version UInt64,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
      // Append-only item history: a change writes a row at the new dataset version; the snapshot
      // at version V is, per item, its newest row with version <= V that is not a deletion.
      `CREATE TABLE IF NOT EXISTS {db}.dataset_items (
        project_id String,
        dataset_id String,
        id String,
        version UInt64,
        deleted UInt8 DEFAULT 0,
        input String CODEC(ZSTD(3)),
        expected_output String CODEC(ZSTD(3)),
        recorded_output String CODEC(ZSTD(3)),
        metadata String CODEC(ZSTD(3)),
        source_trace_id String,
        source_span_id String,
        created_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(created_at) ORDER BY (project_id, dataset_id, id, version)`,
    ],
  },
  {
    version: 4,
    name: 'back-tests: frozen cohorts and back-test runs',
    statements: [
      // A cohort (backtest/src/cohort.ts): the filter and sample that chose it, frozen as the
      // list of its trace ids in cohort_traces, so a back-test is reproducible.
      `CREATE TABLE IF NOT EXISTS {db}.cohorts (
        project_id String,
        id String,
        definition String,
        range_from DateTime64(6, 'UTC'),
        range_to DateTime64(6, 'UTC'),
        trace_count UInt64,
        created_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(created_at) ORDER BY (project_id, id)`,
      `CREATE TABLE IF NOT EXISTS {db}.cohort_traces (
        project_id String,
        cohort_id String,
        trace_id String,
        stratum String
      ) ENGINE = ReplacingMergeTree ORDER BY (project_id, cohort_id, trace_id)`,
      // One back-test run (backtest/src/store.ts): request, status and progress, and the report
      // JSON once done; every update writes a newer row (read with FINAL).
      `CREATE TABLE IF NOT EXISTS {db}.backtests (
        project_id String,
        id String,
        cohort_id String,
        mode LowCardinality(String),
        status LowCardinality(String),
        progress Float64,
        message String,
        request String CODEC(ZSTD(3)),
        report String CODEC(ZSTD(3)),
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
    ],
  },
  {
    version: 5,
    name: 'online evaluation rules, annotation queues, objectives (quality)',
    statements: [
      // quality/src/online: a rule (filter, sampling rate, evaluators as JSON); every change
      // writes a newer row (read with FINAL); `deleted` hides it.
      `CREATE TABLE IF NOT EXISTS {db}.evaluation_rules (
        project_id String,
        id String,
        name String,
        definition String,
        enabled UInt8,
        deleted UInt8 DEFAULT 0,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
      // A rule's persisted watermark (last processed trace by its last ingestion time) and counters.
      `CREATE TABLE IF NOT EXISTS {db}.evaluation_rule_state (
        project_id String,
        rule_id String,
        watermark_time DateTime64(6, 'UTC'),
        watermark_trace String,
        processed UInt64,
        sampled_out UInt64,
        scored UInt64,
        failures UInt64,
        last_run_at DateTime64(3, 'UTC'),
        last_error String,
        updated_at DateTime64(6, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, rule_id)`,
      `CREATE TABLE IF NOT EXISTS {db}.evaluation_failures (
        project_id String,
        rule_id String,
        trace_id String,
        evaluator String,
        reason String,
        created_at DateTime64(3, 'UTC')
      ) ENGINE = MergeTree ORDER BY (project_id, rule_id, created_at)
      TTL toDateTime(created_at) + INTERVAL 30 DAY`,
      // quality/src/annotation: a queue = a trace filter, the score names to ask, a dataset.
      `CREATE TABLE IF NOT EXISTS {db}.annotation_queues (
        project_id String,
        id String,
        name String,
        definition String,
        deleted UInt8 DEFAULT 0,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
      // quality/src/objectives: an objective (filter, kind, threshold, target, webhook) and its
      // alerts (one row per breach; the resolved update replaces it).
      `CREATE TABLE IF NOT EXISTS {db}.objectives (
        project_id String,
        id String,
        name String,
        definition String,
        deleted UInt8 DEFAULT 0,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, id)`,
      `CREATE TABLE IF NOT EXISTS {db}.objective_alerts (
        project_id String,
        objective_id String,
        id String,
        severity LowCardinality(String),
        state LowCardinality(String),
        detail String,
        started_at DateTime64(3, 'UTC'),
        resolved_at Nullable(DateTime64(3, 'UTC')),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, objective_id, id)`,
    ],
  },
  {
    version: 6,
    name: 'back-test replay progress',
    statements: [
      // backtest/src/replay: one row per replayed call (trace, span) of a back-test, written when
      // the call is done, so a crashed run resumes without re-issuing (and re-paying for) it.
      `CREATE TABLE IF NOT EXISTS {db}.replay_calls (
        project_id String,
        backtest_id String,
        trace_id String,
        span_id String,
        status LowCardinality(String),
        result String CODEC(ZSTD(3)),
        cost_usd Decimal(18, 9),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (project_id, backtest_id, trace_id, span_id)`,
    ],
  },
  {
    version: 9,
    name: 'annotation queue skips (quality)',
    statements: [
      // quality/src/annotation: a trace someone skipped in a queue; the queue's next item passes it.
      `CREATE TABLE IF NOT EXISTS {db}.annotation_skips (
        project_id String,
        queue_id String,
        trace_id String,
        author String,
        created_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(created_at) ORDER BY (project_id, queue_id, trace_id)`,
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
