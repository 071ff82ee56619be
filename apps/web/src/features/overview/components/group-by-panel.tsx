'use client'
/**
 * "Breakdown by": the same per-row metrics and score means as the model, route and release tables,
 * grouped by a dimension the user picks — provider, environment, service, user, or any span
 * attribute key (e.g. `hindsight.metadata.customer` from `withAttributes({ metadata })`). The
 * choice lives in the URL (`by`, `by_key`).
 */
import { useQuery } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { ErrorState, Loading } from '../../../components/states'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { GROUP_BY_CHOICES, type GroupByChoice } from '../../../lib/view-state'
import { BreakdownTable, DIMENSION_LABELS } from './breakdown-table'

function Picker({ by, byKey }: { by: GroupByChoice; byKey: string }) {
  const { update } = useView()
  const [draft, setDraft] = useState(byKey)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    update({ by: 'attribute', byKey: draft.trim() || null }, { replace: true })
  }
  return (
    <div className="breakdown-by">
      <h3>By</h3>
      <select
        aria-label="Breakdown by"
        data-testid="breakdown-by"
        value={by}
        onChange={(e) => {
          const next = GROUP_BY_CHOICES.find((c) => c === e.target.value) ?? 'provider'
          update({ by: next, byKey: next === 'attribute' ? byKey || null : null }, { replace: true })
        }}
      >
        {GROUP_BY_CHOICES.map((c) => (
          <option key={c} value={c}>
            {c === 'attribute' ? 'an attribute…' : DIMENSION_LABELS[c].toLowerCase()}
          </option>
        ))}
      </select>
      {by === 'attribute' ? (
        <form onSubmit={submit} className="breakdown-key">
          <input
            aria-label="Attribute key"
            data-testid="breakdown-key"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="hindsight.metadata.customer"
            maxLength={200}
            size={28}
          />
          <button type="submit" className="btn" data-testid="breakdown-key-apply">
            Group
          </button>
        </form>
      ) : null}
    </div>
  )
}

export function GroupByPanel({ projectId, scores }: { projectId: string; scores: string[] }) {
  const trpc = useTRPC()
  const { view, query } = useView()
  const by = view.by ?? 'provider'
  const byKey = view.byKey ?? ''
  const ready = by !== 'attribute' || byKey !== ''
  const breakdown = useQuery({
    ...trpc.overview.breakdown.queryOptions({
      projectId,
      ...query,
      dimension: by,
      ...(by === 'attribute' && byKey ? { groupKey: byKey } : {}),
      withScoreNames: false,
    }),
    enabled: ready,
  })
  const title = <Picker key={`${by}:${byKey}`} by={by} byKey={byKey} />
  if (!ready || breakdown.isPending || breakdown.isError) {
    return (
      <section className="panel" data-testid="group-by-panel">
        <header className="panel-head">{title}</header>
        {!ready ? (
          <p className="muted">
            Name a span attribute to group by, e.g. <code>hindsight.metadata.customer</code> for what an app
            sets with <code>withAttributes({'{ metadata: { customer } }'})</code>.
          </p>
        ) : breakdown.isError ? (
          <ErrorState error={breakdown.error} onRetry={() => void breakdown.refetch()} />
        ) : (
          <Loading label="Loading the breakdown…" height={80} />
        )}
      </section>
    )
  }
  return (
    <div data-testid="group-by-panel">
      <BreakdownTable breakdown={breakdown.data} scores={scores} title={title} />
    </div>
  )
}
