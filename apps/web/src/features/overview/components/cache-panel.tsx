'use client'
/**
 * Prompt caching on the overview: the share of input tokens read from the providers' caches and
 * what that saved at the project's prices (reads against the input price, net of what cache
 * writes cost above it), overall and by model, from `overview.cache`.
 */
import type { CacheSavings } from '@hindsight/dashboards'
import { useQuery } from '@tanstack/react-query'
import { ErrorState, Loading } from '../../../components/states'
import { formatCount, formatPercent, formatTokens, formatUsd } from '../../../lib/format'
import { useTRPC } from '../../../lib/trpc'
import { useView } from '../../../lib/use-view'

function Headline({ cache }: { cache: CacheSavings }) {
  const net = cache.net_savings_usd
  return (
    <p className="cache-headline">
      <strong data-testid="cache-hit-rate">{formatPercent(cache.hit_rate)}</strong> of input tokens read from
      the cache ({formatTokens(cache.cache_read_tokens)} tokens, on {formatCount(cache.cached_calls)} of{' '}
      {formatCount(cache.calls)} LLM calls) · {net !== null && net < 0 ? 'cost' : 'saved'}{' '}
      <strong data-testid="cache-saved">{net === null ? '—' : formatUsd(Math.abs(net))}</strong> net
      {cache.write_premium_usd ? (
        <span className="muted">
          {' '}
          ({formatUsd(cache.read_savings_usd)} on reads − {formatUsd(cache.write_premium_usd)} paid above the
          input price for {formatTokens(cache.cache_write_tokens)} cache writes)
        </span>
      ) : null}
      {cache.unpriced_cache_tokens > 0 ? (
        <span className="muted">
          {' '}
          · {formatTokens(cache.unpriced_cache_tokens)} cached tokens of unpriced models are not in the
          dollars
        </span>
      ) : null}
    </p>
  )
}

export function CachePanel({ projectId }: { projectId: string }) {
  const trpc = useTRPC()
  const { query } = useView()
  const cache = useQuery(trpc.overview.cache.queryOptions({ projectId, ...query }))
  if (cache.isPending) return <Loading label="Loading prompt-cache savings…" height={80} />
  if (cache.isError) return <ErrorState error={cache.error} onRetry={() => void cache.refetch()} />
  const data = cache.data
  if (data.calls === 0) return null
  return (
    <section className="panel" data-testid="cache-panel">
      <header className="panel-head">
        <h3>Prompt cache</h3>
        <span className="muted small">
          cached input is billed at the provider's cache-read price; savings at this project's prices, each
          day's price
        </span>
      </header>
      {data.cache_read_tokens === 0 && data.cache_write_tokens === 0 ? (
        <p className="muted" data-testid="cache-none">
          No call in this range read or wrote a prompt cache. Providers cache long, stable prompt prefixes
          (system prompts, tool definitions, documents): OpenAI on its own above 1,024 tokens, Anthropic at
          the prompt's <code>cache_control</code> breakpoints. A back-test's what-if estimates what caching
          would save on this traffic.
        </p>
      ) : (
        <>
          <Headline cache={data} />
          <table className="table">
            <thead>
              <tr>
                <th>Model</th>
                <th className="num">Calls with cache</th>
                <th className="num">Hit rate</th>
                <th className="num">Cache read</th>
                <th className="num">Cache write</th>
                <th className="num">Saved (net)</th>
              </tr>
            </thead>
            <tbody>
              {data.by_model.map((m) => (
                <tr key={`${m.provider}/${m.model}`} data-testid="cache-row" data-key={m.model}>
                  <td>{m.model}</td>
                  <td className="num">
                    {formatCount(m.cached_calls)} / {formatCount(m.calls)}
                  </td>
                  <td className="num" data-testid="cache-row-hit-rate">
                    {formatPercent(m.hit_rate)}
                  </td>
                  <td className="num">{formatTokens(m.cache_read_tokens)}</td>
                  <td className="num">{formatTokens(m.cache_write_tokens)}</td>
                  <td className="num" data-testid="cache-row-saved">
                    {m.net_savings_usd === null
                      ? 'unpriced'
                      : m.net_savings_usd < 0
                        ? `cost ${formatUsd(-m.net_savings_usd)}`
                        : formatUsd(m.net_savings_usd)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
