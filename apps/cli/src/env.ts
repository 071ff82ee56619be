/**
 * The CLI's one environment schema. Every `process.env` read of the CLI happens here, once, at
 * start-up; the rest of the code receives a typed `Config`. Messages name the variable, the bad
 * value and the limit, so a typo in a compose file is found without reading code.
 */
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { z } from 'zod'

/** One documented variable: the README table and `--help` are checked against this list. */
export interface ConfigVariable {
  name: string
  /** The default as a user would write it, or '' when unset by default. */
  default: string
  description: string
}

export const CONFIG_TABLE: readonly ConfigVariable[] = [
  {
    name: 'HINDSIGHT_HOST',
    default: '127.0.0.1',
    description: 'Address the dashboard, API and OTLP receiver bind to; loopback only (no login yet).',
  },
  { name: 'HINDSIGHT_PORT', default: '3000', description: 'Dashboard, tRPC and REST API port.' },
  { name: 'HINDSIGHT_OTLP_PORT', default: '4318', description: 'OTLP/HTTP receiver port (POST /v1/traces).' },
  {
    name: 'HINDSIGHT_OTLP_GRPC_PORT',
    default: '4317',
    description: 'OTLP/gRPC receiver port (TraceService/Export).',
  },
  {
    name: 'HINDSIGHT_DATA_DIR',
    default: './.hindsight',
    description: 'Embedded ClickHouse data and local credentials, resolved against the working directory.',
  },
  {
    name: 'CLICKHOUSE_URL',
    default: '',
    description: 'ClickHouse server URL (e.g. http://localhost:8123); unset = embedded engine.',
  },
  { name: 'CLICKHOUSE_USER', default: 'default', description: 'ClickHouse server user.' },
  { name: 'CLICKHOUSE_PASSWORD', default: '', description: 'ClickHouse server password.' },
  { name: 'CLICKHOUSE_DATABASE', default: 'hindsight', description: "Database holding Hindsight's tables." },
  {
    name: 'HINDSIGHT_INIT_PROJECT',
    default: '',
    description: 'Project created on start if missing (headless initialization).',
  },
  {
    name: 'HINDSIGHT_INIT_API_KEY',
    default: '',
    description: 'API key registered for the init project (idempotent); without a project: for "Default".',
  },
  {
    name: 'HINDSIGHT_DEMO',
    default: 'on',
    description: 'on|off: on first start, create a "Demo" project filled with simulated traffic.',
  },
  {
    name: 'HINDSIGHT_API_KEY',
    default: '',
    description: '`demo` only: key of the project to send to (else the init key, else the Demo key).',
  },
  {
    name: 'HINDSIGHT_RETENTION_DAYS',
    default: '30',
    description: 'Days spans are kept for projects without their own retention; 0 = keep forever.',
  },
]

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]'])

/** True for names and addresses that stay on this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase()
  if (LOOPBACK_NAMES.has(h)) return true
  if (isIP(h) === 4) return h.startsWith('127.')
  return false
}

/** Empty strings mean "unset": compose files and `.env` files often write `VAR=`. */
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

const port = (fallback: number) =>
  optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/, 'must be a port number between 0 and 65535')
      .transform(Number)
      .refine((n) => n <= 65535, 'must be a port number between 0 and 65535')
      .optional()
      .transform((n) => n ?? fallback),
  )

const apiKey = optionalText.pipe(
  z
    .string()
    .min(8, 'is too short: use at least 8 characters (keys are secrets)')
    .max(200, 'is too long: at most 200 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent in an HTTP header)')
    .optional(),
)

export const envSchema = z.object({
  HINDSIGHT_HOST: optionalText.pipe(
    z
      .string()
      .optional()
      .transform((h) => h ?? '127.0.0.1')
      .refine(
        isLoopbackHost,
        'is not a loopback address. Hindsight has no login yet, so the dashboard, API and OTLP receiver ' +
          'bind to this machine only: use 127.0.0.1, localhost or ::1 (put a reverse proxy with ' +
          'authentication in front to expose it)',
      ),
  ),
  HINDSIGHT_PORT: port(3000),
  HINDSIGHT_OTLP_PORT: port(4318),
  HINDSIGHT_OTLP_GRPC_PORT: port(4317),
  HINDSIGHT_DATA_DIR: optionalText.transform((v) => v ?? './.hindsight'),
  CLICKHOUSE_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://localhost:8123' })
      .optional(),
  ),
  CLICKHOUSE_USER: optionalText.transform((v) => v ?? 'default'),
  // Passwords may legitimately be blank or have surrounding spaces: no trimming.
  CLICKHOUSE_PASSWORD: z
    .string()
    .optional()
    .transform((v) => v ?? ''),
  CLICKHOUSE_DATABASE: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be an identifier: letters, digits and _ (max 63)')
      .optional()
      .transform((v) => v ?? 'hindsight'),
  ),
  HINDSIGHT_INIT_PROJECT: optionalText.pipe(
    z.string().max(200, 'is too long: project names have at most 200 characters').optional(),
  ),
  HINDSIGHT_INIT_API_KEY: apiKey,
  HINDSIGHT_DEMO: optionalText.pipe(
    z
      .string()
      .transform((v) => v.toLowerCase())
      .pipe(z.enum(['on', 'off'], { error: "must be 'on' or 'off'" }))
      .optional()
      .transform((v) => v ?? 'on'),
  ),
  HINDSIGHT_API_KEY: apiKey,
  HINDSIGHT_RETENTION_DAYS: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/, 'must be a whole number of days (0 = keep forever)')
      .transform(Number)
      .refine((n) => n <= 36_500, 'must be at most 36500 days (0 = keep forever)')
      .optional()
      .transform((n) => n ?? 30),
  ),
})

/** The parsed configuration every command receives. */
export interface Config {
  host: string
  /** Dashboard/API port; 0 picks a free port (tests). */
  port: number
  /** OTLP/HTTP port; 0 picks a free port (tests). */
  otlpPort: number
  /** OTLP/gRPC port; 0 picks a free port (tests). */
  otlpGrpcPort: number
  /** Absolute path. */
  dataDir: string
  clickhouse: { url?: string; user: string; password: string; database: string }
  initProject?: string
  initApiKey?: string
  demo: boolean
  /** Key the `demo` command sends with. */
  apiKey?: string
  /** Retention of projects without their own setting, in days; 0 = forever. */
  retentionDays: number
}

/** A configuration problem; `message` lists every bad variable. */
export class EnvError extends Error {
  override readonly name = 'EnvError'
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/**
 * Parse and validate the environment. Defaults to the real process environment and working
 * directory; tests pass their own.
 */
export function parseEnv(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): Config {
  const result = envSchema.safeParse(env)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment')
      const value = env[name]
      const shown = name.includes('PASSWORD') || name.includes('API_KEY') ? '<hidden>' : JSON.stringify(value)
      return `${name}=${shown} ${issue.message}`
    })
    throw new EnvError(problems)
  }
  const e = result.data
  return {
    host: e.HINDSIGHT_HOST,
    port: e.HINDSIGHT_PORT,
    otlpPort: e.HINDSIGHT_OTLP_PORT,
    otlpGrpcPort: e.HINDSIGHT_OTLP_GRPC_PORT,
    dataDir: resolve(cwd, e.HINDSIGHT_DATA_DIR),
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
    },
    initProject: e.HINDSIGHT_INIT_PROJECT,
    initApiKey: e.HINDSIGHT_INIT_API_KEY,
    demo: e.HINDSIGHT_DEMO === 'on',
    apiKey: e.HINDSIGHT_API_KEY,
    retentionDays: e.HINDSIGHT_RETENTION_DAYS,
  }
}

/** The environment for child processes we spawn (the Next build), with our additions. */
export function childProcessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra }
}
