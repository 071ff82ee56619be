'use client'
/**
 * The most expensive calls of the range (from `overview.topCalls`): what each cost, its tokens and
 * cache reads, and a link to the call in its trace.
 */
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { ErrorState, Loading } from '../../../components/states'
import { formatDateTime, formatMs, formatTokens, formatUsd } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'

/** The trace page's URL with the call selected (`?span=`, beside the view's own parameters). */
function withSpan(url: string, spanId: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}span=${spanId}`
}

export function TopCallsPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { view, query, href } = useView()
  const top = useQuery(trpc.overview.topCalls.queryOptions({ projectId, ...query }))
  if (top.isPending) return <Loading label="Loading the most expensive calls…" height={80} />
  if (top.isError) return <ErrorState error={top.error} onRetry={() => void top.refetch()} />
  if (top.data.length === 0) return null
  return (
    <section className="panel" data-testid="top-calls">
      <header className="panel-head">
        <h3>Most expensive calls</h3>
        <span className="muted small">
          priced model calls of the range · click one to open it in its trace
        </span>
      </header>
      <table className="table">
        <thead>
          <tr>
            <th>Call</th>
            <th>Model</th>
            <th className="num">Cost</th>
            <th className="num">Tokens (in / out)</th>
            <th className="num">Cache read</th>
            <th className="num">Duration</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {top.data.map((c) => (
            <tr key={`${c.trace_id}:${c.span_id}`} data-testid="top-call" data-span-id={c.span_id}>
              <td>
                <Link href={withSpan(href({}, `/traces/${c.trace_id}`), c.span_id)}>{c.name}</Link>
              </td>
              <td>{c.model}</td>
              <td className="num" data-testid="top-call-cost">
                {formatUsd(c.cost_usd)}
              </td>
              <td className="num">
                {formatTokens(c.input_tokens)} / {formatTokens(c.output_tokens)}
              </td>
              <td className="num">{c.cache_read_tokens > 0 ? formatTokens(c.cache_read_tokens) : '—'}</td>
              <td className="num">{formatMs(c.duration_ms)}</td>
              <td className="small">{formatDateTime(Date.parse(c.start_time), view.tz)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
