/**
 * The replay's span routing: each candidate span goes to the sink and project of its back-test
 * (by `hindsight.metadata.backtest_id`), spans of back-tests not running here are counted and
 * dropped, and a host process that called the SDK's `init()` first keeps its configuration.
 * (The routed path end to end, REST → replay → collector ingest → storage, is tested in
 * `apps/cli/src/replay-spans.test.ts`.)
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { type FakeOpenAI, initInMemory, startFakeOpenAI } from '@hindsight/sdk/testing'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { candidateSchema } from '../candidate'
import { createCohort } from '../cohort'
import {
  acquireReplaySpanRouting,
  BACKTEST_ID_ATTRIBUTE,
  ReplaySpanRouter,
  type ReplaySpanSink,
  runReplay,
} from './runner'

/** Real finished spans, one per back-test id given (undefined: no id attribute). */
function spans(ids: Array<string | undefined>): ReadableSpan[] {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] })
  const tracer = provider.getTracer('test')
  for (const [i, id] of ids.entries())
    tracer.startSpan(`chat ${i}`, { attributes: id ? { [BACKTEST_ID_ATTRIBUTE]: id } : {} }).end()
  return memory.getFinishedSpans()
}

function recordingSink(): ReplaySpanSink & { got: Array<{ projectId: string; names: string[] }> } {
  const got: Array<{ projectId: string; names: string[] }> = []
  return {
    got,
    async export(projectId, list) {
      got.push({ projectId, names: list.map((s) => s.name) })
    },
  }
}

const exportTo = (router: ReplaySpanRouter, list: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => router.export(list, resolve))

test('router: spans go to their back-test’s project; unknown or missing ids are dropped and counted', async () => {
  const router = new ReplaySpanRouter()
  const sink = recordingSink()
  const releaseA = router.register('bt_a', 'project-1', sink)
  router.register('bt_b', 'project-2', sink)
  const result = await exportTo(router, spans(['bt_a', 'bt_b', 'bt_elsewhere', undefined, 'bt_a']))
  assert.equal(result.code, ExportResultCode.SUCCESS)
  assert.deepEqual(
    sink.got.sort((x, y) => x.projectId.localeCompare(y.projectId)),
    [
      { projectId: 'project-1', names: ['chat 0', 'chat 4'] },
      { projectId: 'project-2', names: ['chat 1'] },
    ],
  )
  assert.deepEqual(router.stats(), { routed: 3, unrouted: 2, failed: 0 })
  // A released run's late spans are not guessed into any project.
  releaseA()
  sink.got.length = 0
  await exportTo(router, spans(['bt_a']))
  assert.deepEqual(sink.got, [])
  assert.equal(router.stats().unrouted, 3)
  // One back-test id is never routed to two projects.
  assert.throws(() => router.register('bt_b', 'project-3', sink), /another project/)
})

test('router: a sink that fails makes the export fail (the SDK counts the spans lost)', async () => {
  const router = new ReplaySpanRouter()
  router.register('bt_x', 'project-1', {
    export: async () => {
      throw new Error('spool full')
    },
  })
  const result = await exportTo(router, spans(['bt_x', 'bt_x']))
  assert.equal(result.code, ExportResultCode.FAILED)
  assert.match(String(result.error?.message), /spool full/)
  assert.deepEqual(router.stats(), { routed: 0, unrouted: 0, failed: 2 })
})

let storage: Storage
let dir: string
let fake: FakeOpenAI

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-span-routing-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_span_routing_test' })
  await migrate(storage)
  fake = await startFakeOpenAI({ reply: { content: 'ok' } })
})

after(async () => {
  await fake.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a host process that called init() first keeps it: candidate spans go to its configuration', async () => {
  // The host's own SDK configuration, made before any replay asks for routing.
  const host = initInMemory()
  assert.equal(acquireReplaySpanRouting(), null)
  const T0 = new Date('2026-05-04T00:00:00Z')
  await insertSpans(
    storage,
    [0, 1].map((k) =>
      span({
        project_id: 'p-host',
        trace_id: hexId(0x7700 + k, 32),
        start: new Date(T0.getTime() + k * 60_000),
        model: 'gpt-4o',
        input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `q ${k}` }] }]),
      }),
    ),
  )
  const filter = { from: T0.toISOString(), to: new Date(T0.getTime() + 3_600_000).toISOString() }
  const cohort = await createCohort(storage, 'p-host', filter)
  const sink = recordingSink()
  const run = await runReplay(storage, {
    projectId: 'p-host',
    backtestId: 'bt_host',
    cohort,
    candidate: candidateSchema.parse({ provider: 'openai', model: 'cand', base_url: fake.baseURL }),
    apiKey: 'k',
    spanSink: sink,
  })
  assert.equal(run.status, 'done')
  assert.equal(run.spans, 'process')
  assert.deepEqual(sink.got, [])
  const chat = host.chatSpans()
  assert.equal(chat.length, 2)
  for (const s of chat) assert.equal(s.attributes[BACKTEST_ID_ATTRIBUTE], 'bt_host')
})
