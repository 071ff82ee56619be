/**
 * Provider names as the price table and the GenAI convention spell them (`gen_ai.provider.name`
 * values): `openai`, `anthropic`, `azure.ai.openai`, `azure.ai.inference`, `aws.bedrock`,
 * `gcp.vertex_ai`, `gcp.gemini`, `mistral_ai`, `x_ai`, …
 *
 * Instrumentations spell them many ways: the AI SDK reports its provider id (`openai.chat`,
 * `anthropic.messages`, `amazon-bedrock`, `google.vertex.chat`), OpenInference a vendor and a host
 * (`llm.system` = `vertexai`, `llm.provider` = `aws`), older GenAI code `az.ai.openai`.
 */

/** Whole names (lowercase) → canonical. */
const EXACT: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  'az.ai.openai': 'azure.ai.openai',
  'azure.ai.openai': 'azure.ai.openai',
  azure_openai: 'azure.ai.openai',
  azureopenai: 'azure.ai.openai',
  azure: 'azure.ai.openai',
  'az.ai.inference': 'azure.ai.inference',
  'azure.ai.inference': 'azure.ai.inference',
  'aws.bedrock': 'aws.bedrock',
  aws_bedrock: 'aws.bedrock',
  bedrock: 'aws.bedrock',
  aws: 'aws.bedrock',
  amazon: 'aws.bedrock',
  'gcp.vertex_ai': 'gcp.vertex_ai',
  vertex_ai: 'gcp.vertex_ai',
  vertexai: 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  'gcp.gemini': 'gcp.gemini',
  gemini: 'gcp.gemini',
  google: 'gcp.gemini',
  google_genai: 'gcp.gemini',
  'gcp.gen_ai': 'gcp.gen_ai',
  mistral_ai: 'mistral_ai',
  mistralai: 'mistral_ai',
  mistral: 'mistral_ai',
  x_ai: 'x_ai',
  xai: 'x_ai',
  'ibm.watsonx.ai': 'ibm.watsonx.ai',
  watsonx: 'ibm.watsonx.ai',
}

/**
 * Prefixes of provider ids with a suffix (`<prefix>.<api>` or `<prefix>-<x>`), most specific first.
 * `azure` alone means Azure OpenAI (the AI SDK's `@ai-sdk/azure` reports `azure.chat`).
 */
const PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['azure.ai.inference', 'azure.ai.inference'],
  ['azure.ai.openai', 'azure.ai.openai'],
  ['azure-openai', 'azure.ai.openai'],
  ['azure', 'azure.ai.openai'],
  ['google.vertex', 'gcp.vertex_ai'],
  ['google-vertex', 'gcp.vertex_ai'],
  ['vertex', 'gcp.vertex_ai'],
  ['google.generative-ai', 'gcp.gemini'],
  ['google', 'gcp.gemini'],
  ['amazon-bedrock', 'aws.bedrock'],
  ['aws.bedrock', 'aws.bedrock'],
  ['bedrock', 'aws.bedrock'],
  ['anthropic', 'anthropic'],
  ['openai', 'openai'],
  ['mistral', 'mistral_ai'],
  ['xai', 'x_ai'],
  ['groq', 'groq'],
  ['deepseek', 'deepseek'],
  ['cohere', 'cohere'],
  ['perplexity', 'perplexity'],
  ['fireworks', 'fireworks'],
  ['togetherai', 'together'],
  ['cerebras', 'cerebras'],
]

const cache = new Map<string, string>()
const MAX_CACHED = 10_000

/** The canonical provider name for any spelling; unknown names are returned lowercased. */
export function normalizeProvider(raw: string): string {
  const lower = raw.trim().toLowerCase()
  if (lower === '') return ''
  let out = cache.get(lower)
  if (out !== undefined) return out
  out = EXACT[lower]
  if (out === undefined) {
    out = lower
    for (const [prefix, canonical] of PREFIXES) {
      if (
        lower === prefix ||
        lower.startsWith(`${prefix}.`) ||
        lower.startsWith(`${prefix}-`) ||
        lower.startsWith(`${prefix}_`)
      ) {
        out = canonical
        break
      }
    }
  }
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(lower, out)
  return out
}

/**
 * OpenInference reports the host (`llm.provider`: openai, azure, aws, google…) and the vendor
 * (`llm.system`: openai, anthropic, vertexai…). The host decides the price list (Claude on Bedrock
 * is billed by AWS); Google's host is Vertex AI when the vendor says so, else the Gemini API.
 */
export function openInferenceProvider(provider: string, system: string): string {
  const host = provider.trim().toLowerCase()
  const vendor = system.trim().toLowerCase()
  if (host === 'google') return vendor === 'vertexai' ? 'gcp.vertex_ai' : 'gcp.gemini'
  return normalizeProvider(host || vendor)
}
