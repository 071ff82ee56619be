/** Test helpers: a migrated embedded engine in a temporary directory. Never used at runtime. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, migrate, type Storage } from '@hindsight/collector/storage'

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
