import { createStorage, MIGRATIONS, migrate } from '@hindsight/collector/storage'
import { storageOptions } from '../all-in-one'
import type { Config } from '../env'

/** `hindsight migrate`: apply pending migrations and list the schema versions. */
export async function migrateCommand(config: Config): Promise<void> {
  const storage = await createStorage(storageOptions(config))
  try {
    const applied = await migrate(storage)
    const where = storage.mode === 'embedded' ? config.dataDir : config.clickhouse.url
    console.log(`Database ${storage.database} (${storage.mode}, ${where})`)
    for (const m of MIGRATIONS) {
      console.log(
        `  ${String(m.version).padStart(3)}  ${m.name}${applied.includes(m.version) ? '  (applied now)' : ''}`,
      )
    }
    console.log(applied.length ? `Applied ${applied.length} migration(s).` : 'Schema is up to date.')
  } finally {
    await storage.close()
  }
}
