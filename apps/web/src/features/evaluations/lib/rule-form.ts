/**
 * The new-rule form of `/evaluations` as pure functions: the evaluator spec built from what was
 * typed (a built-in, an LLM judge with a built-in or own rubric template, or a registered custom
 * evaluator), checks of what the server would refuse anyway, and the server's `rule.<path>: …`
 * messages mapped back to the form field they belong to, so errors show beside the field.
 */

export type EvaluatorKind = 'builtin' | 'judge' | 'custom'

/** Built-ins the form offers, with the one option each needs. */
export const BUILTIN_CHOICES = [
  { id: 'valid_json', label: 'valid JSON', option: null },
  {
    id: 'latency_threshold',
    label: 'latency ≤ max ms',
    option: { key: 'maxMs', label: 'max ms', type: 'number' },
  },
  {
    id: 'cost_threshold',
    label: 'cost ≤ max USD',
    option: { key: 'maxUsd', label: 'max USD', type: 'number' },
  },
  { id: 'regex_match', label: 'matches a regex', option: { key: 'pattern', label: 'pattern', type: 'text' } },
  {
    id: 'contains',
    label: 'contains all of',
    option: { key: 'values', label: 'values (comma-separated)', type: 'list' },
  },
  { id: 'refusal', label: 'refusal detection', option: null },
  { id: 'citation_present', label: 'citation present', option: null },
  { id: 'citations_resolvable', label: 'citations resolvable', option: null },
] as const
export type BuiltinChoice = (typeof BUILTIN_CHOICES)[number]['id']

/** Form fields an error can be shown beside. */
export type RuleField =
  | 'name'
  | 'sampling'
  | 'builtin'
  | 'option'
  | 'provider'
  | 'baseURL'
  | 'model'
  | 'apiKeyEnv'
  | 'rubric'
  | 'rubricName'
  | 'scale'
  | 'prompt'
  | 'scoreName'
  | 'custom'
  | 'form'

export type FieldErrors = Partial<Record<RuleField, string>>

/** What the form holds (all text, as typed). */
export interface RuleFormValues {
  kind: EvaluatorKind
  builtin: BuiltinChoice
  option: string
  provider: 'openai' | 'anthropic'
  baseURL: string
  model: string
  apiKeyEnv: string
  /** A built-in rubric's name, or 'custom'. */
  rubric: string
  rubricName: string
  scale: 'numeric' | 'boolean'
  min: string
  max: string
  prompt: string
  scoreName: string
  custom: string
}

export type EvaluatorSpecInput = Record<string, unknown>

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/

/** The evaluator spec to send, or the fields that are missing or wrong. */
export function buildEvaluatorSpec(
  v: RuleFormValues,
): { ok: true; spec: EvaluatorSpecInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {}
  if (v.kind === 'builtin') {
    const choice = BUILTIN_CHOICES.find((b) => b.id === v.builtin)
    if (!choice) return { ok: false, errors: { builtin: 'pick an evaluator' } }
    const spec: EvaluatorSpecInput = { type: 'builtin', evaluator: choice.id }
    if (choice.option) {
      const text = v.option.trim()
      if (text === '') errors.option = `${choice.option.label} is required`
      else if (choice.option.type === 'number') {
        const n = Number(text)
        if (!Number.isFinite(n) || n < 0) errors.option = `${choice.option.label}: a number ≥ 0`
        else spec.options = { [choice.option.key]: n }
      } else if (choice.option.type === 'list') {
        spec.options = {
          [choice.option.key]: text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          mode: 'all',
        }
      } else spec.options = { [choice.option.key]: text }
    }
    return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, spec }
  }
  if (v.kind === 'custom') {
    if (v.custom.trim() === '')
      return { ok: false, errors: { custom: 'the name the evaluator is registered under' } }
    return { ok: true, spec: { type: 'custom', evaluator: v.custom.trim() } }
  }
  const model = v.model.trim()
  if (model === '') errors.model = 'the judge model is required'
  const apiKeyEnv = v.apiKeyEnv.trim()
  if (apiKeyEnv !== '' && !ENV_NAME.test(apiKeyEnv)) {
    // Never repeat what was typed: it may be a key pasted by mistake.
    errors.apiKeyEnv =
      'the NAME of an environment variable holding the key (e.g. OPENAI_API_KEY), not the key'
  }
  const baseURL = v.baseURL.trim()
  if (baseURL !== '' && !/^https?:\/\/\S+$/.test(baseURL)) errors.baseURL = 'an http(s) URL'
  let rubric: unknown = v.rubric
  if (v.rubric === 'custom') {
    const name = v.rubricName.trim()
    if (name === '') errors.rubricName = 'the score name of your rubric'
    if (!/\{\{\s*output\s*\}\}/.test(v.prompt)) errors.prompt = 'the template must contain {{output}}'
    let scale: Record<string, unknown> = { type: 'boolean' }
    if (v.scale === 'numeric') {
      const min = Number(v.min)
      const max = Number(v.max)
      if (
        v.min.trim() === '' ||
        v.max.trim() === '' ||
        !Number.isFinite(min) ||
        !Number.isFinite(max) ||
        min >= max
      ) {
        errors.scale = 'numeric scale: min and max numbers, min < max'
      }
      scale = { type: 'numeric', min, max }
    }
    rubric = { name, prompt: v.prompt, scale }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  return {
    ok: true,
    spec: {
      type: 'judge',
      rubric,
      endpoint: {
        provider: v.provider,
        model,
        ...(baseURL ? { baseURL } : {}),
        ...(apiKeyEnv ? { apiKeyEnv } : {}),
      },
      ...(v.scoreName.trim() ? { name: v.scoreName.trim() } : {}),
    },
  }
}

const PATHS: Array<[RegExp, RuleField]> = [
  [/^rule\.name$/, 'name'],
  [/^rule\.samplingRate$/, 'sampling'],
  [/^rule\.evaluators\.\d+\.endpoint\.baseURL$/, 'baseURL'],
  [/^rule\.evaluators\.\d+\.endpoint\.model$/, 'model'],
  [/^rule\.evaluators\.\d+\.endpoint\.apiKeyEnv$/, 'apiKeyEnv'],
  [/^rule\.evaluators\.\d+\.endpoint\.provider$/, 'provider'],
  [/^rule\.evaluators\.\d+\.rubric\.prompt$/, 'prompt'],
  [/^rule\.evaluators\.\d+\.rubric\.name$/, 'rubricName'],
  [/^rule\.evaluators\.\d+\.rubric\.scale(\..*)?$/, 'scale'],
  [/^rule\.evaluators\.\d+\.rubric$/, 'rubric'],
  [/^rule\.evaluators\.\d+\.name$/, 'scoreName'],
  [/^rule\.evaluators\.\d+\.options(\..*)?$/, 'option'],
]

/**
 * The server's message (`rule.samplingRate: …; rule.evaluators.0.endpoint.model: …`) by form field;
 * anything that belongs to no field goes under `form`.
 */
export function fieldErrors(message: string, kind: EvaluatorKind): FieldErrors {
  const out: FieldErrors = {}
  const add = (field: RuleField, text: string) => {
    out[field] = out[field] ? `${out[field]}; ${text}` : text
  }
  for (const part of message.split('; ')) {
    const match = /^(rule(?:\.[\w]+)*): (.*)$/s.exec(part)
    if (!match?.[1]) {
      add('form', part)
      continue
    }
    const path = match[1]
    const text = match[2] ?? ''
    const known = PATHS.find(([re]) => re.test(path))
    if (known) add(known[1], text)
    else if (/^rule\.evaluators\.\d+\.evaluator$/.test(path))
      add(kind === 'custom' ? 'custom' : 'builtin', text)
    else add('form', `${path.replace(/^rule\./, '')}: ${text}`)
  }
  return out
}
