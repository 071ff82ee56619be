// Child process of the ingest benchmark: posts pre-built OTLP payloads with N concurrent clients for
// a fixed duration, so the load generator does not share the collector's event loop. Each send
// stamps fresh ids into a copy of a payload (the spans table is a ReplacingMergeTree). Prints, per
// acknowledged request, `a <ack ms> <spans> <trace id of its first span>`, and at the end
// `d <json summary>`.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'

interface Args {
  dir: string
  url: string
  apiKey: string
  clients: number
  seconds: number
  /** Offered spans/s; 0 = as fast as accepted. */
  rate: number
}
const args = JSON.parse(process.argv[2] ?? '{}') as Args
const index = JSON.parse(readFileSync(join(args.dir, 'index.json'), 'utf8')) as {
  traceIdAt: number[]
  spanIdAt: number[]
}[]
const payloads = index.map((p, i) => ({
  body: readFileSync(join(args.dir, `${i}.bin`)),
  traceIdAt: p.traceIdAt,
  spanIdAt: p.spanIdAt,
}))
const spansPerRequest = payloads[0]?.traceIdAt.length ?? 1

let seq = 0
let retries = 0
let requests = 0
let spans = 0
let lastAck = 0
const started = Date.now()
const deadline = started + args.seconds * 1000
const out: string[] = []
const flushOut = () => {
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`)
  out.length = 0
}
const outTimer = setInterval(flushOut, 100)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// node:http with keep-alive rather than fetch: the load generator shares the machine's two cores
// with the collector, and fetch (undici, web streams) costs several times more CPU per request.
const target = new URL(args.url)
const agent = new Agent({ keepAlive: true, maxSockets: args.clients })
const headers = {
  'content-type': 'application/x-protobuf',
  authorization: `Bearer ${args.apiKey}`,
}

/** POST `body`; resolves with the status and the Retry-After header once the answer is read. */
function post(body: Buffer): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { ...headers, 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => {})
        res.on('end', () => {
          const retryAfter = res.headers['retry-after']
          resolve({ status: res.statusCode ?? 0, retryAfter })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function client() {
  // One send at a time per client: its copy of a payload is reused (no allocation per request).
  let scratch = Buffer.alloc(0)
  for (;;) {
    const n = seq++
    if (args.rate > 0) {
      const due = started + (n * spansPerRequest * 1000) / args.rate
      if (due > Date.now()) await sleep(due - Date.now())
    }
    if (Date.now() >= deadline) return
    const source = payloads[n % payloads.length]
    if (!source) return
    if (scratch.length < source.body.length) scratch = Buffer.allocUnsafe(source.body.length)
    const body = scratch.subarray(0, source.body.length)
    source.body.copy(body)
    // Fresh ids: the first 4 bytes of every trace id and span id carry the send number.
    const stamp = (n + 1) >>> 0
    for (const at of source.traceIdAt) body.writeUInt32BE(stamp, at)
    for (const at of source.spanIdAt) body.writeUInt32BE(stamp, at)
    const firstTrace = body.toString('hex', source.traceIdAt[0], (source.traceIdAt[0] ?? 0) + 16)
    for (;;) {
      // A refusal answered before the body was read closes the connection: the write may then fail
      // (EPIPE, reset) before the answer is seen. Like an OTLP exporter, send it again shortly.
      const res = await post(body).catch(() => null)
      if (res === null) {
        retries++
        if (Date.now() >= deadline + 30_000) return
        await sleep(250)
        continue
      }
      if (res.status === 200) break
      if (res.status === 429 || res.status === 503) {
        retries++
        const wait = Number(res.retryAfter ?? '1') * 1000
        if (Date.now() + wait >= deadline + 30_000) return
        await sleep(wait)
        continue
      }
      throw new Error(`unexpected status ${res.status}`)
    }
    const ack = Date.now()
    lastAck = ack
    requests++
    spans += source.traceIdAt.length
    out.push(`a ${ack} ${source.traceIdAt.length} ${firstTrace}`)
  }
}

await Promise.all(Array.from({ length: args.clients }, client))
agent.destroy()
clearInterval(outTimer)
flushOut()
process.stdout.write(
  `d ${JSON.stringify({ started, finished: lastAck || Date.now(), requests, spans, retries, cpu: process.cpuUsage() })}\n`,
)
