/**
 * `score()`: attach a quality score (user feedback, a check your app ran) to a trace or span,
 * through Hindsight's REST API (`POST /api/public/v1/scores`). Like every SDK call it never
 * throws into the host: the promise resolves to `{ ok: false, error }` when the score could not
 * be stored, after a bounded number of retries.
 */
import { randomUUID } from 'node:crypto'
import { trace } from '@opentelemetry/api'
import { resolveConfig } from './config'
import { readEnv } from './env'
import { activeHindsight } from './hindsight'
import { VERSION } from './version'

/** A score to record. */
export interface ScoreOptions {
  /** The trace to score. @default the trace of the span active where `score()` is called */
  traceId?: string
  /** Attach to one span of the trace instead of the whole trace. */
  spanId?: string
  /** e.g. `'helpfulness'`, `'user_feedback'`. If the project has a score config of this name, the value must fit it. */
  name: string
  /** A number, true/false, or a category label. */
  value: number | boolean | string
  comment?: string
  /** @default inferred from `value` (or the score config's type) */
  dataType?: 'numeric' | 'boolean' | 'categorical'
  /**
   * Makes the call idempotent: the same id stored twice is one score. Retries reuse it.
   * @default a random UUID
   */
  id?: string
}

/** What {@link ScoreCallOptions} tune per call. */
export interface ScoreCallOptions {
  /**
   * Attempts in all (the first try and its retries) for network errors, timeouts, 408, 429 and 5xx.
   * @default 3
   */
  maxAttempts?: number
  /** Time limit of one attempt. @default 5000 */
  timeoutMillis?: number
}

export type ScoreResult = { ok: true; id: string } | { ok: false; error: string }

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const INVALID_TRACE_ID = '0'.repeat(32)
/** Retry-After beyond this is not waited for: feedback is not worth holding a process open. */
const MAX_RETRY_WAIT_MS = 5000

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    timer.unref?.()
  })
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/** Seconds or an HTTP date, as `Retry-After` allows; capped. */
function retryAfterMs(header: string | null, fallback: number): number {
  if (!header) return fallback
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now()
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_WAIT_MS, Math.max(0, ms)) : fallback
}

/** Where and how to send: the active instance's configuration, else the environment's. */
function target(): { apiUrl: string; headers: Record<string, string>; enabled: boolean } {
  const active = activeHindsight()
  if (active) return { apiUrl: active.apiUrl, headers: active.apiHeaders(), enabled: active.enabled }
  const config = resolveConfig({}, readEnv())
  return {
    apiUrl: config.apiUrl,
    headers: config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {},
    enabled: config.enabled,
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json()
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const error = (body as { error: unknown }).error
      if (typeof error === 'object' && error !== null && 'message' in error) {
        return `HTTP ${response.status}: ${String((error as { message: unknown }).message)}`
      }
    }
  } catch {}
  return `HTTP ${response.status}`
}

async function send(options: ScoreOptions, call: ScoreCallOptions): Promise<ScoreResult> {
  if (typeof options !== 'object' || options === null)
    return { ok: false, error: 'score() needs an options object' }
  if (typeof options.name !== 'string' || options.name.trim() === '') {
    return { ok: false, error: 'name: a non-empty string is required' }
  }
  const value = options.value
  if (
    !['number', 'boolean', 'string'].includes(typeof value) ||
    (typeof value === 'number' && !Number.isFinite(value))
  ) {
    return { ok: false, error: 'value: a finite number, true/false or a category label is required' }
  }
  const active = trace.getActiveSpan()?.spanContext()
  const traceId = (options.traceId ?? active?.traceId ?? '').toLowerCase()
  if (!TRACE_ID.test(traceId) || traceId === INVALID_TRACE_ID) {
    return {
      ok: false,
      error: options.traceId
        ? 'traceId: must be 32 hexadecimal characters'
        : 'no traceId: pass one, or call score() while a traced span is active',
    }
  }
  const spanId = options.spanId?.toLowerCase()
  if (spanId !== undefined && !SPAN_ID.test(spanId))
    return { ok: false, error: 'spanId: must be 16 hexadecimal characters' }

  const { apiUrl, headers, enabled } = target()
  if (!enabled) return { ok: false, error: 'the SDK is disabled (enabled: false / HINDSIGHT_ENABLED)' }
  const id = options.id ?? randomUUID()
  const body = JSON.stringify({
    id,
    traceId,
    ...(spanId ? { spanId } : {}),
    name: options.name.trim(),
    value,
    ...(options.dataType ? { dataType: options.dataType } : {}),
    ...(options.comment !== undefined ? { comment: String(options.comment) } : {}),
    source: 'sdk',
  })
  const maxAttempts = Math.max(1, Math.min(10, Math.floor(call.maxAttempts ?? 3)))
  const timeoutMillis = Math.max(1, call.timeoutMillis ?? 5000)
  let lastError = 'not sent'
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    let wait = 200 * 2 ** (attempt - 1)
    try {
      const response = await fetch(`${apiUrl}/api/public/v1/scores`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': `hindsight-sdk/${VERSION}`, ...headers },
        body,
        signal: AbortSignal.timeout(timeoutMillis),
      })
      if (response.ok) {
        await response.body?.cancel().catch(() => {})
        return { ok: true, id }
      }
      lastError = await errorMessage(response)
      if (!retryable(response.status)) return { ok: false, error: lastError }
      wait = retryAfterMs(response.headers.get('retry-after'), wait)
    } catch (error) {
      const name = error instanceof Error ? error.name : ''
      lastError =
        name === 'TimeoutError' || name === 'AbortError'
          ? `no answer from ${apiUrl} within ${timeoutMillis} ms`
          : `could not reach ${apiUrl}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`
    }
    if (attempt < maxAttempts) await sleep(wait)
  }
  return { ok: false, error: `${lastError} (after ${maxAttempts} attempts)` }
}

/**
 * Records a score on a trace (by default the one active here) or a span. Resolves to `{ ok: true, id }`
 * once stored, or `{ ok: false, error }`; never rejects and never throws. Retries network errors,
 * timeouts, 408, 429 and 5xx (honouring `Retry-After`, up to 5 s) with the same id, so a retry
 * cannot store the score twice.
 *
 * ```ts
 * await score({ name: 'user_feedback', value: true, comment: 'thumbs up' })
 * ```
 */
export async function score(options: ScoreOptions, call: ScoreCallOptions = {}): Promise<ScoreResult> {
  try {
    return await send(options, call)
  } catch (error) {
    activeHindsight()?.recordInternalError()
    return { ok: false, error: `score() failed: ${error instanceof Error ? error.message : String(error)}` }
  }
}
