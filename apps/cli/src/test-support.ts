/** Helpers shared by the CLI's end-to-end tests (not shipped in any command). */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Config, parseEnv } from './env'

/** A fresh data dir per test process, as embedded ClickHouse binds one per process. */
export function tempDataDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `hs-cli-${prefix}-`))
}

/** Configuration through the real env schema, on free ports, with the demo off unless asked. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return parseEnv({
    HINDSIGHT_PORT: '0',
    HINDSIGHT_OTLP_PORT: '0',
    HINDSIGHT_OTLP_GRPC_PORT: '0',
    HINDSIGHT_DATA_DIR: dataDir,
    HINDSIGHT_DEMO: 'off',
    ...env,
  })
}

/** GET a public REST API path with a project key; returns status and parsed JSON. */
export async function getJson(
  baseUrl: string,
  path: string,
  apiKey: string,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/api/public/v1${path}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, body }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export interface PriceEntry {
  provider: string
  model: string
  model_pattern?: string
  effective_from: string
  input: number
  output: number
  cache_read?: number
  cache_write?: number
}

/** Exact decimal arithmetic for expected costs: USD with 9 decimals, from per-1M-token prices. */
export function expectedCostUsd(
  price: PriceEntry,
  tokens: { input: number; output: number; cacheRead?: number; cacheWrite?: number },
): number {
  // Prices have at most 6 decimals: work in 1e-6 USD per 1M tokens, i.e. 1e-12 USD per token.
  const micro = (p: number | undefined) => BigInt(Math.round((p ?? 0) * 1_000_000))
  const cacheRead = BigInt(tokens.cacheRead ?? 0)
  const cacheWrite = BigInt(tokens.cacheWrite ?? 0)
  const uncached = BigInt(tokens.input) - cacheRead - cacheWrite
  const picoUsd =
    uncached * micro(price.input) +
    cacheRead * micro(price.cache_read ?? price.input) +
    cacheWrite * micro(price.cache_write ?? price.input) +
    BigInt(tokens.output) * micro(price.output)
  return Number(picoUsd) / 1e12
}
