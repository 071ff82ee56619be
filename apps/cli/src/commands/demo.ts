import { checkCollector, resolveDemoTarget, runDemo } from '../demo'
import type { Config } from '../env'

export interface DemoCommandOptions {
  historyDays: number
  calls: number
  history: boolean
}

/** `hindsight demo`: send history and a live run to the instance the environment describes. */
export async function demoCommand(config: Config, options: DemoCommandOptions): Promise<void> {
  const target = resolveDemoTarget(config)
  console.log(`Sending demo traffic to ${target.endpoint}/v1/traces (key from ${target.keySource})`)
  await checkCollector(target)
  const started = Date.now()
  const result = await runDemo({
    endpoint: target.endpoint,
    apiUrl: target.apiUrl,
    apiKey: target.apiKey,
    history: options.history,
    historyDays: options.historyDays,
    calls: options.calls,
    log: (line) => console.log(line),
  })
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(
    `Done in ${seconds} s: ${result.spansSent} spans sent (${result.historySpans} history, ` +
      `${result.spansSent - result.historySpans} live from ${result.liveCalls} calls), ` +
      `${result.scoresSent} scores.`,
  )
}
