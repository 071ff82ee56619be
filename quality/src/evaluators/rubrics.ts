/**
 * Rubric templates for LLM-as-judge. A rubric is the grading instruction plus the scale of its
 * score; `{{input}}`, `{{output}}` and `{{expected}}` are replaced by the evaluated item's text.
 */
import { textOf } from './text'
import type { EvalInput } from './types'

export type RubricScale =
  | { type: 'numeric'; min: number; max: number }
  | { type: 'boolean' }
  | { type: 'categorical'; categories: string[] }

export interface Rubric {
  /** The score name results are stored under. */
  name: string
  /** The grading instruction, with `{{input}}`, `{{output}}` and `{{expected}}` placeholders. */
  prompt: string
  scale: RubricScale
  description?: string
}

const PLACEHOLDER = /\{\{\s*(input|output|expected)\s*\}\}/g

/** Fills a rubric's placeholders; throws when it needs an expected output the item does not have. */
export function renderRubric(rubric: Rubric, input: EvalInput): string {
  return rubric.prompt.replace(PLACEHOLDER, (_, key: 'input' | 'output' | 'expected') => {
    const value = input[key]
    if (key === 'expected' && (value === undefined || value === null)) {
      throw new Error(`rubric '${rubric.name}' needs an expected output and the item has none`)
    }
    return textOf(value)
  })
}

/** Built-in rubric templates; copy one and change the prompt to make your own. */
export const RUBRICS = {
  helpfulness: {
    name: 'helpfulness',
    description: 'How well the answer helps the user, 1 (not at all) to 5 (fully).',
    scale: { type: 'numeric', min: 1, max: 5 },
    prompt: `Rate how helpful the ASSISTANT ANSWER is for the USER REQUEST.
5 = fully resolves the request, accurate and clear; 4 = mostly; 3 = partly; 2 = barely; 1 = not at all or wrong.

USER REQUEST:
{{input}}

ASSISTANT ANSWER:
{{output}}`,
  },
  correctness: {
    name: 'correctness',
    description: 'Whether the answer agrees with the reference answer.',
    scale: { type: 'boolean' },
    prompt: `Decide whether the ASSISTANT ANSWER is correct, using the REFERENCE ANSWER as ground truth.
It is correct when it states the same facts as the reference (wording may differ) and adds nothing that contradicts it.

QUESTION:
{{input}}

REFERENCE ANSWER:
{{expected}}

ASSISTANT ANSWER:
{{output}}`,
  },
  groundedness: {
    name: 'groundedness',
    description: 'Share of the answer supported by the provided context, 0 to 1.',
    scale: { type: 'numeric', min: 0, max: 1 },
    prompt: `The INPUT contains a question and the context documents the assistant was given.
Score from 0 to 1 the share of the claims in the ASSISTANT ANSWER that the context supports
(1 = every claim is supported, 0 = none is). Claims not in the context count as unsupported.

INPUT:
{{input}}

ASSISTANT ANSWER:
{{output}}`,
  },
  relevance: {
    name: 'relevance',
    description: 'How on-topic the answer is, 1 to 5.',
    scale: { type: 'numeric', min: 1, max: 5 },
    prompt: `Rate how relevant the ASSISTANT ANSWER is to the USER REQUEST, from 1 (off-topic) to 5 (entirely on-topic).

USER REQUEST:
{{input}}

ASSISTANT ANSWER:
{{output}}`,
  },
  tone: {
    name: 'tone',
    description: 'The tone of the answer.',
    scale: { type: 'categorical', categories: ['professional', 'casual', 'rude'] },
    prompt: `Classify the tone of the ASSISTANT ANSWER as professional, casual or rude.

ASSISTANT ANSWER:
{{output}}`,
  },
} satisfies Record<string, Rubric>
