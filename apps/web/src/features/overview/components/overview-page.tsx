'use client'
import type { Kpis } from '@hindsight/dashboards'
import { useQuery } from '@tanstack/react-query'
import { useRouter } from 'next/navigation'
import { useMemo, useState } from 'react'
import { ActiveFilters } from '../../../components/active-filters'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { formatCount } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { describeFilter } from '../../../lib/view-state'
import { SetupSnippet } from '../../setup/components/setup-snippet'
import { scoreColumns } from '../lib/breakdown'
import { BreakdownTable, ScorePicker } from './breakdown-table'
import { CachePanel } from './cache-panel'
import { type ChartNavigation, CostChart, LatencyChart, TokensChart } from './charts'
import { ErrorsPanel } from './errors-panel'
import { GroupByPanel } from './group-by-panel'
import { KpiTiles } from './kpi-tiles'
import { QualityTrends } from './quality-trends'
import { TopCallsPanel } from './top-calls-panel'

export function OverviewPage() {
  return <ProjectGate>{(projectId) => <Overview projectId={projectId} />}</ProjectGate>
}

function Overview({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const setup = useQuery(trpc.projects.setup.queryOptions({ projectId }))
  if (setup.isPending) return <Loading label="Loading project…" />
  if (setup.isError) return <ErrorState error={setup.error} onRetry={() => void setup.refetch()} />
  if (!setup.data.hasData) return <SetupSnippet info={setup.data} />
  return (
    <div className="stack">
      <ActiveFilters />
      <KpiPanel projectId={projectId} />
      <SeriesPanel projectId={projectId} />
      <CachePanel projectId={projectId} />
      <TopCallsPanel projectId={projectId} />
      <BreakdownPanel projectId={projectId} />
    </div>
  )
}

function periodLabel(range: string): string {
  return range === 'custom' ? 'period' : range
}

function KpiPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { view, range, query, update } = useView()
  const kpis = useQuery(trpc.overview.kpis.queryOptions({ projectId, ...query }))
  if (kpis.isPending) return <Loading label="Loading headline numbers…" height={96} />
  if (kpis.isError) return <ErrorState error={kpis.error} onRetry={() => void kpis.refetch()} />
  const { current } = kpis.data
  const filterText = describeFilter(view)
  return (
    <>
      {current.calls === 0 ? (
        filterText ? (
          <Empty title={`No calls match ${filterText} in this range`}>
            Remove a filter above, or{' '}
            <button
              type="button"
              className="link-btn"
              onClick={() => update({ models: [], routes: [], status: null, name: null })}
            >
              clear all filters
            </button>
            .
          </Empty>
        ) : (
          <Empty title="No calls in this time range">
            This project has data, just not between these times: pick a longer range (7d, 30d) above.
          </Empty>
        )
      ) : null}
      <KpiTiles overview={kpis.data} periodLabel={periodLabel(range.label)} />
      <PartialCost kpis={current} />
    </>
  )
}

function tracesHref(
  href: ReturnType<typeof useView>['href'],
  from: number,
  to: number,
  model: string | undefined,
  status?: 'error',
): string {
  return href(
    {
      range: null,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      ...(model ? { models: [model] } : {}),
      ...(status ? { status } : {}),
    },
    '/traces',
  )
}

/** Where the overview's charts lead: a bucket's traces, or a zoomed range. */
function useChartNavigation(): ChartNavigation {
  const router = useRouter()
  const { href, update } = useView()
  return useMemo<ChartNavigation>(
    () => ({
      toTraces: (from, to, model, status) => router.push(tracesHref(href, from, to, model, status)),
      tracesHref: (from, to, model, status) => tracesHref(href, from, to, model, status),
      zoom: (from, to) =>
        update({ range: null, from: new Date(from).toISOString(), to: new Date(to).toISOString() }),
    }),
    [router, href, update],
  )
}

function SeriesPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { view, query } = useView()
  const series = useQuery(trpc.overview.series.queryOptions({ projectId, ...query }))
  const nav = useChartNavigation()
  if (series.isPending) return <Loading label="Loading charts…" height={260} />
  if (series.isError) return <ErrorState error={series.error} onRetry={() => void series.refetch()} />
  return (
    <>
      <div className="charts">
        <CostChart series={series.data} tz={view.tz} nav={nav} />
        <LatencyChart series={series.data} tz={view.tz} nav={nav} />
        <TokensChart series={series.data} tz={view.tz} nav={nav} />
      </div>
      <ErrorsPanel projectId={projectId} series={series.data} nav={nav} />
    </>
  )
}

/** Cost, latency and quality per model and per release, with one score picker for both tables. */
function BreakdownPanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { query } = useView()
  const [picked, setPicked] = useState<string[] | null>(null)
  const nav = useChartNavigation()
  const byModel = useQuery(trpc.overview.breakdown.queryOptions({ projectId, ...query, dimension: 'model' }))
  if (byModel.isPending) return <Loading label="Loading the model breakdown…" height={120} />
  if (byModel.isError) return <ErrorState error={byModel.error} onRetry={() => void byModel.refetch()} />
  if (byModel.data.rows.length === 0) return null
  const names = byModel.data.scoreNames
  const shown = scoreColumns(names, picked)
  return (
    <div className="stack">
      <ScorePicker names={names} shown={shown} onChange={setPicked} />
      <QualityTrends projectId={projectId} names={shown} nav={nav} />
      <BreakdownTable breakdown={byModel.data} scores={shown} />
      <DimensionTable projectId={projectId} dimension="route" scores={shown} />
      <DimensionTable projectId={projectId} dimension="release" scores={shown} />
      <GroupByPanel projectId={projectId} scores={shown} />
    </div>
  )
}

/**
 * The by-route or by-release table, loading and failing on its own. Hidden when no call carries the
 * dimension (a single "(no route)" row says nothing).
 */
function DimensionTable({
  projectId,
  dimension,
  scores,
}: {
  projectId: string
  dimension: 'route' | 'release'
  scores: string[]
}) {
  const trpc = useTRPC()
  const { query } = useView()
  const breakdown = useQuery(
    trpc.overview.breakdown.queryOptions({ projectId, ...query, dimension, withScoreNames: false }),
  )
  if (breakdown.isPending) return <Loading label={`Loading the ${dimension} breakdown…`} height={120} />
  if (breakdown.isError)
    return <ErrorState error={breakdown.error} onRetry={() => void breakdown.refetch()} />
  if (!breakdown.data.rows.some((r) => r.key !== '')) return null
  return <BreakdownTable breakdown={breakdown.data} scores={scores} />
}

/**
 * Says when the cost is a lower bound: model calls without a price (a model missing from the price
 * table, or no token usage reported). Failed calls that reported no usage are named apart: providers
 * bill nothing for a rejected request, so they leave the cost exact.
 */
function PartialCost({ kpis }: { kpis: Kpis }) {
  const unbilled = kpis.unpriced_failed_calls
  const unpriced = kpis.unpriced_calls - unbilled
  if (unpriced <= 0) return null
  return (
    <div className="note warn" data-testid="partial-cost">
      Partial cost: {formatCount(unpriced)} of {formatCount(kpis.calls)} calls have no price (a model missing
      from the price table, or no token usage reported), so cost and cost per call are lower bounds.
      {unbilled > 0
        ? ` Not counted among them: ${formatCount(unbilled)} failed ${unbilled === 1 ? 'call' : 'calls'} that reported no usage (providers bill nothing for these).`
        : null}
    </div>
  )
}
