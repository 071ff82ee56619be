import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Metadata } from '@grpc/grpc-js'
import { GEN_AI } from '../conventions'
import { rawTraceClient } from '../grpc/raw-client'
import { ExportTraceServiceResponse } from '../otlp/proto'
import { nanos, newSpanId, newTraceId, otlpProtobuf, type TestSpan } from '../testing'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'collector-child.ts')
const KEY = 'hs_test_crash_key_0123456789abcdef'
const SPANS_PER_REQUEST = 40
const HTTP_WORKERS = 5
const GRPC_WORKERS = 2
/** Acknowledged spans before the kill. */
const KILL_AFTER = 3000

const dirs: string[] = []
const children: ChildProcess[] = []
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function startChild(mode: 'serve' | 'verify', config: object): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, JSON.stringify(config)], {
    cwd: dirname(CHILD),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return child
}

/** The first JSON line the child prints (its stderr is kept for the failure message). */
function firstLine<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(
      () => reject(new Error(`child printed nothing in ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    )
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const newline = out.indexOf('\n')
      if (newline >= 0) {
        clearTimeout(timer)
        resolve(JSON.parse(out.slice(0, newline)) as T)
      }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`child exited (${code ?? signal}) before printing: ${err}`))
    })
  })
}

function request(): { body: Buffer; spanIds: string[] } {
  const traceId = newTraceId()
  const start = Date.now() - 2000
  const spans: TestSpan[] = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => ({
    traceId,
    spanId: newSpanId(),
    name: `call ${i}`,
    startTimeUnixNano: nanos(start + i),
    endTimeUnixNano: nanos(start + i + 500),
    attributes: {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'openai',
      [GEN_AI.requestModel]: 'gpt-4o',
      [GEN_AI.usageInputTokens]: 100 + i,
      [GEN_AI.usageOutputTokens]: 20,
      [GEN_AI.inputMessages]: JSON.stringify([{ role: 'user', content: 'x'.repeat(300) }]),
    },
  }))
  return { body: otlpProtobuf({ spans }), spanIds: spans.map((s) => s.spanId ?? '') }
}

function fullyAccepted(response: Buffer): boolean {
  const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response)) as {
    partialSuccess?: unknown
  }
  return decoded.partialSuccess === undefined
}

interface VerifyResult {
  acked: number
  final: { missing: number; duplicated: number; exactlyOnce: number }
  raw: { missing: number; duplicated: number; exactlyOnce: number }
  rawRowsBeforeOptimize: number
  replayedRows: number
  droppedRows: number
}

test('kill -9 under load: after a restart every acknowledged span is stored exactly once', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hs-crash-'))
  dirs.push(dataDir)
  const config = { dataDir, database: 'hs_crash_test', apiKey: KEY }
  const server = startChild('serve', config)
  const { port, grpcPort } = await firstLine<{ port: number; grpcPort: number }>(server, 60_000)

  const acked = new Set<string>()
  let stopped = false
  let refusals = 0
  const httpWorker = async () => {
    while (!stopped) {
      const { body, spanIds } = request()
      try {
        const reply = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-protobuf' },
          body,
          signal: AbortSignal.timeout(10_000),
        })
        const answer = Buffer.from(await reply.arrayBuffer())
        if (reply.status === 200 && fullyAccepted(answer)) for (const id of spanIds) acked.add(id)
        else refusals += 1
      } catch {
        // The process was killed mid-request: not acknowledged.
      }
    }
  }
  const grpcWorker = async () => {
    const client = rawTraceClient(`127.0.0.1:${grpcPort}`)
    const metadata = new Metadata()
    metadata.set('authorization', `Bearer ${KEY}`)
    while (!stopped) {
      const { body, spanIds } = request()
      const response = await new Promise<Buffer | null>((resolve) =>
        client.Export(body, metadata, { deadline: Date.now() + 10_000 }, (error, reply) =>
          resolve(error ? null : (reply ?? null)),
        ),
      )
      if (response && fullyAccepted(response)) for (const id of spanIds) acked.add(id)
      else if (!stopped) await new Promise((r) => setTimeout(r, 10))
    }
    client.close()
  }
  const workers = [
    ...Array.from({ length: HTTP_WORKERS }, httpWorker),
    ...Array.from({ length: GRPC_WORKERS }, grpcWorker),
  ]
  const deadline = Date.now() + 60_000
  while (acked.size < KILL_AFTER && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  assert.ok(acked.size >= KILL_AFTER, `only ${acked.size} spans acknowledged before the deadline`)

  // Mid-load: requests are in flight and acknowledged rows are still waiting in the spool.
  const exited = new Promise((resolve) => server.on('exit', resolve))
  server.kill('SIGKILL')
  await exited
  stopped = true
  await Promise.all(workers)
  assert.equal(refusals, 0, 'no request was refused before the kill')

  const ackFile = join(dataDir, 'acked.txt')
  writeFileSync(ackFile, [...acked].join('\n'))
  const verifier = startChild('verify', { ...config, ackFile })
  const result = await firstLine<VerifyResult>(verifier, 120_000)

  t.diagnostic(`acknowledged ${acked.size} spans; after restart: ${JSON.stringify(result)}`)
  assert.equal(result.acked, acked.size)
  assert.ok(result.replayedRows > 0, 'rows acknowledged but not yet inserted were replayed from the spool')
  assert.deepEqual(result.final, { missing: 0, duplicated: 0, exactlyOnce: acked.size }, 'SELECT … FINAL')
  assert.deepEqual(
    result.raw,
    { missing: 0, duplicated: 0, exactlyOnce: acked.size },
    'after OPTIMIZE … FINAL',
  )
  assert.equal(result.droppedRows, 0)
})
