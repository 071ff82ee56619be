import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import { type PlannedSpan, type PlannedTrace, planHistory } from './history'
import { type DemoScore, planHistoryScores } from './scores'

const NOW = Date.UTC(2026, 10, 20, 12, 34, 56)
const traces = planHistory({ now: NOW })
const ids = traces.map((_, i) => i.toString(16).padStart(32, '0'))

const route = (t: PlannedTrace) => String(t.root.attributes[HINDSIGHT.route])
function models(span: PlannedSpan): string[] {
  const own = span.kind === 'llm' ? [String(span.attributes[GEN_AI.requestModel])] : []
  return [...own, ...span.children.flatMap(models)]
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

test('the same history and seed give the same scores, with ids stable per trace and name', () => {
  const a = planHistoryScores(traces, ids)
  assert.deepEqual(planHistoryScores(traces, ids), a)
  assert.notDeepEqual(planHistoryScores(traces, ids, 7), a)
  assert.equal(new Set(a.map((s) => s.id)).size, a.length, 'one score per trace and name')
  for (const s of a) assert.equal(s.id, `demo-${s.traceId}-${s.name}`)
  assert.throws(() => planHistoryScores(traces, ids.slice(1)), /one trace id per trace/)
})

test('feedback on ~12 % of support answers, a judge on ~30 % of answers and summaries that did not fail', () => {
  const scores = planHistoryScores(traces, ids)
  const byTrace = new Map(traces.map((t, i) => [ids[i], t]))
  const of = (name: DemoScore['name']) => scores.filter((s) => s.name === name)
  const answers = traces.filter((t) => route(t) === 'support-answer')
  const feedback = of('user-feedback')
  assert.ok(feedback.every((s) => route(byTrace.get(s.traceId) as PlannedTrace) === 'support-answer'))
  assert.ok(feedback.every((s) => typeof s.value === 'boolean' && s.source === 'sdk'))
  const share = feedback.length / answers.length
  assert.ok(share > 0.08 && share < 0.16, `feedback on ${share} of answers`)
  const up = feedback.filter((s) => s.value === true).length / feedback.length
  assert.ok(up > 0.6 && up < 0.92, `thumbs up ${up}`)
  assert.ok(
    feedback.filter((s) => s.value === false).every((s) => s.comment),
    'a thumb down says why',
  )

  const judged = of('groundedness')
  for (const s of judged) {
    const t = byTrace.get(s.traceId) as PlannedTrace
    assert.ok(['support-answer', 'summarize'].includes(route(t)))
    assert.equal(t.root.error, undefined, 'failed traces are not judged')
    assert.ok(typeof s.value === 'number' && s.value >= 0 && s.value <= 1)
  }
  const eligible = traces.filter((t) => ['support-answer', 'summarize'].includes(route(t)) && !t.root.error)
  const judgedShare = judged.length / eligible.length
  assert.ok(judgedShare > 0.25 && judgedShare < 0.35, `judged ${judgedShare}`)
})

test('the v1.4.0 switch to Claude Sonnet shows as better groundedness than gpt-4o', () => {
  const scores = planHistoryScores(traces, ids)
  const byTrace = new Map(traces.map((t, i) => [ids[i], t]))
  const grounded = (model: string) =>
    scores
      .filter((s) => s.name === 'groundedness')
      .filter((s) => models((byTrace.get(s.traceId) as PlannedTrace).root).includes(model))
      .map((s) => Number(s.value))
  const sonnet = grounded('claude-sonnet-4-5')
  const gpt = grounded('gpt-4o')
  assert.ok(sonnet.length > 30 && gpt.length > 30, `${sonnet.length} and ${gpt.length} judged`)
  assert.ok(mean(sonnet) - mean(gpt) > 0.03, `sonnet ${mean(sonnet)} vs gpt-4o ${mean(gpt)}`)
})
