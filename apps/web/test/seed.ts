/**
 * Realistic demo spans for the web tests: agent traces over the last hours with LLM calls on
 * several models, embeddings, tool calls, one failure and some unpriced calls. Deterministic
 * (seeded), so the expected figures are computed from the same rows the server reads.
 */
import { randomBytes } from 'node:crypto'
import type { SpanRow } from '@hindsight/collector/canonical'
import { GEN_AI } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'
import { testRow } from '@hindsight/collector/testing'

/** Small seeded PRNG (mulberry32): same sequence every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface ModelSpec {
  model: string
  provider: string
  /** USD per token; null = not in the price table. */
  input: number | null
  output: number | null
}

export const SEED_MODELS: ModelSpec[] = [
  { model: 'gpt-4o', provider: 'openai', input: 2.5e-6, output: 10e-6 },
  { model: 'gpt-4o-mini', provider: 'openai', input: 0.15e-6, output: 0.6e-6 },
  { model: 'claude-sonnet-4', provider: 'anthropic', input: 3e-6, output: 15e-6 },
  { model: 'llama-3-local', provider: 'ollama', input: null, output: null },
]
const EMBEDDING: ModelSpec = {
  model: 'text-embedding-3-small',
  provider: 'openai',
  input: 0.02e-6,
  output: 0,
}

/** 'YYYY-MM-DD hh:mm:ss.ffffff' UTC, the DateTime64(6) text form. */
function chTime(epochMs: number): string {
  const iso = new Date(Math.floor(epochMs)).toISOString()
  const micros = Math.round((epochMs - Math.floor(epochMs)) * 1000)
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, '0')}`
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

export interface SeedOptions {
  projectId: string
  /** Traces to create. @default 60 */
  traces?: number
  /** Spread the traces over this many ms before `now`. @default 23 h */
  spreadMs?: number
  now?: number
  seed?: number
  /** Routes the traces take in turn (trace i gets routes[i % length]). @default ['/api/answer'] */
  routes?: string[]
}

export interface Seeded {
  rows: SpanRow[]
  traceIds: string[]
  /** The trace whose LLM call failed. */
  errorTraceId: string
}

const QUESTIONS = [
  'How do I rotate my API key?',
  'Summarise the refund policy for annual plans.',
  'Which regions support data residency?',
  'Draft a reply to a customer asking about SSO.',
  'Explain the difference between p95 and p99 latency.',
]

export function seedRows(o: SeedOptions): Seeded {
  const rand = prng(o.seed ?? 42)
  const now = o.now ?? Date.now()
  const count = o.traces ?? 60
  const spread = o.spreadMs ?? 23 * 3_600_000
  const rows: SpanRow[] = []
  const traceIds: string[] = []
  const errorIndex = Math.floor(count / 3)
  let errorTraceId = ''
  const ingested = chTime(now).slice(0, 23)

  // The collector's canonical test row, as a chain span of this seed's service (no usage or cost).
  const base = (traceId: string, parent: string, name: string, start: number, duration: number): SpanRow =>
    testRow({
      project_id: o.projectId,
      trace_id: traceId,
      span_id: hex(8),
      parent_span_id: parent,
      name,
      kind: 'chain',
      service_name: 'support-bot',
      environment: 'production',
      release: rand() < 0.5 ? 'v1.4.0' : 'v1.5.0',
      route: '/api/answer',
      operation: '',
      provider: '',
      model: '',
      request_model: '',
      input_tokens: 0,
      output_tokens: 0,
      cost_usd: null,
      price_version: '',
      start_time: chTime(start),
      end_time: chTime(start + duration),
      duration_ms: duration,
      user_id: `user-${1 + Math.floor(rand() * 12)}`,
      session_id: `session-${1 + Math.floor(rand() * 20)}`,
      attributes: {},
      resource_attributes: { 'service.name': 'support-bot' },
      scope_name: '@hindsight/sdk',
      ingested_at: ingested,
    })

  const llm = (
    traceId: string,
    parent: string,
    spec: ModelSpec,
    start: number,
    question: string,
    failed: boolean,
  ): SpanRow => {
    // A timed-out request reports no usage (the draw is still made, so the rest stays as it was).
    const drawn = 300 + Math.floor(rand() * 2500)
    const input = failed ? 0 : drawn
    const output = failed ? 0 : 40 + Math.floor(rand() * 600)
    const cacheRead = rand() < 0.4 ? Math.floor(input * 0.6) : 0
    const duration = failed ? 30_000 : 350 + output * (8 + rand() * 12)
    const priced = spec.input !== null && spec.output !== null && !failed
    const cost = priced ? input * (spec.input ?? 0) + output * (spec.output ?? 0) : null
    return {
      ...base(traceId, parent, `chat ${spec.model}`, start, duration),
      kind: 'llm',
      operation: 'chat',
      provider: spec.provider,
      model: spec.model,
      request_model: spec.model,
      input_tokens: input,
      output_tokens: output,
      cache_read_tokens: cacheRead,
      reasoning_tokens: spec.model === 'gpt-4o' ? Math.floor(output * 0.1) : 0,
      cost_usd: cost === null ? null : cost.toFixed(9),
      price_version: priced ? '2026-01' : '',
      pricing_note: spec.input === null ? 'unknown model' : '',
      ttft_ms: failed ? null : 120 + rand() * 400,
      status: failed ? 'error' : 'ok',
      status_message: failed ? 'Request timed out after 30000 ms' : '',
      error_type: failed ? 'APITimeoutError' : '',
      input: JSON.stringify([
        { role: 'system', content: 'You are a concise support assistant.' },
        { role: 'user', content: question },
      ]),
      output: failed
        ? ''
        : JSON.stringify([{ role: 'assistant', content: `Here is what I found about: ${question}` }]),
      attributes: { [GEN_AI.requestTemperature]: '0.2', [GEN_AI.requestMaxTokens]: '1024' },
    }
  }

  for (let i = 0; i < count; i++) {
    const traceId = hex(16)
    traceIds.push(traceId)
    const start = now - spread + (spread * (i + rand() * 0.5)) / count
    const question = QUESTIONS[i % QUESTIONS.length] ?? 'Hello'
    const root = base(traceId, '', 'answer-question', start, 0)
    root.kind = 'agent'
    const children: SpanRow[] = []
    let t = start + 5
    // Retrieval: an embedding call under a retrieval step.
    const retrieval = { ...base(traceId, root.span_id, 'retrieve-docs', t, 0), kind: 'retrieval' as const }
    const emb = llm(traceId, retrieval.span_id, EMBEDDING, t + 2, question, false)
    emb.kind = 'embedding'
    emb.name = 'embeddings text-embedding-3-small'
    emb.operation = 'embeddings'
    emb.output_tokens = 0
    emb.duration_ms = 60 + rand() * 80
    emb.end_time = chTime(t + 2 + emb.duration_ms)
    emb.cost_usd = (emb.input_tokens * (EMBEDDING.input ?? 0)).toFixed(9)
    emb.ttft_ms = null
    emb.output = ''
    retrieval.duration_ms = emb.duration_ms + 10
    retrieval.end_time = chTime(t + retrieval.duration_ms)
    children.push(retrieval, emb)
    t += retrieval.duration_ms + 3
    // One or two LLM calls, sometimes with a tool call between them.
    const spec = SEED_MODELS[i % SEED_MODELS.length] ?? SEED_MODELS[0]
    const failed = i === errorIndex
    if (failed) errorTraceId = traceId
    const first = llm(traceId, root.span_id, spec as ModelSpec, t, question, failed)
    children.push(first)
    t += first.duration_ms + 2
    if (!failed && i % 3 === 0) {
      const tool = {
        ...base(traceId, root.span_id, 'search_kb', t, 40 + rand() * 200),
        kind: 'tool' as const,
        operation: 'execute_tool',
        attributes: { [GEN_AI.toolName]: 'search_kb' },
      }
      children.push(tool)
      t += tool.duration_ms + 2
      const followUp = llm(traceId, root.span_id, SEED_MODELS[1] as ModelSpec, t, question, false)
      children.push(followUp)
      t += followUp.duration_ms + 2
    }
    root.duration_ms = t - start
    root.end_time = chTime(t)
    if (failed) {
      root.status = 'error'
      root.status_message = 'LLM call failed'
      root.error_type = 'APITimeoutError'
    }
    const routes = o.routes ?? ['/api/answer']
    const route = routes[i % routes.length] ?? '/api/answer'
    for (const row of [root, ...children]) row.route = route
    rows.push(root, ...children)
  }
  return { rows, traceIds, errorTraceId }
}

export async function insertRows(storage: Storage, rows: SpanRow[]): Promise<void> {
  await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
}

/** What the KPIs must say about `rows`: model calls are the llm and embedding spans. */
export function expectedTotals(rows: SpanRow[]): {
  calls: number
  errors: number
  cost: number
  unpriced: number
} {
  const calls = rows.filter((r) => r.kind === 'llm' || r.kind === 'embedding')
  return {
    calls: calls.length,
    errors: calls.filter((r) => r.status === 'error').length,
    cost: calls.reduce((sum, r) => sum + (r.cost_usd === null ? 0 : Number(r.cost_usd)), 0),
    unpriced: calls.filter((r) => r.cost_usd === null).length,
  }
}
