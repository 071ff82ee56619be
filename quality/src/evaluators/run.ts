/**
 * Defining evaluators and running them so that nothing they do can escape: a throw, a wrong
 * value type or a timeout becomes a `failed` result with the reason, never an exception.
 */
import type { ScoreDataType, ScoreInput } from '../scores/types'
import type { EvalContext, EvalFailure, EvalInput, EvalOutcome, EvalResult, Evaluator } from './types'

/**
 * A custom evaluator: a TypeScript function returning a value of the declared type and a reason.
 *
 * ```ts
 * const polite = defineEvaluator({
 *   name: 'polite',
 *   dataType: 'boolean',
 *   evaluate: ({ output }) => ({ value: !/stupid/i.test(textOf(output)), reason: 'no insults' }),
 * })
 * ```
 */
export function defineEvaluator<T extends ScoreDataType>(definition: {
  name: string
  dataType: T
  description?: string
  range?: Evaluator<T>['range']
  evaluate: Evaluator<T>['evaluate']
}): Evaluator<T> {
  if (typeof definition.name !== 'string' || definition.name.trim() === '') {
    throw new TypeError('defineEvaluator: name must be a non-empty string')
  }
  return {
    name: definition.name.trim(),
    dataType: definition.dataType,
    ...(definition.description ? { description: definition.description } : {}),
    ...(definition.range ? { range: definition.range } : {}),
    evaluate: definition.evaluate,
  }
}

/** A failed outcome, for evaluators that cannot judge this input (e.g. no price to compare). */
export function evalFailure(reason: string, usage?: EvalFailure['usage']): EvalFailure {
  return { failed: true, reason, ...(usage ? { usage } : {}) }
}

function isFailure(outcome: EvalOutcome | EvalFailure): outcome is EvalFailure {
  return 'failed' in outcome && outcome.failed === true
}

function valueMatches(dataType: ScoreDataType, value: unknown): boolean {
  if (dataType === 'numeric') return typeof value === 'number' && Number.isFinite(value)
  if (dataType === 'boolean') return typeof value === 'boolean'
  return typeof value === 'string' && value !== ''
}

/** Default time limit of one evaluation (a judge has its own, shorter, per-call timeout). */
export const DEFAULT_EVAL_TIMEOUT_MS = 120_000

/** Runs one evaluator; resolves to an `ok` or `failed` result, never rejects. */
export async function runEvaluator(
  evaluator: Evaluator,
  input: EvalInput,
  context: EvalContext = {},
  options: { timeoutMs?: number } = {},
): Promise<EvalResult> {
  const started = performance.now()
  const base = { evaluator: evaluator.name, dataType: evaluator.dataType }
  const failed = (reason: string, usage?: EvalFailure['usage']): EvalResult => ({
    status: 'failed',
    ...base,
    value: null,
    reason,
    ...(usage ? { usage } : {}),
    durationMs: performance.now() - started,
  })
  const timeoutMs = options.timeoutMs ?? DEFAULT_EVAL_TIMEOUT_MS
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const outcome = await Promise.race([
      Promise.resolve().then(() => evaluator.evaluate(input, context)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
        timer.unref?.()
      }),
    ])
    if (isFailure(outcome)) return failed(outcome.reason, outcome.usage)
    if (!valueMatches(evaluator.dataType, outcome.value)) {
      return failed(
        `returned ${JSON.stringify(outcome.value)}, not a ${evaluator.dataType} value`,
        outcome.usage,
      )
    }
    return {
      status: 'ok',
      ...base,
      value: outcome.value,
      reason: typeof outcome.reason === 'string' ? outcome.reason : '',
      ...(outcome.usage ? { usage: outcome.usage } : {}),
      durationMs: performance.now() - started,
    }
  } catch (error) {
    return failed(`evaluator threw: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/** Runs several evaluators on the same input, concurrently; results in the evaluators' order. */
export function runEvaluators(
  evaluators: readonly Evaluator[],
  input: EvalInput,
  context: EvalContext = {},
  options: { timeoutMs?: number } = {},
): Promise<EvalResult[]> {
  return Promise.all(evaluators.map((e) => runEvaluator(e, input, context, options)))
}

/**
 * A result as a score to store (source `evaluator`; the reason becomes the comment; a failed
 * result is stored with status `failed`). `dataset` names the item and version it ran on.
 */
export function resultToScore(
  result: EvalResult,
  target: { traceId: string; spanId?: string; name?: string; dataset?: ScoreInput['dataset'] },
): ScoreInput {
  return {
    traceId: target.traceId,
    ...(target.spanId ? { spanId: target.spanId } : {}),
    name: target.name ?? result.evaluator,
    value: result.value,
    dataType: result.dataType,
    source: 'evaluator',
    status: result.status,
    comment: result.reason.slice(0, 10_000),
    evaluator: result.evaluator,
    ...(result.usage ? { evalUsage: result.usage } : {}),
    ...(target.dataset ? { dataset: target.dataset } : {}),
  }
}
