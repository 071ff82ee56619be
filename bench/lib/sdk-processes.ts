// The process plumbing `pnpm bench:sdk` (bench/sdk.ts) and the SDK ablation (sdk-ablation.ts)
// share: a clean environment for the children, the fake OpenAI server + sink process
// (sdk-server.ts), running a child to its end, and the median of the rounds.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const root = join(new URL('.', import.meta.url).pathname, '../..')

/** The environment without the developer's own telemetry settings (children must not pick them up). */
export function withoutTelemetryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OTEL_|HINDSIGHT_|LANGFUSE_|TRACELOOP_|OPENAI_)/.test(k)) continue
    env[k] = v
  }
  return env
}

export interface SdkServer {
  openaiBaseURL: string
  sinkURL: string
  /** Ends the server process (closes its stdin). */
  stop(): void
}

/** Starts the fake OpenAI server and the sink (sdk-server.ts) in their own process. */
export async function startSdkServer(env: NodeJS.ProcessEnv): Promise<SdkServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/lib/sdk-server.ts')], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl !== -1) resolve(out.slice(0, nl))
    })
    child.on('exit', (code) => reject(new Error(`server process exited ${code}`)))
  })
  const { openaiBaseURL, sinkURL } = JSON.parse(line) as { openaiBaseURL: string; sinkURL: string }
  return { openaiBaseURL, sinkURL, stop: () => child.stdin.end() }
}

export interface ChildOutput {
  code: number | null
  out: string
  err: string
}

/** Runs `node <args>` from the repository root to its exit; returns its exit code and output. */
export async function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<ChildOutput> {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, out, err }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}
