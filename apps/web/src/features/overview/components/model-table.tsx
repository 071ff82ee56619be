'use client'
/** Breakdown by model; a row leads to that model's traces. */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useState } from 'react'
import { formatCount, formatMs, formatPercent, formatTokens, formatUsd } from '../../../lib/format'
import type { RouterOutputs } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'

type Row = RouterOutputs['overview']['byModel'][number]
type SortKey = 'model' | 'calls' | 'errors' | 'tokens' | 'cost' | 'p50' | 'p95'

const SORTS: Record<SortKey, (r: Row) => number | string> = {
  model: (r) => r.model,
  calls: (r) => r.calls,
  errors: (r) => r.errors,
  tokens: (r) => r.input_tokens + r.output_tokens,
  cost: (r) => r.cost_usd ?? -1,
  p50: (r) => r.p50_ms ?? -1,
  p95: (r) => r.p95_ms ?? -1,
}

const COLUMNS: Array<{ key: SortKey; label: string; numeric: boolean }> = [
  { key: 'model', label: 'Model', numeric: false },
  { key: 'calls', label: 'Calls', numeric: true },
  { key: 'errors', label: 'Errors', numeric: true },
  { key: 'tokens', label: 'Tokens (in / out)', numeric: true },
  { key: 'cost', label: 'Cost', numeric: true },
  { key: 'p50', label: 'p50', numeric: true },
  { key: 'p95', label: 'p95', numeric: true },
]

export function ModelTable({ rows }: { rows: Row[] }) {
  const router = useRouter()
  const { href } = useView()
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'cost', desc: true })
  const sorted = [...rows].sort((a, b) => {
    const x = SORTS[sort.key](a)
    const y = SORTS[sort.key](b)
    const cmp = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y
    return sort.desc ? -cmp : cmp
  })
  return (
    <section className="panel" data-testid="model-table">
      <header className="panel-head">
        <h3>By model</h3>
        <span className="muted small">click a row for its traces</span>
      </header>
      <table className="table">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} className={c.numeric ? 'num' : undefined}>
                <button
                  type="button"
                  className="th-sort"
                  onClick={() =>
                    setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.key !== 'model' }))
                  }
                >
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? ' ↓' : ' ↑') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => {
            const target = href({ models: r.model ? [r.model] : [] }, '/traces')
            return (
              <tr
                key={r.model}
                className="clickable"
                data-testid="model-row"
                onClick={() => router.push(target)}
              >
                <td>
                  <Link href={target} onClick={(e) => e.stopPropagation()}>
                    {r.model || '(no model)'}
                  </Link>
                </td>
                <td className="num">{formatCount(r.calls)}</td>
                <td className="num">
                  {formatCount(r.errors)}
                  {r.errors > 0 ? (
                    <span className="muted"> ({formatPercent(r.errors / r.calls)})</span>
                  ) : null}
                </td>
                <td className="num">
                  {formatTokens(r.input_tokens)} / {formatTokens(r.output_tokens)}
                </td>
                <td className="num">
                  {formatUsd(r.cost_usd)}
                  {r.unpriced_calls > 0 ? (
                    <span className="warn-dot" title={`${r.unpriced_calls} calls have no price`}>
                      {' '}
                      *
                    </span>
                  ) : null}
                </td>
                <td className="num">{formatMs(r.p50_ms)}</td>
                <td className="num">{formatMs(r.p95_ms)}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </section>
  )
}
