/**
 * Everything in one process: storage (embedded chDB unless CLICKHOUSE_URL), migrations,
 * headless project initialization, the OTLP collector and the web server. Embedded ClickHouse
 * binds one data directory per process, which is why collector and web share this process.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type BacktestServiceOptions, backtestServiceFor } from '@hindsight/backtest'
import {
  type LocalIngest,
  type RunningCollector,
  startCollector,
  startLocalIngest,
} from '@hindsight/collector'
import {
  createStorage,
  migrate,
  type Project,
  ProjectRepository,
  type Storage,
  type StorageOptions,
} from '@hindsight/collector/storage'
import { ObjectiveMonitor, OnlineEvaluationWorker } from '@hindsight/quality'
import { startWebServer } from '@hindsight/web/server'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { type DemoResult, runDemo } from './demo'
import type { Config } from './env'
import {
  credentialsPath,
  readCredentials,
  readLocalState,
  saveCredential,
  saveLocalState,
} from './local-state'
import { ensureWebBuild } from './web-build'

/** A project this start set up, with its plaintext key when this machine knows it. */
export interface LocalProject {
  id: string
  name: string
  /** Plaintext key, or null when only its hash exists (created elsewhere / earlier, not stored). */
  apiKey: string | null
  /** Where the key came from, for the banner. */
  keySource: 'created' | 'HINDSIGHT_INIT_API_KEY' | 'credentials.json' | null
  /** Created by this start. */
  created: boolean
}

export interface AllInOneOptions {
  /** Serve the Next.js dashboard; false serves only the APIs (fast tests). @default true */
  next?: boolean
  /** Progress lines (building, demo fill). @default console.log */
  log?: (line: string) => void
  /** Tuning of the background Demo fill (tests make it fast). */
  demo?: {
    /** @default 7 */
    historyDays?: number
    /** Live sample-app calls after the history. @default 12 */
    calls?: number
    /** Multiplies the simulated provider's delays. @default 1 */
    timeScale?: number
  }
}

export interface AllInOne {
  /** Dashboard and APIs, e.g. `http://127.0.0.1:3000`. */
  webUrl: string
  /** Collector base URL (what the SDK's `endpoint` takes); traces go to `${otlpUrl}/v1/traces`. */
  otlpUrl: string
  dataDir: string
  storage: Storage
  repository: ProjectRepository
  collector: RunningCollector
  /** The in-process ingest the back-test replays' candidate spans go through (own spool). */
  replayIngest: LocalIngest
  projects: {
    /** The init project (HINDSIGHT_INIT_PROJECT) or 'Default'. */
    main: LocalProject
    /** The Demo project, when one exists. */
    demo: LocalProject | null
  }
  /** The background Demo fill: resolves when it is done; null when none runs on this start. */
  demoFill: Promise<DemoResult | null>
  /** Close web, flush and close the collector, close storage. Idempotent. */
  close(): Promise<void>
}

/** Storage as the configuration says; embedded files live in `<dataDir>/clickhouse`. */
export function storageOptions(config: Config): StorageOptions {
  return {
    // The engine's files get their own folder; credentials and state sit beside it.
    dataDir: join(config.dataDir, 'clickhouse'),
    url: config.clickhouse.url,
    user: config.clickhouse.user,
    password: config.clickhouse.password,
    database: config.clickhouse.database,
  }
}

const DEFAULT_PROJECT = 'Default'
const DEMO_PROJECT = 'Demo'

function toLocal(
  project: Project,
  apiKey: string | null,
  keySource: LocalProject['keySource'],
  created: boolean,
) {
  return { id: project.id, name: project.name, apiKey, keySource, created }
}

async function setUpProjects(config: Config, repository: ProjectRepository) {
  const existing = await repository.list()
  const firstStart = existing.length === 0
  const credentials = readCredentials(config.dataDir)
  const state = readLocalState(config.dataDir)

  const known = (project: Project): Pick<LocalProject, 'apiKey' | 'keySource'> => {
    const stored = credentials[project.id]
    return stored ? { apiKey: stored, keySource: 'credentials.json' } : { apiKey: null, keySource: null }
  }

  let main: LocalProject
  if (config.initProject || config.initApiKey) {
    const name = config.initProject ?? DEFAULT_PROJECT
    const { project, created, key } = await repository.ensure(name, config.initApiKey)
    if (config.initApiKey) {
      main = toLocal(project, config.initApiKey, 'HINDSIGHT_INIT_API_KEY', created)
    } else if (key) {
      saveCredential(config.dataDir, project.id, key.apiKey)
      main = toLocal(project, key.apiKey, 'created', created)
    } else {
      const k = known(project)
      main = toLocal(project, k.apiKey, k.keySource, created)
    }
  } else {
    const others = existing.filter((p) => p.id !== state.demoProjectId && p.name !== DEMO_PROJECT)
    const reuse = others.find((p) => p.name === DEFAULT_PROJECT) ?? others[0]
    if (reuse) {
      const k = known(reuse)
      main = toLocal(reuse, k.apiKey, k.keySource, false)
    } else {
      const { project, created, key } = await repository.ensure(DEFAULT_PROJECT)
      if (key) saveCredential(config.dataDir, project.id, key.apiKey)
      main = key
        ? toLocal(project, key.apiKey, 'created', created)
        : toLocal(project, known(project).apiKey, known(project).keySource, created)
    }
  }

  let demo: LocalProject | null = null
  if (config.demo && firstStart) {
    const { project, key } = await repository.ensure(DEMO_PROJECT)
    if (key) saveCredential(config.dataDir, project.id, key.apiKey)
    saveLocalState(config.dataDir, { demoProjectId: project.id })
    demo = toLocal(project, key?.apiKey ?? null, key ? 'created' : null, true)
  } else if (state.demoProjectId) {
    const project = await repository.get(state.demoProjectId)
    if (project) {
      const k = known(project)
      demo = toLocal(project, k.apiKey, k.keySource, false)
    }
  }
  return { main, demo }
}

/** Turn "address in use" into a message that names the setting to change. */
function explainListenError(variable: string, port: number) {
  return (error: unknown): never => {
    if (error instanceof Error && 'code' in error && error.code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} is already in use: stop the other process or choose another port with ${variable}`,
        { cause: error },
      )
    }
    throw error
  }
}

/**
 * Start storage, collector and web server as `config` says. Ports 0 pick free ports (tests).
 * On the first start with the demo on, the Demo project is filled in the background once the
 * servers are up; `demoFill` tells when it is done.
 */
export async function startAllInOne(config: Config, options: AllInOneOptions = {}): Promise<AllInOne> {
  const log = options.log ?? ((line: string) => console.log(line))
  const withNext = options.next ?? true
  if (withNext) await ensureWebBuild(log)

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const storage = await createStorage(storageOptions(config))
  let collector: RunningCollector | undefined
  let web: Awaited<ReturnType<typeof startWebServer>> | undefined
  let replayIngest: LocalIngest | undefined
  let backtests: ReturnType<typeof backtestServiceFor> | undefined
  try {
    await migrate(storage)
    const repository = new ProjectRepository(storage)
    const projects = await setUpProjects(config, repository)
    const knownKeys: Record<string, string> = { ...readCredentials(config.dataDir) }
    if (projects.main.apiKey) knownKeys[projects.main.id] = projects.main.apiKey

    collector = await startCollector({
      storage,
      projects: repository,
      host: config.host,
      port: config.otlpPort,
      grpcPort: config.otlpGrpcPort,
      spoolDir: join(config.dataDir, 'spool'),
      retention: { defaultDays: config.retentionDays },
    }).catch(explainListenError('HINDSIGHT_OTLP_PORT', config.otlpPort))
    const otlpUrl = collector.url
    // The process's back-test service (the REST API and the dashboard share it): creating it resumes
    // the runs a previous process left unfinished (a replay continues without re-sending a stored call).
    // Created before the web server, whose REST API and dashboard take the same one (first creation wins).
    // Replays' candidate spans are stored under the back-test's project through the collector's own
    // pipeline (decode, mapping, prices, spool, writer), in-process: the server holds no project's
    // plaintext key to send them over OTLP with.
    replayIngest = await startLocalIngest({
      storage,
      spoolDir: join(config.dataDir, 'spool-replay'),
      onError: (message, error) => log(`[replay spans] ${message}: ${error}`),
    })
    backtests = backtestServiceFor(storage, { spanSink: replaySpanSink(replayIngest) })
    web = await startWebServer({
      storage,
      projects: repository,
      host: config.host,
      port: config.port,
      otlpEndpoint: otlpUrl,
      knownKeys,
      next: withNext,
    }).catch(explainListenError('HINDSIGHT_PORT', config.port))

    // Online evaluation rules run in the background on completed traces (quality/src/online).
    const evaluations = new OnlineEvaluationWorker({
      storage,
      onError: (error) => log(`[evaluations] ${error}`),
    })
    evaluations.start()
    // Objectives: burn-rate alerts to their webhooks (quality/src/objectives).
    const objectives = new ObjectiveMonitor({ storage, onError: (error) => log(`[objectives] ${error}`) })
    objectives.start()

    let closing: Promise<void> | undefined
    const running = collector
    const ingest = replayIngest
    const service = backtests
    const server = web
    const close = () => {
      closing ??= (async () => {
        await evaluations.stop()
        await objectives.stop()
        // Stop this process's replays (calls in flight finish and are stored; the next start resumes them).
        await service.close()
        await ingest.close()
        await server.close()
        await running.flush()
        await running.close()
        await storage.close()
      })()
      return closing
    }

    const demoKey = projects.demo?.created ? projects.demo.apiKey : null
    const fill = async (apiKey: string): Promise<DemoResult | null> => {
      // Start on a later turn of the event loop, so the caller prints its banner first.
      await new Promise((resolve) => setImmediate(resolve))
      try {
        return await runDemo({
          endpoint: otlpUrl,
          apiUrl: server.url,
          apiKey,
          historyDays: options.demo?.historyDays ?? 7,
          calls: options.demo?.calls ?? 12,
          timeScale: options.demo?.timeScale ?? 1,
          log: (line) => log(`[demo] ${line.trim()}`),
        })
      } catch (error) {
        if (!closing) log(`[demo] filling the Demo project failed: ${(error as Error).message}`)
        return null
      }
    }
    const demoFill = demoKey ? fill(demoKey) : Promise.resolve(null)

    return {
      webUrl: server.url,
      otlpUrl,
      dataDir: config.dataDir,
      storage,
      repository,
      collector: running,
      replayIngest: ingest,
      projects,
      demoFill,
      close,
    }
  } catch (error) {
    await backtests?.close().catch(() => {})
    await web?.close().catch(() => {})
    await replayIngest?.close().catch(() => {})
    await collector?.close().catch(() => {})
    await storage.close().catch(() => {})
    throw error
  }
}

/** Candidate spans → OTLP protobuf (the official serializer) → the in-process ingest, for their project. */
export function replaySpanSink(ingest: LocalIngest): NonNullable<BacktestServiceOptions['spanSink']> {
  return {
    async export(projectId, spans) {
      const body = ProtobufTraceSerializer.serializeRequest(spans)
      if (!body) throw new Error('the candidate spans could not be serialized')
      const result = await ingest.ingest(projectId, body, 'protobuf')
      if (result.accepted === 0 && result.rejected > 0) throw new Error(result.errorMessage)
    },
  }
}

/** The lines `hindsight start` prints once everything is up. */
export function banner(config: Config, app: AllInOne): string {
  const { main, demo } = app.projects
  const credentials = credentialsPath(config.dataDir)
  const keyLine = (p: LocalProject): string => {
    if (p.keySource === 'created') return `${p.apiKey}   (new: shown once; also saved to ${credentials})`
    if (p.keySource === 'HINDSIGHT_INIT_API_KEY') return 'the value of HINDSIGHT_INIT_API_KEY'
    if (p.keySource === 'credentials.json') return `${p.apiKey?.slice(0, 7)}…   (full key in ${credentials})`
    return 'not stored on this machine: use the key printed when the project was created'
  }
  const storageLine =
    app.storage.mode === 'embedded'
      ? `${config.dataDir} (embedded ClickHouse, database ${app.storage.database})`
      : `ClickHouse server ${config.clickhouse.url}, database ${app.storage.database}; local files in ${config.dataDir}`
  const lines = [
    '',
    'Hindsight is running',
    `  Dashboard   ${app.webUrl}`,
    `  REST API    ${app.webUrl}/api/public/v1   (OpenAPI: ${app.webUrl}/api/public/v1/openapi.json)`,
    `  OTLP/HTTP   ${app.otlpUrl}/v1/traces`,
    `  OTLP/gRPC   ${app.collector.grpcUrl ?? 'off'}`,
    `  Data        ${storageLine}`,
    `  Project     ${main.name} (${main.id})${main.created ? ' — created now' : ''}`,
    `  API key     ${keyLine(main)}`,
  ]
  if (demo) {
    lines.push(
      `  Demo        project "${demo.name}"${
        demo.created ? ': filling it with 7 days of simulated traffic in the background' : ''
      }; key in ${credentials}`,
    )
  }
  const shownKey = main.keySource === 'created' ? main.apiKey : '<your project key>'
  lines.push(
    '',
    '  Trace an app:',
    "    import { init, wrapOpenAI } from '@hindsight/sdk'",
    `    init({ endpoint: '${app.otlpUrl}', apiKey: '${shownKey}' })`,
    '    const openai = wrapOpenAI(new OpenAI())',
    '',
    `  Send demo traffic: pnpm demo   ·   stop: Ctrl+C`,
    '',
  )
  return lines.join('\n')
}
