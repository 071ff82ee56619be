/** A labelled form control, the one layout every form of the dashboard uses (`.field`). */
import type { ReactNode } from 'react'

/**
 * `label` above the control (`children`); with `error`, the message (from the form's checks or the
 * server) right below it, tagged `data-field={field}` for tests.
 */
export function Field({
  label,
  error,
  field,
  children,
}: {
  label: string
  error?: string | undefined
  field?: string
  children: ReactNode
}) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the children
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {error ? (
        <span className="error-text small" data-testid="field-error" data-field={field}>
          {error}
        </span>
      ) : null}
    </label>
  )
}
