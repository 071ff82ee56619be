// The `versus` mode of the SDK ablation: the SDK of this tree against another copy of its sources
// (e.g. the last commit's, `git archive HEAD sdk/src | tar -x -C /tmp/old`), in ONE process, taking
// turns call by call like the `paired` mode, so a change to the SDK is measured against what it
// replaces under the same load, JIT and GC. Each copy gets its own `Hindsight` instance exporting to
// the sink (`export`), or one whose spans are encoded and dropped (`encode`), or dropped unencoded
// (`content`). The other copy must resolve the same packages: give it a `node_modules` symlink to
// `sdk/node_modules` next to its `src`. Invoked by sdk-ablation.ts (`ABLATION_KIND=versus`,
// `ABLATION_VERSUS=/path/to/other/sdk/src`).
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AblationMode } from './sdk-ablation-child'
import {
  dropping,
  encodingOnly,
  type RequestBuilderClass,
  type TurnInstance,
  type TurnVariant,
  takeTurns,
} from './sdk-ablation-turns'
import { loadOpenAI } from './sdk-variants'
import { clientOptions } from './sdk-workload'

export const VERSUS_STAGES = ['content', 'encode', 'export'] as const

export interface VersusSpec {
  openaiBaseURL: string
  sinkURL: string
  openaiPackage: string
  mode: AblationMode
  rounds: number
  /** The `src` folder of the other copy of the SDK. */
  other: string
  stages: string[]
}

interface SdkModules {
  Hindsight: new (config: unknown) => TurnInstance
  resolveConfig: (options: unknown, env: unknown) => unknown
  readEnv: () => unknown
  wrapOpenAI: <T extends object>(client: T) => T
  TraceRequestBuilder: RequestBuilderClass
}

async function load(src: string): Promise<SdkModules> {
  const [hindsight, config, env, wrap, encode] = await Promise.all([
    import(join(src, 'hindsight.ts')),
    import(join(src, 'config.ts')),
    import(join(src, 'env.ts')),
    import(join(src, 'openai/wrap.ts')),
    import(join(src, 'otlp-encode.ts')),
  ])
  return {
    Hindsight: hindsight.Hindsight,
    resolveConfig: config.resolveConfig,
    readEnv: env.readEnv,
    wrapOpenAI: wrap.wrapOpenAI,
    TraceRequestBuilder: encode.TraceRequestBuilder,
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as VersusSpec
  const OpenAI = loadOpenAI(spec.openaiPackage)
  const newClient = () => new OpenAI(clientOptions(spec.openaiBaseURL))
  const here = fileURLToPath(new URL('.', import.meta.url))
  const copies: [string, SdkModules][] = [
    ['old', await load(spec.other)],
    ['new', await load(join(here, '../../sdk/src'))],
  ]

  const variants: TurnVariant<TurnInstance>[] = [{ name: 'bare', client: newClient() }]
  for (const stage of spec.stages) {
    for (const [label, sdk] of copies) {
      const id = `${label}-${stage}`
      const processor =
        stage === 'content'
          ? dropping
          : stage === 'encode'
            ? encodingOnly(sdk.TraceRequestBuilder)
            : undefined
      const options = {
        endpoint: `${spec.sinkURL}/${id}`,
        apiKey: 'hs-bench',
        serviceName: `versus-${id}`,
        captureContent: true,
        ...(processor ? { spanProcessor: processor } : {}),
      }
      variants.push({
        name: id,
        client: sdk.wrapOpenAI(newClient()),
        instance: new sdk.Hindsight(sdk.resolveConfig(options, sdk.readEnv())),
      })
    }
  }

  const { rows, wrongReplies } = await takeTurns(variants, spec.mode, spec.rounds)
  process.stdout.write(`\n@@versus ${JSON.stringify({ rows, wrongReplies })}\n`)
  process.exit(0)
}

// The parent imports this module's constants and types: run only when started as a script.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
