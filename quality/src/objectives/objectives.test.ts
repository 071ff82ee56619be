import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { SpanRow } from '@hindsight/collector/canonical'
import { insertSpans, span } from '@hindsight/dashboards/testing'
import { type TestStorage, testStorage } from '../testing'
import { ObjectiveMonitor, type ObjectiveNotification } from './monitor'

const PROJECT = 'project-objectives'
const MIN = 60_000
let db: TestStorage
const received: ObjectiveNotification[] = []
let server: ReturnType<typeof createServer>
let webhookUrl: string

before(async () => {
  db = await testStorage('hs_quality_objectives')
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8')
    })
    req.on('end', () => {
      received.push(JSON.parse(body) as ObjectiveNotification)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
})
after(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  await db.close()
})

test('latency p95 objective: a sustained breach fires the webhook once, then resolves once', async () => {
  const now = Math.floor(Date.now() / MIN) * MIN
  // 6 hours of /chat calls, 10 a minute: 80 ms, except the last hour at 3 s (an outage).
  // Calls on another route are always slow and must not count.
  const rows: SpanRow[] = []
  for (let m = 360; m >= 1; m--) {
    for (let k = 0; k < 10; k++) {
      const start = new Date(now - m * MIN + k * 1000)
      rows.push(span({ project_id: PROJECT, route: '/chat', start, durationMs: m <= 60 ? 3000 : 80 }))
      if (k === 0) rows.push(span({ project_id: PROJECT, route: '/batch', start, durationMs: 9000 }))
    }
  }
  await insertSpans(db.storage, rows)

  let clock = now
  const monitor = new ObjectiveMonitor({ storage: db.storage, now: () => clock })
  const objective = await monitor.objectives.create(PROJECT, {
    name: 'chat is fast',
    filter: { route: ['/chat'] },
    kind: 'latency',
    threshold: 1000,
    webhookUrl,
  })
  assert.equal(objective.percentile, 95)

  const status = await monitor.status(PROJECT, objective)
  assert.equal(status.events, 3600)
  assert.equal(status.bad_events, 600)
  assert.ok(
    status.error_budget_remaining !== null && status.error_budget_remaining < 0,
    'the budget is overspent',
  )
  assert.equal(status.burn.severity, 'fast')
  assert.ok(status.buckets.some((b) => b.compliant === false))
  assert.ok(status.buckets.some((b) => b.compliant === true))

  const first = await monitor.runOnce()
  assert.equal(first.length, 1)
  assert.equal(received.length, 1)
  assert.equal(received[0]?.type, 'objective.breached')
  assert.equal(received[0]?.alert.severity, 'fast')
  assert.equal(received[0]?.objective.id, objective.id)

  // Still breached on the next poll: de-duplicated, nothing sent.
  clock = now + 30_000
  assert.equal((await monitor.runOnce()).length, 0)
  assert.equal(received.length, 1)
  assert.equal((await monitor.status(PROJECT, objective)).open_alert?.state, 'firing')

  // Traffic recovered (20 minutes of fast calls): short windows clean → resolved, once.
  const recovery: SpanRow[] = []
  for (let m = 0; m < 20; m++) {
    for (let k = 0; k < 10; k++) {
      recovery.push(
        span({
          project_id: PROJECT,
          route: '/chat',
          start: new Date(now + m * MIN + k * 1000),
          durationMs: 50,
        }),
      )
    }
  }
  await insertSpans(db.storage, recovery)
  clock = now + 20 * MIN
  const resolved = await monitor.runOnce()
  assert.equal(resolved.length, 1)
  assert.equal(received.length, 2)
  assert.equal(received[1]?.type, 'objective.resolved')
  assert.equal(received[1]?.alert.id, received[0]?.alert.id)
  assert.ok(received[1]?.alert.resolved_at)
  clock = now + 21 * MIN
  assert.equal((await monitor.runOnce()).length, 0)
  assert.equal(received.length, 2)
})

test('objective input is validated', async () => {
  const monitor = new ObjectiveMonitor({ storage: db.storage })
  await assert.rejects(
    monitor.objectives.create(PROJECT, { name: 'x', kind: 'min_mean_score', threshold: 0.8 }),
    /objective\.scoreName: required/,
  )
  await assert.rejects(
    monitor.objectives.create(PROJECT, { name: 'x', kind: 'nope', threshold: 1 }),
    /objective\.kind/,
  )
})
