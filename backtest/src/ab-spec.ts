/**
 * The live A/B request and report section: which attribute splits production traffic into two
 * arms (a release by default; any span column, tag or attribute) and the two values compared.
 * No replay: both arms are recorded traffic, so the samples are independent (not paired).
 */
import { HINDSIGHT } from '@hindsight/collector/conventions'
import { z } from 'zod'

/** Span columns an arm can be defined by (`service` is `service_name`). */
export const AB_COLUMNS = ['release', 'model', 'provider', 'route', 'environment', 'service'] as const

const value = z.string().trim().min(1).max(300)

export const abSpecSchema = z
  .object({
    /**
     * What splits the arms: a span column (`release`, `model`, `provider`, `route`,
     * `environment`, `service`), `tag` (the values are tags), `metadata.<key>` (the SDK's
     * `withAttributes({ metadata })`), or any other span or resource attribute key. A trace
     * belongs to an arm when any of its spans carries the arm's value. @default 'release'
     */
    attribute: z
      .string()
      .trim()
      .min(1)
      .max(300)
      .regex(/^[\w.:/@-]+$/, 'letters, digits and . _ : / @ - only')
      .default('release'),
    /** The arm compared against (e.g. the current release). */
    baseline: value,
    /** The arm being judged (e.g. the new release). */
    candidate: value,
  })
  .strict()
  .refine((s) => s.baseline !== s.candidate, { message: 'must differ from baseline', path: ['candidate'] })

export type AbSpec = z.output<typeof abSpecSchema>
export type AbSpecInput = z.input<typeof abSpecSchema>

/** How an attribute name is read from the spans. */
export type AbAttribute =
  | { kind: 'column'; column: string; label: string }
  | { kind: 'tag'; label: string }
  | { kind: 'attribute'; key: string; label: string }

export function parseAbAttribute(attribute: string): AbAttribute {
  if ((AB_COLUMNS as readonly string[]).includes(attribute))
    return { kind: 'column', column: attribute === 'service' ? 'service_name' : attribute, label: attribute }
  if (attribute === 'tag' || attribute === 'tags') return { kind: 'tag', label: 'tag' }
  if (attribute.startsWith('metadata.'))
    return {
      kind: 'attribute',
      key: `${HINDSIGHT.metadataPrefix}${attribute.slice('metadata.'.length)}`,
      label: attribute,
    }
  return { kind: 'attribute', key: attribute, label: attribute }
}

/** The candidate spec stored with an A/B request (the request schema requires one): a label only. */
export function abCandidateLabel(spec: Pick<AbSpec, 'attribute' | 'candidate'>): {
  name: string
  provider: string
  model: string
} {
  return { name: `${spec.attribute} = ${spec.candidate}`, provider: 'ab', model: spec.candidate }
}

/** One arm of a live A/B, as the report describes it. */
export interface AbArmSummary {
  value: string
  traces: number
  calls: number
  /** First and last call of the arm (ISO); null when the arm is empty. */
  first_call: string | null
  last_call: string | null
  priced_calls: number
  error_calls: number
  /** Recorded cost of the arm's calls, exact decimal USD. */
  cost_usd: string
  models: Array<{ provider: string; model: string; calls: number }>
  routes: Array<{ route: string; calls: number }>
  mean_input_tokens: number | null
}

/** The `ab` section of a live A/B report. */
export interface AbSummary {
  attribute: string
  attribute_kind: AbAttribute['kind']
  design: 'unpaired'
  /** Calls of a trace share its arm and are clustered by trace in every interval. */
  cluster_by: 'trace'
  baseline: AbArmSummary
  candidate: AbArmSummary
  /** Cohort traces carrying both values (left out) or neither (not part of the comparison). */
  excluded_traces: { both: number; neither: number }
  time: {
    /** Overlap of the arms' time ranges over their union, 0–1; null when an arm is empty. */
    overlap_fraction: number | null
    note: string
  }
  traffic_mix: {
    /** Total variation distance between the arms' route shares (0 = same mix, 1 = disjoint). */
    route_distance: number | null
    model_distance: number | null
    /** Mean input tokens per call: candidate − baseline with its 95% interval. */
    input_tokens_delta: number | null
    input_tokens_ci_low: number | null
    input_tokens_ci_high: number | null
    /** True when the route mix and the input length look alike (see `note`). */
    comparable: boolean
    note: string
  }
  /** Always null: win/tie/loss needs pairs, and the arms' calls are different requests. */
  win_tie_loss: null
  win_tie_loss_note: string
}

/**
 * An A/B request needs no candidate spec (the request schema requires one): fill a label from the
 * `ab` section, so `candidate` may be omitted in `mode: 'ab'`. Other inputs pass through unchanged.
 */
export function withAbCandidate(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input
  const body = input as Record<string, unknown>
  if (body.mode !== 'ab' || body.candidate !== undefined) return input
  const ab = body.ab as Record<string, unknown> | undefined
  const attribute = typeof ab?.attribute === 'string' ? ab.attribute : 'release'
  const candidate =
    typeof ab?.candidate === 'string' && ab.candidate.trim() !== '' ? ab.candidate : 'candidate'
  return { ...body, candidate: abCandidateLabel({ attribute, candidate }) }
}
