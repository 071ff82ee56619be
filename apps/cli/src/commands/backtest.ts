/**
 * `hindsight backtest what-if`: "what if these calls had gone to model B (with caching)?" on
 * recorded traffic. `hindsight backtest replay`: re-issue the recorded calls to model B behind an
 * OpenAI-compatible `--base-url` and compare the measured answers, call by call.
 * `hindsight backtest ab`: compare two releases (or any attribute values) on production traffic,
 * without replay. By default it asks the running Hindsight (REST API, the project of the key);
 * `--direct` opens the storage in this process instead (only when no server holds the embedded
 * data directory). The report is printed as JSON, Markdown, HTML or CSV; progress goes to stderr.
 */
import { readFileSync } from 'node:fs'
import {
  type BacktestReport,
  type BacktestRequestInput,
  BacktestService,
  type ReportFormat,
  renderAnyReport,
} from '@hindsight/backtest'
import { createStorage, migrate } from '@hindsight/collector/storage'
import cliProgress from 'cli-progress'
import { storageOptions } from '../all-in-one'
import type { Config } from '../env'
import { readCredentials } from '../local-state'

export interface WhatIfCommandOptions {
  from?: string
  to?: string
  route?: string[]
  model?: string[]
  release?: string[]
  candidateModel: string
  candidateProvider?: string
  caching?: 'on' | 'off'
  cacheTtl?: '5m' | '1h'
  systemFile?: string
  sample?: number
  seed?: string
  stratify?: 'model' | 'route' | 'day'
  maxCostRatio?: number
  maxCostUsd?: number
  maxP95Ms?: number
  maxP50Ms?: number
  format: ReportFormat
  resamples?: number
  /** Open the storage in this process instead of asking the running server. */
  direct?: boolean
  /** Project id: required with --direct; with REST, picks the key from credentials.json. */
  project?: string
  /** Base URL of the running Hindsight (default from HINDSIGHT_HOST/HINDSIGHT_PORT). */
  url?: string
  /** Show a progress bar on stderr. @default process.stderr.isTTY */
  progress?: boolean
}

export interface ReplayCommandOptions extends WhatIfCommandOptions {
  /** The candidate's OpenAI-compatible endpoint (the key comes from the server's OPENAI_API_KEY). */
  baseUrl: string
  /** Stop before spending more than this (USD). */
  budget?: number
  /** Requests in flight at once. */
  concurrency?: number
  /** Candidate price in USD per 1M tokens (input, output), for models the price table does not know. */
  priceInput?: number
  priceOutput?: number
}

const WEEK_MS = 7 * 86_400_000

/** The provider a model name most likely belongs to, when --candidate-provider is not given. */
export function inferProvider(model: string): string {
  const m = model.toLowerCase()
  if (m.startsWith('claude') || m.startsWith('anthropic.')) return 'anthropic'
  if (m.startsWith('gemini')) return 'gcp.gemini'
  if (m.startsWith('deepseek')) return 'deepseek'
  return 'openai'
}

/** The request the options describe (the API's body). */
export function whatIfRequest(o: WhatIfCommandOptions, now = new Date()): BacktestRequestInput {
  const to = o.to ? new Date(o.to) : now
  const from = o.from ? new Date(o.from) : new Date(to.getTime() - WEEK_MS)
  for (const [name, d] of [
    ['--from', from],
    ['--to', to],
  ] as const) {
    if (Number.isNaN(d.getTime()))
      throw new Error(`${name} must be an ISO 8601 time such as 2026-05-04T00:00:00Z`)
  }
  const objectives: Record<string, number> = {}
  if (o.maxCostRatio !== undefined) objectives.cost_per_call_max_ratio = o.maxCostRatio
  if (o.maxCostUsd !== undefined) objectives.cost_per_call_max_usd = o.maxCostUsd
  if (o.maxP95Ms !== undefined) objectives.latency_p95_max_ms = o.maxP95Ms
  if (o.maxP50Ms !== undefined) objectives.latency_p50_max_ms = o.maxP50Ms
  return {
    mode: 'what_if',
    cohort: {
      filter: {
        from: from.toISOString(),
        to: to.toISOString(),
        route: o.route,
        model: o.model,
        release: o.release,
      },
      sample: o.sample ? { size: o.sample, seed: o.seed ?? 'hindsight', stratify_by: o.stratify } : undefined,
    },
    candidate: {
      provider: o.candidateProvider ?? inferProvider(o.candidateModel),
      model: o.candidateModel,
      caching: o.caching ?? 'off',
      cache_ttl: o.cacheTtl ?? '5m',
      prompt: o.systemFile ? { system: readFileSync(o.systemFile, 'utf8') } : {},
    },
    objectives,
    options: o.resamples ? { resamples: o.resamples } : {},
  }
}

/** The replay request the options describe (the API's body). */
export function replayRequest(o: ReplayCommandOptions, now = new Date()): BacktestRequestInput {
  const base = whatIfRequest(o, now)
  if (!/^https?:\/\//.test(o.baseUrl))
    throw new Error('--base-url must be an http(s) URL such as http://localhost:8000/v1')
  if ((o.priceInput === undefined) !== (o.priceOutput === undefined))
    throw new Error('--price-input and --price-output go together (USD per 1M tokens)')
  return {
    ...base,
    mode: 'replay',
    candidate: {
      ...base.candidate,
      base_url: o.baseUrl,
      ...(o.budget !== undefined ? { budget_usd: o.budget } : {}),
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.priceInput !== undefined && o.priceOutput !== undefined
        ? { price: { input: o.priceInput, output: o.priceOutput } }
        : {}),
    },
  }
}

function progressBar(enabled: boolean, label = 'what-if') {
  if (!enabled) return { update: (_f: number, _step: string) => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, hideCursor: true, clearOnComplete: true },
    { format: `${label} [{bar}] {percentage}% | {step}`, barCompleteChar: '█', barIncompleteChar: '░' },
  )
  bar.start(100, 0, { step: 'starting' })
  return {
    update: (fraction: number, step: string) => bar.update(Math.round(fraction * 100), { step }),
    stop: () => bar.stop(),
  }
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** Key for the REST API: HINDSIGHT_API_KEY, the init key, or --project's key from credentials.json. */
function apiKey(config: Config, project: string | undefined): string {
  if (config.apiKey) return config.apiKey
  if (config.initApiKey) return config.initApiKey
  const credentials = readCredentials(config.dataDir)
  if (project && credentials[project]) return credentials[project]
  const known = Object.keys(credentials)
  if (!project && known.length === 1 && known[0]) return credentials[known[0]] ?? ''
  throw new Error(
    'No API key for the back-test. Set HINDSIGHT_API_KEY to the project key (printed by `hindsight start`)' +
      (known.length > 1 ? `, or pass --project with one of: ${known.join(', ')}` : '') +
      '; or use --direct --project <id> when no server is running.',
  )
}

interface ApiRecord {
  id: string
  status: string
  progress: number
  message: string
}

async function viaRest(
  config: Config,
  o: WhatIfCommandOptions,
  request: BacktestRequestInput,
  bar: ReturnType<typeof progressBar>,
) {
  const base = `${o.url ?? `http://${urlHost(config.host)}:${config.port}`}/api/public/v1`
  const headers = { authorization: `Bearer ${apiKey(config, o.project)}`, 'content-type': 'application/json' }
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> => {
    let response: Response
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (error) {
      throw new Error(
        `Nothing answers at ${base} (${(error as Error).message}). Start Hindsight (\`pnpm start\`), pass --url, or use --direct.`,
      )
    }
    return { status: response.status, text: await response.text() }
  }
  const errorOf = (text: string) => {
    try {
      return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
    } catch {
      return text
    }
  }
  const started = await call('POST', '/backtests', request)
  if (started.status !== 202)
    throw new Error(`the back-test was refused (${started.status}): ${errorOf(started.text)}`)
  const { id } = JSON.parse(started.text) as ApiRecord
  for (;;) {
    const polled = await call('GET', `/backtests/${id}`)
    if (polled.status !== 200)
      throw new Error(`polling ${id} failed (${polled.status}): ${errorOf(polled.text)}`)
    const record = JSON.parse(polled.text) as ApiRecord
    bar.update(record.progress, record.message)
    if (record.status === 'failed') throw new Error(`the back-test failed: ${record.message}`)
    if (record.status === 'done' || record.status === 'stopped_budget') break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const report = await call('GET', `/backtests/${id}/report`)
  if (report.status !== 200)
    throw new Error(`fetching the report failed (${report.status}): ${errorOf(report.text)}`)
  return JSON.parse(report.text) as BacktestReport
}

async function direct(
  config: Config,
  o: WhatIfCommandOptions,
  request: BacktestRequestInput,
  bar: ReturnType<typeof progressBar>,
) {
  if (!o.project)
    throw new Error('--direct needs --project <project id> (the dashboard URL shows it as ?project=…)')
  const storage = await createStorage(storageOptions(config))
  try {
    await migrate(storage)
    const { report } = await new BacktestService(storage).run(o.project, request, (f, step) =>
      bar.update(f, step),
    )
    return report
  } finally {
    await storage.close()
  }
}

/** Run the what-if and return the rendered report (the command prints it). */
export async function whatIf(
  config: Config,
  o: WhatIfCommandOptions,
): Promise<{ report: BacktestReport; output: string }> {
  const request = whatIfRequest(o)
  const bar = progressBar(o.progress ?? Boolean(process.stderr.isTTY))
  try {
    const report = o.direct ? await direct(config, o, request, bar) : await viaRest(config, o, request, bar)
    return { report, output: renderAnyReport(report, o.format) }
  } finally {
    bar.stop()
  }
}

/** Run the replay and return the rendered report (the command prints it). */
export async function replay(
  config: Config,
  o: ReplayCommandOptions,
): Promise<{ report: BacktestReport; output: string }> {
  const request = replayRequest(o)
  const bar = progressBar(o.progress ?? Boolean(process.stderr.isTTY), 'replay')
  try {
    const report = o.direct ? await direct(config, o, request, bar) : await viaRest(config, o, request, bar)
    return { report, output: renderAnyReport(report, o.format) }
  } finally {
    bar.stop()
  }
}

export async function backtestReplayCommand(config: Config, o: ReplayCommandOptions): Promise<void> {
  const { report, output } = await replay(config, o)
  process.stdout.write(output)
  if (report.verdict.result === 'fail') process.exitCode = 3
}

export async function backtestWhatIfCommand(config: Config, o: WhatIfCommandOptions): Promise<void> {
  const { report, output } = await whatIf(config, o)
  process.stdout.write(output)
  // A failed objective is a non-zero exit, so scripts and CI can gate on it; inconclusive is 0.
  if (report.verdict.result === 'fail') process.exitCode = 3
}

const ONE_OF = <T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined => {
  if (value === undefined) return undefined
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new Error(`${name} must be one of ${allowed.join(', ')}, got '${String(value)}'`)
}

/** Commander's parsed options → typed command options (choices checked here, with the flag named). */
export function parseWhatIfOptions(raw: Record<string, unknown>): WhatIfCommandOptions {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined)
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined)
  return {
    candidateModel: String(raw.candidateModel),
    candidateProvider: text(raw.candidateProvider),
    from: text(raw.from),
    to: text(raw.to),
    route: list(raw.route),
    model: list(raw.model),
    release: list(raw.release),
    caching: ONE_OF('--caching', raw.caching, ['on', 'off'] as const),
    cacheTtl: ONE_OF('--cache-ttl', raw.cacheTtl, ['5m', '1h'] as const),
    systemFile: text(raw.systemFile),
    sample: num(raw.sample) || undefined,
    seed: text(raw.seed),
    stratify: ONE_OF('--stratify', raw.stratify, ['model', 'route', 'day'] as const),
    maxCostRatio: num(raw.maxCostRatio),
    maxCostUsd: num(raw.maxCostUsd),
    maxP95Ms: num(raw.maxP95Ms),
    maxP50Ms: num(raw.maxP50Ms),
    format: ONE_OF('--format', raw.format, ['json', 'md', 'html', 'csv'] as const) ?? 'md',
    resamples: num(raw.resamples) || undefined,
    direct: raw.direct === true,
    project: text(raw.project),
    url: text(raw.url),
    progress: raw.progress === false ? false : undefined,
  }
}

/** Commander's parsed options for `backtest replay` (what-if's, plus --base-url, --budget, --concurrency). */
export function parseReplayOptions(raw: Record<string, unknown>): ReplayCommandOptions {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  if (typeof raw.baseUrl !== 'string' || raw.baseUrl === '')
    throw new Error('--base-url is required: the OpenAI-compatible endpoint of the candidate')
  const concurrency = num(raw.concurrency)
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256))
    throw new Error('--concurrency must be an integer from 1 to 256')
  const budget = num(raw.budget)
  if (budget !== undefined && budget <= 0) throw new Error('--budget must be a positive number of USD')
  return {
    ...parseWhatIfOptions(raw),
    baseUrl: raw.baseUrl,
    budget,
    concurrency,
    priceInput: num(raw.priceInput),
    priceOutput: num(raw.priceOutput),
  }
}

/** `hindsight backtest ab`: two arms of production traffic, no candidate model and no calls. */
export interface AbCommandOptions
  extends Omit<
    WhatIfCommandOptions,
    'candidateModel' | 'candidateProvider' | 'caching' | 'cacheTtl' | 'systemFile'
  > {
  /** What splits the arms: release (default), model, provider, route, environment, service, tag, metadata.<key> or an attribute key. */
  attribute: string
  baseline: string
  candidate: string
  /** Objective: the candidate arm's mean quality (score `qualityScore`) at least this. */
  minQuality?: number
  qualityScore?: string
}

/** The live A/B request the options describe (the API's body; no candidate spec). */
export function abRequest(o: AbCommandOptions, now = new Date()): BacktestRequestInput {
  const base = whatIfRequest({ ...o, candidateModel: o.candidate }, now)
  const objectives: Record<string, number | string> = { ...base.objectives }
  if (o.minQuality !== undefined) objectives.min_quality = o.minQuality
  if (o.qualityScore !== undefined) objectives.quality_score = o.qualityScore
  const { candidate: _candidate, ...rest } = base
  return {
    ...rest,
    mode: 'ab',
    ab: { attribute: o.attribute, baseline: o.baseline, candidate: o.candidate },
    objectives,
  } as BacktestRequestInput
}

/** Run the live A/B and return the rendered report (the command prints it). */
export async function ab(
  config: Config,
  o: AbCommandOptions,
): Promise<{ report: BacktestReport; output: string }> {
  const request = abRequest(o)
  const bar = progressBar(o.progress ?? Boolean(process.stderr.isTTY), 'a/b')
  const options = { ...o, candidateModel: o.candidate }
  try {
    const report = o.direct
      ? await direct(config, options, request, bar)
      : await viaRest(config, options, request, bar)
    return { report, output: renderAnyReport(report, o.format) }
  } finally {
    bar.stop()
  }
}

export async function backtestAbCommand(config: Config, o: AbCommandOptions): Promise<void> {
  const { report, output } = await ab(config, o)
  process.stdout.write(output)
  if (report.verdict.result === 'fail') process.exitCode = 3
}

/** Commander's parsed options for `backtest ab` (--baseline and --candidate required). */
export function parseAbOptions(raw: Record<string, unknown>): AbCommandOptions {
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)
  const baseline = text(raw.baseline)
  const candidate = text(raw.candidate)
  if (!baseline || !candidate)
    throw new Error('--baseline and --candidate are required: the two values of --attribute to compare')
  if (baseline === candidate) throw new Error('--candidate must differ from --baseline')
  const {
    candidateModel: _m,
    candidateProvider: _p,
    caching: _c,
    cacheTtl: _t,
    systemFile: _s,
    ...common
  } = parseWhatIfOptions({ ...raw, candidateModel: candidate })
  const minQuality =
    typeof raw.minQuality === 'number' && Number.isFinite(raw.minQuality) ? raw.minQuality : undefined
  return {
    ...common,
    attribute: text(raw.attribute) ?? 'release',
    baseline,
    candidate,
    minQuality,
    qualityScore: text(raw.qualityScore),
  }
}
