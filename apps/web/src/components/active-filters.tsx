'use client'
/** The global filters in force, each removable; shown on every page so none applies silently. */
import { useView } from '../lib/use-view'

export function ActiveFilters() {
  const { view, update } = useView()
  const chips: Array<{ key: string; label: string; remove: () => void }> = [
    ...view.models.map((m) => ({
      key: `model:${m}`,
      label: `model = ${m}`,
      remove: () => update({ models: view.models.filter((x) => x !== m) }),
    })),
    ...view.routes.map((r) => ({
      key: `route:${r}`,
      label: `route = ${r}`,
      remove: () => update({ routes: view.routes.filter((x) => x !== r) }),
    })),
    ...(view.status
      ? [{ key: 'status', label: `status = ${view.status}`, remove: () => update({ status: null }) }]
      : []),
    ...(view.name
      ? [{ key: 'name', label: `name = ${view.name}`, remove: () => update({ name: null }) }]
      : []),
  ]
  if (chips.length === 0) return null
  return (
    <div className="chips" data-testid="active-filters">
      <span className="muted small">Filtered:</span>
      {chips.map((c) => (
        <button type="button" key={c.key} className="chip" onClick={c.remove} title="Remove this filter">
          {c.label} ✕
        </button>
      ))}
      <button
        type="button"
        className="link-btn"
        onClick={() => update({ models: [], routes: [], status: null, name: null })}
      >
        clear all
      </button>
    </div>
  )
}
