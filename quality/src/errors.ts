const MARKER = Symbol.for('@hindsight/quality.error')

/** Why the quality layer refused a request. API layers map these to HTTP statuses. */
export type QualityErrorCode = 'invalid_input' | 'not_found' | 'conflict'

/**
 * The one error class of `@hindsight/quality`. Messages of `invalid_input` errors start with the
 * offending field (`scores.2.value: ...`), so an API can answer 400 naming what to fix.
 * `isInstance` checks a global-symbol marker, so it survives two copies of the package.
 */
export class QualityError extends Error {
  readonly [MARKER] = true
  readonly code: QualityErrorCode

  constructor(code: QualityErrorCode, message: string) {
    super(message)
    this.name = 'QualityError'
    this.code = code
  }

  static isInstance(error: unknown): error is QualityError {
    return typeof error === 'object' && error !== null && MARKER in error
  }
}

export function invalid(message: string): QualityError {
  return new QualityError('invalid_input', message)
}
