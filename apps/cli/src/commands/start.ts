import { type AllInOne, banner, startAllInOne } from '../all-in-one'
import type { Config } from '../env'

export { type AllInOne, type AllInOneOptions, type LocalProject, startAllInOne } from '../all-in-one'

/** `hindsight start`: run everything until SIGINT/SIGTERM, then shut down cleanly and exit 0. */
export async function startCommand(config: Config): Promise<void> {
  const app: AllInOne = await startAllInOne(config)
  console.log(banner(config, app))
  app.demoFill.then((result) => {
    if (result) {
      console.log(
        `[demo] the Demo project is ready: ${result.historyTraces} traces of history, ${result.liveCalls} live calls`,
      )
    }
  })
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting for the shutdown to finish`)
      process.exit(1)
    }
    stopping = true
    console.log(`\n${signal}: stopping (flushing buffered spans)…`)
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`shutdown failed: ${(error as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
