'use client'
/** Everything about one span: model, tokens by type, cost, timing, status, content, attributes. */
import { useState } from 'react'
import {
  formatDateTime,
  formatMs,
  formatSeconds,
  formatTokens,
  formatUsd,
  parseTimestamp,
  type TimeZoneMode,
} from '../../../lib/format'
import { parseJson, toMessages } from '../lib/span-tree'
import type { Span } from './trace-page'
import { type Score, ScoreChips } from './trace-scores'

function Fact({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd data-testid={testId}>{value || '—'}</dd>
    </div>
  )
}

export function SpanDetails({
  span,
  tz,
  scores = [],
  onClose,
}: {
  span: Span
  tz: TimeZoneMode
  /** Scores attached to this span. */
  scores?: Score[]
  onClose(): void
}) {
  const attributes = Object.entries(span.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b))
  const resource = Object.entries(span.resource_attributes ?? {}).sort(([a], [b]) => a.localeCompare(b))
  const isModelCall = span.kind === 'llm' || span.kind === 'embedding'
  return (
    <div className="span-details" data-testid="span-details">
      <header className="details-head">
        <div>
          <h3 className="ellipsis" title={span.name}>
            {span.name || '(unnamed)'}
          </h3>
          <div className="small">
            <span className="badge">{span.kind}</span>{' '}
            <span className={`badge ${span.status === 'error' ? 'badge-error' : 'badge-ok'}`}>
              {span.status}
            </span>{' '}
            <span className="muted mono">{span.span_id}</span>
          </div>
        </div>
        <button type="button" className="btn ghost" onClick={onClose} title="Close (Esc)">
          ✕
        </button>
      </header>
      {span.status === 'error' ? (
        <div className="note error" data-testid="span-error">
          <strong>{span.error_type || 'Error'}</strong>
          {span.status_message ? `: ${span.status_message}` : ''}
        </div>
      ) : null}
      <dl className="fact-grid">
        <Fact label="Model" value={span.model} testId="span-model" />
        <Fact label="Provider" value={span.provider} />
        {span.request_model && span.request_model !== span.model ? (
          <Fact label="Requested model" value={span.request_model} />
        ) : null}
        <Fact label="Duration" value={`${formatSeconds(span.duration_ms)} (${formatMs(span.duration_ms)})`} />
        <Fact label="Time to first token" value={span.ttft_ms == null ? '' : formatMs(span.ttft_ms)} />
        <Fact label="Started" value={formatDateTime(parseTimestamp(span.start_time), tz)} />
        <Fact
          label="Cost"
          value={
            span.cost_usd == null
              ? isModelCall
                ? `unpriced${span.pricing_note ? ` (${span.pricing_note})` : ''}`
                : ''
              : formatUsd(span.cost_usd)
          }
          testId="span-cost"
        />
        <Fact
          label="Input tokens"
          value={tokenText(span.input_tokens, isModelCall)}
          testId="span-input-tokens"
        />
        <Fact
          label="Output tokens"
          value={tokenText(span.output_tokens, isModelCall)}
          testId="span-output-tokens"
        />
        <Fact label="Cache read" value={tokenText(span.cache_read_tokens, isModelCall)} />
        <Fact label="Cache write" value={tokenText(span.cache_write_tokens, isModelCall)} />
        <Fact label="Reasoning" value={tokenText(span.reasoning_tokens, isModelCall)} />
        {span.price_version ? <Fact label="Price table" value={span.price_version} /> : null}
      </dl>
      {scores.length > 0 ? (
        <section className="details-section">
          <h4>Scores</h4>
          <ScoreChips scores={scores} testId="span-scores" />
        </section>
      ) : null}
      <Content title="Input" text={span.input} />
      <Content title="Output" text={span.output} />
      <section className="details-section">
        <h4>Attributes</h4>
        <table className="table attr-table">
          <tbody>
            {[
              ['service', span.service_name],
              ['environment', span.environment],
              ['release', span.release],
              ['route', span.route],
              ['operation', span.operation],
              ['session', span.session_id],
              ['user', span.user_id],
              ['parent span', span.parent_span_id],
              ['scope', span.scope_name],
            ]
              .filter(([, v]) => v)
              .map(([k, v]) => (
                <tr key={`col:${k}`}>
                  <th>{k}</th>
                  <td className="mono">{v}</td>
                </tr>
              ))}
            {attributes.map(([k, v]) => (
              <tr key={`attr:${k}`}>
                <th className="mono">{k}</th>
                <td className="mono">{v}</td>
              </tr>
            ))}
            {resource.map(([k, v]) => (
              <tr key={`res:${k}`}>
                <th className="mono">
                  <span className="muted">resource · </span>
                  {k}
                </th>
                <td className="mono">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  )
}

function tokenText(value: number, isModelCall: boolean): string {
  if (!isModelCall && value === 0) return ''
  return `${formatTokens(value)} tokens`
}

/** Span content: messages rendered as a conversation, other JSON pretty-printed, raw on demand. */
function Content({ title, text }: { title: string; text: string }) {
  const [raw, setRaw] = useState(false)
  const parsed = parseJson(text)
  const messages = parsed.ok ? toMessages(parsed.value) : null
  return (
    <section className="details-section">
      <header className="section-head">
        <h4>{title}</h4>
        {text ? (
          <div className="seg-group">
            <button type="button" className={raw ? 'seg' : 'seg active'} onClick={() => setRaw(false)}>
              Pretty
            </button>
            <button type="button" className={raw ? 'seg active' : 'seg'} onClick={() => setRaw(true)}>
              Raw
            </button>
          </div>
        ) : null}
      </header>
      {!text ? (
        <div className="muted small">Not captured (content capture may be off in the SDK).</div>
      ) : raw || !parsed.ok ? (
        <pre className="content-block">{text}</pre>
      ) : messages ? (
        <div className="messages">
          {messages.map((m, i) => (
            // Messages have no id; their position is their identity.
            // biome-ignore lint/suspicious/noArrayIndexKey: static list, never reordered
            <div key={i} className={`message role-${m.role}`}>
              <div className="message-role">{m.role}</div>
              <pre className="message-text">{m.text}</pre>
            </div>
          ))}
        </div>
      ) : (
        <pre className="content-block">{JSON.stringify(parsed.value, null, 2)}</pre>
      )}
    </section>
  )
}
