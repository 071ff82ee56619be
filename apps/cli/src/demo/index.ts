/**
 * The demo: a week of history plus a short live run of the sample app, sent to a running
 * Hindsight. `hindsight demo` and the Demo project of `hindsight start` both use `runDemo`.
 */
import type { Config } from '../env'
import { readCredentials, readLocalState } from '../local-state'
import { sendHistory } from './history'
import { runSampleApp } from './sample-app'
import { planHistoryScores, sendScores } from './scores'

export { type HistoryResult, planHistory, sendHistory } from './history'
export { runSampleApp, type SampleAppOptions, type SampleAppResult } from './sample-app'
export { type DemoScore, planHistoryScores, sendScores } from './scores'
export { type SimulatedProvider, startSimulatedProvider } from './simulated-provider'

export interface DemoOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:4318`. */
  endpoint: string
  apiKey: string
  /**
   * The web server's base URL (REST API), e.g. `http://127.0.0.1:3000`: the history's quality
   * scores go there. Without it, or when nothing answers there, the history has no scores.
   */
  apiUrl?: string
  /** Days of history; 0 or `history: false` skips it. @default 7 */
  historyDays?: number
  /** @default true */
  history?: boolean
  /** Live sample-app calls; 0 skips the live run. @default 40 */
  calls?: number
  /** Multiplies the simulated provider's delays (tests use 0). @default 1 */
  timeScale?: number
  /** @default 42 */
  seed?: number
  log?: (line: string) => void
}

export interface DemoResult {
  historyTraces: number
  historySpans: number
  liveCalls: number
  liveErrors: number
  /** History scores the REST API stored (user feedback and a judge's groundedness). */
  scoresSent: number
  /** Spans the collector accepted: history plus live. */
  spansSent: number
}

/** Send history, then run the live sample app. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => {})
  const result: DemoResult = {
    historyTraces: 0,
    historySpans: 0,
    liveCalls: 0,
    liveErrors: 0,
    scoresSent: 0,
    spansSent: 0,
  }
  const days = options.history === false ? 0 : (options.historyDays ?? 7)
  if (days > 0) {
    log(`Sending ${days} days of simulated history…`)
    const history = await sendHistory({
      endpoint: options.endpoint,
      apiKey: options.apiKey,
      days,
      seed: options.seed ?? 42,
    })
    result.historyTraces = history.traces
    result.historySpans = history.exported
    result.spansSent += history.exported
    log(`  ${history.traces} traces, ${history.exported} spans accepted`)
    if (options.apiUrl) {
      const scores = planHistoryScores(history.planned, history.traceIds, options.seed ?? 42)
      try {
        result.scoresSent = await sendScores(options.apiUrl, options.apiKey, scores)
        log(`  ${result.scoresSent} scores (user feedback, groundedness) stored`)
      } catch (error) {
        // The traces are in; a demo without scores is still a demo.
        log(`  no scores: ${(error as Error).message}`)
      }
    }
  }
  const calls = options.calls ?? 40
  if (calls > 0) {
    log(`Running the sample app against the simulated provider (${calls} calls)…`)
    const live = await runSampleApp({
      endpoint: options.endpoint,
      apiKey: options.apiKey,
      calls,
      timeScale: options.timeScale ?? 1,
      seed: (options.seed ?? 42) + 1,
      log,
    })
    result.liveCalls = live.calls
    result.liveErrors = live.errors
    result.spansSent += live.exportedSpans
    log(`  ${live.calls} calls, ${live.errors} simulated provider errors`)
  }
  return result
}

/** Where `hindsight demo` sends to, and which setting the key came from. */
export interface DemoTarget {
  endpoint: string
  /** The web server's base URL, where the history's scores go. */
  apiUrl: string
  apiKey: string
  keySource: 'HINDSIGHT_API_KEY' | 'HINDSIGHT_INIT_API_KEY' | 'credentials.json'
}

/** Host part of a URL; IPv6 literals need brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/**
 * The instance the environment describes: OTLP on HINDSIGHT_HOST:HINDSIGHT_OTLP_PORT, the REST API
 * (for the history's scores) on HINDSIGHT_HOST:HINDSIGHT_PORT; the key
 * from HINDSIGHT_API_KEY, else HINDSIGHT_INIT_API_KEY, else the Demo project's key that
 * `hindsight start` stored in the data directory.
 */
export function resolveDemoTarget(config: Config): DemoTarget {
  const endpoint = `http://${urlHost(config.host)}:${config.otlpPort}`
  const apiUrl = `http://${urlHost(config.host)}:${config.port}`
  if (config.apiKey) return { endpoint, apiUrl, apiKey: config.apiKey, keySource: 'HINDSIGHT_API_KEY' }
  if (config.initApiKey) {
    return { endpoint, apiUrl, apiKey: config.initApiKey, keySource: 'HINDSIGHT_INIT_API_KEY' }
  }
  const { demoProjectId } = readLocalState(config.dataDir)
  const key = demoProjectId ? readCredentials(config.dataDir)[demoProjectId] : undefined
  if (key) return { endpoint, apiUrl, apiKey: key, keySource: 'credentials.json' }
  throw new Error(
    'No API key to send the demo with. Set HINDSIGHT_API_KEY to a project key (printed by ' +
      '`hindsight start` on first start), or start Hindsight once with HINDSIGHT_DEMO=on so it creates ' +
      `a Demo project and stores its key in ${config.dataDir}/credentials.json.`,
  )
}

/**
 * Fail early and clearly when nothing listens at the endpoint or the key is refused, rather than
 * letting the exporter drop every batch quietly.
 */
export async function checkCollector(target: Pick<DemoTarget, 'endpoint' | 'apiKey'>): Promise<void> {
  let response: Response
  try {
    response = await fetch(`${target.endpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.apiKey}` },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    })
  } catch (error) {
    throw new Error(
      `Nothing answers at ${target.endpoint}/v1/traces (${(error as Error).message}). ` +
        'Start Hindsight first (`pnpm start`) with the same HINDSIGHT_HOST / HINDSIGHT_OTLP_PORT.',
    )
  }
  await response.body?.cancel()
  if (response.status === 401) {
    throw new Error(`The collector at ${target.endpoint} refused the API key (401): check the key's project.`)
  }
  if (!response.ok) {
    throw new Error(`The collector at ${target.endpoint} answered ${response.status} to an empty export.`)
  }
}
