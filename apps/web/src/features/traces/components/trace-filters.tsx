'use client'
/** Filter controls of the trace list; every change goes to the URL (and so to every page). */
import { useQuery } from '@tanstack/react-query'
import { useEffect, useRef, useState } from 'react'
import { ActiveFilters } from '../../../components/active-filters'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'

export function TraceFilters({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { view, rangeInput, update } = useView()
  const values = useQuery(trpc.traces.filterValues.queryOptions({ projectId, ...rangeInput }))
  const [name, setName] = useState(view.name ?? '')
  useEffect(() => setName(view.name ?? ''), [view.name])

  // Selected models stay offered even when the range no longer contains them.
  const models = [...new Set([...(values.data?.models ?? []), ...view.models])].sort()

  return (
    <div className="filters" data-testid="trace-filters">
      <ModelSelect
        options={models}
        selected={view.models}
        loading={values.isPending}
        onChange={(next) => update({ models: next })}
      />
      <label className="field">
        <span className="field-label">Status</span>
        <select
          value={view.status ?? ''}
          data-testid="status-filter"
          onChange={(e) => {
            const v = e.target.value
            update({ status: v === 'ok' || v === 'error' ? v : null })
          }}
        >
          <option value="">any</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
        </select>
      </label>
      <form
        className="field"
        onSubmit={(e) => {
          e.preventDefault()
          update({ name: name.trim() || null })
        }}
      >
        <span className="field-label">Name</span>
        <input
          type="search"
          list="trace-names"
          placeholder="exact span name, Enter to apply"
          value={name}
          data-testid="name-filter"
          onChange={(e) => setName(e.target.value)}
          onBlur={() => {
            if ((name.trim() || null) !== view.name) update({ name: name.trim() || null })
          }}
        />
        <datalist id="trace-names">
          {values.data?.names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </form>
      <ActiveFilters />
    </div>
  )
}

function ModelSelect({
  options,
  selected,
  loading,
  onChange,
}: {
  options: string[]
  selected: string[]
  loading: boolean
  onChange(next: string[]): void
}) {
  const [open, setOpen] = useState(false)
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!open) return
    const close = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false)
    }
    const onEscape = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false)
    }
    document.addEventListener('mousedown', close)
    document.addEventListener('keydown', onEscape)
    return () => {
      document.removeEventListener('mousedown', close)
      document.removeEventListener('keydown', onEscape)
    }
  }, [open])
  const label =
    selected.length === 0 ? 'all models' : selected.length === 1 ? selected[0] : `${selected.length} models`
  return (
    <div className="field dropdown" ref={ref}>
      <span className="field-label">Model</span>
      <button
        type="button"
        className="dropdown-toggle"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        data-testid="model-filter"
      >
        {label} ▾
      </button>
      {open ? (
        <div className="dropdown-menu" role="listbox" aria-multiselectable="true">
          {loading ? <div className="muted small">Loading…</div> : null}
          {!loading && options.length === 0 ? (
            <div className="muted small">No models in this range</div>
          ) : null}
          {options.map((m) => (
            <label key={m} className="dropdown-item">
              <input
                type="checkbox"
                checked={selected.includes(m)}
                onChange={(e) =>
                  onChange(e.target.checked ? [...selected, m] : selected.filter((x) => x !== m))
                }
              />
              {m}
            </label>
          ))}
          {selected.length > 0 ? (
            <button type="button" className="link-btn" onClick={() => onChange([])}>
              all models
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  )
}
