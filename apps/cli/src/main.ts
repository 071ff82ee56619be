/**
 * The `hindsight` command line. The environment is parsed once, here, before any command runs;
 * commands receive the typed configuration. Commands are imported when run, so `build` and
 * `--help` do not load the database engine or Next.js.
 */
import { Command, InvalidArgumentError } from 'commander'
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

try {
  await program.parseAsync(process.argv)
} catch (error) {
  console.error(`hindsight: ${(error as Error).message}`)
  process.exit(1)
}
