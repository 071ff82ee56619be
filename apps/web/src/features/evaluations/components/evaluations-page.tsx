'use client'
/**
 * Online evaluation rules (`/evaluations`): each rule's filter, sampling, evaluators, backlog,
 * processed count and failures with reasons; create, pause/resume and delete a rule. The
 * background worker of the all-in-one process runs them.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useState } from 'react'
import { DeleteButton } from '../../../components/delete-button'
import { Field } from '../../../components/field'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { readUseCaseFilter, UseCaseFilterFields } from '../../../components/use-case-filter'
import { formatCount } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import {
  BUILTIN_CHOICES,
  type BuiltinChoice,
  buildEvaluatorSpec,
  type EvaluatorKind,
  type FieldErrors,
  fieldErrors,
  type RuleField,
} from '../lib/rule-form'

export function EvaluationsPage() {
  return <ProjectGate>{(projectId) => <Evaluations projectId={projectId} />}</ProjectGate>
}

function describeEvaluator(e: Record<string, unknown>): string {
  if (e.type === 'builtin') return String(e.name ?? e.evaluator)
  if (e.type === 'judge') {
    const rubric =
      typeof e.rubric === 'string'
        ? e.rubric
        : `own rubric ${String((e.rubric as { name?: string })?.name ?? '')}`
    const endpoint = e.endpoint as { model?: string; baseURL?: string; apiKeyEnv?: string } | undefined
    const where = endpoint?.baseURL ? ` @ ${endpoint.baseURL}` : ''
    // Only the name of the variable holding the key is stored; never a key.
    const key = endpoint?.apiKeyEnv ? `, key $${endpoint.apiKeyEnv}` : ''
    return `judge: ${rubric}${endpoint?.model ? ` (${endpoint.model}${where}${key})` : ''}`
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
  const rubrics = useQuery(trpc.evaluations.rubrics.queryOptions({ projectId }))
  const [kind, setKind] = useState<EvaluatorKind>('builtin')
  const [builtin, setBuiltin] = useState<BuiltinChoice>('valid_json')
  const [rubric, setRubric] = useState('helpfulness')
  const [scale, setScale] = useState<'numeric' | 'boolean'>('numeric')
  const [prompt, setPrompt] = useState('')
  const [errors, setErrors] = useState<FieldErrors>({})
  const option = BUILTIN_CHOICES.find((b) => b.id === builtin)?.option ?? null

  function pickRubric(id: string) {
    setRubric(id)
    // An own rubric starts from the template of the first built-in (placeholders included).
    if (id === 'custom' && prompt === '')
      setPrompt(rubrics.data?.[0]?.prompt ?? 'Rate the answer.\n\n{{output}}')
  }

  function onCreate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const text = (name: string) => String(data.get(name) ?? '')
    const built = buildEvaluatorSpec({
      kind,
      builtin,
      option: text('option'),
      provider: text('provider') === 'anthropic' ? 'anthropic' : 'openai',
      baseURL: text('baseURL'),
      model: text('judgeModel'), // 'model' is the filter's field
      apiKeyEnv: text('apiKeyEnv'),
      rubric,
      rubricName: text('rubricName'),
      scale,
      min: text('min'),
      max: text('max'),
      prompt,
      scoreName: text('scoreName'),
      custom: text('custom'),
    })
    const sampling = Number(text('sampling') || 100)
    const local: FieldErrors = built.ok ? {} : { ...built.errors }
    if (!Number.isFinite(sampling) || sampling < 0 || sampling > 100)
      local.sampling = 'a percentage from 0 to 100'
    setErrors(local)
    if (!built.ok || Object.keys(local).length > 0) return
    create.mutate(
      {
        projectId,
        name: text('name'),
        filter: readUseCaseFilter(data),
        samplingRate: sampling / 100,
        evaluators: [built.spec],
      },
      {
        onSuccess: () => {
          form.reset()
          setPrompt('')
          setErrors({})
        },
        onError: (error) => setErrors(fieldErrors(error.message, kind)),
      },
    )
  }

  const err = (field: RuleField) => errors[field]

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>Online evaluation rules</h3>
          <span className="muted small">
            Rules evaluate completed production traces that match their filter (a sample of them), in the
            background; results are scores with source <code>evaluator</code>. An LLM judge reads its key from
            an environment variable of the server: the rule stores the variable's name, never the key.
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
        <form className="stack" onSubmit={onCreate} data-testid="rule-form" noValidate>
          <div className="form-row">
            <Field label="Name" error={err('name')} field="name">
              <input name="name" required data-testid="rule-name" placeholder="answers are JSON" />
            </Field>
            <UseCaseFilterFields />
            <Field label="Sampling %" error={err('sampling')} field="sampling">
              <input
                name="sampling"
                type="number"
                min={0}
                max={100}
                step="any"
                defaultValue={100}
                data-testid="rule-sampling"
              />
            </Field>
            <Field label="Evaluator" error={undefined} field="kind">
              <select
                data-testid="rule-kind"
                value={kind}
                onChange={(e) => {
                  setKind(e.target.value as EvaluatorKind)
                  setErrors({})
                }}
              >
                <option value="builtin">built-in</option>
                <option value="judge">LLM judge</option>
                <option value="custom">custom (registered)</option>
              </select>
            </Field>
          </div>
          {kind === 'builtin' ? (
            <div className="form-row">
              <Field label="Built-in" error={err('builtin')} field="builtin">
                <select
                  data-testid="rule-evaluator"
                  value={builtin}
                  onChange={(e) => setBuiltin(e.target.value as BuiltinChoice)}
                >
                  {BUILTIN_CHOICES.map((b) => (
                    <option key={b.id} value={b.id}>
                      {b.label}
                    </option>
                  ))}
                </select>
              </Field>
              {option ? (
                <Field label={option.label} error={err('option')} field="option">
                  <input
                    name="option"
                    key={builtin}
                    data-testid="rule-option"
                    {...(option.type === 'number' ? { type: 'number', min: 0, step: 'any' } : {})}
                  />
                </Field>
              ) : null}
            </div>
          ) : null}
          {kind === 'judge' ? (
            <div className="stack" data-testid="judge-fields">
              <div className="form-row">
                <Field label="Provider" error={err('provider')} field="provider">
                  <select name="provider" data-testid="judge-provider" defaultValue="openai">
                    <option value="openai">OpenAI-compatible</option>
                    <option value="anthropic">Anthropic</option>
                  </select>
                </Field>
                <Field label="Endpoint base URL" error={err('baseURL')} field="baseURL">
                  <input name="baseURL" data-testid="judge-base-url" placeholder="provider default" />
                </Field>
                <Field label="Model" error={err('model')} field="model">
                  <input name="judgeModel" data-testid="judge-model" placeholder="gpt-4o-mini" />
                </Field>
                <Field label="API key variable" error={err('apiKeyEnv')} field="apiKeyEnv">
                  <input
                    name="apiKeyEnv"
                    data-testid="judge-key-env"
                    placeholder="OPENAI_API_KEY"
                    autoComplete="off"
                    spellCheck={false}
                  />
                </Field>
                <Field label="Rubric" error={err('rubric')} field="rubric">
                  <select
                    data-testid="judge-rubric"
                    value={rubric}
                    onChange={(e) => pickRubric(e.target.value)}
                  >
                    {(rubrics.data ?? []).map((r) => (
                      <option key={r.id} value={r.id} title={r.description}>
                        {r.name} (
                        {r.scale.type === 'numeric' ? `${r.scale.min}–${r.scale.max}` : r.scale.type})
                      </option>
                    ))}
                    <option value="custom">own rubric template…</option>
                  </select>
                </Field>
                <Field label="Score name" error={err('scoreName')} field="scoreName">
                  <input name="scoreName" data-testid="judge-score-name" placeholder="the rubric's" />
                </Field>
              </div>
              {rubric === 'custom' ? (
                <div className="form-row">
                  <Field label="Rubric name" error={err('rubricName')} field="rubricName">
                    <input name="rubricName" data-testid="rubric-name" placeholder="on_topic" />
                  </Field>
                  <Field label="Scale" error={err('scale')} field="scale">
                    <span className="nowrap">
                      <select
                        data-testid="rubric-scale"
                        value={scale}
                        onChange={(e) => setScale(e.target.value as 'numeric' | 'boolean')}
                      >
                        <option value="numeric">numeric</option>
                        <option value="boolean">pass / fail</option>
                      </select>
                      {scale === 'numeric' ? (
                        <>
                          {' '}
                          <input
                            name="min"
                            data-testid="rubric-min"
                            type="number"
                            placeholder="min"
                            defaultValue={1}
                          />{' '}
                          <input
                            name="max"
                            data-testid="rubric-max"
                            type="number"
                            placeholder="max"
                            defaultValue={5}
                          />
                        </>
                      ) : null}
                    </span>
                  </Field>
                  <Field
                    label="Template ({{input}}, {{output}}, {{expected}})"
                    error={err('prompt')}
                    field="prompt"
                  >
                    <textarea
                      data-testid="rubric-prompt"
                      rows={6}
                      cols={70}
                      value={prompt}
                      onChange={(e) => setPrompt(e.target.value)}
                    />
                  </Field>
                </div>
              ) : null}
            </div>
          ) : null}
          {kind === 'custom' ? (
            <div className="form-row">
              <Field label="Registered evaluator" error={err('custom')} field="custom">
                <input name="custom" data-testid="rule-custom" placeholder="my-check" />
              </Field>
              <span className="muted small">
                A TypeScript evaluator registered in the server process with{' '}
                <code>worker.registerCustom(defineEvaluator(…))</code>.
              </span>
            </div>
          ) : null}
          <div className="form-row">
            <button
              type="submit"
              className="btn primary"
              disabled={create.isPending}
              data-testid="rule-submit"
            >
              Create rule
            </button>
          </div>
        </form>
        {err('form') ? (
          <div className="note error" data-testid="rule-error">
            {err('form')}
          </div>
        ) : null}
      </section>
    </div>
  )
}
