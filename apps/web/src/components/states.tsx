'use client'
/** Loading, error and empty states that say what to do next (DASHBOARD-UX.md). */
import type { ReactNode } from 'react'

export function Loading({ label = 'Loading…', height }: { label?: string; height?: number }) {
  return (
    <div className="state state-loading" style={height ? { minHeight: height } : undefined} aria-busy="true">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  )
}

interface ErrorLike {
  message: string
  data?: { code?: string } | null
}

/** What the user can do about an error, by its tRPC code. */
function nextStep(error: ErrorLike): string {
  switch (error.data?.code) {
    case 'NOT_FOUND':
      return 'Check the link, or pick another project in the switcher above.'
    case 'BAD_REQUEST':
      return 'The link has a bad parameter: pick a time range or reset the filters.'
    case undefined:
      return 'Is the Hindsight server still running? Start it with `pnpm start`, then retry.'
    default:
      return 'The server logged the details. Retry, or narrow the time range.'
  }
}

export function ErrorState({
  title = 'Could not load this panel',
  error,
  onRetry,
}: {
  title?: string
  error: ErrorLike
  onRetry?: () => void
}) {
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <span className="state-detail">{error.message}</span>
      <span className="state-hint">{nextStep(error)}</span>
      {onRetry ? (
        <button type="button" className="btn" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  )
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children ? <div className="state-hint">{children}</div> : null}
    </div>
  )
}
