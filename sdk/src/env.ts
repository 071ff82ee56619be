/**
 * The only module that reads `process.env`. Environment values are lenient fallbacks: an
 * unrecognised boolean is ignored (the default applies) rather than crashing the host app.
 */
export interface HindsightEnv {
  endpoint?: string
  apiKey?: string
  /** `HINDSIGHT_API_URL`: the REST API `score()` posts to. */
  apiUrl?: string
  serviceName?: string
  environment?: string
  release?: string
  enabled?: boolean
  captureContent?: boolean
  metrics?: boolean
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed ? trimmed : undefined
}

function parseBoolean(value: string | undefined): boolean | undefined {
  switch (value?.trim().toLowerCase()) {
    case 'true':
    case '1':
    case 'yes':
    case 'on':
      return true
    case 'false':
    case '0':
    case 'no':
    case 'off':
      return false
    default:
      return undefined
  }
}

/** Reads the SDK's variables; `process` may be missing in edge runtimes, so it is looked up defensively. */
export function readEnv(
  source: Record<string, string | undefined> | undefined = globalThis.process?.env,
): HindsightEnv {
  const env = source ?? {}
  return {
    endpoint: nonEmpty(env.HINDSIGHT_ENDPOINT),
    apiKey: nonEmpty(env.HINDSIGHT_API_KEY),
    apiUrl: nonEmpty(env.HINDSIGHT_API_URL),
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME),
    environment: nonEmpty(env.HINDSIGHT_ENVIRONMENT),
    release: nonEmpty(env.HINDSIGHT_RELEASE),
    enabled: parseBoolean(env.HINDSIGHT_ENABLED),
    captureContent: parseBoolean(env.HINDSIGHT_CAPTURE_CONTENT),
    metrics: parseBoolean(env.HINDSIGHT_METRICS),
  }
}

const HOST_OTLP_PREFIX = 'OTEL_EXPORTER_OTLP_'

/**
 * Runs `build` with the host's `OTEL_EXPORTER_OTLP_*` variables hidden. The OTLP exporter reads
 * them when it is constructed; they configure the host app's own backend, and honouring them
 * would send its headers (often a vendor's API key) and certificates to the Hindsight collector.
 * Synchronous, so no other code can observe the hidden variables.
 */
export function withoutHostOtlpEnv<T>(build: () => T): T {
  const env = globalThis.process?.env
  if (!env) return build()
  const hidden: [string, string | undefined][] = []
  for (const key of Object.keys(env)) {
    if (!key.startsWith(HOST_OTLP_PREFIX)) continue
    hidden.push([key, env[key]])
    delete env[key]
  }
  try {
    return build()
  } finally {
    for (const [key, value] of hidden) env[key] = value
  }
}
