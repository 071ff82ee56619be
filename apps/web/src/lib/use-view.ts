'use client'
/** Binds the URL state (view-state.ts) to Next's router: read the view, build links, update it. */
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useCallback, useMemo } from 'react'
import { useTimeAnchor } from './time-anchor'
import {
  parseView,
  type ResolvedRange,
  resolveRange,
  type ViewState,
  viewFilter,
  viewToSearch,
} from './view-state'

export interface View {
  view: ViewState
  range: ResolvedRange
  /** The range as the tRPC procedures take it. */
  rangeInput: { from: string; to: string }
  /** `rangeInput` plus the global filters. */
  query: { from: string; to: string; filter: ReturnType<typeof viewFilter> }
  /** A link to `path` (default: this page) with the view changed by `patch`. */
  href(patch?: Partial<ViewState>, path?: string): string
  /** Navigate to the view changed by `patch` (on `options.path`, default: this page). */
  update(patch: Partial<ViewState>, options?: { replace?: boolean; path?: string }): void
  /** Move "now" for relative ranges to the current time (re-queries every panel). */
  refresh(): void
}

export function useView(): View {
  const params = useSearchParams()
  const router = useRouter()
  const pathname = usePathname()
  const { now, refresh } = useTimeAnchor()
  const view = useMemo(() => parseView(params), [params])
  const range = useMemo(
    () => resolveRange({ range: view.range, from: view.from, to: view.to }, now),
    [view.range, view.from, view.to, now],
  )
  const href = useCallback(
    (patch: Partial<ViewState> = {}, path: string = pathname) =>
      `${path}${viewToSearch({ ...view, ...patch })}`,
    [view, pathname],
  )
  const update = useCallback(
    (patch: Partial<ViewState>, options: { replace?: boolean; path?: string } = {}) => {
      const target = href(patch, options.path)
      if (options.replace) router.replace(target, { scroll: false })
      else router.push(target, { scroll: false })
    },
    [href, router],
  )
  return useMemo(() => {
    const rangeInput = { from: range.from.toISOString(), to: range.to.toISOString() }
    return {
      view,
      range,
      rangeInput,
      query: { ...rangeInput, filter: viewFilter(view) },
      href,
      update,
      refresh,
    }
  }, [view, range, href, update, refresh])
}
