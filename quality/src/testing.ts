/** Test helpers: a migrated embedded engine in a temporary directory. Never used at runtime. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SpanRow } from '@hindsight/collector/canonical'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'
import { insertSpans, span } from '@hindsight/dashboards/testing'
import { ScoreRepository } from './scores/repository'

export interface TestStorage {
  storage: Storage
  close(): Promise<void>
}

export async function testStorage(database: string): Promise<TestStorage> {
  const dir = mkdtempSync(join(tmpdir(), `hs-quality-${database}-`))
  const storage = await createStorage({ dataDir: dir, database })
  await migrate(storage)
  return {
    storage,
    async close() {
      await storage.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * What an annotation queue works through: four traces ending one minute apart before now (newest
 * first: 0, 1, 2, 3), each a chain root `ask` (input `{"question":"q<k>"}`, output `a<k>`) on `/chat`
 * (0–2) or `/search` (3) with one model call under it; and the score configs `helpful` (categorical
 * bad / ok / great) and `correct` (boolean).
 */
export async function seedAnnotationTraces(
  storage: Storage,
  projectId: string,
  traceId: (k: number) => string,
): Promise<void> {
  const rows: SpanRow[] = []
  const now = Date.now()
  for (let k = 0; k < 4; k++) {
    const start = new Date(now - (k + 1) * 60_000)
    const root = span({
      project_id: projectId,
      trace_id: traceId(k),
      start,
      kind: 'chain',
      name: 'ask',
      route: k < 3 ? '/chat' : '/search',
      model: '',
      input: JSON.stringify({ question: `q${k}` }),
      output: `a${k}`,
    })
    rows.push(
      root,
      span({ project_id: projectId, trace_id: traceId(k), parent_span_id: root.span_id, start }),
    )
  }
  await insertSpans(storage, rows)
  const scores = new ScoreRepository(storage)
  await scores.upsertConfig(projectId, {
    name: 'helpful',
    dataType: 'categorical',
    categories: ['bad', 'ok', 'great'],
  })
  await scores.upsertConfig(projectId, { name: 'correct', dataType: 'boolean' })
}
