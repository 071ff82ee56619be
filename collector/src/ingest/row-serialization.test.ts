// The ingest path writes message content from the request's UTF-8 bytes (WebAssembly escaper,
// `json-escape.ts`, spliced into the row by `pipeline.ts`) instead of `JSON.stringify(row)`. These
// tests hold it to the old path: the same bytes for every row, and the same rows once stored.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { GEN_AI } from '../conventions'
import type { IngestLimits } from '../limits/limits'
import { decodeOtlpRequest } from '../otlp/decode'
import { createStorage, migrate, type Storage } from '../storage'
import { nanos, otlpProtobuf, type TestAttribute, type TestSpan } from '../testing'
import { chdbRawInsert, type SpanWriter } from '../writer/span-writer'
import { jsonEscaper } from './json-escape'
import { IngestPipeline } from './pipeline'

const NOW = Date.UTC(2026, 5, 1, 12)

let storage: Storage
let dir: string

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-rowjson-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_row_serialization_test' })
  await migrate(storage)
})

after(async () => {
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Escape `bytes` with the module and return the text (the inside of a JSON string). */
function escapeBytes(bytes: Buffer): string {
  const escaper = jsonEscaper
  assert.ok(escaper)
  const dst = (bytes.length + 15) & ~15
  escaper.reserve(dst + 6 * bytes.length + 16)
  bytes.copy(escaper.view, 0)
  const end = escaper.escape(0, bytes.length, dst)
  return escaper.view.toString('utf8', dst, end)
}

test('the WebAssembly escaper is available here and escapes UTF-8 exactly as JSON.stringify', () => {
  assert.ok(jsonEscaper, 'WebAssembly SIMD escaper unavailable: rows would all take JSON.stringify')
  // Every ASCII byte at every position of a few 16-byte blocks (and the tail after them).
  for (let byte = 0; byte < 0x80; byte++) {
    for (let at = 0; at < 40; at++) {
      const text = `${'a'.repeat(at)}${String.fromCharCode(byte)}${'b'.repeat(47 - at)}`
      assert.equal(`"${escapeBytes(Buffer.from(text))}"`, JSON.stringify(text), `byte ${byte} at ${at}`)
    }
  }
  // Any text, as it arrives: its UTF-8 bytes (lone surrogates become U+FFFD on the way).
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 40 }), (a, b) => {
      const bytes = Buffer.from(a + b + a)
      assert.equal(`"${escapeBytes(bytes)}"`, JSON.stringify(bytes.toString('utf8')))
    }),
    { numRuns: 400 },
  )
})

/** Message content like the GenAI convention's, around `text`. */
const messages = (role: string, text: string) =>
  JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }])

const CONTROL = Array.from({ length: 200 }, (_, i) => String.fromCharCode(i % 41)).join('')
const UNICODE = 'héllo wörld 日本語 😀 \u2028\u2029 \u007f ∑ '.repeat(8)
const QUOTES = 'say "hi" \\ C:\\dir\\file \\n "quoted" \\"both\\" '.repeat(6)

/** Spans covering what the wire path and its fallbacks meet. */
function spans(): TestSpan[] {
  const content: Array<[string, string]> = [
    ['plain ascii text that is long enough for the wire path '.repeat(4), 'short'],
    [messages('user', QUOTES), messages('assistant', CONTROL)],
    [messages('user', UNICODE), ''],
    ['', messages('assistant', UNICODE + QUOTES)],
    ['x'.repeat(128), 'y'.repeat(127)],
    [`lone ${'\ud800'} surrogate ${'z'.repeat(200)}`, messages('assistant', 'fine text '.repeat(20))],
    [messages('user', 'MARKER-INVALID-UTF8 '.repeat(10)), messages('assistant', 'ok '.repeat(60))],
    [messages('user', 'big '.repeat(80_000)), messages('assistant', 'small answer '.repeat(20))],
    [CONTROL + QUOTES + UNICODE, CONTROL],
  ]
  const out: TestSpan[] = content.map(([input, output], i) => {
    const attributes: Record<string, TestAttribute> = {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: i % 2 ? 'anthropic' : 'openai',
      [GEN_AI.requestModel]: i === 3 ? 'no-such-model' : i % 2 ? 'claude-sonnet-4-5' : 'gpt-4o',
      [GEN_AI.usageInputTokens]: i === 8 ? 9_000_000_000_000 : 250 + i,
      [GEN_AI.usageOutputTokens]: 120 + i,
      ['__proto__']: 'plain key',
      'odd "key"\n\u0001': 'odd "value"\n\\',
      '123': 'numeric key',
      'ключ 😀': UNICODE.slice(0, 30),
    }
    if (input) attributes[GEN_AI.inputMessages] = input
    if (output) attributes[GEN_AI.outputMessages] = output
    if (i === 4)
      attributes[GEN_AI.systemInstructions] = JSON.stringify([{ type: 'text', content: 'be brief "always"' }])
    return {
      name: `chat "${i}" ✓`,
      startTimeUnixNano: nanos(NOW - 60_000 + i, 123_456),
      endTimeUnixNano: nanos(NOW - 59_000 + i * 7, 789),
      attributes,
      status: i === 2 ? { code: 2, message: 'rate "limited"\n' } : { code: 1 },
    }
  })
  return out
}

function capture(bodies: Buffer[]): SpanWriter {
  const writer = {
    durable: false,
    admit: () => 'ok' as const,
    throttle: () => Promise.resolve(),
    accept: (body: Buffer) => {
      bodies.push(body)
      return Promise.resolve()
    },
  }
  return writer as unknown as SpanWriter
}

/** Rows of `body` through the pipeline: the protobuf path, and the same spans decoded up front (JSON.stringify). */
async function bothPaths(body: Buffer, limits: Partial<IngestLimits> = {}) {
  const wire: Buffer[] = []
  const plain: Buffer[] = []
  const options = { projects: { authenticate: async () => 'p' }, now: () => NOW, limits, onError: () => {} }
  const a = new IngestPipeline({ ...options, writer: capture(wire) })
  const b = new IngestPipeline({ ...options, writer: capture(plain) })
  const escaper = jsonEscaper
  assert.ok(escaper)
  const realEscape = escaper.escape
  let escaped = 0
  escaper.escape = (src, length, dst) => {
    escaped += 1
    return realEscape.call(escaper, src, length, dst)
  }
  try {
    const resultA = await a.ingest('p', a.decode(body, 'protobuf'))
    const { spans, rejections } = decodeOtlpRequest(body, 'protobuf')
    const resultB = await b.ingest('p', { spans, rejections })
    assert.deepEqual(resultA, resultB)
  } finally {
    escaper.escape = realEscape
  }
  return { wire: Buffer.concat(wire), plain: Buffer.concat(plain), escaped }
}

async function stored(table: string, body: Buffer): Promise<Array<Record<string, unknown>>> {
  const db = storage.database
  await storage.client.command({ query: `DROP TABLE IF EXISTS ${db}.${table}` })
  await storage.client.command({ query: `CREATE TABLE ${db}.${table} AS ${db}.spans` })
  const insert = chdbRawInsert(storage)
  assert.ok(insert)
  await insert(`${db}.${table}`, body, {})
  const result = await storage.client.query({
    query: `SELECT *, toString(cost_usd) AS cost_text FROM ${db}.${table} ORDER BY span_id`,
    format: 'JSONEachRow',
  })
  return result.json<Record<string, unknown>>()
}

test('rows written from the wire are the bytes JSON.stringify(row) writes, and store the same rows', async () => {
  const request = otlpProtobuf({ resource: { 'service.name': 'svc "q"' }, spans: spans() })
  // Invalid UTF-8 inside one span's content: that span must take the JSON.stringify path.
  const marker = request.indexOf('MARKER-INVALID-UTF8')
  assert.ok(marker > 0)
  request[marker] = 0xff
  request[marker + 1] = 0xfe

  for (const limits of [{}, { maxContentValueLength: 300 }]) {
    const { wire, plain, escaped } = await bothPaths(request, limits)
    assert.ok(escaped > 0, 'the wire path was not taken')
    assert.equal(wire.toString('utf8'), plain.toString('utf8'))
    assert.ok(wire.equals(plain))

    const rowsA = await stored('rows_wire', wire)
    const rowsB = await stored('rows_plain', plain)
    assert.equal(rowsA.length, spans().length)
    assert.deepEqual(rowsA, rowsB)
  }

  // And the stored content is the text that was sent.
  const rows = await stored('rows_wire', (await bothPaths(request)).wire)
  const byName = new Map(rows.map((r) => [r.name, r]))
  const row = (i: number) => {
    const found = byName.get(`chat "${i}" ✓`)
    assert.ok(found)
    return found
  }
  assert.equal(row(1).input, messages('user', QUOTES))
  assert.equal(row(1).output, messages('assistant', CONTROL))
  assert.equal(row(2).input, messages('user', UNICODE))
  assert.equal(row(2).output, '')
  assert.equal(row(3).cost_text, null)
  assert.equal(row(8).input, CONTROL + QUOTES + UNICODE)
  assert.equal((row(6).attributes as Record<string, string>)['hindsight.invalid_utf8'], 'true')
  const attributes0 = row(0).attributes as Record<string, string>
  assert.equal(Object.getOwnPropertyDescriptor(attributes0, '__proto__')?.value, 'plain key')
})

/** A request of `count` gpt-4o chat spans, span `i` with input `input(i)` and output `output(i)`. */
function chatRequest(count: number, input: (i: number) => string, output: (i: number) => string): Buffer {
  return otlpProtobuf({
    spans: Array.from({ length: count }, (_, i) => ({
      startTimeUnixNano: nanos(NOW - 1000 + i),
      endTimeUnixNano: nanos(NOW - 500 + i),
      attributes: {
        [GEN_AI.operationName]: 'chat',
        [GEN_AI.requestModel]: 'gpt-4o',
        [GEN_AI.inputMessages]: input(i),
        [GEN_AI.outputMessages]: output(i),
      },
    })),
  })
}

test('many requests in a row reuse the escaper memory without mixing rows up', async () => {
  for (let round = 0; round < 5; round++) {
    const request = chatRequest(
      40,
      (i) => messages('user', `round ${round} span ${i} "${'q'.repeat(100 + i * 37)}"\n`),
      (i) => messages('assistant', `answer ${i} ${'é'.repeat(60 + i * 11)}`),
    )
    const { wire, plain, escaped } = await bothPaths(request)
    assert.equal(escaped, 80)
    assert.ok(wire.equals(plain))
  }
})

test('a request whose rows outgrow the escaper memory bound finishes in a Buffer of its own, same bytes', async () => {
  // 80 spans of ~120 KB content: ~10 MB of rows, past the 8 MiB the escaper memory may hold.
  const big = messages('user', `"quoted" \\ ${'w'.repeat(60_000)}\n`)
  const request = chatRequest(
    80,
    (i) => `${i} ${big}`,
    (i) => `${i} ${big}`,
  )
  const { wire, plain, escaped } = await bothPaths(request)
  assert.ok(wire.length > 9 * 2 ** 20)
  assert.ok(escaped > 0 && escaped < 160, `escaped ${escaped} of 160 contents`)
  assert.ok(wire.equals(plain))
  // The escaper still works for the next request.
  const small = otlpProtobuf({ spans: spans() })
  const next = await bothPaths(small)
  assert.ok(next.escaped > 0)
  assert.ok(next.wire.equals(next.plain))
})
