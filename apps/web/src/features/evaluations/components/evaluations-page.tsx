'use client'
/**
 * Online evaluation rules (`/evaluations`): each rule's filter, sampling, evaluators, backlog,
 * processed count and failures with reasons; create, pause/resume and delete a rule. The
 * background worker of the all-in-one process runs them.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { DeleteButton } from '../../../components/delete-button'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { readUseCaseFilter, UseCaseFilterFields } from '../../../components/use-case-filter'
import { formatCount } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'

export function EvaluationsPage() {
  return <ProjectGate>{(projectId) => <Evaluations projectId={projectId} />}</ProjectGate>
}

const BUILTINS = [
  ['valid_json', 'valid JSON', null],
  ['latency_threshold', 'latency ≤ max ms', 'maxMs'],
  ['cost_threshold', 'cost ≤ max USD', 'maxUsd'],
  ['refusal', 'refusal detection', null],
  ['citation_present', 'citation present', null],
  ['citations_resolvable', 'citations resolvable', null],
] as const

function describeEvaluator(e: Record<string, unknown>): string {
  if (e.type === 'builtin') return String(e.name ?? e.evaluator)
  if (e.type === 'judge') {
    const rubric = typeof e.rubric === 'string' ? e.rubric : 'custom rubric'
    const endpoint = e.endpoint as { model?: string } | undefined
    return `judge: ${rubric}${endpoint?.model ? ` (${endpoint.model})` : ''}`
  }
  return `custom: ${String(e.evaluator)}`
}

function Evaluations({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const client = useQueryClient()
  const rules = useQuery({ ...trpc.evaluations.list.queryOptions({ projectId }), refetchInterval: 15_000 })
  const invalidate = () => client.invalidateQueries({ queryKey: trpc.evaluations.list.queryKey() })
  const create = useMutation(trpc.evaluations.create.mutationOptions({ onSuccess: invalidate }))
  const setEnabled = useMutation(trpc.evaluations.setEnabled.mutationOptions({ onSuccess: invalidate }))
  const remove = useMutation(trpc.evaluations.delete.mutationOptions({ onSuccess: invalidate }))
  const [evaluator, setEvaluator] = useState<(typeof BUILTINS)[number][0]>('valid_json')
  const option = BUILTINS.find((b) => b[0] === evaluator)?.[2] ?? null

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    create.mutate(
      {
        projectId,
        name: String(data.get('name') ?? ''),
        filter: readUseCaseFilter(data),
        samplingRate: Number(data.get('sampling') ?? 100) / 100,
        evaluators: [
          {
            type: 'builtin',
            evaluator,
            ...(option ? { options: { [option]: Number(data.get('option')) } } : {}),
          },
        ],
      },
      { onSuccess: () => form.reset() },
    )
  }

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>Online evaluation rules</h3>
          <span className="muted small">
            Rules evaluate completed production traces that match their filter (a sample of them), in the
            background; results are scores with source <code>evaluator</code>. Judge rules are created through{' '}
            <code>POST /api/public/v1/evaluation-rules</code>.
          </span>
        </header>
        {rules.isPending ? <Loading label="Loading rules…" /> : null}
        {rules.isError ? <ErrorState error={rules.error} onRetry={() => void rules.refetch()} /> : null}
        {rules.data && rules.data.length === 0 ? (
          <Empty title="No evaluation rule yet">
            Create one below: pick a filter (a route, say), a sampling rate and an evaluator. Traces completed
            from now on are evaluated.
          </Empty>
        ) : null}
        {rules.data && rules.data.length > 0 ? (
          <table className="table" data-testid="rules-table">
            <thead>
              <tr>
                <th>Rule</th>
                <th>Filter</th>
                <th className="num">Sampling</th>
                <th>Evaluators</th>
                <th className="num">Backlog</th>
                <th className="num">Processed</th>
                <th className="num">Scored</th>
                <th>Failures</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.data.map(({ rule, status }) => (
                <tr key={rule.id} data-testid="rule-row" data-rule-id={rule.id}>
                  <td>
                    {rule.name}
                    {rule.enabled ? null : <span className="chip small"> paused</span>}
                  </td>
                  <td className="small muted">
                    {Object.entries(rule.filter)
                      .filter(([, v]) => v && v.length > 0)
                      .map(([k, v]) => `${k}: ${(v ?? []).join(', ')}`)
                      .join(' · ') || 'every trace'}
                  </td>
                  <td className="num">{Math.round(rule.sampling_rate * 1000) / 10}%</td>
                  <td className="small">
                    {rule.evaluators.map((e) => describeEvaluator(e as Record<string, unknown>)).join(', ')}
                  </td>
                  <td className="num" data-testid="rule-backlog">
                    {formatCount(status.backlog)}
                    {status.pending > 0 ? (
                      <span className="muted small"> (+{status.pending} open)</span>
                    ) : null}
                  </td>
                  <td className="num">{formatCount(status.processed)}</td>
                  <td className="num">{formatCount(status.scored)}</td>
                  <td className="small" data-testid="rule-failures">
                    {status.failures === 0 ? (
                      <span className="muted">none</span>
                    ) : (
                      <details>
                        <summary className="error-text">
                          {formatCount(status.failures)} failed
                          {status.last_error ? `: ${status.last_error.slice(0, 80)}` : ''}
                        </summary>
                        <ul>
                          {status.recent_failures.map((f) => (
                            <li key={`${f.trace_id}-${f.evaluator}-${f.created_at}`}>
                              <span className="mono">{f.trace_id.slice(0, 12)}…</span> {f.evaluator}:{' '}
                              {f.reason}
                            </li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </td>
                  <td className="num nowrap">
                    <button
                      type="button"
                      className="btn ghost"
                      data-testid="rule-toggle"
                      onClick={() =>
                        setEnabled.mutate({ projectId, ruleId: rule.id, enabled: !rule.enabled })
                      }
                    >
                      {rule.enabled ? 'Pause' : 'Resume'}
                    </button>
                    <DeleteButton
                      confirm={`Delete rule "${rule.name}"? Its scores stay.`}
                      onDelete={() => remove.mutate({ projectId, ruleId: rule.id })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {setEnabled.isError ? <div className="note error">{setEnabled.error.message}</div> : null}
        {remove.isError ? <div className="note error">{remove.error.message}</div> : null}
      </section>

      <section className="panel">
        <header className="panel-head">
          <h3>New rule</h3>
        </header>
        <form className="form-row" onSubmit={onCreate} data-testid="rule-form">
          <label className="field">
            <span className="field-label">Name</span>
            <input name="name" required data-testid="rule-name" placeholder="answers are JSON" />
          </label>
          <UseCaseFilterFields />
          <label className="field">
            <span className="field-label">Sampling %</span>
            <input name="sampling" type="number" min={0} max={100} step="any" defaultValue={100} required />
          </label>
          <label className="field">
            <span className="field-label">Evaluator</span>
            <select
              data-testid="rule-evaluator"
              value={evaluator}
              onChange={(e) => setEvaluator(e.target.value as typeof evaluator)}
            >
              {BUILTINS.map(([id, label]) => (
                <option key={id} value={id}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          {option ? (
            <label className="field">
              <span className="field-label">{option}</span>
              <input name="option" type="number" min={0} step="any" required />
            </label>
          ) : null}
          <button type="submit" className="btn primary" disabled={create.isPending} data-testid="rule-submit">
            Create rule
          </button>
        </form>
        {create.isError ? <div className="note error">{create.error.message}</div> : null}
      </section>
    </div>
  )
}
