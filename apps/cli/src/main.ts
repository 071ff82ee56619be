/**
 * The `hindsight` command line. The environment is parsed once, here, before any command runs;
 * commands receive the typed configuration. Commands are imported when run, so `build` and
 * `--help` do not load the database engine or Next.js.
 */
import { Command, InvalidArgumentError } from 'commander'
import { parseIsoTime } from './commands/iso-time'
import { CONFIG_TABLE, type Config, EnvError, parseEnv } from './env'

function envHelp(): string {
  const width = Math.max(...CONFIG_TABLE.map((v) => v.name.length))
  const rows = CONFIG_TABLE.map(
    (v) => `  ${v.name.padEnd(width)}  ${v.description}${v.default ? ` (default: ${v.default})` : ''}`,
  )
  return `\nEnvironment variables:\n${rows.join('\n')}\n`
}

function config(): Config {
  try {
    return parseEnv()
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message)
      process.exit(2)
    }
    throw error
  }
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got '${value}'`)
    }
    return n
  }
}

function isoTime(name: string) {
  return (value: string): Date => {
    const date = parseIsoTime(value)
    if (!date) throw new InvalidArgumentError(`${name} must be an ISO 8601 date or time, got '${value}'`)
    return date
  }
}

const program = new Command()
  .name('hindsight')
  .description('Hindsight: LLM observability (traces, cost, latency) with back-testing')
  .showHelpAfterError('(add --help for usage and environment variables)')
  .addHelpText('after', envHelp())

program
  .command('start')
  .description('run the dashboard, REST API and OTLP collector in one process (embedded ClickHouse)')
  .addHelpText('after', envHelp())
  .action(async () => {
    const cfg = config()
    const { startCommand } = await import('./commands/start')
    await startCommand(cfg)
  })

program
  .command('demo')
  .description('send simulated traffic (a week of history + a live sample app) to a running Hindsight')
  .option('--history-days <days>', 'days of history to send', nonNegativeInt('--history-days'), 7)
  .option(
    '--calls <n>',
    'live sample-app calls against the simulated provider',
    nonNegativeInt('--calls'),
    40,
  )
  .option('--no-history', 'skip the history, only run the live sample app')
  .addHelpText('after', envHelp())
  .action(async (options: { historyDays: number; calls: number; history: boolean }) => {
    const cfg = config()
    const { demoCommand } = await import('./commands/demo')
    await demoCommand(cfg, options)
  })

program
  .command('build')
  .description('build the Next.js dashboard if its build is missing or older than its sources')
  .option('--force', 'build even when the build is up to date')
  .action(async (options: { force?: boolean }) => {
    const { buildCommand } = await import('./commands/build')
    await buildCommand(options)
  })

program
  .command('migrate')
  .description('apply pending ClickHouse migrations and print the schema versions')
  .addHelpText('after', envHelp())
  .action(async () => {
    const cfg = config()
    const { migrateCommand } = await import('./commands/migrate')
    await migrateCommand(cfg)
  })

program
  .command('reprice')
  .description('recompute stored span costs in a time range with the current prices (custom prices included)')
  .requiredOption(
    '--from <iso>',
    'start of the range (inclusive), ISO 8601, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
    isoTime('--from'),
  )
  .requiredOption('--to <iso>', 'end of the range (exclusive), ISO 8601', isoTime('--to'))
  .option('--project <name|id>', 'only this project (default: every project with spans in the range)')
  .addHelpText('after', envHelp())
  .action(async (options: { from: Date; to: Date; project?: string }) => {
    const cfg = config()
    const { repriceCommand } = await import('./commands/reprice')
    await repriceCommand(cfg, options)
  })

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
]
const positive = (name: string) => (value: string) => {
  const n = Number(value)
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a number > 0, got '${value}'`)
  return n
}
const backtest = program
  .command('backtest')
  .description('back-test architectures on recorded traffic: instant what-if, or replay with real calls')

/** The report and connection options of every back-test command. */
const withReportOptions = (command: Command): Command =>
  command
    .option('--format <json|md|html|csv>', 'report format', 'md')
    .option('--resamples <n>', 'bootstrap resamples (default 10000)', nonNegativeInt('--resamples'))
    .option('--direct', 'open the storage in this process instead of asking the running server')
    .option('--project <id>', 'project id (needed with --direct; else picks the key from credentials.json)')
    .option(
      '--url <url>',
      'base URL of the running Hindsight (default: from HINDSIGHT_HOST / HINDSIGHT_PORT)',
    )
    .option('--no-progress', 'no progress bar')

/**
 * The sample and the cost and latency objectives of every back-test command (`latencyNote` says
 * how the candidate's latency is known: projected in what-if and replay, measured in ab).
 */
const withSampleAndObjectives = (command: Command, latencyNote: string): Command =>
  command
    .option('--sample <traces>', 'a seeded sample of this many traces', nonNegativeInt('--sample'))
    .option('--seed <seed>', 'sample seed (same seed, same traces)')
    .option('--stratify <model|route|day>', 'keep each stratum’s share in the sample')
    .option(
      '--max-cost-ratio <ratio>',
      'objective: candidate cost per call ≤ ratio × baseline',
      positive('--max-cost-ratio'),
    )
    .option('--max-cost-usd <usd>', 'objective: candidate cost per call ≤ this', positive('--max-cost-usd'))
    .option(
      '--max-p95-ms <ms>',
      `objective: candidate latency p95 ≤ this${latencyNote}`,
      positive('--max-p95-ms'),
    )
    .option(
      '--max-p50-ms <ms>',
      `objective: candidate latency p50 ≤ this${latencyNote}`,
      positive('--max-p50-ms'),
    )

/** The cohort, candidate, objective and output options `what-if` and `replay` share. */
const withBacktestOptions = (command: Command): Command =>
  withReportOptions(
    withSampleAndObjectives(
      command
        .requiredOption(
          '--candidate-model <model>',
          'the model to evaluate, e.g. gpt-4.1-mini or claude-sonnet-4-5',
        )
        .option(
          '--candidate-provider <provider>',
          'openai, anthropic, gcp.gemini, deepseek… (default: from the model name)',
        )
        .option('--from <iso>', 'start of the recorded traffic (default: 7 days before --to)')
        .option('--to <iso>', 'end of the recorded traffic (default: now)')
        .option('--route <route>', 'only calls of this route (repeat or comma-separate)', collect)
        .option(
          '--model <model>',
          'only calls of this model — the ones the candidate replaces (repeat or comma-separate)',
          collect,
        )
        .option('--release <release>', 'only calls of this release (repeat or comma-separate)', collect)
        .option('--caching <on|off>', 'simulate prompt caching with the provider rules', 'off')
        .option('--cache-ttl <5m|1h>', "Anthropic's cache lifetime", '5m')
        .option('--system-file <path>', 'replace the system prompt with this file'),
      ' (projected)',
    ),
  )

withBacktestOptions(
  backtest
    .command('what-if')
    .description(
      're-price recorded calls under another model, simulate prompt caching and project latency (no model calls)',
    ),
)
  .addHelpText('after', envHelp())
  .action(async (options: Record<string, unknown>) => {
    const cfg = config()
    const { backtestWhatIfCommand, parseWhatIfOptions } = await import('./commands/backtest')
    await backtestWhatIfCommand(cfg, parseWhatIfOptions(options))
  })

withBacktestOptions(
  backtest
    .command('replay')
    .description(
      're-issue the recorded calls to the candidate (OpenAI-compatible or Anthropic; real calls, resumable, budget-capped), evaluate both arms and compare paired results',
    ),
)
  .option(
    '--base-url <url>',
    "the candidate's base URL: OpenAI-compatible, e.g. https://api.openai.com/v1 (required with --api openai), or Anthropic's (default api.anthropic.com)",
  )
  .option(
    '--api <openai|anthropic>',
    'wire protocol (default: anthropic for an Anthropic candidate, e.g. claude-*; openai otherwise)',
  )
  .option('--stream', 'call the candidate streaming (measures its time to first token)')
  .option(
    '--evaluator <name>',
    'score both arms with it (repeatable): exact_match, reference_f1, valid_json, refusal, contains:<a,b>, length_bounds:<min-max>, judge:<rubric>, custom:<name>',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option('--evaluation <file.json>', 'the request’s whole `evaluation` object from a JSON file')
  .option('--online-rules', 'also run the project’s online evaluation rules for the cohort’s routes')
  .option('--judge-model <model>', 'LLM judge model for judge:<rubric> (alone: a correctness judge)')
  .option('--judge-provider <openai|anthropic>', 'LLM judge API (default: from the model name)')
  .option('--judge-key-env <NAME>', 'the server environment variable holding the judge key')
  .option('--judge-base-url <url>', 'LLM judge base URL')
  .option('--min-quality <score>', 'objective: candidate mean quality score ≥ this', Number)
  .option(
    '--max-quality-regression <margin>',
    'objective: the paired quality delta’s 95% interval above −margin (non-inferiority)',
    Number,
  )
  .option('--quality-score <name>', 'the score the quality objectives use (default: the first evaluator)')
  .option('--budget <usd>', 'stop when the candidate has cost this many dollars', positive('--budget'))
  .option('--concurrency <n>', 'calls in flight at once (1–256)', positive('--concurrency'))
  .option(
    '--price-input <usd>',
    'candidate input price per 1M tokens, when the model is not in the price table',
    positive('--price-input'),
  )
  .option(
    '--price-output <usd>',
    'candidate output price per 1M tokens, when the model is not in the price table',
    positive('--price-output'),
  )
  .addHelpText('after', envHelp())
  .action(async (options: Record<string, unknown>) => {
    const cfg = config()
    const { backtestReplayCommand, parseReplayOptions } = await import('./commands/backtest')
    await backtestReplayCommand(cfg, parseReplayOptions(options))
  })

withReportOptions(
  withSampleAndObjectives(
    backtest
      .command('ab')
      .description(
        'live A/B: compare two releases (or any attribute values) on recorded production traffic, without replay',
      )
      .option(
        '--attribute <name>',
        'what splits the arms: release, model, provider, route, environment, service, tag, metadata.<key> or an attribute key',
        'release',
      )
      .requiredOption('--baseline <value>', 'the arm compared against, e.g. v1')
      .requiredOption('--candidate <value>', 'the arm judged, e.g. v2')
      .option('--from <iso>', 'start of the recorded traffic (default: 7 days before --to)')
      .option('--to <iso>', 'end of the recorded traffic (default: now)')
      .option('--route <route>', 'only calls of this route (repeat or comma-separate)', collect)
      .option('--model <model>', 'only calls of this model (repeat or comma-separate)', collect),
    '',
  )
    .option('--min-quality <score>', 'objective: candidate mean quality score ≥ this', Number)
    .option('--quality-score <name>', 'the score --min-quality is about'),
)
  .addHelpText('after', envHelp())
  .action(async (options: Record<string, unknown>) => {
    const cfg = config()
    const { backtestAbCommand, parseAbOptions } = await import('./commands/backtest')
    await backtestAbCommand(cfg, parseAbOptions(options))
  })

try {
  await program.parseAsync(process.argv)
} catch (error) {
  console.error(`hindsight: ${(error as Error).message}`)
  process.exit(1)
}
