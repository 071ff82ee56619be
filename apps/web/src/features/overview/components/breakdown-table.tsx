'use client'
/**
 * Breakdown by model or by release: calls, errors, tokens, cost, latency and the mean of each
 * chosen score name (with n) on one row, so cost, latency and quality are read together. A model
 * row leads to that model's traces.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { type ReactNode, useState } from 'react'
import { formatCount, formatMs, formatPercent, formatTokens, formatUsd } from '../../../lib/format'
import { useView } from '../../../lib/use-view'
import {
  type Breakdown,
  type BreakdownRow,
  DEFAULT_SCORE_COLUMNS,
  formatScoreMean,
  type ScoreName,
} from '../lib/breakdown'

type BaseKey = 'key' | 'calls' | 'errors' | 'tokens' | 'cost' | 'p50' | 'p95'
/** A base column, or `score:<name>`. */
type SortKey = BaseKey | `score:${string}`

const SORTS: Record<BaseKey, (r: BreakdownRow) => number | string> = {
  key: (r) => r.key,
  calls: (r) => r.calls,
  errors: (r) => r.error_rate ?? -1,
  tokens: (r) => r.input_tokens + r.output_tokens,
  cost: (r) => r.cost_usd ?? -1,
  p50: (r) => r.p50_ms ?? -1,
  p95: (r) => r.p95_ms ?? -1,
}

function sortValue(key: SortKey, row: BreakdownRow): number | string {
  if (key.startsWith('score:')) return row.scores[key.slice('score:'.length)]?.mean ?? -Infinity
  return SORTS[key as BaseKey](row)
}

export const DIMENSION_LABELS = {
  model: 'Model',
  route: 'Route',
  release: 'Release',
  provider: 'Provider',
  environment: 'Environment',
  service: 'Service',
  user: 'User',
  attribute: 'Attribute',
} as const

export function BreakdownTable({
  breakdown,
  scores,
  title,
}: {
  breakdown: Breakdown
  scores: string[]
  /** Replaces the "By <dimension>" heading (e.g. with a dimension picker). */
  title?: ReactNode
}) {
  const router = useRouter()
  const { href } = useView()
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'cost', desc: true })
  const { dimension } = breakdown
  const columns: Array<{ key: SortKey; label: string; numeric: boolean; title?: string }> = [
    { key: 'key', label: breakdown.groupKey ?? DIMENSION_LABELS[dimension], numeric: false },
    { key: 'calls', label: 'Calls', numeric: true },
    { key: 'errors', label: 'Errors', numeric: true },
    { key: 'tokens', label: 'Tokens (in / out)', numeric: true },
    { key: 'cost', label: 'Cost', numeric: true },
    { key: 'p50', label: 'p50', numeric: true },
    { key: 'p95', label: 'p95', numeric: true },
    ...scores.map((name) => ({
      key: `score:${name}` as const,
      label: name,
      numeric: true,
      title: `Mean ${name} score of this ${dimension}'s traces (n = scores averaged; booleans as pass rate)`,
    })),
  ]
  const sorted = [...breakdown.rows].sort((a, b) => {
    const x = sortValue(sort.key, a)
    const y = sortValue(sort.key, b)
    const cmp = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y
    return sort.desc ? -cmp : cmp
  })
  // Model and route rows lead to their traces (the trace list filters by both); releases do not.
  const clickable = dimension === 'model' || dimension === 'route'
  return (
    <section className="panel" data-testid={`${dimension}-table`}>
      <header className="panel-head">
        {title ?? <h3>By {dimension}</h3>}
        <span className="muted small">
          {clickable ? 'click a row for its traces · ' : ''}scores: mean (n)
        </span>
      </header>
      <table className="table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} className={c.numeric ? 'num' : undefined} title={c.title}>
                <button
                  type="button"
                  className="th-sort"
                  data-testid={c.key.startsWith('score:') ? 'score-column' : undefined}
                  onClick={() =>
                    setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.key !== 'key' }))
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
            const target =
              clickable && r.key
                ? href(dimension === 'model' ? { models: [r.key] } : { routes: [r.key] }, '/traces')
                : null
            const label = r.key || `(no ${dimension})`
            return (
              <tr
                key={r.key}
                className={target ? 'clickable' : undefined}
                data-testid={`${dimension}-row`}
                data-key={r.key}
                onClick={target ? () => router.push(target) : undefined}
              >
                <td>
                  {target ? (
                    <Link href={target} onClick={(e) => e.stopPropagation()}>
                      {label}
                    </Link>
                  ) : (
                    label
                  )}
                </td>
                <td className="num" data-testid="cell-calls">
                  {formatCount(r.calls)}
                </td>
                <td className="num" data-testid="cell-errors">
                  {formatCount(r.errors)}
                  {r.errors > 0 ? <span className="muted"> ({formatPercent(r.error_rate)})</span> : null}
                </td>
                <td className="num">
                  {formatTokens(r.input_tokens)} / {formatTokens(r.output_tokens)}
                </td>
                <td className="num" data-testid="cell-cost">
                  {formatUsd(r.cost_usd)}
                  {r.unpriced_calls > r.unpriced_failed_calls ? (
                    <span
                      className="warn-dot"
                      title={`${r.unpriced_calls - r.unpriced_failed_calls} calls have no price`}
                    >
                      {' '}
                      *
                    </span>
                  ) : null}
                </td>
                <td className="num" data-testid="cell-p50">
                  {formatMs(r.p50_ms)}
                </td>
                <td className="num" data-testid="cell-p95">
                  {formatMs(r.p95_ms)}
                </td>
                {scores.map((name) => {
                  const cell = r.scores[name]
                  return (
                    <td key={name} className="num" data-testid="score-cell" data-score-name={name}>
                      <span data-testid="score-mean">{formatScoreMean(cell?.mean)}</span>
                      {cell ? (
                        <span className="muted small" data-testid="score-n">
                          {' '}
                          (n={formatCount(cell.n)})
                        </span>
                      ) : null}
                    </td>
                  )
                })}
              </tr>
            )
          })}
        </tbody>
      </table>
      {breakdown.more_rows > 0 ? (
        <p className="muted small" data-testid="breakdown-more">
          and {formatCount(breakdown.more_rows)} more: the {formatCount(breakdown.rows.length)} most expensive
          are listed, and sorting reorders these
        </p>
      ) : null}
    </section>
  )
}

/**
 * Which score names get a column. Shown only when there are more names than fit by default; a
 * click toggles a name.
 */
export function ScorePicker({
  names,
  shown,
  onChange,
}: {
  names: ScoreName[]
  shown: string[]
  onChange: (picked: string[]) => void
}) {
  if (names.length <= DEFAULT_SCORE_COLUMNS) return null
  const on = new Set(shown)
  return (
    <div className="chips" data-testid="score-picker">
      <span className="muted small">Scores shown (trends and columns):</span>
      {names.map((s) => (
        <label key={s.name} className="chip" data-testid="score-pick" data-score-name={s.name}>
          <input
            type="checkbox"
            checked={on.has(s.name)}
            onChange={() => onChange(on.has(s.name) ? shown.filter((n) => n !== s.name) : [...shown, s.name])}
          />{' '}
          {s.name} <span className="muted">({formatCount(s.n)})</span>
        </label>
      ))}
    </div>
  )
}
