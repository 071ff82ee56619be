import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, migrate, ProjectRepository } from '@hindsight/collector/storage'
import { startWebServer } from '@hindsight/web/server'

const storage = await createStorage({ dataDir: mkdtempSync(join(tmpdir(), 'hs-dev-')), database: 'hs_dev' })
await migrate(storage)
const t0 = Date.now()
const web = await startWebServer({ storage, projects: new ProjectRepository(storage), port: 0, dev: true, otlpEndpoint: 'x' })
console.log('started', Date.now() - t0, web.url)
const res = await fetch(`${web.url}/traces`)
console.log('GET /traces', res.status, (await res.text()).length, Date.now() - t0)
await web.close()
await storage.close()
console.log('closed')
