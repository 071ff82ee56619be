/**
 * The URL is the state (DASHBOARD-UX.md, "What every page does" 5): project, time range, zone
 * and filters all live in the query string, so a shared link reproduces the view. These pure
 * helpers parse and build that query string; `use-view.ts` binds them to the router.
 */
import type { TimeZoneMode } from './format'

export const RANGE_PRESETS = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
} as const
export type RangePreset = keyof typeof RANGE_PRESETS
export const DEFAULT_RANGE: RangePreset = '24h'

export function isRangePreset(value: string | null | undefined): value is RangePreset {
  return value != null && Object.hasOwn(RANGE_PRESETS, value)
}

export type TraceStatusFilter = 'ok' | 'error'

/** What the overview's "Breakdown by" panel can group by (`by`; `attribute` also takes `by_key`). */
export const GROUP_BY_CHOICES = ['provider', 'environment', 'service', 'user', 'attribute'] as const
export type GroupByChoice = (typeof GROUP_BY_CHOICES)[number]

/** Auto-refresh periods offered (seconds); the URL's `refresh` must be one of them. */
export const REFRESH_SECONDS = [30, 60, 300] as const
export type RefreshSeconds = (typeof REFRESH_SECONDS)[number]

export interface ViewState {
  project: string | null
  /** A preset, or null when an absolute `from`/`to` is set. */
  range: RangePreset | null
  /** ISO 8601, only with an absolute range. */
  from: string | null
  to: string | null
  tz: TimeZoneMode
  models: string[]
  routes: string[]
  status: TraceStatusFilter | null
  name: string | null
  /** Auto-refresh period of a relative range, seconds; null when off. */
  refresh: RefreshSeconds | null
  /** The overview's extra breakdown; null for the default (provider). */
  by: GroupByChoice | null
  /** With `by: 'attribute'`: the attribute key. */
  byKey: string | null
}

/** Read-only view of URLSearchParams (Next's ReadonlyURLSearchParams satisfies it). */
export interface SearchParamsLike {
  get(name: string): string | null
  getAll(name: string): string[]
}

function validIso(value: string | null): string | null {
  if (!value) return null
  const t = Date.parse(value)
  return Number.isFinite(t) ? new Date(t).toISOString() : null
}

export function parseView(params: SearchParamsLike): ViewState {
  const from = validIso(params.get('from'))
  const to = validIso(params.get('to'))
  const absolute = from != null && to != null && Date.parse(from) < Date.parse(to)
  const rangeParam = params.get('range')
  const range = absolute ? null : isRangePreset(rangeParam) ? rangeParam : DEFAULT_RANGE
  const status = params.get('status')
  const list = (name: string) =>
    params
      .getAll(name)
      .flatMap((m) => m.split(','))
      .map((m) => m.trim())
      .filter((m) => m.length > 0)
  const models = list('model')
  const routes = list('route')
  return {
    project: params.get('project') || null,
    range,
    from: absolute ? from : null,
    to: absolute ? to : null,
    tz: params.get('tz') === 'utc' ? 'utc' : 'local',
    models: [...new Set(models)],
    routes: [...new Set(routes)],
    status: status === 'ok' || status === 'error' ? status : null,
    name: params.get('name')?.trim() || null,
    refresh: REFRESH_SECONDS.find((s) => String(s) === params.get('refresh')) ?? null,
    by: GROUP_BY_CHOICES.find((c) => c === params.get('by')) ?? null,
    byKey: params.get('by_key')?.trim().slice(0, 200) || null,
  }
}

/** The query string for a view; defaults are left out so links stay short. */
export function viewToSearch(view: ViewState): string {
  const p = new URLSearchParams()
  if (view.project) p.set('project', view.project)
  if (view.from && view.to) {
    p.set('from', view.from)
    p.set('to', view.to)
  } else if (view.range && view.range !== DEFAULT_RANGE) {
    p.set('range', view.range)
  }
  if (view.tz === 'utc') p.set('tz', 'utc')
  for (const m of view.models) p.append('model', m)
  for (const r of view.routes) p.append('route', r)
  if (view.status) p.set('status', view.status)
  if (view.name) p.set('name', view.name)
  if (view.refresh) p.set('refresh', String(view.refresh))
  if (view.by) p.set('by', view.by)
  if (view.byKey) p.set('by_key', view.byKey)
  const text = p.toString()
  return text ? `?${text}` : ''
}

export interface ResolvedRange {
  from: Date
  to: Date
  /** What the picker shows: '24h' or the absolute span. */
  label: string
}

/** Turn the view's range into concrete instants; relative ranges end at `now`. */
export function resolveRange(view: Pick<ViewState, 'range' | 'from' | 'to'>, now: number): ResolvedRange {
  if (view.from && view.to) {
    return { from: new Date(view.from), to: new Date(view.to), label: 'custom' }
  }
  const preset = view.range ?? DEFAULT_RANGE
  return { from: new Date(now - RANGE_PRESETS[preset]), to: new Date(now), label: preset }
}

/** The trace filters of a view, in the shape the tRPC procedures take. */
export function viewFilter(view: ViewState): {
  model?: string[]
  route?: string[]
  status?: TraceStatusFilter
  name?: string
} {
  return {
    ...(view.models.length > 0 ? { model: view.models } : {}),
    ...(view.routes.length > 0 ? { route: view.routes } : {}),
    ...(view.status ? { status: view.status } : {}),
    ...(view.name ? { name: view.name } : {}),
  }
}

/** A human sentence naming the active filters, for "nothing matches" messages. */
export function describeFilter(view: ViewState): string {
  const parts: string[] = []
  if (view.models.length > 0) parts.push(`model ${view.models.join(' or ')}`)
  if (view.routes.length > 0) parts.push(`route ${view.routes.join(' or ')}`)
  if (view.status) parts.push(`status ${view.status}`)
  if (view.name) parts.push(`name "${view.name}"`)
  return parts.join(', ')
}
