import { type Dialect, OPENINFERENCE, TRACELOOP, VERCEL_AI } from '../../conventions'
import type { OtlpSpan } from '../../otlp/types'

const HINDSIGHT_SCOPE = '@hindsight/sdk'
const INDEXED = /^gen_ai\.(?:prompt|completion)\.\d+\./
/** OpenInference keys that no other dialect uses (besides `openinference.span.kind`). */
const OPENINFERENCE_KEY =
  /^llm\.(?:model_name|token_count\.|input_messages\.|output_messages\.|invocation_parameters$)/

/**
 * Which convention a span follows: by instrumentation scope first (the package that made it), then
 * by attribute names. Scope names: `@arizeai/openinference-*` / `openinference.instrumentation.*`,
 * `@traceloop/*`, `ai` (the AI SDK's own spans), `gen_ai` (`@ai-sdk/otel`'s default tracer),
 * `@hindsight/sdk`. Otherwise `openinference.span.kind` or `llm.token_count.*`…, `traceloop.*` /
 * `llm.request.type` / indexed `gen_ai.prompt.N.*`, `ai.*`, then any `gen_ai.*` name.
 */
export function detectDialect(span: OtlpSpan): Dialect {
  const scope = span.scope.name
  if (scope.startsWith(OPENINFERENCE.scopePrefix) || scope.startsWith(OPENINFERENCE.pythonScopePrefix)) {
    return 'openinference'
  }
  if (scope.startsWith('@traceloop/')) return 'openllmetry'
  if (scope === VERCEL_AI.scope) return 'vercel_ai'
  if (scope === VERCEL_AI.otelScope) return 'vercel_ai_otel'
  if (scope === HINDSIGHT_SCOPE) return 'hindsight'

  let flags = 0
  for (const key of span.attributes.keys()) {
    let flag = keyFlags.get(key)
    if (flag === undefined) {
      flag = classify(key)
      if (keyFlags.size >= KEY_FLAGS_MAX) keyFlags.clear()
      keyFlags.set(key, flag)
    }
    if (flag === OPENINFERENCE_SPAN_KIND) return 'openinference'
    flags |= flag
  }
  if (flags & OPENLLMETRY) return 'openllmetry'
  if (flags & VERCEL) return 'vercel_ai'
  if (flags & OPENINFERENCE_ONLY) return 'openinference'
  if (flags & GEN_AI) return 'otel_genai'
  return 'unknown'
}

// What one attribute key says about the dialect (bits), cached: keys repeat from span to span.
const GEN_AI = 1
const OPENLLMETRY = 2
const VERCEL = 4
const OPENINFERENCE_ONLY = 8
/** `openinference.span.kind`: decides alone. */
const OPENINFERENCE_SPAN_KIND = 16
const KEY_FLAGS_MAX = 4096
const keyFlags = new Map<string, number>()

function classify(key: string): number {
  if (key === OPENINFERENCE.spanKind) return OPENINFERENCE_SPAN_KIND
  if (key.startsWith('gen_ai.')) return INDEXED.test(key) ? GEN_AI | OPENLLMETRY : GEN_AI
  if (
    key.startsWith(TRACELOOP.attributePrefix) ||
    key === TRACELOOP.requestType ||
    key === TRACELOOP.usageTotalTokens
  ) {
    return OPENLLMETRY
  }
  if (key.startsWith('ai.')) {
    return key === VERCEL_AI.operationId || key === VERCEL_AI.modelId || key.startsWith('ai.usage.')
      ? VERCEL
      : 0
  }
  return OPENINFERENCE_KEY.test(key) ? OPENINFERENCE_ONLY : 0
}
