import {
  ProjectPriceRepository,
  ProjectPriceResolver,
  type RepriceResult,
  repriceSpans,
} from '@hindsight/collector/pricing'
import { createStorage, migrate, type Project, ProjectRepository } from '@hindsight/collector/storage'
import { storageOptions } from '../all-in-one'
import type { Config } from '../env'

export interface RepriceCommandOptions {
  from: Date
  to: Date
  /** Project name or id; every project with spans in the range when absent. */
  project?: string
}

async function findProject(projects: ProjectRepository, nameOrId: string): Promise<Project> {
  const project = (await projects.get(nameOrId)) ?? (await projects.findByName(nameOrId))
  if (!project) throw new Error(`no project named or with id '${nameOrId}'`)
  return project
}

/**
 * `hindsight reprice --from --to [--project]`: recompute the stored cost of spans in the range
 * with today's prices (built-in table plus each project's custom prices), so a fixed price also
 * fixes history. Applies pending migrations first. With the embedded engine, run it while
 * `hindsight start` is stopped (one process per data directory), or use `POST /api/public/v1/reprice`.
 */
export async function repriceCommand(
  config: Config,
  options: RepriceCommandOptions,
  log: (line: string) => void = (line) => console.log(line),
): Promise<RepriceResult> {
  if (options.from.getTime() >= options.to.getTime()) throw new Error('--from must be before --to')
  const storage = await createStorage(storageOptions(config))
  try {
    await migrate(storage)
    const project = options.project
      ? await findProject(new ProjectRepository(storage), options.project)
      : null
    const resolver = new ProjectPriceResolver(new ProjectPriceRepository(storage))
    const started = performance.now()
    const result = await repriceSpans(storage, {
      ...(project && { projectId: project.id }),
      from: options.from,
      to: options.to,
      resolver,
    })
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    log(
      `Re-priced spans from ${options.from.toISOString()} to ${options.to.toISOString()} ` +
        `(${project ? `project ${project.name}, ${project.id}` : 'all projects'}) in ${seconds} s`,
    )
    log(`  projects       ${result.projects}`)
    log(`  spans scanned  ${result.spans_scanned}`)
    log(`  spans changed  ${result.spans_changed}`)
    log(`  cost before    $${result.cost_before_usd}`)
    log(`  cost after     $${result.cost_after_usd}`)
    return result
  } finally {
    await storage.close()
  }
}
