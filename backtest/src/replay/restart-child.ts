/**
 * Test fixture for `restart.test.ts` (not a test itself): a process that opens a data directory,
 * records a small cohort's worth of calls, starts a replay through the service and keeps running
 * until the test kills it (SIGKILL: no chance to flush or mark anything). Run as
 * `node --import tsx restart-child.ts` with HS_DATA_DIR and HS_BASE_URL; prints `{"id": …}`.
 */
import { createStorage, migrate } from '@hindsight/collector/storage'
import { hexId, insertSpans, span } from '@hindsight/dashboards/testing'
import { backtestServiceFor } from '../service'

export const RESTART_PROJECT = 'project-restart'
export const RESTART_T0 = new Date('2026-05-04T00:00:00Z')
export const RESTART_CALLS = 40

/** One single-call trace per question `q-<k>`; the question identifies the call in the fake's requests. */
export function restartFixture() {
  return Array.from({ length: RESTART_CALLS }, (_, k) =>
    span({
      project_id: RESTART_PROJECT,
      trace_id: hexId(0x5000 + k, 32),
      span_id: hexId(0x5000 + k, 16),
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 100,
      output_tokens: 10,
      cost_usd: '0.000500000',
      start: new Date(RESTART_T0.getTime() + k * 60_000),
      durationMs: 500,
      input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `q-${k}` }] }]),
      output: 'a',
    }),
  )
}

export function restartRequest(baseURL: string, concurrency: number) {
  return {
    mode: 'replay' as const,
    cohort: {
      filter: {
        from: RESTART_T0.toISOString(),
        to: new Date(RESTART_T0.getTime() + 86_400_000).toISOString(),
      },
    },
    candidate: {
      provider: 'openai',
      model: 'cand',
      base_url: baseURL,
      price: { input: 1, output: 1 },
      concurrency,
    },
  }
}

if (process.argv[1]?.endsWith('restart-child.ts')) {
  const storage = await createStorage({ dataDir: process.env.HS_DATA_DIR, database: 'hs_restart' })
  await migrate(storage)
  await insertSpans(storage, restartFixture())
  const service = backtestServiceFor(storage, { replayApiKey: 'k', resumeOnStart: false })
  const record = await service.start(RESTART_PROJECT, restartRequest(process.env.HS_BASE_URL ?? '', 4))
  process.stdout.write(`${JSON.stringify({ id: record.id })}\n`)
  // Runs until killed.
  setInterval(() => {}, 1000)
}
