'use client'
/** The trace list: newest first, cursor-paged, filtered by the global filters in the URL. */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import {
  formatCount,
  formatDateTime,
  formatSeconds,
  formatTokens,
  formatUsd,
  parseTimestamp,
  timeZoneLabel,
} from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { describeFilter } from '../../../lib/view-state'
import { AddToDataset } from '../../datasets/components/add-to-dataset'
import { SetupSnippet } from '../../setup/components/setup-snippet'
import { TraceFilters } from './trace-filters'

const PAGE_SIZE = 50

export function TraceListPage() {
  return <ProjectGate>{(projectId) => <TraceList projectId={projectId} />}</ProjectGate>
}

function TraceList({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const { view, range, query, href, update } = useView()
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const list = useInfiniteQuery(
    trpc.traces.list.infiniteQueryOptions(
      { projectId, ...query, limit: PAGE_SIZE },
      { getNextPageParam: (last) => last.next_cursor ?? undefined },
    ),
  )
  const items = list.data?.pages.flatMap((p) => p.items) ?? []
  const filterText = describeFilter(view)
  const noResults = list.isSuccess && items.length === 0
  // Only an empty, unfiltered list needs to know whether the project has data at all.
  const setup = useQuery({
    ...trpc.projects.setup.queryOptions({ projectId }),
    enabled: noResults && !filterText,
  })

  return (
    <div className="stack">
      <TraceFilters projectId={projectId} />
      {list.isPending ? <Loading label="Loading traces…" height={200} /> : null}
      {list.isError ? <ErrorState error={list.error} onRetry={() => void list.refetch()} /> : null}
      {noResults && filterText ? (
        <Empty title={`No traces match ${filterText}`}>
          Between {formatDateTime(range.from.getTime(), view.tz)} and{' '}
          {formatDateTime(range.to.getTime(), view.tz)} ({timeZoneLabel(view.tz)}).{' '}
          <button
            type="button"
            className="link-btn"
            onClick={() => update({ models: [], routes: [], status: null, name: null })}
          >
            Clear the filters
          </button>{' '}
          or pick a longer range.
        </Empty>
      ) : null}
      {noResults && !filterText ? (
        setup.data && !setup.data.hasData ? (
          <SetupSnippet info={setup.data} />
        ) : (
          <Empty title="No traces in this time range">
            Pick a longer range above (7d, 30d); traces appear here within seconds of being sent.
          </Empty>
        )
      ) : null}
      {items.length > 0 ? (
        <section className="panel">
          <AddToDataset
            projectId={projectId}
            traceIds={items.map((t) => t.trace_id).filter((id) => selected.has(id))}
            onClear={() => setSelected(new Set())}
            linkBase={href({}, '/datasets')}
          />
          <table className="table traces-table" data-testid="traces-table">
            <thead>
              <tr>
                <th>Time ({view.tz === 'utc' ? 'UTC' : 'local'})</th>
                <th>Name</th>
                <th className="num">Duration</th>
                <th className="num">LLM calls</th>
                <th className="num">Tokens (in / out)</th>
                <th className="num">Cost</th>
                <th>Status</th>
                <th>Models</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => {
                const target = href({}, `/traces/${t.trace_id}`)
                return (
                  <tr
                    key={t.trace_id}
                    className="clickable"
                    data-testid="trace-row"
                    data-trace-id={t.trace_id}
                    onClick={() => router.push(target)}
                  >
                    <td className="mono nowrap">
                      <input
                        type="checkbox"
                        data-testid="trace-select"
                        aria-label={`Select trace ${t.name || t.trace_id}`}
                        checked={selected.has(t.trace_id)}
                        style={{ height: 'auto', marginRight: 8, verticalAlign: 'middle' }}
                        onClick={(e) => e.stopPropagation()}
                        onChange={(e) => {
                          const checked = e.target.checked
                          setSelected((current) => {
                            const next = new Set(current)
                            if (checked) next.add(t.trace_id)
                            else next.delete(t.trace_id)
                            return next
                          })
                        }}
                      />
                      {formatDateTime(parseTimestamp(t.start_time), view.tz)}
                    </td>
                    <td className="ellipsis">
                      <Link href={target} onClick={(e) => e.stopPropagation()}>
                        {t.name || '(unnamed)'}
                      </Link>
                    </td>
                    <td className="num mono">{formatSeconds(t.duration_ms)}</td>
                    <td className="num">{formatCount(t.llm_calls)}</td>
                    <td className="num">
                      {formatTokens(t.input_tokens)} / {formatTokens(t.output_tokens)}
                    </td>
                    <td className="num mono">{formatUsd(t.cost_usd)}</td>
                    <td>
                      <span className={`badge ${t.status === 'error' ? 'badge-error' : 'badge-ok'}`}>
                        {t.status}
                      </span>
                    </td>
                    <td className="ellipsis muted">{t.models.join(', ') || '—'}</td>
                  </tr>
                )
              })}
            </tbody>
          </table>
          <footer className="table-foot">
            <span className="muted small">
              {formatCount(items.length)} trace{items.length === 1 ? '' : 's'} shown, newest first
            </span>
            {list.hasNextPage ? (
              <button
                type="button"
                className="btn"
                data-testid="load-more"
                disabled={list.isFetchingNextPage}
                onClick={() => void list.fetchNextPage()}
              >
                {list.isFetchingNextPage ? 'Loading…' : `Load ${PAGE_SIZE} more`}
              </button>
            ) : (
              <span className="muted small">end of the list</span>
            )}
          </footer>
        </section>
      ) : null}
    </div>
  )
}
