// The OTLP/HTTP sink of `pnpm bench:sdk`: accepts traces and logs (protobuf or JSON, gzip or not)
// on `/<variant-id>/v1/{traces,logs}`, answers 200 at once, and counts per variant what arrived, so a
// variant that exports nothing shows up as broken rather than fast. `GET /stats/<variant-id>` returns
// the counts as JSON.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export type Signal = 'traces' | 'logs'

/** What a sink received for one variant. */
export interface SinkStats {
  /** Export requests, traces and logs. */
  requests: number
  /** Trace export requests alone. */
  traceRequests: number
  /** Spans received (all names). */
  spans: number
  /** Log records received (instrumentations that put content in events, not on spans). */
  logRecords: number
  /** Request bytes after gunzip. */
  bytes: number
  /** Span names (and log event names, prefixed `log:`) with their counts. */
  names: Record<string, number>
  /** How often each marker string occurs in the received bytes. */
  markers: Record<string, number>
  /** Requests the sink could not decode. */
  rejected: number
}

/** The items and their names in one OTLP export request. */
export interface Counted {
  items: number
  names: Map<string, number>
}

function varint(buf: Uint8Array, start: number): [value: number, next: number] {
  let value = 0
  let scale = 1
  let pos = start
  for (;;) {
    const byte = buf[pos++]
    if (byte === undefined) throw new Error('truncated varint')
    value += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) return [value, pos]
    scale *= 128
    if (scale > 2 ** 63) throw new Error('varint too long')
  }
}

/** Calls `visit` for every length-delimited field of the message in `buf[start, end)`; skips the rest. */
function eachLengthDelimited(
  buf: Uint8Array,
  start: number,
  end: number,
  visit: (field: number, from: number, to: number) => void,
): void {
  let pos = start
  while (pos < end) {
    const [tag, afterTag] = varint(buf, pos)
    const field = Math.floor(tag / 8)
    const wire = tag & 7
    pos = afterTag
    if (wire === 0) pos = varint(buf, pos)[1]
    else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else if (wire === 2) {
      const [length, from] = varint(buf, pos)
      const to = from + length
      if (to > end) throw new Error('field overruns its message')
      visit(field, from, to)
      pos = to
    } else throw new Error(`unsupported wire type ${wire}`)
  }
  if (pos !== end) throw new Error('message overruns its bounds')
}

const decoder = new TextDecoder()

/**
 * Counts spans (or log records) in an OTLP protobuf `Export{Trace,Logs}ServiceRequest`. Both have
 * the same shape: field 1 resource_*, in it field 2 scope_*, in it field 2 the items; a span's name
 * is field 5, a log record's event_name field 12.
 */
export function countProtobuf(body: Uint8Array, signal: Signal): Counted {
  const nameField = signal === 'traces' ? 5 : 12
  const names = new Map<string, number>()
  let items = 0
  eachLengthDelimited(body, 0, body.length, (resourceField, rFrom, rTo) => {
    if (resourceField !== 1) return
    eachLengthDelimited(body, rFrom, rTo, (scopeField, sFrom, sTo) => {
      if (scopeField !== 2) return
      eachLengthDelimited(body, sFrom, sTo, (itemField, iFrom, iTo) => {
        if (itemField !== 2) return
        items += 1
        let name = signal === 'traces' ? '' : '(no event name)'
        eachLengthDelimited(body, iFrom, iTo, (field, from, to) => {
          if (field === nameField) name = decoder.decode(body.subarray(from, to))
        })
        names.set(name, (names.get(name) ?? 0) + 1)
      })
    })
  })
  return { items, names }
}

function records(value: unknown, key: string): unknown[] {
  if (typeof value !== 'object' || value === null) return []
  const list: unknown = Reflect.get(value, key)
  return Array.isArray(list) ? list : []
}

/** The same count for the OTLP/JSON encoding. */
export function countJson(body: Uint8Array, signal: Signal): Counted {
  const parsed: unknown = JSON.parse(decoder.decode(body))
  const [resourceKey, scopeKey, itemKey, nameKey] =
    signal === 'traces'
      ? ['resourceSpans', 'scopeSpans', 'spans', 'name']
      : ['resourceLogs', 'scopeLogs', 'logRecords', 'eventName']
  const names = new Map<string, number>()
  let items = 0
  for (const resource of records(parsed, resourceKey)) {
    for (const scope of records(resource, scopeKey)) {
      for (const item of records(scope, itemKey)) {
        items += 1
        const raw: unknown =
          typeof item === 'object' && item !== null ? Reflect.get(item, nameKey) : undefined
        const name = typeof raw === 'string' ? raw : signal === 'traces' ? '' : '(no event name)'
        names.set(name, (names.get(name) ?? 0) + 1)
      }
    }
  }
  return { items, names }
}

/** Non-overlapping occurrences of `needle` in `haystack`. */
export function occurrences(haystack: Buffer, needle: Buffer): number {
  let count = 0
  let at = haystack.indexOf(needle)
  while (at !== -1) {
    count += 1
    at = haystack.indexOf(needle, at + needle.length)
  }
  return count
}

export interface OtlpSink {
  /** e.g. `http://127.0.0.1:4318`; a variant exports to `${url}/<id>/v1/traces`. */
  url: string
  stats(id: string): SinkStats
  close(): Promise<void>
}

function emptyStats(markers: string[]): SinkStats {
  return {
    requests: 0,
    traceRequests: 0,
    spans: 0,
    logRecords: 0,
    bytes: 0,
    names: {},
    markers: Object.fromEntries(markers.map((m) => [m, 0])),
    rejected: 0,
  }
}

/** Starts the sink on 127.0.0.1 (random port). `markers` are the strings counted in the bodies. */
export async function startOtlpSink(options: { markers?: string[] } = {}): Promise<OtlpSink> {
  const markers = options.markers ?? []
  const needles = markers.map((m) => [m, Buffer.from(m)] as const)
  const byId = new Map<string, SinkStats>()
  const statsOf = (id: string): SinkStats => {
    let stats = byId.get(id)
    if (!stats) {
      stats = emptyStats(markers)
      byId.set(id, stats)
    }
    return stats
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      const statsMatch = /^\/stats\/([^/]+)$/.exec(path)
      if (req.method === 'GET' && statsMatch?.[1]) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(statsOf(statsMatch[1])))
        return
      }
      const exportMatch = /^\/([^/]+)\/.*v1\/(traces|logs)$/.exec(path)
      if (req.method !== 'POST' || !exportMatch?.[1]) {
        res.writeHead(404).end()
        return
      }
      const signal: Signal = exportMatch[2] === 'logs' ? 'logs' : 'traces'
      const stats = statsOf(exportMatch[1])
      const json = (req.headers['content-type'] ?? '').includes('json')
      try {
        let body = Buffer.concat(parts)
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
        const counted = json ? countJson(body, signal) : countProtobuf(body, signal)
        stats.requests += 1
        stats.bytes += body.length
        if (signal === 'traces') {
          stats.traceRequests += 1
          stats.spans += counted.items
        } else stats.logRecords += counted.items
        for (const [name, n] of counted.names) {
          const key = signal === 'traces' ? name : `log:${name}`
          stats.names[key] = (stats.names[key] ?? 0) + n
        }
        for (const [marker, needle] of needles) {
          stats.markers[marker] = (stats.markers[marker] ?? 0) + occurrences(body, needle)
        }
      } catch {
        stats.rejected += 1
        res.writeHead(400, { 'content-type': 'text/plain' }).end('undecodable OTLP body')
        return
      }
      // An empty Export*ServiceResponse: full success in either encoding.
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
      res.end(json ? '{}' : undefined)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stats: (id) => statsOf(id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
