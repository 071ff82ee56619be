/**
 * Quality signals for the demo's history, so its quality views have something to show: users'
 * thumbs on some support answers (`user-feedback`, boolean, sent as the app's SDK would) and a
 * judge's `groundedness` (0–1) on a sample of answers and summaries. Both differ by model and
 * release, as the release switch in the history is meant to be judged on them, and failed traces
 * score low. Planned from the same seed as the history, and sent through the REST API
 * (`POST /api/public/v1/scores`) like any application's scores.
 */
import { GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import type { PlannedSpan, PlannedTrace } from './history'
import { Rng } from './rng'

export interface DemoScore {
  /** Stable per trace and name: sending the demo again replaces its scores instead of adding more. */
  id: string
  traceId: string
  name: 'user-feedback' | 'groundedness'
  value: boolean | number
  source: 'sdk' | 'api'
  comment?: string
}

/** Share of support answers whose user left a thumb. */
const FEEDBACK_RATE = 0.12
/** Share of answers and summaries a judge scored. */
const JUDGED_RATE = 0.3

/** Chance of a thumb up, and the judge's mean groundedness, by the model that answered. */
const QUALITY: Record<string, { thumbsUp: number; grounded: number }> = {
  'gpt-4o': { thumbsUp: 0.76, grounded: 0.86 },
  'claude-sonnet-4-5': { thumbsUp: 0.84, grounded: 0.91 },
  'claude-haiku-4-5': { thumbsUp: 0.7, grounded: 0.82 },
  'gpt-4o-mini': { thumbsUp: 0.66, grounded: 0.78 },
}
const FALLBACK = { thumbsUp: 0.7, grounded: 0.8 }

function lastModel(span: PlannedSpan): string {
  let model = ''
  const visit = (s: PlannedSpan) => {
    if (s.kind === 'llm') model = String(s.attributes[GEN_AI.requestModel] ?? model)
    for (const c of s.children) visit(c)
  }
  visit(span)
  return model
}

/**
 * Scores for `traces`, whose trace ids are `traceIds` (same order). Pure: the same history, ids
 * and seed give the same scores.
 */
export function planHistoryScores(traces: PlannedTrace[], traceIds: string[], seed = 42): DemoScore[] {
  if (traces.length !== traceIds.length) throw new Error('planHistoryScores: one trace id per trace')
  const rng = new Rng((seed ^ 0x5c0e) >>> 0)
  const scores: DemoScore[] = []
  traces.forEach((t, i) => {
    const traceId = traceIds[i] ?? ''
    const route = String(t.root.attributes[HINDSIGHT.route] ?? '')
    const failed = t.root.error !== undefined
    const quality = QUALITY[lastModel(t.root)] ?? FALLBACK
    // Draw every number whether or not it is used, so one trace's outcome never shifts the next's.
    const [feedbackRoll, thumbRoll, judgedRoll, noise] = [rng.next(), rng.next(), rng.next(), rng.normal()]
    if (route === 'support-answer' && feedbackRoll < FEEDBACK_RATE) {
      const up = thumbRoll < (failed ? 0.1 : quality.thumbsUp)
      scores.push({
        id: `demo-${traceId}-user-feedback`,
        traceId,
        name: 'user-feedback',
        value: up,
        source: 'sdk',
        ...(up ? {} : { comment: failed ? 'The assistant gave no answer.' : 'Not what I asked.' }),
      })
    }
    if ((route === 'support-answer' || route === 'summarize') && !failed && judgedRoll < JUDGED_RATE) {
      const value = Math.min(1, Math.max(0, quality.grounded + 0.07 * noise))
      scores.push({
        id: `demo-${traceId}-groundedness`,
        traceId,
        name: 'groundedness',
        value: Math.round(value * 100) / 100,
        source: 'api',
        comment: 'simulated LLM judge',
      })
    }
  })
  return scores
}

/** The REST API's batch limit. */
const BATCH = 1000

/**
 * Sends `scores` to the REST API at `apiUrl` (the web server's base URL) in batches; returns how
 * many were stored. Throws with the server's message when a batch is refused.
 */
export async function sendScores(apiUrl: string, apiKey: string, scores: DemoScore[]): Promise<number> {
  let stored = 0
  for (let i = 0; i < scores.length; i += BATCH) {
    const batch = scores.slice(i, i + BATCH)
    let response: Response
    try {
      response = await fetch(`${apiUrl.replace(/\/$/, '')}/api/public/v1/scores`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (error) {
      throw new Error(`nothing answers at ${apiUrl} (${(error as Error).message})`)
    }
    const text = await response.text()
    if (!response.ok) throw new Error(`the REST API answered ${response.status}: ${text.slice(0, 300)}`)
    stored += batch.length
  }
  return stored
}
