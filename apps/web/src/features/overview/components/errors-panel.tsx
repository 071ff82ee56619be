'use client'
/**
 * Errors on the overview: failed calls and the error rate per bucket (from `overview.series`), and
 * the failures by error type (from `overview.errors`), each type with its models, when it was last
 * seen and a link to its newest failing trace; the whole list of failing traces is one click away.
 */
import type { ErrorBreakdown } from '@hindsight/dashboards'
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts'
import { ErrorState, Loading } from '../../../components/states'
import {
  formatBucketTick,
  formatCount,
  formatDateTime,
  formatPercent,
  type TimeZoneMode,
} from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import type { OverviewSeries } from '../lib/series'
import { axisProps, type ChartNavigation, tooltipStyle } from './charts'

const HEIGHT = 200

function ErrorChart({ series, tz, nav }: { series: OverviewSeries; tz: TimeZoneMode; nav: ChartNavigation }) {
  const step = series.intervalSeconds * 1000
  return (
    <div style={{ height: HEIGHT }} data-testid="chart-errors">
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={series.errors} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" vertical={false} />
          <XAxis
            dataKey="t"
            tickFormatter={(v: number) => formatBucketTick(v, series.intervalSeconds, tz)}
            {...axisProps}
            minTickGap={24}
          />
          <YAxis yAxisId="n" allowDecimals={false} {...axisProps} width={40} />
          <YAxis
            yAxisId="rate"
            orientation="right"
            tickFormatter={(v: number) => formatPercent(v)}
            {...axisProps}
            width={48}
          />
          <Tooltip
            {...tooltipStyle}
            labelFormatter={(label) => formatBucketTick(Number(label), series.intervalSeconds, tz)}
            formatter={(value, name) =>
              typeof value !== 'number'
                ? '—'
                : name === 'error rate'
                  ? formatPercent(value)
                  : formatCount(value)
            }
          />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          <Bar
            yAxisId="n"
            dataKey="errors"
            name="failed calls"
            fill="#fa5252"
            isAnimationActive={false}
            cursor="pointer"
            onClick={(_, index) => {
              const point = series.errors[index]
              if (point?.errors) nav.toTraces(point.t, point.t + step, undefined, 'error')
            }}
          />
          <Line
            yAxisId="rate"
            dataKey="rate"
            name="error rate"
            type="linear"
            stroke="#868e96"
            strokeWidth={1.5}
            dot={false}
            connectNulls={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  )
}

function TypesTable({ breakdown, tz }: { breakdown: ErrorBreakdown; tz: TimeZoneMode }) {
  const { href } = useView()
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Error type</th>
          <th className="num">Calls</th>
          <th className="num">Traces</th>
          <th>Models</th>
          <th>Last seen</th>
          <th>Newest failure</th>
        </tr>
      </thead>
      <tbody>
        {breakdown.types.map((t) => (
          <tr key={t.error_type} data-testid="error-type-row" data-key={t.error_type}>
            <td>
              <code>{t.error_type}</code>
            </td>
            <td className="num" data-testid="error-type-calls">
              {formatCount(t.calls)}
            </td>
            <td className="num">{formatCount(t.traces)}</td>
            <td className="muted small">{t.models.join(', ') || '—'}</td>
            <td className="small">{formatDateTime(Date.parse(t.last_seen), tz)}</td>
            <td className="small" title={t.example_message}>
              <Link href={href({}, `/traces/${t.example_trace_id}`)} data-testid="error-type-example">
                {t.example_message ? t.example_message.slice(0, 60) : 'open trace'}
              </Link>
            </td>
          </tr>
        ))}
        {breakdown.other_calls > 0 ? (
          <tr>
            <td className="muted">other types</td>
            <td className="num">{formatCount(breakdown.other_calls)}</td>
            <td colSpan={4} />
          </tr>
        ) : null}
      </tbody>
    </table>
  )
}

export function ErrorsPanel({
  projectId,
  series,
  nav,
}: {
  projectId: string
  series: OverviewSeries
  nav: ChartNavigation
}) {
  const trpc = useTRPC()
  const { view, query, href } = useView()
  const errors = useQuery(trpc.overview.errors.queryOptions({ projectId, ...query }))
  return (
    <section className="panel" data-testid="errors-panel">
      <header className="panel-head">
        <h3>Errors</h3>
        <span className="muted small">
          failed model calls per bucket and their rate · click a bar for that bucket's traces with a failure ·{' '}
          <Link href={href({ status: 'error' }, '/traces')} data-testid="errors-all-traces">
            every trace with a failure
          </Link>
        </span>
      </header>
      {errors.isPending ? <Loading label="Loading the errors…" height={HEIGHT} /> : null}
      {errors.isError ? <ErrorState error={errors.error} onRetry={() => void errors.refetch()} /> : null}
      {errors.data && errors.data.calls === 0 ? (
        <p className="muted" data-testid="errors-none">
          No failed call in this range.
        </p>
      ) : null}
      {errors.data && errors.data.calls > 0 ? (
        <div className="errors-body">
          <ErrorChart series={series} tz={view.tz} nav={nav} />
          <TypesTable breakdown={errors.data} tz={view.tz} />
        </div>
      ) : null}
    </section>
  )
}
