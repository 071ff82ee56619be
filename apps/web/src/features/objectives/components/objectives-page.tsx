'use client'
/**
 * Objectives (`/objectives`): each objective with its status over its period — the measure per
 * bucket against the threshold (recharts; non-compliant buckets red, empty buckets are gaps),
 * error budget remaining, burn rate and open alert; create and delete objectives.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts'
import { DeleteButton } from '../../../components/delete-button'
import { Field } from '../../../components/field'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { readUseCaseFilter, UseCaseFilterFields } from '../../../components/use-case-filter'
import { formatBucketTick, formatCount, formatMs, formatPercent, formatUsd } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'

export function ObjectivesPage() {
  return <ProjectGate>{(projectId) => <Objectives projectId={projectId} />}</ProjectGate>
}

type Kind = 'latency' | 'cost_per_call' | 'cost_per_trace' | 'min_mean_score'

const KIND_LABEL: Record<Kind, string> = {
  latency: 'latency percentile ≤ ms',
  cost_per_call: 'cost per call ≤ USD',
  cost_per_trace: 'cost per trace ≤ USD',
  min_mean_score: 'mean score ≥',
}

function formatMeasure(kind: Kind, value: number | null): string {
  if (value === null) return '—'
  if (kind === 'latency') return formatMs(value)
  if (kind === 'min_mean_score') return value.toFixed(3)
  return formatUsd(value)
}

function Objectives({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const client = useQueryClient()
  const { view } = useView()
  const objectives = useQuery({
    ...trpc.objectives.list.queryOptions({ projectId }),
    refetchInterval: 60_000,
  })
  const invalidate = () => client.invalidateQueries({ queryKey: trpc.objectives.list.queryKey() })
  const create = useMutation(trpc.objectives.create.mutationOptions({ onSuccess: invalidate }))
  const remove = useMutation(trpc.objectives.delete.mutationOptions({ onSuccess: invalidate }))
  const [kind, setKind] = useState<Kind>('latency')

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const text = (k: string) => String(data.get(k) ?? '').trim()
    create.mutate(
      {
        projectId,
        name: text('name'),
        kind,
        threshold: Number(text('threshold')),
        filter: readUseCaseFilter(data),
        ...(kind === 'latency' && text('percentile') ? { percentile: Number(text('percentile')) } : {}),
        ...(kind === 'min_mean_score' ? { scoreName: text('scoreName') } : {}),
        ...(text('target') ? { target: Number(text('target')) / 100 } : {}),
        ...(text('periodDays') ? { periodDays: Number(text('periodDays')) } : {}),
        ...(text('webhookUrl') ? { webhookUrl: text('webhookUrl') } : {}),
      },
      { onSuccess: () => form.reset() },
    )
  }

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>Objectives</h3>
          <span className="muted small">
            Success criteria defined in advance per use case. Each is an error budget; alerts (and the
            webhook) fire on its burn rate — 1 h and 5 min over 14.4×, or 6 h and 30 min over 6× — not on
            every spike.
          </span>
        </header>
        {objectives.isPending ? <Loading label="Computing objective status…" /> : null}
        {objectives.isError ? (
          <ErrorState error={objectives.error} onRetry={() => void objectives.refetch()} />
        ) : null}
        {objectives.data && objectives.data.length === 0 ? (
          <Empty title="No objective yet">
            Define one below, e.g. “p95 latency of route /chat ≤ 2000 ms” or “mean helpfulness ≥ 0.8”.
          </Empty>
        ) : null}
      </section>
      {objectives.data?.map(({ objective: o, status: s }) => {
        const chart = s.buckets.map((b) => ({
          t: Date.parse(b.bucket),
          value: b.value,
          compliant: b.compliant,
          total: b.total,
        }))
        return (
          <section className="panel" key={o.id} data-testid="objective" data-objective-id={o.id}>
            <header className="panel-head" style={{ flexWrap: 'wrap' }}>
              <h3>{o.name}</h3>
              <span className="muted small">
                {KIND_LABEL[o.kind]} {o.kind === 'latency' ? `(p${o.percentile})` : ''}{' '}
                {formatMeasure(o.kind, o.threshold)}
                {o.score_name ? ` (${o.score_name})` : ''} ·{' '}
                {Object.entries(o.filter)
                  .filter(([, v]) => v && v.length > 0)
                  .map(([k, v]) => `${k}: ${(v ?? []).join(', ')}`)
                  .join(' · ') || 'every trace'}{' '}
                · {o.period_days} d
              </span>
              <div className="spacer" />
              <span className={s.met === false ? 'chip error-text' : 'chip'} data-testid="objective-met">
                {s.met === null ? 'no data yet' : s.met ? 'met' : 'not met'}
              </span>
              <span className="chip" data-testid="objective-budget">
                budget left{' '}
                {s.error_budget_remaining === null ? '—' : formatPercent(s.error_budget_remaining)}
              </span>
              <DeleteButton
                confirm={`Delete objective "${o.name}"?`}
                onDelete={() => remove.mutate({ projectId, objectiveId: o.id })}
              />
            </header>
            {s.open_alert ? (
              <div className="note error" data-testid="objective-alert">
                {s.open_alert.severity === 'fast' ? 'Fast' : 'Slow'} burn since {s.open_alert.started_at}:{' '}
                {s.open_alert.detail}
              </div>
            ) : null}
            <div className="muted small">
              {formatCount(s.events)} events, {formatCount(s.bad_events)} over the threshold; period measure{' '}
              {formatMeasure(o.kind, s.value)}; allowed bad share {formatPercent(s.budget)}.
              {s.burn.windows.length > 0
                ? ` Burn now: ${s.burn.windows
                    .map((w) => `${w.severity} ${w.long === null ? '—' : `${w.long.toFixed(1)}×`}`)
                    .join(', ')}.`
                : ''}
            </div>
            {s.events === 0 ? (
              <Empty title="No events in the period">
                Nothing matched this objective's filter in the last {o.period_days} days: check the filter, or
                send traffic.
              </Empty>
            ) : (
              <div data-testid="objective-chart" style={{ height: 200 }}>
                <ResponsiveContainer width="100%" height="100%">
                  <BarChart data={chart} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" vertical={false} />
                    <XAxis
                      dataKey="t"
                      tickFormatter={(t: number) => formatBucketTick(t, s.interval_seconds, view.tz)}
                      minTickGap={40}
                    />
                    <YAxis tickFormatter={(v: number) => formatMeasure(o.kind, v)} width={70} />
                    <Tooltip
                      labelFormatter={(t) => formatBucketTick(Number(t), s.interval_seconds, view.tz)}
                      formatter={(v) => formatMeasure(o.kind, typeof v === 'number' ? v : null)}
                    />
                    {o.kind === 'latency' || o.kind === 'min_mean_score' ? (
                      <ReferenceLine y={o.threshold} stroke="#fa5252" strokeDasharray="4 4" />
                    ) : null}
                    <Bar dataKey="value" isAnimationActive={false}>
                      {chart.map((b) => (
                        <Cell key={b.t} fill={b.compliant === false ? '#fa5252' : '#12b886'} />
                      ))}
                    </Bar>
                  </BarChart>
                </ResponsiveContainer>
              </div>
            )}
            {s.recent_alerts.length > 0 ? (
              <details>
                <summary className="small">Recent alerts ({s.recent_alerts.length})</summary>
                <ul className="small">
                  {s.recent_alerts.map((a) => (
                    <li key={a.id}>
                      {a.severity} · {a.state} · {a.started_at}
                      {a.resolved_at ? ` → ${a.resolved_at}` : ''} · {a.detail}
                    </li>
                  ))}
                </ul>
              </details>
            ) : null}
          </section>
        )
      })}
      {remove.isError ? <div className="note error">{remove.error.message}</div> : null}

      <section className="panel">
        <header className="panel-head">
          <h3>New objective</h3>
        </header>
        <form className="form-row" onSubmit={onCreate} data-testid="objective-form">
          <Field label="Name">
            <input name="name" required data-testid="objective-name" placeholder="chat p95" />
          </Field>
          <Field label="Kind">
            <select
              data-testid="objective-kind"
              value={kind}
              onChange={(e) => setKind(e.target.value as Kind)}
            >
              {(Object.keys(KIND_LABEL) as Kind[]).map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Threshold">
            <input name="threshold" type="number" step="any" required data-testid="objective-threshold" />
          </Field>
          {kind === 'latency' ? (
            <Field label="Percentile">
              <input name="percentile" type="number" min={1} max={99.9} step="any" placeholder="95" />
            </Field>
          ) : null}
          {kind === 'min_mean_score' ? (
            <Field label="Score name">
              <input name="scoreName" required placeholder="helpfulness" />
            </Field>
          ) : null}
          {kind !== 'latency' ? (
            <Field label="Target %">
              <input
                name="target"
                type="number"
                min={1}
                max={99.99}
                step="any"
                placeholder={kind === 'min_mean_score' ? '90' : '99'}
              />
            </Field>
          ) : null}
          <UseCaseFilterFields model={false} routeTestId="objective-route" />
          <Field label="Period (days)">
            <input name="periodDays" type="number" min={1} max={90} placeholder="7" />
          </Field>
          <Field label="Webhook URL">
            <input name="webhookUrl" type="url" placeholder="optional" />
          </Field>
          <button
            type="submit"
            className="btn primary"
            disabled={create.isPending}
            data-testid="objective-submit"
          >
            Create objective
          </button>
        </form>
        {create.isError ? <div className="note error">{create.error.message}</div> : null}
      </section>
    </div>
  )
}
