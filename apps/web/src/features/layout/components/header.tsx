'use client'
/** The global header: product, pages, project switcher, the one time picker and the zone. */
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname } from 'next/navigation'
import { type FormEvent, useEffect, useState } from 'react'
import { formatDateTime, type TimeZoneMode, timeZoneLabel } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import {
  RANGE_PRESETS,
  type RangePreset,
  REFRESH_SECONDS,
  type RefreshSeconds,
} from '../../../lib/view-state'

const PRESETS = Object.keys(RANGE_PRESETS) as RangePreset[]

/** `datetime-local` text ('YYYY-MM-DDTHH:mm') for an instant, in the chosen zone. */
function toLocalInput(epochMs: number, tz: TimeZoneMode): string {
  return formatDateTime(epochMs, tz).replace(' ', 'T').slice(0, 16)
}

function fromLocalInput(text: string, tz: TimeZoneMode): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) return null
  const t = tz === 'utc' ? Date.parse(`${text}Z`) : new Date(text).getTime()
  return Number.isFinite(t) ? new Date(t).toISOString() : null
}

export function Header() {
  const trpc = useTRPC()
  const pathname = usePathname()
  const { view, range, href, update, refresh } = useView()
  const projects = useQuery(trpc.projects.list.queryOptions())
  const [customOpen, setCustomOpen] = useState(false)
  const [customError, setCustomError] = useState<string | null>(null)

  // Auto-refresh moves "now" every period while the range is relative (an absolute one never moves).
  const every = view.range !== null ? view.refresh : null
  useEffect(() => {
    if (every === null) return
    // A hidden tab does not refresh; it catches up on the next tick once visible.
    const timer = setInterval(() => {
      if (!document.hidden) refresh()
    }, every * 1000)
    return () => clearInterval(timer)
  }, [every, refresh])

  const onTracePage = pathname.startsWith('/traces/')
  const section = pathname.startsWith('/traces')
    ? 'traces'
    : pathname.startsWith('/datasets')
      ? 'datasets'
      : pathname.startsWith('/backtests')
        ? 'backtests'
        : pathname.startsWith('/evaluations')
          ? 'evaluations'
          : pathname.startsWith('/annotate')
            ? 'annotate'
            : pathname.startsWith('/objectives')
              ? 'objectives'
              : 'overview'

  function pickPreset(preset: RangePreset) {
    refresh()
    setCustomOpen(false)
    update({ range: preset, from: null, to: null })
  }

  function applyCustom(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const data = new FormData(event.currentTarget)
    const from = fromLocalInput(String(data.get('from') ?? ''), view.tz)
    const to = fromLocalInput(String(data.get('to') ?? ''), view.tz)
    if (!from || !to) return setCustomError('Enter both dates.')
    if (Date.parse(from) >= Date.parse(to)) return setCustomError('"From" must be before "to".')
    setCustomError(null)
    setCustomOpen(false)
    update({ range: null, from, to })
  }

  return (
    <header className="header">
      <Link href={href({}, '/')} className="brand">
        <span className="brand-mark" aria-hidden="true">
          ◐
        </span>
        Hindsight
      </Link>
      <nav className="nav">
        <Link href={href({}, '/')} className={section === 'overview' ? 'nav-link active' : 'nav-link'}>
          Overview
        </Link>
        <Link href={href({}, '/traces')} className={section === 'traces' ? 'nav-link active' : 'nav-link'}>
          Traces
        </Link>
        <Link
          href={href({}, '/datasets')}
          className={section === 'datasets' ? 'nav-link active' : 'nav-link'}
          data-testid="nav-datasets"
        >
          Datasets
        </Link>
        <Link
          href={href({}, '/backtests')}
          className={section === 'backtests' ? 'nav-link active' : 'nav-link'}
          data-testid="nav-backtests"
        >
          Back-tests
        </Link>
        <Link
          href={href({}, '/evaluations')}
          className={section === 'evaluations' ? 'nav-link active' : 'nav-link'}
          data-testid="nav-evaluations"
        >
          Evaluations
        </Link>
        <Link
          href={href({}, '/annotate')}
          className={section === 'annotate' ? 'nav-link active' : 'nav-link'}
          data-testid="nav-annotate"
        >
          Annotate
        </Link>
        <Link
          href={href({}, '/objectives')}
          className={section === 'objectives' ? 'nav-link active' : 'nav-link'}
          data-testid="nav-objectives"
        >
          Objectives
        </Link>
      </nav>
      <label className="field project-switcher">
        <span className="field-label">Project</span>
        <select
          data-testid="project-switcher"
          value={view.project ?? ''}
          disabled={!projects.data}
          onChange={(e) => {
            // Model and name filters belong to the old project; a trace page cannot carry over.
            update(
              { project: e.target.value, models: [], routes: [], name: null },
              { path: onTracePage ? '/traces' : pathname },
            )
          }}
        >
          {!view.project ? <option value="">{projects.isPending ? 'Loading…' : 'No project'}</option> : null}
          {projects.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
          {view.project && projects.data && !projects.data.some((p) => p.id === view.project) ? (
            <option value={view.project}>unknown project</option>
          ) : null}
        </select>
      </label>
      <div className="spacer" />
      <fieldset className="time-picker" aria-label="Time range">
        {PRESETS.map((p) => (
          <button
            type="button"
            key={p}
            className={view.range === p ? 'seg active' : 'seg'}
            onClick={() => pickPreset(p)}
            data-testid={`range-${p}`}
          >
            {p}
          </button>
        ))}
        <button
          type="button"
          className={view.range === null ? 'seg active' : 'seg'}
          onClick={() => setCustomOpen((open) => !open)}
          aria-expanded={customOpen}
        >
          {view.range === null
            ? `${formatDateTime(range.from.getTime(), view.tz).slice(0, 16)} → ${formatDateTime(range.to.getTime(), view.tz).slice(0, 16)}`
            : 'Custom'}
        </button>
        {customOpen ? (
          <form className="custom-range" onSubmit={applyCustom}>
            <label className="field">
              <span className="field-label">From</span>
              <input
                type="datetime-local"
                name="from"
                defaultValue={toLocalInput(range.from.getTime(), view.tz)}
              />
            </label>
            <label className="field">
              <span className="field-label">To</span>
              <input
                type="datetime-local"
                name="to"
                defaultValue={toLocalInput(range.to.getTime(), view.tz)}
              />
            </label>
            <span className="muted">{timeZoneLabel(view.tz)}</span>
            <button type="submit" className="btn primary">
              Apply
            </button>
            {customError ? <span className="error-text">{customError}</span> : null}
          </form>
        ) : null}
      </fieldset>
      <fieldset className="time-picker" aria-label="Time zone">
        {(['local', 'utc'] as const).map((tz) => (
          <button
            type="button"
            key={tz}
            className={view.tz === tz ? 'seg active' : 'seg'}
            onClick={() => update({ tz }, { replace: true })}
            title={timeZoneLabel(tz)}
          >
            {tz === 'utc' ? 'UTC' : 'Local'}
          </button>
        ))}
      </fieldset>
      <button
        type="button"
        className="btn"
        onClick={refresh}
        disabled={view.range === null}
        aria-label={`Refresh: data as of ${formatDateTime(range.to.getTime(), view.tz)} ${timeZoneLabel(view.tz)}`}
        // "Now" and the local time zone are read separately by the server render and the browser.
        suppressHydrationWarning
        title={
          view.range === null
            ? 'An absolute range does not move'
            : `Data as of ${formatDateTime(range.to.getTime(), view.tz)} ${timeZoneLabel(view.tz)}; click to refresh`
        }
      >
        ↻{' '}
        <span className="muted" suppressHydrationWarning data-testid="as-of">
          {formatDateTime(range.to.getTime(), view.tz).slice(11)}
        </span>
      </button>
      <select
        className="auto-refresh"
        aria-label="Auto-refresh"
        title={view.range === null ? 'An absolute range does not move' : 'Refresh every panel on a period'}
        data-testid="auto-refresh"
        disabled={view.range === null}
        value={view.range === null ? '' : (view.refresh ?? '')}
        onChange={(e) => {
          const seconds = REFRESH_SECONDS.find((s) => String(s) === e.target.value) ?? null
          update({ refresh: seconds as RefreshSeconds | null }, { replace: true })
        }}
      >
        <option value="">auto off</option>
        {REFRESH_SECONDS.map((s) => (
          <option key={s} value={s}>
            auto {s < 60 ? `${s}s` : `${s / 60}m`}
          </option>
        ))}
      </select>
    </header>
  )
}
