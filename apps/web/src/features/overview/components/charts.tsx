'use client'
/**
 * Overview charts. They render the prepared model from `overview.series` as is: missing buckets
 * stay null (gaps, `connectNulls={false}`), lines are straight between points (`type="linear"`),
 * never smoothed. Clicking goes to the matching traces; dragging across a line chart zooms.
 */
import { type ReactNode, useState } from 'react'
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceArea,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts'
import {
  formatBucketTick,
  formatMs,
  formatTokens,
  formatUsd,
  formatUsdTick,
  type TimeZoneMode,
} from '../../../lib/format'
import type { CostPoint, LatencyPoint, OverviewSeries, TokenPoint } from '../lib/series'
import { OTHER_MODELS } from '../lib/series'

const HEIGHT = 220
export const MODEL_COLORS = [
  '#4f7cff',
  '#f59f00',
  '#12b886',
  '#e64980',
  '#7950f2',
  '#15aabf',
  '#fa5252',
  '#82c91e',
]
const OTHER_COLOR = '#868e96'

export function modelColor(models: string[], model: string): string {
  if (model === OTHER_MODELS) return OTHER_COLOR
  const i = models.indexOf(model)
  return MODEL_COLORS[Math.max(i, 0) % MODEL_COLORS.length] ?? OTHER_COLOR
}

/** Where a click or drag on a chart leads. */
export interface ChartNavigation {
  /** Traces in [from, to), optionally for one model and only the failing ones. */
  toTraces(from: number, to: number, model?: string, status?: 'error'): void
  /** The URL `toTraces` goes to, for real links. */
  tracesHref(from: number, to: number, model?: string, status?: 'error'): string
  /** Zoom the global range to [from, to). */
  zoom(from: number, to: number): void
}

interface ChartFrameProps {
  title: string
  testId: string
  hint?: string
  empty: boolean
  children: ReactNode
}

function ChartFrame({ title, testId, hint, empty, children }: ChartFrameProps) {
  return (
    <section className="panel chart" data-testid={testId}>
      <header className="panel-head">
        <h3>{title}</h3>
        {hint ? <span className="muted small">{hint}</span> : null}
      </header>
      {empty ? (
        <div className="chart-empty" style={{ height: HEIGHT }}>
          No calls in this range
        </div>
      ) : (
        <div className="chart-body" style={{ height: HEIGHT }}>
          {children}
        </div>
      )}
    </section>
  )
}

export const axisProps = { stroke: 'var(--muted)', fontSize: 11, tickLine: false } as const
export const tooltipStyle = {
  contentStyle: {
    background: 'var(--panel)',
    border: '1px solid var(--border)',
    borderRadius: 6,
    fontSize: 12,
    color: 'var(--text)',
  },
  labelStyle: { color: 'var(--muted)' },
} as const

function tick(series: OverviewSeries, tz: TimeZoneMode) {
  return (value: unknown) => formatBucketTick(Number(value), series.intervalSeconds, tz)
}

function tooltipLabel(series: OverviewSeries, tz: TimeZoneMode) {
  return (label: ReactNode) => {
    const t = Number(label)
    return Number.isFinite(t)
      ? `${formatBucketTick(t, series.intervalSeconds, tz)} (${tz === 'utc' ? 'UTC' : 'local'})`
      : label
  }
}

const hasAny = <T,>(points: T[], pick: (p: T) => Array<number | null>) =>
  points.some((p) => pick(p).some((v) => v !== null))

export function CostChart({
  series,
  tz,
  nav,
}: {
  series: OverviewSeries
  tz: TimeZoneMode
  nav: ChartNavigation
}) {
  const step = series.intervalSeconds * 1000
  const empty = !hasAny(series.cost, (p) => Object.values(p.byModel))
  return (
    <ChartFrame
      title="Cost by model"
      testId="chart-cost"
      hint="USD per bucket · click a bar for its traces"
      empty={empty}
    >
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={series.cost} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" vertical={false} />
          <XAxis dataKey="t" tickFormatter={tick(series, tz)} {...axisProps} minTickGap={24} />
          <YAxis tickFormatter={(v: number) => formatUsdTick(v)} {...axisProps} width={60} />
          <Tooltip
            {...tooltipStyle}
            cursor={{ fill: 'var(--hover)' }}
            labelFormatter={tooltipLabel(series, tz)}
            formatter={(value) => (typeof value === 'number' ? formatUsd(value) : '—')}
          />
          <Legend wrapperStyle={{ fontSize: 11 }} itemSorter={null} />
          {series.models.map((model) => (
            <Bar
              key={model}
              name={model}
              dataKey={(p: CostPoint) => p.byModel[model] ?? null}
              stackId="cost"
              fill={modelColor(series.models, model)}
              isAnimationActive={false}
              cursor="pointer"
              onClick={(_, index) => {
                const point = series.cost[index]
                if (point) nav.toTraces(point.t, point.t + step, model === OTHER_MODELS ? undefined : model)
              }}
            />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </ChartFrame>
  )
}

/** Drag-to-zoom and click-through for line charts over buckets. */
function useBucketSelection(points: Array<{ t: number }>, step: number, nav: ChartNavigation) {
  const [start, setStart] = useState<number | null>(null)
  const [end, setEnd] = useState<number | null>(null)
  const indexOf = (state: { activeIndex?: unknown }): number | null => {
    const i = Number(state.activeIndex)
    return Number.isInteger(i) && i >= 0 && i < points.length ? i : null
  }
  return {
    area:
      start !== null && end !== null && start !== end
        ? { x1: points[Math.min(start, end)]?.t, x2: points[Math.max(start, end)]?.t }
        : null,
    handlers: {
      onMouseDown: (state: { activeIndex?: unknown }) => {
        const i = indexOf(state)
        setStart(i)
        setEnd(i)
      },
      onMouseMove: (state: { activeIndex?: unknown }) => {
        if (start === null) return
        const i = indexOf(state)
        if (i !== null) setEnd(i)
      },
      onMouseUp: () => {
        if (start !== null && end !== null) {
          const a = points[Math.min(start, end)]
          const b = points[Math.max(start, end)]
          if (a && b) {
            if (start === end) nav.toTraces(a.t, a.t + step)
            else nav.zoom(a.t, b.t + step)
          }
        }
        setStart(null)
        setEnd(null)
      },
      onMouseLeave: () => {
        setStart(null)
        setEnd(null)
      },
    },
  }
}

interface SeriesLine<P> {
  key: Exclude<keyof P, 't'>
  name: string
  color: string
  dashed?: boolean
}

/** A line per series key over time buckets, with the drag-to-zoom selection (latency, tokens). */
function SeriesLineChart<P extends { t: number }>({
  series,
  tz,
  points,
  lines,
  selection,
  formatAxis,
  formatValue,
  axisWidth,
}: {
  series: OverviewSeries
  tz: TimeZoneMode
  points: P[]
  lines: readonly SeriesLine<P>[]
  selection: ReturnType<typeof useBucketSelection>
  formatAxis: (value: number) => string
  formatValue: (value: number) => string
  axisWidth: number
}) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={points} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} {...selection.handlers}>
        <CartesianGrid stroke="var(--grid)" vertical={false} />
        <XAxis dataKey="t" tickFormatter={tick(series, tz)} {...axisProps} minTickGap={24} />
        <YAxis tickFormatter={(v: number) => formatAxis(v)} {...axisProps} width={axisWidth} />
        <Tooltip
          {...tooltipStyle}
          labelFormatter={tooltipLabel(series, tz)}
          formatter={(value) => (typeof value === 'number' ? formatValue(value) : '—')}
        />
        <Legend wrapperStyle={{ fontSize: 11 }} itemSorter={null} />
        {lines.map((line) => (
          <Line
            key={String(line.key)}
            name={line.name}
            dataKey={(p: P) => p[line.key]}
            type="linear"
            stroke={line.color}
            strokeWidth={1.5}
            strokeDasharray={line.dashed ? '4 3' : undefined}
            dot={points.length < 40 ? { r: 2 } : false}
            connectNulls={false}
            isAnimationActive={false}
          />
        ))}
        {selection.area ? (
          <ReferenceArea x1={selection.area.x1} x2={selection.area.x2} fillOpacity={0.15} />
        ) : null}
      </LineChart>
    </ResponsiveContainer>
  )
}

const LATENCY_LINES: readonly SeriesLine<LatencyPoint>[] = [
  { key: 'p50', name: 'p50', color: '#12b886' },
  { key: 'p95', name: 'p95', color: '#f59f00' },
  { key: 'p99', name: 'p99', color: '#fa5252' },
  { key: 'ttft_p50', name: 'TTFT p50', color: '#7950f2', dashed: true },
]

export function LatencyChart({
  series,
  tz,
  nav,
}: {
  series: OverviewSeries
  tz: TimeZoneMode
  nav: ChartNavigation
}) {
  const selection = useBucketSelection(series.latency, series.intervalSeconds * 1000, nav)
  const empty = !hasAny(series.latency, (p) => [p.p50, p.p95, p.p99])
  return (
    <ChartFrame
      title="Latency"
      testId="chart-latency"
      hint="p50 / p95 / p99, and the median time to first token of streamed calls (dashed) · drag to zoom"
      empty={empty}
    >
      <SeriesLineChart
        series={series}
        tz={tz}
        points={series.latency}
        lines={LATENCY_LINES}
        selection={selection}
        formatAxis={formatMs}
        formatValue={formatMs}
        axisWidth={64}
      />
    </ChartFrame>
  )
}

const TOKEN_LINES: readonly SeriesLine<TokenPoint>[] = [
  { key: 'input', name: 'input', color: '#4f7cff' },
  { key: 'output', name: 'output', color: '#e64980' },
  { key: 'cache_read', name: 'cache read', color: '#12b886' },
]

export function TokensChart({
  series,
  tz,
  nav,
}: {
  series: OverviewSeries
  tz: TimeZoneMode
  nav: ChartNavigation
}) {
  const selection = useBucketSelection(series.tokens, series.intervalSeconds * 1000, nav)
  const empty = !hasAny(series.tokens, (p) => [p.input, p.output, p.cache_read])
  return (
    <ChartFrame
      title="Tokens"
      testId="chart-tokens"
      hint="input (incl. cache read) / output / cache read · drag to zoom"
      empty={empty}
    >
      <SeriesLineChart
        series={series}
        tz={tz}
        points={series.tokens}
        lines={TOKEN_LINES}
        selection={selection}
        formatAxis={formatTokens}
        formatValue={(value) => `${formatTokens(value)} tokens`}
        axisWidth={56}
      />
    </ChartFrame>
  )
}
