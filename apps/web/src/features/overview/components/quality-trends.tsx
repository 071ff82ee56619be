'use client'
/**
 * Score trends on the overview: one small chart per score name, the mean (a pass rate for boolean
 * scores) per bucket as a line and its 95% interval as a band, from `overview.quality`. Buckets
 * without scores are gaps. Clicking a point opens that bucket's traces.
 */
import { useQuery } from '@tanstack/react-query'
import {
  Area,
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts'
import { ErrorState, Loading } from '../../../components/states'
import { formatBucketTick, formatCount, formatPercent, type TimeZoneMode } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { formatScoreMean } from '../lib/breakdown'
import { MAX_TRENDS } from '../lib/quality-limits'
import type { QualityPoint, QualitySeries, QualityTrend } from '../lib/quality-series'
import { axisProps, type ChartNavigation, tooltipStyle } from './charts'

const HEIGHT = 160

/** What recharts passes a custom dot renderer. */
interface DotRenderProps {
  cx?: number | null
  cy?: number | null
  index?: number
  payload?: QualityPoint
}
const LINE = '#7950f2'

function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  return `${Math.round(seconds / 60)} min`
}

function TrendChart({
  trend,
  intervalSeconds,
  tz,
  nav,
}: {
  trend: QualityTrend
  intervalSeconds: number
  tz: TimeZoneMode
  nav: ChartNavigation
}) {
  const format = (v: number) => (trend.rate ? formatPercent(v) : formatScoreMean(v))
  const scored = trend.points.filter((p) => p.mean !== null)
  const step = intervalSeconds * 1000
  return (
    <div
      className="quality-trend"
      data-testid="quality-trend"
      data-score-name={trend.name}
      data-points={scored.length}
    >
      <div className="quality-trend-head">
        <strong>{trend.name}</strong>{' '}
        <span className="muted small">
          {trend.rate ? 'pass rate' : 'mean'} · n = {formatCount(trend.n)}
        </span>
      </div>
      <div style={{ height: HEIGHT }}>
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={trend.points} margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="var(--grid)" vertical={false} />
            <XAxis
              dataKey="t"
              tickFormatter={(v: number) => formatBucketTick(v, intervalSeconds, tz)}
              {...axisProps}
              minTickGap={24}
            />
            <YAxis
              tickFormatter={format}
              {...axisProps}
              width={48}
              domain={trend.rate ? [0, 1] : ['auto', 'auto']}
            />
            <Tooltip
              {...tooltipStyle}
              labelFormatter={(label) => {
                const t = Number(label)
                return Number.isFinite(t) ? formatBucketTick(t, intervalSeconds, tz) : String(label)
              }}
              formatter={(value, _name, item) => {
                const point = item.payload as QualityPoint
                if (Array.isArray(value)) {
                  return [`${format(Number(value[0]))} – ${format(Number(value[1]))}`, '95% interval']
                }
                return [typeof value === 'number' ? `${format(value)} (n = ${point.n})` : '—', trend.name]
              }}
            />
            <Area
              dataKey={(p: QualityPoint) => p.band}
              stroke="none"
              fill={LINE}
              fillOpacity={0.15}
              connectNulls={false}
              isAnimationActive={false}
              name="95% interval"
            />
            <Line
              dataKey={(p: QualityPoint) => p.mean}
              type="linear"
              stroke={LINE}
              strokeWidth={1.5}
              // Each dot opens its own bucket's traces (the chart's click reports the tooltip's
              // index, which can lag behind a quick click).
              dot={(props: DotRenderProps) => {
                const { cx, cy, index, payload } = props
                const key = `dot-${index}`
                if (cx == null || cy == null || !payload || payload.mean === null) return <g key={key} />
                return (
                  <a
                    key={key}
                    href={nav.tracesHref(payload.t, payload.t + step)}
                    onClick={(event) => {
                      event.preventDefault()
                      nav.toTraces(payload.t, payload.t + step)
                    }}
                  >
                    <title>{`${trend.name} ${format(payload.mean)} (n = ${payload.n}): open these traces`}</title>
                    <circle className="recharts-dot" cx={cx} cy={cy} r={3} fill={LINE} cursor="pointer" />
                  </a>
                )
              }}
              // No hover dot: drawn over the hovered point, it would take the click from its link.
              activeDot={false}
              connectNulls={false}
              isAnimationActive={false}
              name={trend.name}
            />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <Histogram trend={trend} />
    </div>
  )
}

/** How the values spread over the range: equal-width bins from the smallest to the largest value. */
function Histogram({ trend }: { trend: QualityTrend }) {
  const d = trend.distribution
  if (!d || d.n === 0) return null
  const data = d.bins.map((b) => ({
    ...b,
    label: b.from === b.to ? formatScoreMean(b.from) : `${formatScoreMean(b.from)}–${formatScoreMean(b.to)}`,
  }))
  return (
    <div className="quality-histogram" data-testid="quality-histogram" data-bins={d.bins.length} data-n={d.n}>
      <span className="muted small">
        spread of {formatCount(d.n)} scores: {formatScoreMean(d.min)} to {formatScoreMean(d.max)}
      </span>
      <div style={{ height: 56 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 2, right: 8, bottom: 0, left: 48 }}>
            <XAxis dataKey="label" hide />
            <Tooltip
              {...tooltipStyle}
              formatter={(value) => [formatCount(Number(value)), 'scores']}
              labelFormatter={(label) => String(label)}
            />
            <Bar dataKey="count" fill={LINE} fillOpacity={0.6} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  )
}

function TrendGrid({ series, tz, nav }: { series: QualitySeries; tz: TimeZoneMode; nav: ChartNavigation }) {
  return (
    <div className="quality-trends">
      {series.trends.map((trend) => (
        <TrendChart
          key={trend.name}
          trend={trend}
          intervalSeconds={series.intervalSeconds}
          tz={tz}
          nav={nav}
        />
      ))}
    </div>
  )
}

/** The panel: the score names the breakdown tables show, or the most scored ones. */
export function QualityTrends({
  projectId,
  names,
  nav,
}: {
  projectId: string
  names: string[]
  nav: ChartNavigation
}) {
  const trpc = useTRPC()
  const { view, query } = useView()
  const charted = names.slice(0, MAX_TRENDS)
  const quality = useQuery({
    ...trpc.overview.quality.queryOptions({ projectId, ...query, names: charted }),
    enabled: charted.length > 0,
  })
  if (charted.length === 0) return null
  return (
    <section className="panel" data-testid="quality-trends">
      <header className="panel-head">
        <h3>Quality over time</h3>
        {quality.data ? (
          <span className="muted small">
            per {formatDuration(quality.data.intervalSeconds)} · line: mean score of the traces started then ·
            band: 95% interval (Wilson for pass rates, t for means, within the values seen) · click a point
            for its traces
            {names.length > charted.length
              ? ` · the first ${MAX_TRENDS} of the ${names.length} shown scores`
              : ''}
          </span>
        ) : null}
      </header>
      {quality.isPending ? <Loading label="Loading score trends…" height={HEIGHT} /> : null}
      {quality.isError ? <ErrorState error={quality.error} onRetry={() => void quality.refetch()} /> : null}
      {quality.data ? <TrendGrid series={quality.data} tz={view.tz} nav={nav} /> : null}
    </section>
  )
}
