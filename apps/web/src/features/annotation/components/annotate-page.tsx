'use client'
/**
 * The annotation queue (`/annotate?queue=…`): without a queue, the project's queues and forms to
 * create a score config and a queue; with one, its traces one at a time — input and output beside
 * the queue's score configs — scored by keyboard (J/K, number keys, Enter, S, Esc; see keys.ts).
 * Scores are stored with source `annotation`.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter, useSearchParams } from 'next/navigation'
import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react'
import { DeleteButton } from '../../../components/delete-button'
import { Field } from '../../../components/field'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { readUseCaseFilter, splitList, UseCaseFilterFields } from '../../../components/use-case-filter'
import { formatCount, formatDateTime, parseTimestamp } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { keyAction } from '../lib/keys'

export function AnnotatePage() {
  return <ProjectGate>{(projectId) => <Annotate projectId={projectId} />}</ProjectGate>
}

function Annotate({ projectId }: { projectId: string }) {
  const params = useSearchParams()
  const queueId = params.get('queue')
  return queueId ? <Annotator projectId={projectId} queueId={queueId} /> : <Queues projectId={projectId} />
}

function Queues({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const client = useQueryClient()
  const { href } = useView()
  const queues = useQuery(trpc.annotation.queues.queryOptions({ projectId }))
  const configs = useQuery(trpc.scores.configs.queryOptions({ projectId }))
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }))
  const createQueue = useMutation(
    trpc.annotation.createQueue.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.annotation.queues.queryKey() }),
    }),
  )
  const deleteQueue = useMutation(
    trpc.annotation.deleteQueue.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.annotation.queues.queryKey() }),
    }),
  )
  const upsertConfig = useMutation(
    trpc.annotation.upsertConfig.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.scores.configs.queryKey() }),
    }),
  )
  const [configType, setConfigType] = useState<'numeric' | 'boolean' | 'categorical'>('categorical')

  function onCreateConfig(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const num = (k: string) => (String(data.get(k) ?? '').trim() === '' ? null : Number(data.get(k)))
    upsertConfig.mutate(
      {
        projectId,
        name: String(data.get('name') ?? ''),
        dataType: configType,
        ...(configType === 'numeric' ? { minValue: num('min'), maxValue: num('max') } : {}),
        ...(configType === 'categorical'
          ? { categories: splitList(String(data.get('categories') ?? '')) }
          : {}),
      },
      { onSuccess: () => form.reset() },
    )
  }

  function onCreateQueue(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = event.currentTarget
    const data = new FormData(form)
    const datasetId = String(data.get('dataset') ?? '')
    createQueue.mutate(
      {
        projectId,
        name: String(data.get('name') ?? ''),
        filter: readUseCaseFilter(data),
        scoreNames: data.getAll('score').map(String),
        ...(datasetId ? { datasetId } : {}),
      },
      { onSuccess: () => form.reset() },
    )
  }

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>Annotation queues</h3>
          <span className="muted small">
            A queue is a set of traces (a filter, or a dataset's source traces) that people score by hand with
            the configured scores. Scores are stored with source <code>annotation</code>.
          </span>
        </header>
        {queues.isPending ? <Loading label="Loading queues…" /> : null}
        {queues.isError ? <ErrorState error={queues.error} onRetry={() => void queues.refetch()} /> : null}
        {queues.data && queues.data.length === 0 ? (
          <Empty title="No annotation queue yet">
            Create a score config (what to score, below), then a queue that names it.
          </Empty>
        ) : null}
        {queues.data && queues.data.length > 0 ? (
          <table className="table" data-testid="queues-table">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Traces</th>
                <th>Scores</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {queues.data.map((q) => (
                <tr key={q.id} data-testid="queue-row" data-queue-id={q.id}>
                  <td>
                    <Link href={href({}, '/annotate').concat(`&queue=${encodeURIComponent(q.id)}`)}>
                      {q.name}
                    </Link>
                  </td>
                  <td className="muted small">
                    {q.dataset_id
                      ? `dataset ${datasets.data?.find((d) => d.id === q.dataset_id)?.name ?? q.dataset_id}`
                      : `last ${q.lookback_days} d`}
                    {Object.entries(q.filter)
                      .filter(([, v]) => v && v.length > 0)
                      .map(([k, v]) => ` · ${k}: ${(v ?? []).join(', ')}`)
                      .join('')}
                  </td>
                  <td className="small">{q.score_names.join(', ')}</td>
                  <td className="num">
                    <DeleteButton
                      confirm={`Delete queue "${q.name}"? Its scores stay.`}
                      onDelete={() => deleteQueue.mutate({ projectId, queueId: q.id })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="panel">
        <header className="panel-head">
          <h3>New score config</h3>
          <span className="muted small">
            What annotators give: a number in a range, yes/no, or one category.
          </span>
        </header>
        <form className="form-row" onSubmit={onCreateConfig} data-testid="config-form">
          <Field label="Name">
            <input name="name" required data-testid="config-name" placeholder="helpfulness" />
          </Field>
          <Field label="Type">
            <select
              data-testid="config-type"
              value={configType}
              onChange={(e) => setConfigType(e.target.value as typeof configType)}
            >
              <option value="categorical">categorical</option>
              <option value="boolean">boolean</option>
              <option value="numeric">numeric</option>
            </select>
          </Field>
          {configType === 'categorical' ? (
            <Field label="Categories (comma-separated)">
              <input
                name="categories"
                required
                data-testid="config-categories"
                placeholder="bad, ok, great"
              />
            </Field>
          ) : null}
          {configType === 'numeric' ? (
            <>
              <Field label="Min">
                <input name="min" type="number" step="any" data-testid="config-min" />
              </Field>
              <Field label="Max">
                <input name="max" type="number" step="any" data-testid="config-max" />
              </Field>
            </>
          ) : null}
          <button
            type="submit"
            className="btn primary"
            disabled={upsertConfig.isPending}
            data-testid="config-submit"
          >
            Save config
          </button>
        </form>
        {upsertConfig.isError ? <div className="note error">{upsertConfig.error.message}</div> : null}
        {configs.data && configs.data.length > 0 ? (
          <div className="chips" data-testid="config-list">
            {configs.data.map((c) => (
              <span key={c.id} className="chip" data-testid="config-chip">
                {c.name} · {c.data_type}
                {c.data_type === 'categorical' ? ` (${c.categories.join(' / ')})` : ''}
                {c.data_type === 'numeric' && (c.min_value !== null || c.max_value !== null)
                  ? ` (${c.min_value ?? '−∞'}–${c.max_value ?? '∞'})`
                  : ''}
              </span>
            ))}
          </div>
        ) : null}
      </section>

      <section className="panel">
        <header className="panel-head">
          <h3>New queue</h3>
          <span className="muted small">
            Empty filter fields match every trace of the last 7 days; with a dataset, its source traces.
          </span>
        </header>
        {configs.data && configs.data.length === 0 ? (
          <Empty title="No score config yet">
            Create one above first: a queue says which scores to give.
          </Empty>
        ) : (
          <form className="form-row" onSubmit={onCreateQueue} data-testid="queue-form">
            <Field label="Name">
              <input name="name" required data-testid="queue-name" placeholder="support answers" />
            </Field>
            <UseCaseFilterFields routeTestId="queue-route" routePlaceholder="/api/answer" />
            <Field label="Dataset">
              <select name="dataset" data-testid="queue-dataset" defaultValue="">
                <option value="">none (filter only)</option>
                {datasets.data?.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              </select>
            </Field>
            <fieldset className="field">
              <span className="field-label">Scores</span>
              {configs.data?.map((c) => (
                <label key={c.id} className="small">
                  <input type="checkbox" name="score" value={c.name} data-testid="queue-score" /> {c.name}
                </label>
              ))}
            </fieldset>
            <button
              type="submit"
              className="btn primary"
              disabled={createQueue.isPending}
              data-testid="queue-submit"
            >
              Create queue
            </button>
          </form>
        )}
        {createQueue.isError ? <div className="note error">{createQueue.error.message}</div> : null}
      </section>
    </div>
  )
}

type Value = number | boolean | string

function preview(value: unknown): string {
  if (value === null || value === undefined) return '—'
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2)
}

function Annotator({ projectId, queueId }: { projectId: string; queueId: string }) {
  const trpc = useTRPC()
  const client = useQueryClient()
  const router = useRouter()
  const { href } = useView()
  const items = useQuery(trpc.annotation.items.queryOptions({ projectId, queueId }))
  const [index, setIndex] = useState<number | null>(null)
  const list = items.data?.items ?? []
  // Start at the first trace neither annotated nor skipped.
  useEffect(() => {
    if (index === null && items.data) {
      const first = items.data.items.findIndex((i) => !i.annotated && !i.skipped)
      setIndex(first === -1 ? 0 : first)
    }
  }, [index, items.data])
  const current = index !== null ? list[index] : undefined
  const target = useQuery({
    ...trpc.annotation.target.queryOptions({ projectId, queueId, traceId: current?.trace_id ?? '' }),
    enabled: Boolean(current),
  })
  const [values, setValues] = useState<Record<string, Value>>({})
  const [active, setActive] = useState(0)
  const [message, setMessage] = useState<string | null>(null)
  // Prefill with this queue's scores of the trace when it (or its stored scores) changes.
  useEffect(() => {
    if (!target.data) return
    const prefill: Record<string, Value> = {}
    for (const c of target.data.configs) {
      const s = target.data.scores[c.name]
      if (!s || s.value === null) continue
      prefill[c.name] =
        c.data_type === 'numeric' ? s.value : c.data_type === 'boolean' ? s.value === 1 : s.string_value
    }
    setValues(prefill)
    setActive(0)
  }, [target.data])
  const save = useMutation(trpc.annotation.save.mutationOptions())
  const skip = useMutation(
    trpc.annotation.skip.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.annotation.items.queryKey() }),
    }),
  )
  const configs = useMemo(() => target.data?.configs ?? [], [target.data])
  const leave = useCallback(() => router.push(href({}, '/annotate')), [router, href])

  const go = useCallback(
    (delta: number) => {
      setMessage(null)
      setIndex((i) => Math.max(0, Math.min(list.length - 1, (i ?? 0) + delta)))
    },
    [list.length],
  )

  const submit = useCallback(() => {
    if (!current) return
    const given = configs.filter((c) => values[c.name] !== undefined && values[c.name] !== '')
    if (given.length === 0) {
      setMessage('Pick a value first (number keys or the buttons), or press S to skip.')
      return
    }
    save.mutate(
      {
        projectId,
        queueId,
        traceId: current.trace_id,
        values: given.map((c) => ({ name: c.name, value: values[c.name] as Value })),
      },
      {
        onSuccess: async () => {
          await client.invalidateQueries({ queryKey: trpc.annotation.items.queryKey() })
          await client.invalidateQueries({ queryKey: trpc.annotation.target.queryKey() })
          setMessage(`Saved ${given.length} score${given.length === 1 ? '' : 's'}.`)
          if (index !== null && index < list.length - 1) setIndex(index + 1)
        },
        onError: (error) => setMessage(`Not saved: ${error.message}`),
      },
    )
  }, [current, configs, values, save, projectId, queueId, client, trpc, index, list.length])

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.ctrlKey || event.metaKey || event.altKey) return
      const el = event.target as HTMLElement | null
      const inField = Boolean(
        el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT'),
      )
      const action = keyAction(event.key, configs[active], inField)
      if (!action) return
      event.preventDefault()
      if (action.type === 'next') go(1)
      else if (action.type === 'previous') go(-1)
      else if (action.type === 'skip') {
        // Recorded for the queue (REST `next` passes it too), unless it is already scored.
        if (current && !current.annotated) skip.mutate({ projectId, queueId, traceId: current.trace_id })
        go(1)
      } else if (action.type === 'leave') leave()
      else if (action.type === 'save') submit()
      else if (action.type === 'pick') {
        const config = configs[active]
        if (!config) return
        setValues((v) => ({ ...v, [config.name]: action.value }))
        setActive((a) => Math.min(configs.length - 1, a + 1))
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [configs, active, go, leave, submit, current, skip, projectId, queueId])

  if (items.isPending) return <Loading label="Loading the queue…" />
  if (items.isError) return <ErrorState error={items.error} onRetry={() => void items.refetch()} />
  const { queue } = items.data
  if (list.length === 0) {
    return (
      <Empty title={`No trace in queue “${queue.name}”`}>
        {queue.dataset_id
          ? 'Its dataset has no item made from a trace: add traces to it from the Traces page.'
          : `No trace of the last ${queue.lookback_days} days matches its filter: send traffic, or create a queue with a wider filter.`}{' '}
        <Link href={href({}, '/annotate')}>Back to the queues</Link>
      </Empty>
    )
  }

  return (
    <div className="stack" data-testid="annotator">
      <section className="panel">
        <header className="panel-head" style={{ flexWrap: 'wrap' }}>
          <h3>{queue.name}</h3>
          <span className="muted small" data-testid="annotate-progress">
            Trace {(index ?? 0) + 1} of {formatCount(list.length)} · {formatCount(items.data.annotated)}{' '}
            annotated
          </span>
          <div className="spacer" />
          <span className="muted small">
            <kbd>J</kbd>/<kbd>K</kbd> next/previous · <kbd>1</kbd>–<kbd>9</kbd> pick · <kbd>Enter</kbd> save ·{' '}
            <kbd>S</kbd> skip · <kbd>Esc</kbd> leave
          </span>
        </header>
        {current ? (
          <div className="muted small">
            <span className="mono" data-testid="annotate-trace-id" data-trace-id={current.trace_id}>
              <Link href={`/traces/${current.trace_id}${new URL(href({}, '/traces'), 'http://x').search}`}>
                {current.trace_id}
              </Link>
            </span>{' '}
            · {current.name} · {formatDateTime(parseTimestamp(current.start_time), 'utc')} UTC
            {current.annotated ? ' · annotated' : current.skipped ? ' · skipped' : ''}
          </div>
        ) : null}
      </section>
      {target.isPending ? <Loading label="Loading the trace…" /> : null}
      {target.isError ? <ErrorState error={target.error} onRetry={() => void target.refetch()} /> : null}
      {target.data ? (
        <div className="annotate-grid" style={{ display: 'grid', gridTemplateColumns: '2fr 1fr', gap: 16 }}>
          <section className="panel">
            <h4>Input</h4>
            <pre
              className="mono small"
              data-testid="annotate-input"
              style={{ whiteSpace: 'pre-wrap', maxHeight: 320, overflow: 'auto' }}
            >
              {preview(target.data.input)}
            </pre>
            <h4>Output</h4>
            <pre
              className="mono small"
              data-testid="annotate-output"
              style={{ whiteSpace: 'pre-wrap', maxHeight: 320, overflow: 'auto' }}
            >
              {preview(target.data.output)}
            </pre>
          </section>
          <section className="panel" data-testid="annotate-scores">
            {target.data.missing_configs.length > 0 ? (
              <div className="note warn">
                No config for {target.data.missing_configs.join(', ')}: create it on the{' '}
                <Link href={href({}, '/annotate')}>queues page</Link>.
              </div>
            ) : null}
            {configs.map((c, i) => (
              <div
                key={c.id}
                className={i === active ? 'score-field active' : 'score-field'}
                data-testid="score-field"
                data-score-name={c.name}
                style={{ padding: 8, borderRadius: 6, outline: i === active ? '2px solid #4f7cff' : 'none' }}
              >
                <button type="button" className="btn ghost" onClick={() => setActive(i)}>
                  <strong>{c.name}</strong>
                </button>{' '}
                <span className="muted small">{c.data_type}</span>
                <div className="chips">
                  {c.data_type === 'categorical'
                    ? c.categories.map((label, n) => (
                        <button
                          type="button"
                          key={label}
                          className={values[c.name] === label ? 'btn primary' : 'btn'}
                          onClick={() => setValues((v) => ({ ...v, [c.name]: label }))}
                        >
                          <kbd>{n + 1}</kbd> {label}
                        </button>
                      ))
                    : null}
                  {c.data_type === 'boolean'
                    ? ([true, false] as const).map((b) => (
                        <button
                          type="button"
                          key={String(b)}
                          className={values[c.name] === b ? 'btn primary' : 'btn'}
                          onClick={() => setValues((v) => ({ ...v, [c.name]: b }))}
                        >
                          <kbd>{b ? 1 : 0}</kbd> {b ? 'yes' : 'no'}
                        </button>
                      ))
                    : null}
                  {c.data_type === 'numeric' ? (
                    <input
                      type="number"
                      step="any"
                      data-testid="score-number"
                      min={c.min_value ?? undefined}
                      max={c.max_value ?? undefined}
                      placeholder={`${c.min_value ?? ''}–${c.max_value ?? ''}`}
                      value={typeof values[c.name] === 'number' ? String(values[c.name]) : ''}
                      onFocus={() => setActive(i)}
                      onChange={(e) => {
                        const text = e.target.value
                        setValues((v) => {
                          const { [c.name]: _, ...rest } = v
                          return text === '' ? rest : { ...v, [c.name]: Number(text) }
                        })
                      }}
                    />
                  ) : null}
                </div>
                <span className="small" data-testid="score-value">
                  {values[c.name] === undefined ? '' : String(values[c.name])}
                </span>
              </div>
            ))}
            <div className="form-row">
              <button
                type="button"
                className="btn primary"
                onClick={submit}
                disabled={save.isPending}
                data-testid="annotate-save"
              >
                Save (Enter)
              </button>
              <button type="button" className="btn" onClick={() => go(1)}>
                Skip (S)
              </button>
            </div>
            {message ? (
              <div
                className={message.startsWith('Not saved') ? 'note error' : 'note'}
                data-testid="annotate-message"
              >
                {message}
              </div>
            ) : null}
          </section>
        </div>
      ) : null}
    </div>
  )
}
