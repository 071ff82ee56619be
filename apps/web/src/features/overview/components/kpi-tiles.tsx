'use client'
/** Headline numbers with their change against the previous period of the same length. */
import type { Kpis, Overview } from '@hindsight/dashboards'
import { formatCount, formatMs, formatPercent, formatTokens, formatUsd } from '../../../lib/format'
import { kpiChange } from '../lib/kpi-change'

interface Tile {
  id: string
  label: string
  value: (k: Kpis) => number | null
  format: (v: number | null) => string
  /** Whether a rise is bad (cost, latency, errors) or neutral (volume). */
  riseIsBad: boolean
  /**
   * A rate, percentile or per-call figure: the calls it is computed over, whose previous count must
   * be large enough for its change to be shown (see kpiChange).
   */
  basis?: (k: Kpis) => number
  /** What the basis counts. @default 'call' */
  basisNoun?: string
}

const TILES: Tile[] = [
  { id: 'calls', label: 'Calls', value: (k) => k.calls, format: formatCount, riseIsBad: false },
  { id: 'cost', label: 'Cost', value: (k) => k.cost_usd, format: formatUsd, riseIsBad: true },
  {
    id: 'tokens',
    label: 'Tokens',
    value: (k) => k.total_tokens,
    format: (v) => (v == null ? '—' : `${formatTokens(v)}`),
    riseIsBad: false,
  },
  {
    id: 'error-rate',
    label: 'Error rate',
    value: (k) => k.error_rate,
    format: formatPercent,
    riseIsBad: true,
    basis: (k) => k.calls,
  },
  {
    id: 'p50',
    label: 'Latency p50',
    value: (k) => k.p50_ms,
    format: formatMs,
    riseIsBad: true,
    basis: (k) => k.calls,
  },
  {
    id: 'p95',
    label: 'Latency p95',
    value: (k) => k.p95_ms,
    format: formatMs,
    riseIsBad: true,
    basis: (k) => k.calls,
  },
  {
    id: 'ttft',
    label: 'First token p50',
    value: (k) => k.ttft_p50_ms,
    format: formatMs,
    riseIsBad: true,
    basis: (k) => k.ttft_calls,
    basisNoun: 'streamed call',
  },
  {
    id: 'cost-per-call',
    label: 'Cost / call',
    value: (k) => k.cost_per_call,
    format: formatUsd,
    riseIsBad: true,
    basis: (k) => k.priced_calls,
    basisNoun: 'priced call',
  },
]

export function KpiTiles({ overview, periodLabel }: { overview: Overview; periodLabel: string }) {
  const { current, previous } = overview
  return (
    <div className="kpis">
      {TILES.map((tile) => {
        const value = tile.value(current)
        const change = kpiChange(value, tile.value(previous), {
          periodLabel,
          ...(tile.basis ? { previousBasis: tile.basis(previous) } : {}),
          ...(tile.basisNoun ? { noun: tile.basisNoun } : {}),
        })
        const tone =
          change.direction === 'up' || change.direction === 'down'
            ? (change.direction === 'up') === tile.riseIsBad
              ? 'bad'
              : tile.riseIsBad
                ? 'good'
                : 'neutral'
            : 'neutral'
        return (
          <div className="kpi" key={tile.id}>
            <div className="kpi-label">{tile.label}</div>
            <div className="kpi-value" data-testid={`kpi-${tile.id}`}>
              {tile.format(value)}
              {tile.id === 'tokens' && value != null ? <span className="unit"> tokens</span> : null}
            </div>
            <div
              className={`kpi-change ${tone}`}
              data-testid={`kpi-${tile.id}-change`}
              title={`previous ${periodLabel}: ${tile.format(tile.value(previous))}`}
            >
              {change.text || ' '}
            </div>
          </div>
        )
      })}
    </div>
  )
}
