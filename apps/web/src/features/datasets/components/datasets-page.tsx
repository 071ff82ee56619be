'use client'
/**
 * Datasets: the list, and one dataset's items at a chosen version (`?dataset=…&version=…` in the
 * URL). Versions are immutable snapshots, so a link to a version always shows the same items.
 */
import { useMutation, useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { useRouter, useSearchParams } from 'next/navigation'
import { ProjectGate } from '../../../components/project-gate'
import { Empty, ErrorState, Loading } from '../../../components/states'
import { formatCount, formatDateTime, parseTimestamp } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { datasetHref, previewJson } from '../lib/datasets'

export function DatasetsPage() {
  return <ProjectGate>{(projectId) => <Datasets projectId={projectId} />}</ProjectGate>
}

function Datasets({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const router = useRouter()
  const params = useSearchParams()
  const { view, href } = useView()
  const datasets = useQuery(trpc.datasets.list.queryOptions({ projectId }))
  const base = href({}, '/datasets')
  const selectedId = params.get('dataset')
  const versionParam = params.get('version')
  const version = versionParam !== null && /^\d+$/.test(versionParam) ? Number(versionParam) : undefined

  return (
    <div className="stack">
      <section className="panel">
        <header className="panel-head">
          <h3>Datasets</h3>
          <span className="muted small">
            Built from production traces (tick traces on the <Link href={href({}, '/traces')}>Traces</Link>{' '}
            page, then “Add to dataset”), or through the REST API (<code>/api/public/v1/datasets</code>, JSONL
            and CSV import and export).
          </span>
        </header>
        {datasets.isPending ? <Loading label="Loading datasets…" /> : null}
        {datasets.isError ? (
          <ErrorState error={datasets.error} onRetry={() => void datasets.refetch()} />
        ) : null}
        {datasets.data && datasets.data.length === 0 ? (
          <Empty title="No dataset yet">
            Open the <Link href={href({}, '/traces')}>Traces</Link> page, tick a few traces and click “Add to
            dataset”.
          </Empty>
        ) : null}
        {datasets.data && datasets.data.length > 0 ? (
          <table className="table" data-testid="datasets-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th className="num">Items</th>
                <th className="num">Version</th>
                <th>Changed</th>
              </tr>
            </thead>
            <tbody>
              {datasets.data.map((d) => (
                <tr
                  key={d.id}
                  className={`clickable${d.id === selectedId ? ' selected' : ''}`}
                  data-testid="dataset-row"
                  data-dataset-id={d.id}
                  onClick={() => router.push(datasetHref(base, d.id))}
                >
                  <td>
                    <Link href={datasetHref(base, d.id)} onClick={(e) => e.stopPropagation()}>
                      {d.name}
                    </Link>
                  </td>
                  <td className="ellipsis muted">{d.description}</td>
                  <td className="num">{formatCount(d.item_count)}</td>
                  <td className="num mono">v{d.version}</td>
                  <td className="mono nowrap">{formatDateTime(parseTimestamp(d.updated_at), view.tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      {selectedId ? (
        <DatasetItems
          projectId={projectId}
          datasetId={selectedId}
          version={version}
          base={base}
          tracesBase={href({}, '/traces')}
        />
      ) : null}
    </div>
  )
}

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

function DatasetItems({
  projectId,
  datasetId,
  version,
  base,
  tracesBase,
}: {
  projectId: string
  datasetId: string
  version: number | undefined
  base: string
  tracesBase: string
}) {
  const trpc = useTRPC()
  const router = useRouter()
  const items = useQuery(
    trpc.datasets.items.queryOptions({ projectId, datasetId, ...(version !== undefined ? { version } : {}) }),
  )
  const exporter = useMutation(trpc.datasets.export.mutationOptions())
  const traceLink = (traceId: string) => {
    const url = new URL(tracesBase, 'http://x')
    return `/traces/${traceId}${url.search}`
  }

  if (items.isPending) return <Loading label="Loading items…" />
  if (items.isError) return <ErrorState error={items.error} onRetry={() => void items.refetch()} />
  const { dataset } = items.data
  const versions = Array.from({ length: dataset.version + 1 }, (_, i) => dataset.version - i)
  const exportAs = (format: 'jsonl' | 'csv') =>
    exporter.mutate(
      { projectId, datasetId, format, version: items.data.version },
      {
        onSuccess: (file) =>
          download(
            `${dataset.name}-v${file.version}.${format}`,
            file.text,
            format === 'csv' ? 'text/csv' : 'application/x-ndjson',
          ),
      },
    )

  return (
    <section className="panel" data-testid="dataset-items">
      <header className="panel-head" style={{ flexWrap: 'wrap' }}>
        <h3 data-testid="dataset-name">{dataset.name}</h3>
        <label className="field">
          <span className="field-label">Version</span>
          <select
            data-testid="dataset-version"
            value={items.data.version}
            onChange={(e) => router.push(datasetHref(base, datasetId, Number(e.target.value)))}
          >
            {versions.map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === dataset.version ? ' (current)' : ''}
              </option>
            ))}
          </select>
        </label>
        <span className="muted small">
          {formatCount(items.data.items.length)} item{items.data.items.length === 1 ? '' : 's'} at v
          {items.data.version}; results computed on it name this version.
        </span>
        <div className="spacer" />
        <button type="button" className="btn" onClick={() => exportAs('jsonl')} disabled={exporter.isPending}>
          Export JSONL
        </button>
        <button type="button" className="btn" onClick={() => exportAs('csv')} disabled={exporter.isPending}>
          Export CSV
        </button>
      </header>
      {exporter.isError ? <div className="note error">Export failed: {exporter.error.message}</div> : null}
      {items.data.items.length === 0 ? (
        <Empty title={`No items in version ${items.data.version}`} />
      ) : (
        <table className="table" data-testid="dataset-items-table">
          <thead>
            <tr>
              <th>Input</th>
              <th>Expected output</th>
              <th>Recorded output</th>
              <th>Source trace</th>
              <th className="num">Changed in</th>
            </tr>
          </thead>
          <tbody>
            {items.data.items.map((item) => (
              <tr key={item.id} data-testid="dataset-item" data-item-id={item.id}>
                <td className="ellipsis mono small" title={previewJson(item.input, 4000)}>
                  {previewJson(item.input)}
                </td>
                <td className="ellipsis mono small">{previewJson(item.expected_output) || '—'}</td>
                <td className="ellipsis mono small" title={previewJson(item.recorded_output, 4000)}>
                  {previewJson(item.recorded_output) || '—'}
                </td>
                <td className="mono small">
                  {item.source_trace_id ? (
                    <Link href={traceLink(item.source_trace_id)}>{item.source_trace_id.slice(0, 12)}…</Link>
                  ) : (
                    '—'
                  )}
                </td>
                <td className="num mono">v{item.version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
