'use client'
/**
 * One trace: the indented span tree beside a waterfall measured from the trace's start, and the
 * selected span's details. Only the rows in view are rendered, so traces with thousands of spans
 * stay responsive. The selected span is in the URL (`?span=`), J/K move, Esc closes.
 */
import { useQuery } from '@tanstack/react-query'
import Link from 'next/link'
import { usePathname, useRouter, useSearchParams } from 'next/navigation'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { ProjectGate } from '../../../components/project-gate'
import { ErrorState, Loading } from '../../../components/states'
import {
  formatCount,
  formatDateTime,
  formatMs,
  formatSeconds,
  formatTokens,
  formatUsd,
  parseTimestamp,
  timeZoneLabel,
} from '../../../lib/format'
import { type RouterOutputs, useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'
import { buildSpanTree, type TreeRow, visibleRows } from '../lib/span-tree'
import { SpanDetails } from './span-details'
import { type Score, ScoreChips } from './trace-scores'

type Trace = RouterOutputs['traces']['get']
export type Span = Trace['spans'][number]

const ROW_HEIGHT = 28
const OVERSCAN = 12
const MAX_VIEWPORT = 620

export const KIND_COLORS: Record<string, string> = {
  llm: '#4f7cff',
  embedding: '#15aabf',
  retrieval: '#7950f2',
  tool: '#f59f00',
  agent: '#12b886',
  chain: '#868e96',
  guardrail: '#e64980',
  unknown: '#adb5bd',
}

export function kindColor(kind: string): string {
  return KIND_COLORS[kind] ?? KIND_COLORS.unknown ?? '#adb5bd'
}

export function TracePage({ traceId }: { traceId: string }) {
  return <ProjectGate>{(projectId) => <TraceView projectId={projectId} traceId={traceId} />}</ProjectGate>
}

function TraceView({ projectId, traceId }: { projectId: string; traceId: string }) {
  const trpc = useTRPC()
  const { href } = useView()
  const trace = useQuery(trpc.traces.get.queryOptions({ projectId, traceId }))
  // Scores load beside the trace; a failure there leaves the trace readable.
  const scores = useQuery(trpc.scores.forTrace.queryOptions({ projectId, traceId }))
  return (
    <div className="stack">
      <div className="breadcrumbs">
        <Link href={href({}, '/traces')}>← Traces</Link>
        <span className="muted mono">{traceId}</span>
      </div>
      {trace.isPending ? <Loading label="Loading the trace…" height={200} /> : null}
      {trace.isError ? (
        <ErrorState
          title="Could not open this trace"
          error={trace.error}
          onRetry={() => void trace.refetch()}
        />
      ) : null}
      {trace.data ? <TraceBody trace={trace.data} scores={scores.data ?? []} /> : null}
    </div>
  )
}

function downloadJson(trace: Trace) {
  const blob = new Blob([JSON.stringify(trace, null, 2)], { type: 'application/json' })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = `trace-${trace.trace_id}.json`
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

function TraceBody({ trace, scores }: { trace: Trace; scores: Score[] }) {
  const { view } = useView()
  const router = useRouter()
  const pathname = usePathname()
  const params = useSearchParams()
  const tree = useMemo(() => buildSpanTree(trace.spans), [trace.spans])
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set())
  const [search, setSearch] = useState('')
  const rows = useMemo(() => {
    const visible = visibleRows(tree.rows, collapsed)
    const q = search.trim().toLowerCase()
    if (!q) return visible
    return visible.filter((r) =>
      [r.span.name, r.span.model, r.span.kind, r.span.status_message].some((v) =>
        v.toLowerCase().includes(q),
      ),
    )
  }, [tree.rows, collapsed, search])

  // No `span` parameter selects the root; an empty one means the details were closed.
  const spanParam = params.get('span')
  const selectedId = spanParam === null ? (tree.rows[0]?.span.span_id ?? null) : spanParam || null
  const selected = trace.spans.find((s) => s.span_id === selectedId) ?? null
  const select = useCallback(
    (spanId: string | null) => {
      const next = new URLSearchParams(params.toString())
      next.set('span', spanId ?? '')
      router.replace(`${pathname}?${next.toString()}`, { scroll: false })
    },
    [params, pathname, router],
  )

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null
      if (
        target &&
        (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT')
      )
        return
      if (e.key === 'Escape') return select(null)
      if (e.key !== 'j' && e.key !== 'k') return
      const i = rows.findIndex((r) => r.span.span_id === selectedId)
      const next = rows[Math.max(0, Math.min(rows.length - 1, i + (e.key === 'j' ? 1 : -1)))]
      if (next) select(next.span.span_id)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [rows, selectedId, select])

  const errors = trace.spans.filter((s) => s.status === 'error').length
  const llmCalls = trace.spans.filter((s) => s.kind === 'llm' || s.kind === 'embedding').length

  return (
    <>
      <section className="panel trace-head">
        <div>
          <h2 data-testid="trace-name">{trace.name || '(unnamed trace)'}</h2>
          <div className="muted small">
            {formatDateTime(parseTimestamp(trace.start_time), view.tz)} {timeZoneLabel(view.tz)}
          </div>
        </div>
        <dl className="facts">
          <div>
            <dt>Duration</dt>
            <dd>{formatSeconds(trace.duration_ms)}</dd>
          </div>
          <div>
            <dt>Spans</dt>
            <dd>{formatCount(trace.spans.length)}</dd>
          </div>
          <div>
            <dt>LLM calls</dt>
            <dd>{formatCount(llmCalls)}</dd>
          </div>
          <div>
            <dt>Tokens (in / out)</dt>
            <dd data-testid="trace-tokens">
              {formatTokens(trace.input_tokens)} / {formatTokens(trace.output_tokens)}
            </dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd data-testid="trace-cost">{formatUsd(trace.cost_usd)}</dd>
          </div>
          <div>
            <dt>Errors</dt>
            <dd className={errors > 0 ? 'error-text' : undefined}>{formatCount(errors)}</dd>
          </div>
          <div>
            <dt>Scores</dt>
            <dd>
              <ScoreChips scores={scores.filter((s) => s.span_id === '')} testId="trace-scores" />
            </dd>
          </div>
        </dl>
        <button
          type="button"
          className="btn"
          onClick={() => downloadJson(trace)}
          data-testid="download-trace"
        >
          Download JSON
        </button>
      </section>
      <div className="trace-layout">
        <section className="panel waterfall-panel">
          <header className="panel-head">
            <h3>Spans</h3>
            <input
              type="search"
              className="span-search"
              placeholder="Search spans (name, model, kind, error)"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
            <KindLegend kinds={[...new Set(trace.spans.map((s) => s.kind))]} />
          </header>
          <Waterfall
            rows={rows}
            totalMs={tree.totalMs}
            selectedId={selectedId}
            collapsed={collapsed}
            onSelect={select}
            onToggle={(id) =>
              setCollapsed((c) => {
                const next = new Set(c)
                if (next.has(id)) next.delete(id)
                else next.add(id)
                return next
              })
            }
          />
        </section>
        <aside className="panel details-panel">
          {selected ? (
            <SpanDetails
              span={selected}
              tz={view.tz}
              scores={scores.filter((s) => s.span_id === selected.span_id)}
              onClose={() => select(null)}
            />
          ) : (
            <div className="muted">Select a span to see its model, tokens, cost, input and output.</div>
          )}
        </aside>
      </div>
    </>
  )
}

function KindLegend({ kinds }: { kinds: string[] }) {
  return (
    <div className="legend">
      {kinds.sort().map((k) => (
        <span key={k} className="legend-item">
          <span className="swatch" style={{ background: kindColor(k) }} />
          {k}
        </span>
      ))}
    </div>
  )
}

function Waterfall({
  rows,
  totalMs,
  selectedId,
  collapsed,
  onSelect,
  onToggle,
}: {
  rows: TreeRow<Span>[]
  totalMs: number
  selectedId: string | null
  collapsed: ReadonlySet<string>
  onSelect(id: string): void
  onToggle(id: string): void
}) {
  const viewport = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const height = Math.min(MAX_VIEWPORT, Math.max(ROW_HEIGHT, rows.length * ROW_HEIGHT))
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN)
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN)

  // Keep the keyboard-selected row in view.
  useEffect(() => {
    const el = viewport.current
    const i = rows.findIndex((r) => r.span.span_id === selectedId)
    if (!el || i < 0) return
    const top = i * ROW_HEIGHT
    if (top < el.scrollTop) el.scrollTop = top
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight)
      el.scrollTop = top + ROW_HEIGHT - el.clientHeight
  }, [rows, selectedId])

  if (rows.length === 0) return <div className="muted pad">No span matches the search.</div>
  return (
    <div className="waterfall">
      <div className="waterfall-scale">
        <span>0 s</span>
        <span>{formatSeconds(totalMs / 2)}</span>
        <span>{formatSeconds(totalMs)}</span>
      </div>
      <div
        ref={viewport}
        className="waterfall-viewport"
        role="tree"
        aria-label="Spans of this trace"
        style={{ height }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      >
        <div style={{ height: rows.length * ROW_HEIGHT, position: 'relative' }}>
          {rows.slice(first, last).map((row, i) => {
            const s = row.span
            const left = (row.offsetMs / totalMs) * 100
            const width = Math.max(0.3, (Math.max(0, s.duration_ms) / totalMs) * 100)
            const selected = s.span_id === selectedId
            return (
              <div
                key={s.span_id}
                className={`span-row${selected ? ' selected' : ''}${s.status === 'error' ? ' error' : ''}`}
                data-testid="span-row"
                data-span-id={s.span_id}
                style={{ top: (first + i) * ROW_HEIGHT, height: ROW_HEIGHT }}
                onClick={() => onSelect(s.span_id)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') onSelect(s.span_id)
                }}
                role="treeitem"
                aria-level={row.depth + 1}
                aria-expanded={row.hasChildren ? !collapsed.has(s.span_id) : undefined}
                tabIndex={-1}
                aria-selected={selected}
              >
                <div className="span-name" style={{ paddingLeft: 6 + row.depth * 14 }}>
                  {row.hasChildren ? (
                    <button
                      type="button"
                      className="twisty"
                      aria-label={collapsed.has(s.span_id) ? 'Expand' : 'Collapse'}
                      onClick={(e) => {
                        e.stopPropagation()
                        onToggle(s.span_id)
                      }}
                    >
                      {collapsed.has(s.span_id) ? '▸' : '▾'}
                    </button>
                  ) : (
                    <span className="twisty-space" />
                  )}
                  <span className="swatch" style={{ background: kindColor(s.kind) }} title={s.kind} />
                  <span className="ellipsis" title={s.name}>
                    {s.name || '(unnamed)'}
                  </span>
                  {s.model ? <span className="muted small ellipsis"> {s.model}</span> : null}
                </div>
                <div className="span-metrics mono small">
                  <span className="muted">
                    {s.input_tokens + s.output_tokens > 0
                      ? `${formatTokens(s.input_tokens + s.output_tokens)} tok`
                      : ''}
                  </span>
                  <span>{s.cost_usd != null ? formatUsd(s.cost_usd) : ''}</span>
                </div>
                <div className="span-bar-track">
                  <div
                    className="span-bar"
                    style={{ left: `${left}%`, width: `${width}%`, background: kindColor(s.kind) }}
                  />
                  <span
                    className={`span-bar-label small mono${left + width > 75 && left <= 25 ? ' inside' : ''}`}
                    style={
                      left + width <= 75
                        ? { left: `${left + width + 0.5}%` }
                        : left > 25
                          ? { right: `${100 - left + 0.5}%` }
                          : { left: `${left + 0.5}%` }
                    }
                  >
                    {formatMs(s.duration_ms)}
                  </span>
                </div>
              </div>
            )
          })}
        </div>
      </div>
    </div>
  )
}
