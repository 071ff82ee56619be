'use client'
/**
 * "Add to dataset" for the traces selected in the trace list: pick an existing dataset (the most
 * recently changed one is preselected) or name a new one, then Add. Select → Add to dataset → Add
 * is three clicks.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import Link from 'next/link'
import { useState } from 'react'
import { formatCount } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { datasetHref, defaultDatasetName, NEW_DATASET } from '../lib/datasets'

export function AddToDataset({
  projectId,
  traceIds,
  onClear,
  linkBase,
}: {
  projectId: string
  traceIds: string[]
  onClear(): void
  /** `href({}, '/datasets')` of the current view, so the link keeps project and range. */
  linkBase: string
}) {
  const trpc = useTRPC()
  const queryClient = useQueryClient()
  const [open, setOpen] = useState(false)
  const [choice, setChoice] = useState<string | null>(null)
  const [name, setName] = useState(() => defaultDatasetName(new Date()))
  const datasets = useQuery({ ...trpc.datasets.list.queryOptions({ projectId }), enabled: open })
  const add = useMutation(
    trpc.datasets.addTraces.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey() })
        onClear()
      },
    }),
  )
  // Until the user picks, the most recently changed dataset (or a new one when there is none).
  const selected = choice ?? datasets.data?.[0]?.id ?? NEW_DATASET
  const result = add.data

  if (traceIds.length === 0 && !result) {
    return (
      <div className="muted small" data-testid="add-to-dataset">
        Tick traces to add them to a dataset.
      </div>
    )
  }
  return (
    <div className="stack" data-testid="add-to-dataset">
      <div className="panel-head" style={{ marginBottom: 0, flexWrap: 'wrap' }}>
        <strong>
          {formatCount(traceIds.length)} trace{traceIds.length === 1 ? '' : 's'} selected
        </strong>
        {open || traceIds.length === 0 ? null : (
          <button
            type="button"
            className="btn primary"
            data-testid="add-to-dataset-open"
            disabled={traceIds.length === 0}
            onClick={() => {
              add.reset()
              setOpen(true)
            }}
          >
            Add to dataset…
          </button>
        )}
        {open ? (
          <form
            className="panel-head"
            style={{ marginBottom: 0, flexWrap: 'wrap' }}
            onSubmit={(e) => {
              e.preventDefault()
              add.mutate(
                selected === NEW_DATASET
                  ? { projectId, traceIds, newName: name.trim() }
                  : { projectId, traceIds, datasetId: selected },
                { onSuccess: () => setOpen(false) },
              )
            }}
          >
            <label className="field">
              <span className="field-label">Dataset</span>
              <select
                data-testid="dataset-choice"
                value={selected}
                disabled={datasets.isPending}
                onChange={(e) => setChoice(e.target.value)}
              >
                {datasets.data?.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name} ({formatCount(d.item_count)} items, v{d.version})
                  </option>
                ))}
                <option value={NEW_DATASET}>New dataset…</option>
              </select>
            </label>
            {selected === NEW_DATASET ? (
              <label className="field">
                <span className="field-label">Name</span>
                <input
                  data-testid="dataset-name"
                  value={name}
                  maxLength={200}
                  onChange={(e) => setName(e.target.value)}
                />
              </label>
            ) : null}
            <button
              type="submit"
              className="btn primary"
              data-testid="add-to-dataset-submit"
              disabled={
                datasets.isPending || add.isPending || (selected === NEW_DATASET && name.trim() === '')
              }
            >
              {add.isPending ? 'Adding…' : 'Add'}
            </button>
            <button type="button" className="btn ghost" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </form>
        ) : null}
        <button type="button" className="btn ghost" onClick={onClear}>
          Clear selection
        </button>
      </div>
      {datasets.isError ? (
        <div className="note error">Could not load datasets: {datasets.error.message}</div>
      ) : null}
      {add.isError ? (
        <div className="note error" role="alert">
          Could not add the traces: {add.error.message}
        </div>
      ) : null}
      {result ? (
        <div className="note" data-testid="add-to-dataset-result">
          Added {formatCount(result.items.length)} trace{result.items.length === 1 ? '' : 's'} to{' '}
          <strong>{result.dataset.name}</strong> (version {result.version}
          {result.skipped > 0 ? `; ${formatCount(result.skipped)} already in it` : ''}).{' '}
          <Link href={datasetHref(linkBase, result.dataset.id)}>Open the dataset →</Link>
        </div>
      ) : null}
    </div>
  )
}
