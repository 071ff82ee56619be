/**
 * The collector's one error class. Every failure that reaches an HTTP response is a
 * `CollectorError` with a code; the table below decides the HTTP status, the google.rpc code of
 * the OTLP error body, and whether a client may retry (OTLP clients retry 429 and 503).
 */
export type CollectorErrorCode =
  | 'malformed_request'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'too_many_requests'
  | 'storage_unavailable'
  | 'internal'

interface CodeInfo {
  status: number
  /** google.rpc.Code carried in the OTLP error body. */
  rpcCode: number
  retryable: boolean
}

export const ERROR_CODES: Record<CollectorErrorCode, CodeInfo> = {
  malformed_request: { status: 400, rpcCode: 3, retryable: false },
  unauthorized: { status: 401, rpcCode: 16, retryable: false },
  not_found: { status: 404, rpcCode: 5, retryable: false },
  method_not_allowed: { status: 405, rpcCode: 12, retryable: false },
  payload_too_large: { status: 413, rpcCode: 8, retryable: false },
  unsupported_media_type: { status: 415, rpcCode: 3, retryable: false },
  too_many_requests: { status: 429, rpcCode: 8, retryable: true },
  storage_unavailable: { status: 503, rpcCode: 14, retryable: true },
  internal: { status: 500, rpcCode: 13, retryable: false },
}

// A symbol marker rather than instanceof alone, so the check survives two copies of the package.
const MARKER = Symbol.for('hindsight.collector.error')

export class CollectorError extends Error {
  readonly code: CollectorErrorCode
  /** Seconds a client should wait before retrying (sent as `Retry-After`), when retryable. */
  readonly retryAfterSeconds: number | undefined
  readonly [MARKER] = true

  constructor(
    code: CollectorErrorCode,
    message: string,
    options: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CollectorError'
    this.code = code
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  get status(): number {
    return ERROR_CODES[this.code].status
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable
  }

  static isInstance(error: unknown): error is CollectorError {
    return typeof error === 'object' && error !== null && MARKER in error
  }
}
