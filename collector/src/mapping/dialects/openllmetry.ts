import { type Dialect, type SpanKind, TRACELOOP } from '../../conventions'
import type { OtlpSpan } from '../../otlp/types'
import type { AttributeReader } from '../attribute-reader'
import { contentText } from '../content'
import { mapOtelGenAi } from './otel-genai'
import type { DialectFields } from './types'

/** `traceloop.span.kind` of decorated functions → canonical kind. */
const TRACELOOP_KINDS: Readonly<Record<string, SpanKind>> = {
  workflow: 'chain',
  task: 'chain',
  agent: 'agent',
  tool: 'tool',
}

/**
 * OpenLLMetry / Traceloop: GenAI names (semconv 1.40 in recent versions, older `prompt_tokens` and
 * underscore cache names before), plus `llm.request.type`, `traceloop.span.kind` for decorated
 * workflows/tasks, indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` content (read by the
 * GenAI mapper), `traceloop.entity.input/output`, and association properties for user and
 * session. The Anthropic instrumentation's raw input count is declared exclusive in `tokens.ts`.
 */
export function mapOpenLlmetry(a: AttributeReader, span: OtlpSpan, dialect: Dialect): DialectFields {
  const fields = mapOtelGenAi(a, span, dialect)
  if (fields.kind === 'unknown') {
    const kind = TRACELOOP_KINDS[a.peekText(TRACELOOP.spanKind)]
    if (kind) {
      fields.kind = kind
      a.consume([TRACELOOP.spanKind])
    }
  }
  if (!fields.input) fields.input = contentText(a.take(TRACELOOP.entityInput))
  if (!fields.output) fields.output = contentText(a.take(TRACELOOP.entityOutput))
  const property = (name: string) => `${TRACELOOP.associationPrefix}${name}`
  fields.userKeys = [property('user_id'), property('userId')]
  fields.sessionKeys = [...fields.sessionKeys, property('session_id'), property('sessionId')]
  return fields
}
