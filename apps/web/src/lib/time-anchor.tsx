'use client'
/**
 * The "now" that relative ranges end at. It is fixed until the user refreshes or picks a range,
 * so query keys stay stable (no refetch loop) and every panel shows the same window.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react'

interface TimeAnchor {
  now: number
  /** Move "now" to the current time; panels keep showing their data until the new data is in. */
  refresh(): void
}

/**
 * How long after a refresh queries show their previous data while they reload (a refresh changes
 * every query key; without this every panel would blank to its loading state each period). Only
 * refreshes do this: a changed filter or project must never show another view's data.
 */
const KEEP_DATA_MS = 3000
let keepDataUntil = 0

/** For the query client's `placeholderData`: whether a refresh just happened. */
export function refreshInProgress(): boolean {
  return Date.now() < keepDataUntil
}

const TimeAnchorContext = createContext<TimeAnchor | null>(null)

export function TimeAnchorProvider({ children }: { children: ReactNode }) {
  const [now, setNow] = useState(() => Date.now())
  const refresh = useCallback(() => {
    keepDataUntil = Date.now() + KEEP_DATA_MS
    setNow(Date.now())
  }, [])
  const value = useMemo(() => ({ now, refresh }), [now, refresh])
  return <TimeAnchorContext.Provider value={value}>{children}</TimeAnchorContext.Provider>
}

export function useTimeAnchor(): TimeAnchor {
  const anchor = useContext(TimeAnchorContext)
  if (!anchor) throw new Error('useTimeAnchor must be used inside <TimeAnchorProvider>')
  return anchor
}
