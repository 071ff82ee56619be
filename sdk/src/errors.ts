const MARKER = Symbol.for('@hindsight/sdk.error')

/** Why the SDK refused something. The SDK only throws from `init()`; wrapped calls never see these. */
export type HindsightErrorCode = 'invalid_config'

/**
 * The one error class of the SDK. `HindsightError.isInstance` checks a global-symbol marker
 * rather than the prototype, so it still answers `true` when two copies of the package are loaded.
 */
export class HindsightError extends Error {
  readonly [MARKER] = true
  readonly code: HindsightErrorCode
  /** Whether trying the same thing again could succeed. Configuration errors never do. */
  readonly retryable: boolean

  constructor(code: HindsightErrorCode, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HindsightError'
    this.code = code
    this.retryable = options?.retryable ?? false
  }

  static isInstance(error: unknown): error is HindsightError {
    return typeof error === 'object' && error !== null && MARKER in error
  }
}
