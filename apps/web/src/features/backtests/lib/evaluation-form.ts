/**
 * The replay form's evaluation choices → the request's `evaluation` (the quality package's
 * evaluator specs): built-ins, the token-F1 reference comparison, an LLM judge, and the route's
 * online evaluation rules. Pure, so it is unit-tested apart from React.
 */
import type { EvaluationInput } from '@hindsight/backtest'

/** Evaluators the form offers as one checkbox each (no options needed). */
export const SIMPLE_EVALUATORS = [
  { id: 'exact_match', label: 'exact match', hint: 'the answer equals the recorded one' },
  { id: 'reference_f1', label: 'reference F1', hint: 'token F1 against the recorded answer (SQuAD)' },
  { id: 'valid_json', label: 'valid JSON', hint: 'the answer parses as JSON' },
  { id: 'refusal', label: 'refusal', hint: 'the answer refuses (lower is better)' },
] as const

export type SimpleEvaluator = (typeof SIMPLE_EVALUATORS)[number]['id']

/** Built-in rubrics of the LLM judge (quality/src/evaluators/rubrics.ts). */
export const JUDGE_RUBRICS = ['correctness', 'helpfulness', 'groundedness', 'relevance', 'tone'] as const

export interface EvaluationChoices {
  simple: readonly string[]
  /** Comma-separated strings the answer must contain (all of them); '' for none. */
  contains: string
  /** Length bounds in characters; '' for none. */
  lengthMin: string
  lengthMax: string
  judge: { rubric: string; provider: string; model: string; apiKeyEnv: string; baseURL: string } | null
  /** Also run the project's online evaluation rules for the cohort's routes. */
  rules: boolean
}

type Spec = EvaluationInput['evaluators'] extends (infer T)[] | undefined ? T : never

function bound(text: string, name: string): number | undefined {
  const t = text.trim()
  if (t === '') return undefined
  const n = Number(t)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of characters`)
  return n
}

/**
 * The `evaluation` of a replay request, or undefined when nothing is chosen. Throws an Error with
 * a message for the form when a choice is incomplete.
 */
export function evaluationFromChoices(c: EvaluationChoices): EvaluationInput | undefined {
  const evaluators: Spec[] = []
  for (const id of c.simple) {
    if (id === 'reference_f1') evaluators.push({ type: 'custom', evaluator: 'reference_f1' })
    else if (id === 'exact_match' || id === 'valid_json' || id === 'refusal')
      evaluators.push({ type: 'builtin', evaluator: id })
    else throw new Error(`unknown evaluator ${id}`)
  }
  const values = c.contains
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
  if (values.length > 0) evaluators.push({ type: 'builtin', evaluator: 'contains', options: { values } })
  const min = bound(c.lengthMin, 'Minimum length')
  const max = bound(c.lengthMax, 'Maximum length')
  if (min !== undefined && max !== undefined && min > max)
    throw new Error('Minimum length must not exceed the maximum')
  if (min !== undefined || max !== undefined)
    evaluators.push({
      type: 'builtin',
      evaluator: 'length_bounds',
      options: { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) },
    })
  if (c.judge) {
    const model = c.judge.model.trim()
    if (!model) throw new Error('Name the judge model (e.g. gpt-4o-mini)')
    const provider = c.judge.provider === 'anthropic' ? 'anthropic' : 'openai'
    const keyEnv = c.judge.apiKeyEnv.trim()
    if (keyEnv && !/^[A-Z_][A-Z0-9_]{0,127}$/.test(keyEnv))
      throw new Error(
        'The judge key is the NAME of a server environment variable (e.g. OPENAI_API_KEY), not the key',
      )
    const baseURL = c.judge.baseURL.trim()
    evaluators.push({
      type: 'judge',
      rubric: c.judge.rubric as (typeof JUDGE_RUBRICS)[number],
      endpoint: {
        provider,
        model,
        ...(keyEnv ? { apiKeyEnv: keyEnv } : {}),
        ...(baseURL ? { baseURL } : {}),
      },
    })
  }
  if (evaluators.length === 0 && !c.rules) return undefined
  return { evaluators, ...(c.rules ? { rules: 'route' as const } : {}) }
}

/** The score names the chosen evaluators write (for the quality-objective score picker). */
export function scoreNames(evaluation: EvaluationInput | undefined): string[] {
  return (evaluation?.evaluators ?? []).map((e) =>
    e.type === 'judge'
      ? (e.name ?? (typeof e.rubric === 'string' ? e.rubric : e.rubric.name))
      : e.type === 'builtin'
        ? (e.name ?? e.evaluator)
        : e.evaluator,
  )
}
