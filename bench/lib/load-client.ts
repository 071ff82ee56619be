// Child process of the ingest benchmark: posts pre-built OTLP payloads with N concurrent clients, so
// the load generator does not share the collector's event loop. Prints one JSON line of results.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const [dir, target, apiKey, clientsArg] = process.argv.slice(2)
if (!dir || !target || !apiKey) throw new Error('usage: load-client <dir> <url> <key> [clients]')
const url: string = target
const key: string = apiKey
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .sort()
const payloads = files.map((f) => readFileSync(join(dir, f)))
const clients = Number(clientsArg ?? 4)
let next = 0
let retries = 0
const acks: number[] = []
const started = Date.now()

async function client() {
  for (;;) {
    const i = next++
    const body = payloads[i]
    if (!body) return
    for (;;) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
        body,
      })
      await res.arrayBuffer()
      if (res.status === 200) break
      if (res.status === 429 || res.status === 503) {
        retries++
        const wait = Number(res.headers.get('retry-after') ?? '1') * 1000
        await new Promise((r) => setTimeout(r, Math.min(wait, 1000)))
        continue
      }
      throw new Error(`unexpected status ${res.status}`)
    }
    acks.push(Date.now())
  }
}

await Promise.all(Array.from({ length: clients }, client))
process.stdout.write(
  `${JSON.stringify({ started, finished: Date.now(), requests: acks.length, retries, acks })}\n`,
)
