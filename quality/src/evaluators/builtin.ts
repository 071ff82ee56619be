/**
 * The built-in evaluator library. Each factory returns an {@link Evaluator} whose result is a
 * value and a reason a person can act on. Names default to the evaluator's kind and can be
 * changed (`name`) so one project can run several variants.
 */
import { HINDSIGHT } from '@hindsight/collector/conventions'
import { Ajv, type ValidateFunction } from 'ajv'
import { defineEvaluator, evalFailure } from './run'
import { extractJson, stripCodeFence, textOf } from './text'
import type { EvalInput, EvalSpan, Evaluator } from './types'

interface Named {
  /** The score name results are stored under. */
  name?: string
}

interface TextOptions extends Named {
  /** @default true */
  caseSensitive?: boolean
  /** Compare after trimming and collapsing whitespace. @default true */
  normalizeWhitespace?: boolean
}

function normalize(text: string, o: TextOptions): string {
  let t = o.normalizeWhitespace === false ? text : text.trim().replace(/\s+/g, ' ')
  if (o.caseSensitive === false) t = t.toLowerCase()
  return t
}

function preview(text: string, max = 80): string {
  const one = text.replace(/\s+/g, ' ')
  return JSON.stringify(one.length > max ? `${one.slice(0, max - 1)}…` : one)
}

/** The output equals the expected output (or `expected` given here), as text. */
export function exactMatch(options: TextOptions & { expected?: string } = {}): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'exact_match',
    dataType: 'boolean',
    description: 'The answer equals the expected answer.',
    evaluate: (input) => {
      const expectedValue = options.expected ?? input.expected
      if (expectedValue === undefined || expectedValue === null)
        return evalFailure('no expected output to compare with')
      const actual = normalize(textOf(input.output), options)
      const expected = normalize(textOf(expectedValue), options)
      return actual === expected
        ? { value: true, reason: 'the answer equals the expected answer' }
        : { value: false, reason: `expected ${preview(expected)}, got ${preview(actual)}` }
    },
  })
}

/** The output contains the given strings (`mode: 'all'`, default) or any of them. */
export function contains(
  options: TextOptions & { values: string[]; mode?: 'all' | 'any' },
): Evaluator<'boolean'> {
  if (!Array.isArray(options.values) || options.values.length === 0) {
    throw new TypeError('contains: values must be a non-empty array of strings')
  }
  const mode = options.mode ?? 'all'
  return defineEvaluator({
    name: options.name ?? 'contains',
    dataType: 'boolean',
    description: `The answer contains ${mode} of: ${options.values.join(', ')}.`,
    evaluate: (input) => {
      const text = normalize(textOf(input.output), options)
      const found = options.values.filter((v) => text.includes(normalize(v, options)))
      const missing = options.values.filter((v) => !found.includes(v))
      const value = mode === 'all' ? missing.length === 0 : found.length > 0
      return {
        value,
        reason:
          mode === 'all'
            ? missing.length === 0
              ? `contains all ${options.values.length}`
              : `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}`
            : found.length > 0
              ? `contains ${found.map((f) => JSON.stringify(f)).join(', ')}`
              : 'contains none of them',
      }
    },
  })
}

/** The output matches a regular expression (`shouldMatch: false` inverts it). */
export function regexMatch(
  options: Named & { pattern: RegExp | string; flags?: string; shouldMatch?: boolean },
): Evaluator<'boolean'> {
  const regex =
    typeof options.pattern === 'string' ? new RegExp(options.pattern, options.flags) : options.pattern
  const shouldMatch = options.shouldMatch ?? true
  return defineEvaluator({
    name: options.name ?? 'regex_match',
    dataType: 'boolean',
    description: `The answer ${shouldMatch ? 'matches' : 'does not match'} ${regex}.`,
    evaluate: (input) => {
      regex.lastIndex = 0
      const match = regex.exec(textOf(input.output))
      const value = shouldMatch ? match !== null : match === null
      return {
        value,
        reason: match ? `matches ${regex} at ${preview(match[0], 40)}` : `does not match ${regex}`,
      }
    },
  })
}

/** The raw output text parsed as JSON (strict by default; `allowCodeFence` accepts ```json fences). */
function parseOutputJson(
  input: EvalInput,
  allowCodeFence: boolean,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (typeof input.output !== 'string') {
    return input.output === undefined ? { ok: false, reason: 'no output' } : { ok: true, value: input.output }
  }
  const text = allowCodeFence ? stripCodeFence(input.output) : input.output
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, reason: `not valid JSON: ${(error as Error).message}` }
  }
}

/** The output is valid JSON. */
export function validJson(options: Named & { allowCodeFence?: boolean } = {}): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'valid_json',
    dataType: 'boolean',
    description: 'The answer is valid JSON.',
    evaluate: (input) => {
      const parsed = parseOutputJson(input, options.allowCodeFence ?? false)
      return parsed.ok ? { value: true, reason: 'valid JSON' } : { value: false, reason: parsed.reason }
    },
  })
}

/** The output is JSON that satisfies a JSON Schema (validated with Ajv; all errors reported). */
export function jsonSchema(
  options: Named & { schema: Record<string, unknown>; allowCodeFence?: boolean },
): Evaluator<'boolean'> {
  const ajv = new Ajv({ allErrors: true, strict: false })
  // Compiled once: an invalid schema is a programming error and throws here, not per answer.
  const validate: ValidateFunction = ajv.compile(options.schema)
  return defineEvaluator({
    name: options.name ?? 'json_schema',
    dataType: 'boolean',
    description: 'The answer is JSON matching the schema.',
    evaluate: (input) => {
      const parsed = parseOutputJson(input, options.allowCodeFence ?? false)
      if (!parsed.ok) return { value: false, reason: parsed.reason }
      if (validate(parsed.value)) return { value: true, reason: 'matches the schema' }
      return { value: false, reason: ajv.errorsText(validate.errors, { dataVar: 'output' }) }
    },
  })
}

/** The output's length (characters or words) is within bounds (inclusive). */
export function lengthBounds(
  options: Named & { min?: number; max?: number; unit?: 'characters' | 'words' },
): Evaluator<'boolean'> {
  if (options.min === undefined && options.max === undefined)
    throw new TypeError('lengthBounds: give min, max or both')
  const unit = options.unit ?? 'characters'
  return defineEvaluator({
    name: options.name ?? 'length_bounds',
    dataType: 'boolean',
    description: `The answer has ${options.min ?? 0}–${options.max ?? '∞'} ${unit}.`,
    evaluate: (input) => {
      const text = textOf(input.output)
      const length = unit === 'words' ? (text.trim().match(/\S+/g) ?? []).length : [...text].length
      const tooShort = options.min !== undefined && length < options.min
      const tooLong = options.max !== undefined && length > options.max
      return {
        value: !tooShort && !tooLong,
        reason: `${length} ${unit}${tooShort ? `, below ${options.min}` : ''}${tooLong ? `, above ${options.max}` : ''}`,
      }
    },
  })
}

function jsonArray(text: string | undefined): unknown[] {
  if (!text) return []
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value : []
  } catch {
    return []
  }
}

function recordOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}
}

/** Cited document ids over the trace's spans (`hindsight.citations`: `[{ document_id }]`). */
export function citedIds(spans: readonly EvalSpan[]): string[] {
  return spans.flatMap((s) =>
    jsonArray(s.attributes[HINDSIGHT.citations])
      .map((c) => {
        const r = recordOf(c)
        const id = r.document_id ?? r.documentId ?? r.id
        return typeof id === 'string' || typeof id === 'number' ? String(id) : ''
      })
      .filter((id) => id !== ''),
  )
}

/** Retrieved document ids over the trace's spans (`hindsight.retrieval.documents`: `[{ id, score }]`). */
export function retrievedIds(spans: readonly EvalSpan[]): Set<string> {
  return new Set(
    spans.flatMap((s) =>
      jsonArray(s.attributes[HINDSIGHT.retrievalDocuments])
        .map((d) => {
          const id = recordOf(d).id
          return typeof id === 'string' || typeof id === 'number' ? String(id) : ''
        })
        .filter((id) => id !== ''),
    ),
  )
}

/** The answer cites at least one document (`hindsight.citations` on a span of the trace). */
export function citationPresent(options: Named = {}): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'citation_present',
    dataType: 'boolean',
    description: 'The answer cites at least one document.',
    evaluate: (input) => {
      if (!input.spans) return evalFailure('needs the trace spans to find citations')
      const ids = citedIds(input.spans)
      return ids.length > 0
        ? { value: true, reason: `cites ${ids.length} document${ids.length === 1 ? '' : 's'}` }
        : { value: false, reason: 'no citation recorded in the trace' }
    },
  })
}

/**
 * Every cited document was retrieved in the same trace (`hindsight.citations` ids found among the
 * `hindsight.retrieval.documents` ids). False when nothing is cited; the reason lists the
 * citations that do not resolve.
 */
export function citationsResolvable(options: Named = {}): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'citations_resolvable',
    dataType: 'boolean',
    description: 'Every cited document was retrieved in the same trace.',
    evaluate: (input) => {
      if (!input.spans) return evalFailure('needs the trace spans to resolve citations')
      const cited = [...new Set(citedIds(input.spans))]
      if (cited.length === 0) return { value: false, reason: 'no citation to resolve' }
      const retrieved = retrievedIds(input.spans)
      const unresolved = cited.filter((id) => !retrieved.has(id))
      return unresolved.length === 0
        ? { value: true, reason: `all ${cited.length} cited documents were retrieved` }
        : {
            value: false,
            reason: `${unresolved.length} of ${cited.length} cited documents were not retrieved: ${unresolved.join(', ')}`,
          }
    },
  })
}

/** Phrases that mark a refusal, in English and a few other languages; lowercase. */
export const REFUSAL_PATTERNS: readonly RegExp[] = [
  /\bi(?:'m| am)? (?:sorry|afraid),? (?:but )?i (?:can(?:no|')t|cannot|am unable to|won't|will not)\b/,
  /\bi (?:can(?:no|')t|cannot|am unable to|won't|will not|am not able to) (?:help|assist|provide|comply|do that|answer|share|fulfil)/,
  /\bas an ai(?: language model)?\b.*\b(?:can(?:no|')t|cannot|unable|not able)\b/,
  /\b(?:this|that) (?:request )?(?:violates|goes against) (?:my|our) (?:guidelines|policies|policy)\b/,
  /\bi must (?:decline|refuse)\b/,
  /\bje ne (?:peux|suis) pas (?:en mesure de )?(?:vous )?(?:aider|répondre|fournir)/,
  /\b(?:no puedo|lo siento, pero no puedo) (?:ayudar|proporcionar|responder)/,
  /\bich kann (?:ihnen |dir )?(?:dabei )?nicht (?:helfen|antworten)/,
]

/** The answer is a refusal (true = refused), by phrase patterns; add your own with `patterns`. */
export function refusal(options: Named & { patterns?: readonly RegExp[] } = {}): Evaluator<'boolean'> {
  const patterns = [...REFUSAL_PATTERNS, ...(options.patterns ?? [])]
  return defineEvaluator({
    name: options.name ?? 'refusal',
    dataType: 'boolean',
    description: 'The answer refuses the request (true = refused).',
    evaluate: (input) => {
      const text = textOf(input.output).toLowerCase().replace(/[’‘]/g, "'")
      const hit = patterns.map((p) => p.exec(text)).find((m) => m !== null)
      return hit
        ? { value: true, reason: `refusal phrase ${preview(hit[0], 60)}` }
        : { value: false, reason: 'no refusal phrase' }
    },
  })
}

function envelopeMs(spans: readonly EvalSpan[]): number | undefined {
  // Without start times, the longest span (usually the root) is the envelope.
  if (spans.length === 0) return undefined
  return Math.max(...spans.map((s) => s.duration_ms))
}

/** End-to-end latency is at most `maxMs`. */
export function latencyThreshold(options: Named & { maxMs: number }): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'latency_threshold',
    dataType: 'boolean',
    description: `Latency ≤ ${options.maxMs} ms.`,
    evaluate: (input) => {
      const latency = input.latencyMs ?? envelopeMs(input.spans ?? [])
      if (latency === undefined) return evalFailure('no latency: pass latencyMs or the trace spans')
      return {
        value: latency <= options.maxMs,
        reason: `${Math.round(latency * 1000) / 1000} ms ${latency <= options.maxMs ? '≤' : '>'} ${options.maxMs} ms`,
      }
    },
  })
}

/** Total cost is at most `maxUsd`. Unpriced calls make the cost unknown: the evaluation fails. */
export function costThreshold(options: Named & { maxUsd: number }): Evaluator<'boolean'> {
  return defineEvaluator({
    name: options.name ?? 'cost_threshold',
    dataType: 'boolean',
    description: `Cost ≤ $${options.maxUsd}.`,
    evaluate: (input) => {
      let cost = input.costUsd
      if (cost === undefined && input.spans) {
        const calls = input.spans.filter((s) => s.kind === 'llm' || s.kind === 'embedding')
        if (calls.some((s) => s.cost_usd === null)) cost = null
        else cost = calls.reduce((sum, s) => sum + (s.cost_usd ?? 0), 0)
      }
      if (cost === undefined) return evalFailure('no cost: pass costUsd or the trace spans')
      if (cost === null) return evalFailure('cost unknown: some model calls have no price')
      return {
        value: cost <= options.maxUsd,
        reason: `$${cost.toFixed(6)} ${cost <= options.maxUsd ? '≤' : '>'} $${options.maxUsd}`,
      }
    },
  })
}

export { extractJson, stripCodeFence, textOf }
