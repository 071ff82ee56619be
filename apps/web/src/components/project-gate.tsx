'use client'
/**
 * Pages render for one project. Without `?project=` in the URL the first project is chosen and
 * written to the URL (replace, not push), so the link the user copies names it.
 */
import { useQuery } from '@tanstack/react-query'
import { type ReactNode, useEffect } from 'react'
import { useTRPC } from '../lib/trpc'
import { useView } from '../lib/use-view'
import { Empty, ErrorState, Loading } from './states'

export function ProjectGate({ children }: { children: (projectId: string) => ReactNode }) {
  const trpc = useTRPC()
  const { view, update } = useView()
  const projects = useQuery(trpc.projects.list.queryOptions())
  const first = projects.data?.[0]?.id
  useEffect(() => {
    if (!view.project && first) update({ project: first }, { replace: true })
  }, [view.project, first, update])

  if (view.project) return <>{children(view.project)}</>
  if (projects.isPending) return <Loading label="Loading projects…" />
  if (projects.isError) return <ErrorState error={projects.error} onRetry={() => void projects.refetch()} />
  if (!first) {
    return (
      <Empty title="No project yet">
        Start Hindsight with <code>HINDSIGHT_INIT_PROJECT=my-app pnpm start</code> (or plain{' '}
        <code>pnpm start</code>, which creates a default project and prints its API key), then reload this
        page.
      </Empty>
    )
  }
  return <Loading label="Opening the first project…" />
}
