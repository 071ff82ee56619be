'use client'
/**
 * The "now" that relative ranges end at. It is fixed until the user refreshes or picks a range,
 * so query keys stay stable (no refetch loop) and every panel shows the same window.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react'

interface TimeAnchor {
  now: number
  refresh(): void
}

const TimeAnchorContext = createContext<TimeAnchor | null>(null)

export function TimeAnchorProvider({ children }: { children: ReactNode }) {
  const [now, setNow] = useState(() => Date.now())
  const refresh = useCallback(() => setNow(Date.now()), [])
  const value = useMemo(() => ({ now, refresh }), [now, refresh])
  return <TimeAnchorContext.Provider value={value}>{children}</TimeAnchorContext.Provider>
}

export function useTimeAnchor(): TimeAnchor {
  const anchor = useContext(TimeAnchorContext)
  if (!anchor) throw new Error('useTimeAnchor must be used inside <TimeAnchorProvider>')
  return anchor
}
