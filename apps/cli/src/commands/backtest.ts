/**
 * `hindsight backtest what-if`: "what if these calls had gone to model B (with caching)?" on
 * recorded traffic. `hindsight backtest replay`: re-issue the recorded calls to model B (behind an
 * OpenAI-compatible `--base-url`, or Anthropic's Messages API with `--api anthropic`), score both
 * arms with the same evaluators (`--evaluator`, `--judge-*`, `--evaluation file.json`) and compare
 * cost, latency and quality call by call against the objectives.
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
  type EvaluationInput,
  evaluationSchema,
  type ReportFormat,
  renderReport,
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

/** An LLM judge for `--evaluator judge:<rubric>` (the key is read from the server's `keyEnv`). */
export interface JudgeOptions {
  provider: 'openai' | 'anthropic'
  model: string
  keyEnv?: string
  baseUrl?: string
}

export interface ReplayCommandOptions extends WhatIfCommandOptions {
  /**
   * The candidate's endpoint: an OpenAI-compatible base URL (required with `api: 'openai'`), or
   * Anthropic's (default api.anthropic.com). The key is the server's OPENAI_API_KEY / ANTHROPIC_API_KEY.
   */
  baseUrl?: string
  /** Wire protocol. @default 'anthropic' for an Anthropic candidate (e.g. claude-*), else 'openai' */
  api?: 'openai' | 'anthropic'
  /** Call the candidate streaming (measures its time to first token). */
  stream?: boolean
  /** Evaluators for both arms, in the shorthand `parseEvaluator` reads. */
  evaluators?: string[]
  /** A JSON file with the request's whole `evaluation` object (its evaluators come first). */
  evaluationFile?: string
  /** Also run the project's online evaluation rules for the cohort's routes. */
  onlineRules?: boolean
  /** The judge `judge:<rubric>` evaluators use. */
  judge?: JudgeOptions
  /** Objectives on quality (the replay's evaluators). */
  minQuality?: number
  maxQualityRegression?: number
  qualityScore?: string
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

type EvaluatorSpecInput = NonNullable<EvaluationInput['evaluators']>[number]

/** Built-ins that need no options, as `--evaluator <name>`. */
const PLAIN_BUILTINS = new Set([
  'exact_match',
  'valid_json',
  'refusal',
  'citation_present',
  'citations_resolvable',
])

/**
 * One `--evaluator` value → an evaluator spec:
 * `exact_match`, `valid_json`, `refusal`, `citation_present` (built-ins); `reference_f1` (token F1
 * against the recorded answer); `contains:a,b` (all of them); `length_bounds:MIN-MAX` (characters,
 * either end may be empty); `judge:<rubric>` (correctness, helpfulness, …; needs --judge-model);
 * `custom:<name>` (a custom evaluator registered in the server).
 */
export function parseEvaluator(text: string, judge?: JudgeOptions): EvaluatorSpecInput {
  const value = text.trim()
  const colon = value.indexOf(':')
  const name = colon < 0 ? value : value.slice(0, colon)
  const arg = colon < 0 ? '' : value.slice(colon + 1).trim()
  if (colon < 0 && PLAIN_BUILTINS.has(name)) return { type: 'builtin', evaluator: name as 'exact_match' }
  if (name === 'reference_f1' && colon < 0) return { type: 'custom', evaluator: 'reference_f1' }
  if (name === 'contains') {
    const values = arg
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
    if (values.length === 0)
      throw new Error('--evaluator contains:<text>[,<text>…] needs the text to look for')
    return { type: 'builtin', evaluator: 'contains', options: { values } }
  }
  if (name === 'length_bounds') {
    const m = /^(\d*)-(\d*)$/.exec(arg)
    if (!m || (m[1] === '' && m[2] === ''))
      throw new Error(
        '--evaluator length_bounds:MIN-MAX (characters; e.g. 20-2000, or -500 for a maximum only)',
      )
    return {
      type: 'builtin',
      evaluator: 'length_bounds',
      options: { ...(m[1] ? { min: Number(m[1]) } : {}), ...(m[2] ? { max: Number(m[2]) } : {}) },
    }
  }
  if (name === 'judge') {
    if (!judge)
      throw new Error(
        '--evaluator judge:<rubric> needs --judge-model (and --judge-provider, --judge-key-env)',
      )
    return {
      type: 'judge',
      rubric: (arg || 'correctness') as 'correctness',
      endpoint: {
        provider: judge.provider,
        model: judge.model,
        ...(judge.keyEnv ? { apiKeyEnv: judge.keyEnv } : {}),
        ...(judge.baseUrl ? { baseURL: judge.baseUrl } : {}),
      },
    }
  }
  if (name === 'custom' && arg) return { type: 'custom', evaluator: arg }
  throw new Error(
    `--evaluator '${value}' is not one of: exact_match, reference_f1, valid_json, refusal, citation_present, contains:<a,b>, length_bounds:<min-max>, judge:<rubric>, custom:<name>`,
  )
}

/** The request's `evaluation` from --evaluation FILE, --evaluator (repeated), --judge-* and --online-rules. */
export function replayEvaluation(o: ReplayCommandOptions): EvaluationInput | undefined {
  let fromFile: Record<string, unknown> = {}
  if (o.evaluationFile) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(o.evaluationFile, 'utf8'))
    } catch (error) {
      throw new Error(`--evaluation ${o.evaluationFile}: ${(error as Error).message}`)
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(
        `--evaluation ${o.evaluationFile}: expected a JSON object such as { "evaluators": [...] }`,
      )
    fromFile = parsed as Record<string, unknown>
  }
  const evaluators = [
    ...(Array.isArray(fromFile.evaluators) ? (fromFile.evaluators as EvaluatorSpecInput[]) : []),
    ...(o.evaluators ?? []).map((e) => parseEvaluator(e, o.judge)),
  ]
  // A judge given without --evaluator judge:… is a judge on the correctness rubric.
  if (o.judge && !(o.evaluators ?? []).some((e) => e.trim().startsWith('judge')))
    evaluators.push(parseEvaluator('judge:correctness', o.judge))
  const rules = o.onlineRules ? 'route' : fromFile.rules
  if (evaluators.length === 0 && rules === undefined) {
    if (o.evaluationFile) throw new Error(`--evaluation ${o.evaluationFile}: give evaluators, rules, or both`)
    return undefined
  }
  const evaluation = { ...fromFile, evaluators, ...(rules !== undefined ? { rules } : {}) }
  const checked = evaluationSchema.safeParse(evaluation)
  if (!checked.success) {
    const issue = checked.error.issues[0]
    throw new Error(`evaluation.${issue?.path.join('.')}: ${issue?.message}`)
  }
  return evaluation as EvaluationInput
}

/** The replay request the options describe (the API's body). */
export function replayRequest(o: ReplayCommandOptions, now = new Date()): BacktestRequestInput {
  const base = whatIfRequest(o, now)
  // An Anthropic candidate speaks the Messages API unless told otherwise (an OpenAI-compatible proxy: --api openai).
  const api = o.api ?? (base.candidate?.provider === 'anthropic' ? 'anthropic' : 'openai')
  if (api === 'openai' && !o.baseUrl)
    throw new Error(
      '--base-url is required with the OpenAI API: the OpenAI-compatible endpoint of the candidate (for Claude use --api anthropic)',
    )
  if (o.baseUrl !== undefined && !/^https?:\/\//.test(o.baseUrl))
    throw new Error('--base-url must be an http(s) URL such as http://localhost:8000/v1')
  if ((o.priceInput === undefined) !== (o.priceOutput === undefined))
    throw new Error('--price-input and --price-output go together (USD per 1M tokens)')
  const objectives: Record<string, number | string> = { ...base.objectives }
  if (o.minQuality !== undefined) objectives.min_quality = o.minQuality
  if (o.maxQualityRegression !== undefined) objectives.max_quality_regression = o.maxQualityRegression
  if (o.qualityScore !== undefined) objectives.quality_score = o.qualityScore
  const evaluation = replayEvaluation(o)
  return {
    ...base,
    mode: 'replay',
    objectives,
    ...(evaluation ? { evaluation } : {}),
    candidate: {
      ...base.candidate,
      ...(api === 'anthropic' ? { api } : {}),
      ...(o.baseUrl !== undefined ? { base_url: o.baseUrl } : {}),
      ...(o.stream ? { parameters: { stream: true } } : {}),
      ...(o.budget !== undefined ? { budget_usd: o.budget } : {}),
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.priceInput !== undefined && o.priceOutput !== undefined
        ? { price: { input: o.priceInput, output: o.priceOutput } }
        : {}),
    },
  }
}

function progressBar(enabled: boolean, label: string) {
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
  return run(config, o, whatIfRequest(o), 'what-if')
}

/** Run a back-test (through the server's REST API, or `--direct` in-process) with a progress bar; render its report. */
async function run(
  config: Config,
  o: WhatIfCommandOptions,
  request: BacktestRequestInput,
  label: string,
): Promise<{ report: BacktestReport; output: string }> {
  const bar = progressBar(o.progress ?? Boolean(process.stderr.isTTY), label)
  try {
    const report = o.direct ? await direct(config, o, request, bar) : await viaRest(config, o, request, bar)
    return { report, output: renderReport(report, o.format) }
  } finally {
    bar.stop()
  }
}

/**
 * Print a rendered report. A failed objective is a non-zero exit (3), so scripts and CI can gate
 * on it; inconclusive is 0.
 */
function print({ report, output }: { report: BacktestReport; output: string }): void {
  process.stdout.write(output)
  if (report.verdict.result === 'fail') process.exitCode = 3
}

/** Run the replay and return the rendered report (the command prints it). */
export async function replay(
  config: Config,
  o: ReplayCommandOptions,
): Promise<{ report: BacktestReport; output: string }> {
  return run(config, o, replayRequest(o), 'replay')
}

export async function backtestReplayCommand(config: Config, o: ReplayCommandOptions): Promise<void> {
  print(await replay(config, o))
}

export async function backtestWhatIfCommand(config: Config, o: WhatIfCommandOptions): Promise<void> {
  print(await whatIf(config, o))
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

/**
 * Commander's parsed options for `backtest replay` (what-if's, plus --base-url / --api, --budget,
 * --concurrency, --stream, the evaluators and the quality objectives).
 */
export function parseReplayOptions(raw: Record<string, unknown>): ReplayCommandOptions {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)
  const api = ONE_OF('--api', raw.api, ['openai', 'anthropic'] as const)
  const provider = text(raw.candidateProvider) ?? inferProvider(String(raw.candidateModel))
  const baseUrl = text(raw.baseUrl)
  if (!baseUrl && (api ?? (provider === 'anthropic' ? 'anthropic' : 'openai')) === 'openai')
    throw new Error(
      '--base-url is required: the OpenAI-compatible endpoint of the candidate (for Claude: --api anthropic, or a claude-* model)',
    )
  const judgeModel = text(raw.judgeModel)
  const judgeProvider = ONE_OF('--judge-provider', raw.judgeProvider, ['openai', 'anthropic'] as const)
  if (!judgeModel && (judgeProvider || text(raw.judgeKeyEnv) || text(raw.judgeBaseUrl)))
    throw new Error('--judge-provider, --judge-key-env and --judge-base-url need --judge-model')
  const judge: JudgeOptions | undefined = judgeModel
    ? {
        provider: judgeProvider ?? (inferProvider(judgeModel) === 'anthropic' ? 'anthropic' : 'openai'),
        model: judgeModel,
        keyEnv: text(raw.judgeKeyEnv),
        baseUrl: text(raw.judgeBaseUrl),
      }
    : undefined
  const maxQualityRegression = num(raw.maxQualityRegression)
  if (maxQualityRegression !== undefined && maxQualityRegression < 0)
    throw new Error('--max-quality-regression must be ≥ 0 (0 = no regression at all)')
  const concurrency = num(raw.concurrency)
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256))
    throw new Error('--concurrency must be an integer from 1 to 256')
  const budget = num(raw.budget)
  if (budget !== undefined && budget <= 0) throw new Error('--budget must be a positive number of USD')
  return {
    ...parseWhatIfOptions(raw),
    baseUrl,
    api,
    stream: raw.stream === true,
    budget,
    concurrency,
    priceInput: num(raw.priceInput),
    priceOutput: num(raw.priceOutput),
    evaluators: Array.isArray(raw.evaluator) ? raw.evaluator.map(String) : undefined,
    evaluationFile: text(raw.evaluation),
    onlineRules: raw.onlineRules === true,
    judge,
    minQuality: num(raw.minQuality),
    maxQualityRegression,
    qualityScore: text(raw.qualityScore),
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
  return run(config, { ...o, candidateModel: o.candidate }, abRequest(o), 'a/b')
}

export async function backtestAbCommand(config: Config, o: AbCommandOptions): Promise<void> {
  print(await ab(config, o))
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
