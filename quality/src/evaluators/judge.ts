/**
 * LLM-as-judge: a rubric sent to any OpenAI-compatible Chat Completions endpoint (the `openai`
 * package with a `baseURL`) or to Anthropic's Messages API (`@anthropic-ai/sdk`), the reply
 * parsed as JSON (code fences and surrounding prose tolerated) and checked against the rubric's
 * scale. A judge that times out, fails, answers non-JSON or out of range yields a FAILED result
 * with the reason, after the retries of its policy; it never throws. Each call's tokens, cost
 * (from the collector's price table) and latency are on the result, and each call can be
 * recorded as its own LLM span (`spanSink`), in a trace of its own that names the evaluated one.
 */
import { randomBytes } from 'node:crypto'
import Anthropic from '@anthropic-ai/sdk'
import { priceSpan } from '@hindsight/collector'
import type { SpanRow } from '@hindsight/collector/canonical'
import { GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import OpenAI from 'openai'
import { z } from 'zod'
import type { EvalUsage } from '../scores/types'
import { type Rubric, type RubricScale, renderRubric } from './rubrics'
import { defineEvaluator, evalFailure } from './run'
import { extractJson } from './text'
import type { EvalFailure, EvalOutcome, Evaluator, EvalValueOf } from './types'

/** Where the judge model runs. */
export interface JudgeEndpoint {
  /** `openai`: any OpenAI-compatible Chat Completions API; `anthropic`: the Messages API. */
  provider: 'openai' | 'anthropic'
  model: string
  apiKey: string
  /** e.g. `http://localhost:11434/v1` for an OpenAI-compatible server. @default the provider's */
  baseURL?: string
  /**
   * Provider name in the price table, for the judge's cost (an OpenAI-compatible server may
   * serve another vendor's model). @default `provider`
   */
  priceProvider?: string
}

/** One judge call, as a canonical span row (what `spanSink` receives). */
export type JudgeSpanSink = (rows: SpanRow[]) => void | Promise<void>

export interface JudgeOptions {
  endpoint: JudgeEndpoint
  rubric: Rubric
  /** The score name. @default rubric.name */
  name?: string
  /** Time limit of one call. @default 30000 */
  timeoutMs?: number
  /**
   * Calls in all, retries included: timeouts, connection errors, 408/409/429/5xx, non-JSON and
   * out-of-range answers are retried; other HTTP errors (400, 401, 404) are not.
   * @default 2
   */
  maxAttempts?: number
  /** Pause before a retry (doubles each time). @default 250 */
  retryDelayMs?: number
  /** @default 512 */
  maxTokens?: number
  /** OpenAI-compatible endpoints only (the Anthropic Messages API of this SDK version has none). @default 0 */
  temperature?: number
  /** Records each judge call as an LLM span, e.g. {@link judgeSpanSinkFor}(storage). */
  spanSink?: JudgeSpanSink
  /** The project the spans belong to. @default the evaluation context's projectId */
  projectId?: string
}

const REPLY = z.object({
  score: z.union([z.number(), z.boolean(), z.string()]),
  reason: z.string().optional(),
})

function scaleInstruction(scale: RubricScale): string {
  switch (scale.type) {
    case 'numeric':
      return `"score" is a number from ${scale.min} to ${scale.max}`
    case 'boolean':
      return '"score" is true or false'
    case 'categorical':
      return `"score" is exactly one of: ${scale.categories.map((c) => JSON.stringify(c)).join(', ')}`
  }
}

export function judgeSystemPrompt(scale: RubricScale): string {
  return (
    'You are a careful, strict evaluator of AI assistant answers. Follow the rubric. ' +
    'Reply with one JSON object and nothing else: {"score": ..., "reason": "..."}, where ' +
    `${scaleInstruction(scale)} and "reason" explains the score in one or two sentences.`
  )
}

type Parsed<T extends RubricScale['type']> =
  | { ok: true; value: EvalValueOf[T]; reason: string }
  | { ok: false; reason: string }

function clip(text: string, max = 120): string {
  const one = text.replace(/\s+/g, ' ').trim()
  return JSON.stringify(one.length > max ? `${one.slice(0, max - 1)}…` : one)
}

/** Reads the judge's reply against the scale; the failure reason says what was wrong. */
export function parseJudgeReply<S extends RubricScale>(text: string, scale: S): Parsed<S['type']> {
  const json = extractJson(text)
  if (json === undefined) return { ok: false, reason: `judge returned non-JSON output: ${clip(text)}` }
  const reply = REPLY.safeParse(json)
  if (!reply.success) {
    return { ok: false, reason: `judge JSON has no valid "score": ${clip(JSON.stringify(json))}` }
  }
  const { score } = reply.data
  const reason = reply.data.reason ?? ''
  switch (scale.type) {
    case 'numeric': {
      const n = typeof score === 'string' && score.trim() !== '' ? Number(score) : score
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        return { ok: false, reason: `judge score ${JSON.stringify(score)} is not a number` }
      }
      if (n < scale.min || n > scale.max) {
        return { ok: false, reason: `judge score ${n} is out of range ${scale.min}–${scale.max}` }
      }
      return { ok: true, value: n, reason } as Parsed<S['type']>
    }
    case 'boolean': {
      const text = String(score).trim().toLowerCase()
      if (score === true || text === 'true' || text === 'yes' || text === '1')
        return { ok: true, value: true, reason } as Parsed<S['type']>
      if (score === false || text === 'false' || text === 'no' || text === '0')
        return { ok: true, value: false, reason } as Parsed<S['type']>
      return { ok: false, reason: `judge score ${JSON.stringify(score)} is not true or false` }
    }
    case 'categorical': {
      const label = scale.categories.find((c) => c.toLowerCase() === String(score).trim().toLowerCase())
      if (label === undefined) {
        return {
          ok: false,
          reason: `judge score ${JSON.stringify(score)} is not one of ${scale.categories.join(', ')}`,
        }
      }
      return { ok: true, value: label, reason } as Parsed<S['type']>
    }
  }
}

interface CallResult {
  text: string
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  responseModel: string
}

function errorInfo(error: unknown): { retryable: boolean; message: string; type: string } {
  const type = error instanceof Error ? error.constructor.name : typeof error
  const message = error instanceof Error ? error.message : String(error)
  const status =
    typeof error === 'object' && error !== null && 'status' in error
      ? (error as { status: unknown }).status
      : undefined
  if (type.includes('Timeout')) return { retryable: true, message: 'judge timed out', type }
  if (typeof status === 'number') {
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500
    return { retryable, message: `judge endpoint answered HTTP ${status}: ${message}`, type }
  }
  if (type.includes('Connection'))
    return { retryable: true, message: `judge endpoint unreachable: ${message}`, type }
  return { retryable: false, message: `judge call failed: ${message}`, type }
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex')
}

function chText(ms: number, micros = true): string {
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${micros ? '000' : ''}`
}

/** A span sink that writes judge spans into the `spans` table of `storage`, as the collector does. */
export function judgeSpanSinkFor(storage: {
  database: string
  client: { insert(params: { table: string; values: SpanRow[]; format: 'JSONEachRow' }): Promise<unknown> }
}): JudgeSpanSink {
  return async (rows) => {
    await storage.client.insert({ table: `${storage.database}.spans`, values: rows, format: 'JSONEachRow' })
  }
}

/**
 * An evaluator that asks a model to grade with `rubric`. Its value type follows the rubric's
 * scale (numeric, boolean or categorical).
 */
export function llmJudge(options: JudgeOptions): Evaluator {
  const { endpoint, rubric } = options
  const timeoutMs = options.timeoutMs ?? 30_000
  const maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 2))
  const retryDelayMs = options.retryDelayMs ?? 250
  const maxTokens = options.maxTokens ?? 512
  const temperature = options.temperature ?? 0
  const priceProvider = endpoint.priceProvider ?? endpoint.provider
  const system = judgeSystemPrompt(rubric.scale)
  // The clients' own retries are off: the judge's policy decides, and counts every attempt's cost.
  const openai =
    endpoint.provider === 'openai'
      ? new OpenAI({ apiKey: endpoint.apiKey, baseURL: endpoint.baseURL, timeout: timeoutMs, maxRetries: 0 })
      : null
  const anthropic =
    endpoint.provider === 'anthropic'
      ? new Anthropic({
          apiKey: endpoint.apiKey,
          baseURL: endpoint.baseURL,
          timeout: timeoutMs,
          maxRetries: 0,
        })
      : null

  async function call(prompt: string, signal: AbortSignal | undefined): Promise<CallResult> {
    if (openai) {
      const completion = await openai.chat.completions.create(
        {
          model: endpoint.model,
          temperature,
          max_tokens: maxTokens,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: prompt },
          ],
        },
        signal ? { signal } : {},
      )
      return {
        text: completion.choices[0]?.message?.content ?? '',
        inputTokens: completion.usage?.prompt_tokens ?? 0,
        outputTokens: completion.usage?.completion_tokens ?? 0,
        cacheReadTokens: completion.usage?.prompt_tokens_details?.cached_tokens ?? 0,
        cacheWriteTokens: 0,
        responseModel: completion.model || endpoint.model,
      }
    }
    if (!anthropic) throw new Error(`unknown judge provider ${String(endpoint.provider)}`)
    const message = await anthropic.messages.create(
      {
        model: endpoint.model,
        max_tokens: maxTokens,
        system,
        messages: [{ role: 'user', content: prompt }],
      },
      signal ? { signal } : {},
    )
    const read = message.usage.cache_read_input_tokens ?? 0
    const write = message.usage.cache_creation_input_tokens ?? 0
    return {
      text: message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
      // Canonical input tokens include the cached ones (collector semantics).
      inputTokens: message.usage.input_tokens + read + write,
      outputTokens: message.usage.output_tokens,
      cacheReadTokens: read,
      cacheWriteTokens: write,
      responseModel: message.model || endpoint.model,
    }
  }

  return defineEvaluator({
    name: options.name ?? rubric.name,
    dataType: rubric.scale.type,
    ...(rubric.description ? { description: rubric.description } : {}),
    ...(rubric.scale.type === 'numeric' ? { range: { min: rubric.scale.min, max: rubric.scale.max } } : {}),
    async evaluate(input, context): Promise<EvalOutcome | EvalFailure> {
      let prompt: string
      try {
        prompt = renderRubric(rubric, input)
      } catch (error) {
        return evalFailure((error as Error).message)
      }
      const traceId = hex(16)
      const spans: SpanRow[] = []
      const usage: EvalUsage = {
        model: endpoint.model,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        latencyMs: 0,
      }
      let lastReason = 'judge was not called'
      let attempts = 0
      let outcome: EvalOutcome | null = null
      for (let attempt = 1; attempt <= maxAttempts && !outcome; attempt++) {
        if (context.signal?.aborted) {
          lastReason = 'evaluation aborted'
          break
        }
        if (attempt > 1) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 2)))
        attempts = attempt
        const started = Date.now()
        const t0 = performance.now()
        let result: CallResult | null = null
        let failure: { retryable: boolean; message: string; type: string } | null = null
        try {
          result = await call(prompt, context.signal)
        } catch (error) {
          failure = errorInfo(error)
        }
        const latency = performance.now() - t0
        usage.latencyMs += latency
        let parsed: Parsed<RubricScale['type']> | null = null
        if (result) {
          usage.model = result.responseModel
          usage.inputTokens += result.inputTokens
          usage.outputTokens += result.outputTokens
          parsed = parseJudgeReply(result.text, rubric.scale)
        }
        const row = spanRow({
          projectId: options.projectId ?? context.projectId ?? '',
          traceId,
          evaluatedTraceId: context.traceId ?? '',
          evaluator: options.name ?? rubric.name,
          provider: priceProvider,
          requestModel: endpoint.model,
          started,
          latency,
          prompt,
          result,
          error:
            failure ?? (parsed && !parsed.ok ? { message: parsed.reason, type: 'InvalidJudgeOutput' } : null),
          temperature,
          maxTokens,
          system,
        })
        spans.push(row)
        if (result) {
          usage.costUsd =
            usage.costUsd === null || row.cost_usd === null ? null : usage.costUsd + Number(row.cost_usd)
        }
        if (failure) {
          lastReason = failure.message
          if (!failure.retryable) break
          continue
        }
        if (parsed?.ok) outcome = { value: parsed.value, reason: parsed.reason, usage }
        else if (parsed) lastReason = parsed.reason
      }
      if (options.spanSink && spans.length > 0) {
        try {
          await options.spanSink(spans)
        } catch {
          // Recording the judge's spans is best effort; the evaluation result stands.
        }
      }
      if (outcome) return outcome
      return evalFailure(`${lastReason} (${attempts} attempt${attempts === 1 ? '' : 's'})`, usage)
    },
  })
}

function spanRow(o: {
  projectId: string
  traceId: string
  evaluatedTraceId: string
  evaluator: string
  provider: string
  requestModel: string
  started: number
  latency: number
  prompt: string
  system: string
  result: CallResult | null
  error: { message: string; type: string } | null
  temperature: number
  maxTokens: number
}): SpanRow {
  const base: SpanRow = {
    project_id: o.projectId,
    trace_id: o.traceId,
    span_id: hex(8),
    parent_span_id: '',
    name: `judge ${o.evaluator}`,
    kind: 'llm',
    service_name: 'hindsight-evaluator',
    environment: '',
    release: '',
    route: '',
    operation: 'chat',
    provider: o.provider,
    model: o.result?.responseModel ?? o.requestModel,
    request_model: o.requestModel,
    input_tokens: o.result?.inputTokens ?? 0,
    output_tokens: o.result?.outputTokens ?? 0,
    cache_read_tokens: o.result?.cacheReadTokens ?? 0,
    cache_write_tokens: o.result?.cacheWriteTokens ?? 0,
    reasoning_tokens: 0,
    cost_usd: null,
    price_version: '',
    pricing_note: '',
    start_time: chText(o.started),
    end_time: chText(o.started + o.latency),
    duration_ms: o.latency,
    ttft_ms: null,
    status: o.error ? 'error' : 'ok',
    status_message: o.error?.message ?? '',
    error_type: o.error?.type ?? '',
    user_id: '',
    session_id: '',
    input: JSON.stringify([
      { role: 'system', parts: [{ type: 'text', content: o.system }] },
      { role: 'user', parts: [{ type: 'text', content: o.prompt }] },
    ]),
    output: o.result
      ? JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: o.result.text }] }])
      : '',
    attributes: {
      [HINDSIGHT.evaluator]: o.evaluator,
      [HINDSIGHT.evaluatedTraceId]: o.evaluatedTraceId,
      [GEN_AI.requestTemperature]: String(o.temperature),
      [GEN_AI.requestMaxTokens]: String(o.maxTokens),
    },
    resource_attributes: { 'service.name': 'hindsight-evaluator' },
    scope_name: '@hindsight/quality',
    ingested_at: chText(Date.now(), false),
  }
  // Unanswered calls have no tokens to price.
  return o.result ? { ...base, ...priceSpan(base) } : base
}
