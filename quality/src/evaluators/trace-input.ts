import type { TraceDetail } from '@hindsight/dashboards'
import type { EvalInput } from './types'

/**
 * What evaluators see of a recorded trace (`getTrace`): input = the root span's input (else the
 * first span's that has one), output = the root span's output (else the last span's), every span
 * for citation/retrieval checks, the trace's duration and its cost (null when some model call is
 * unpriced, so cost thresholds fail instead of passing on a partial sum).
 */
export function evalInputFromTrace(trace: TraceDetail, extra: { expected?: unknown } = {}): EvalInput {
  const spans = trace.spans
  const root = spans.find((s) => s.parent_span_id === '')
  const withInput = root?.input ? root : spans.find((s) => s.input !== '')
  const withOutput = root?.output ? root : [...spans].reverse().find((s) => s.output !== '')
  const calls = spans.filter((s) => s.kind === 'llm' || s.kind === 'embedding')
  const unpriced = calls.some((s) => s.cost_usd === null)
  return {
    input: withInput?.input ?? '',
    output: withOutput?.output ?? '',
    ...(extra.expected !== undefined ? { expected: extra.expected } : {}),
    spans: spans.map((s) => ({
      span_id: s.span_id,
      parent_span_id: s.parent_span_id,
      name: s.name,
      kind: s.kind,
      model: s.model,
      provider: s.provider,
      input: s.input,
      output: s.output,
      attributes: s.attributes,
      duration_ms: s.duration_ms,
      cost_usd: s.cost_usd,
      status: s.status,
    })),
    latencyMs: trace.duration_ms,
    costUsd: unpriced ? null : calls.reduce((sum, s) => sum + (s.cost_usd ?? 0), 0),
  }
}
