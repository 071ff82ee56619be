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

  let openInference = false
  let openLlmetry = false
  let vercel = false
  let genAi = false
  for (const key of span.attributes.keys()) {
    if (key === OPENINFERENCE.spanKind) return 'openinference'
    if (key.startsWith('gen_ai.')) {
      genAi = true
      if (INDEXED.test(key)) openLlmetry = true
    } else if (
      key.startsWith(TRACELOOP.attributePrefix) ||
      key === TRACELOOP.requestType ||
      key === TRACELOOP.usageTotalTokens
    ) {
      openLlmetry = true
    } else if (key.startsWith('ai.')) {
      if (key === VERCEL_AI.operationId || key === VERCEL_AI.modelId || key.startsWith('ai.usage.'))
        vercel = true
    } else if (OPENINFERENCE_KEY.test(key)) {
      openInference = true
    }
  }
  if (openLlmetry) return 'openllmetry'
  if (vercel) return 'vercel_ai'
  if (openInference) return 'openinference'
  if (genAi) return 'otel_genai'
  return 'unknown'
}
