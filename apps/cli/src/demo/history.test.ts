import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GEN_AI, HINDSIGHT } from '@hindsight/collector/conventions'
import { countSpans, HISTORY_MODELS, type PlannedSpan, planHistory } from './history'

const NOW = Date.UTC(2026, 10, 20, 12, 34, 56)
const END = Date.UTC(2026, 10, 20, 12, 0, 0)
const DAY = 86_400_000

function walk(span: PlannedSpan, visit: (s: PlannedSpan, depth: number) => void, depth = 0) {
  visit(span, depth)
  for (const c of span.children) walk(c, visit, depth + 1)
}

test('the same seed plans the same history; another seed another one', () => {
  const a = planHistory({ now: NOW, seed: 1 })
  const b = planHistory({ now: NOW, seed: 1 })
  const c = planHistory({ now: NOW, seed: 2 })
  assert.deepEqual(a, b)
  assert.deepEqual(planHistory({ now: END + 59 * 60_000, seed: 1 }), a, 'same hour, same plan')
  assert.notDeepEqual(a, c)
})

test('a week with a daily cycle, 150–300 traces a day, 1–4 spans each, releases switching midway', () => {
  const traces = planHistory({ now: NOW })
  const first = traces[0]?.root.start ?? 0
  const last = traces[traces.length - 1]?.root.start ?? 0
  assert.ok(first >= END - 7 * DAY && last < END, 'the 7 days before the current hour')
  const perDay = new Map<number, number>()
  const perHour = new Array<number>(24).fill(0)
  for (const t of traces) {
    const day = Math.floor((t.root.start - (END - 7 * DAY)) / DAY)
    perDay.set(day, (perDay.get(day) ?? 0) + 1)
    const hour = new Date(t.root.start).getUTCHours()
    perHour[hour] = (perHour[hour] ?? 0) + 1
  }
  assert.deepEqual([...perDay.keys()].sort(), [0, 1, 2, 3, 4, 5, 6])
  for (const [day, n] of perDay) assert.ok(n >= 150 && n <= 300, `day ${day}: ${n} traces`)
  assert.ok((perHour[15] ?? 0) > 2 * (perHour[3] ?? 0), 'afternoon busier than night')

  const midway = (first + last) / 2
  const early = traces.filter((t) => t.root.start < midway - DAY)
  const late = traces.filter((t) => t.root.start > midway + DAY)
  assert.ok(early.every((t) => t.release === 'v1.3.0'))
  assert.ok(late.every((t) => t.release === 'v1.4.0'))

  for (const t of traces) {
    let spans = 0
    walk(t.root, (s, depth) => {
      spans++
      assert.ok(s.end > s.start, 'positive duration')
      assert.equal(s.attributes[HINDSIGHT.release] ?? t.release, t.release)
      for (const c of s.children) assert.ok(c.start >= s.start && c.end <= s.end, 'children inside parent')
      assert.ok(depth <= 1)
    })
    assert.ok(spans >= 1 && spans <= 4, `${spans} spans`)
  }
  assert.equal(
    countSpans(traces),
    traces.reduce((n, t) => n + 1 + t.root.children.length, 0),
  )
})

test('models, cache tokens and ~2 % errors look like real traffic', () => {
  const traces = planHistory({ now: NOW })
  const llm: PlannedSpan[] = []
  for (const t of traces) walk(t.root, (s) => s.kind === 'llm' && llm.push(s))
  const models = new Set(llm.map((s) => s.attributes[GEN_AI.requestModel]))
  assert.deepEqual([...models].sort(), [...HISTORY_MODELS].sort())
  const errors = llm.filter((s) => s.error).length / llm.length
  assert.ok(errors > 0.005 && errors < 0.05, `error rate ${errors}`)
  const claude = llm.filter((s) => String(s.attributes[GEN_AI.providerName]) === 'anthropic' && !s.error)
  assert.ok(claude.some((s) => Number(s.attributes[GEN_AI.usageCacheReadInputTokens]) > 0))
  assert.ok(claude.some((s) => Number(s.attributes[GEN_AI.usageCacheCreationInputTokens]) > 0))
  for (const s of llm.filter((x) => !x.error)) {
    const input = Number(s.attributes[GEN_AI.usageInputTokens])
    const cached =
      Number(s.attributes[GEN_AI.usageCacheReadInputTokens] ?? 0) +
      Number(s.attributes[GEN_AI.usageCacheCreationInputTokens] ?? 0)
    assert.ok(input > cached, 'input tokens include the cached ones')
  }
})

test('every span carries its user and customer, as withAttributes would set them', () => {
  const traces = planHistory({ now: NOW })
  const users = new Set<string>()
  const customers = new Map<string, number>()
  for (const t of traces) {
    const user = String(t.root.attributes['user.id'])
    const customer = String(t.root.attributes['hindsight.metadata.customer'])
    walk(t.root, (s) => {
      assert.equal(s.attributes['user.id'], user)
      assert.equal(s.attributes['hindsight.metadata.customer'], customer)
    })
    users.add(user)
    customers.set(customer, (customers.get(customer) ?? 0) + 1)
  }
  assert.ok(users.size > 40 && users.size <= 60, `${users.size} users`)
  const accountOf = new Map<string, string>()
  for (const t of traces) {
    const user = String(t.root.attributes['user.id'])
    const customer = String(t.root.attributes['hindsight.metadata.customer'])
    assert.equal(accountOf.get(user) ?? customer, customer, `${user} belongs to one account`)
    accountOf.set(user, customer)
  }
  assert.deepEqual([...customers.keys()].sort(), ['acme', 'globex', 'initech', 'umbrella'])
  assert.ok(
    (customers.get('acme') ?? 0) > (customers.get('umbrella') ?? 0) * 2,
    'acme is the largest account',
  )
})
