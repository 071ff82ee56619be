/**
 * Property-based fuzzing of both OTLP endpoints with fast-check: generated requests (valid and
 * invalid spans, every attribute type, GenAI keys with absurd numbers, broken Unicode, huge
 * values), then mutated (bit flips, truncation, spliced bytes, subtrees replaced by random JSON,
 * wrong content types, corrupt gzip, bad keys), and entirely random JSON and bytes. Properties:
 * every request is answered within its timeout; never a 5xx (or gRPC INTERNAL / UNKNOWN) that is
 * not a capacity answer with a retry delay; a 200 always carries a decodable response; nothing an
 * endpoint accepted is refused by storage; and both endpoints still serve a valid request after.
 *
 * Runs: HINDSIGHT_FUZZ_RUNS (default 10,000), split evenly between HTTP and gRPC.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { Metadata, type ServiceError, status } from '@grpc/grpc-js'
import fc from 'fast-check'
import { GEN_AI } from '../conventions'
import { type RawTraceClient, rawTraceClient } from '../grpc/raw-client'
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from '../otlp/proto'
import { type RunningCollector, startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'

const RUNS = Math.max(2, Number(process.env.HINDSIGHT_FUZZ_RUNS ?? 10_000) || 10_000)
const REQUEST_TIMEOUT_MS = 10_000
const KEY = 'hs_test_fuzz_key_0123456789abcdef'
const MAX_BODY = 2 ** 20
let dir: string
let storage: Storage
let collector: RunningCollector

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-fuzz-'))
  storage = await createStorage({ dataDir: join(dir, 'engine'), database: 'hs_fuzz_test' })
  await migrate(storage)
  const projects = new ProjectRepository(storage)
  await projects.ensure('Fuzz', KEY)
  collector = await startCollector({
    storage,
    projects,
    port: 0,
    maxBodyBytes: MAX_BODY,
    limits: { maxSpansPerRequest: 20 },
    onError: () => {},
  })
})

after(async () => {
  await collector.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

// --- generated requests (OTLP/JSON shape; converted to protobuf below) -------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const NOW_MS = Date.now()
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'))
const id = (bytes: number) =>
  fc.oneof(
    { weight: 12, arbitrary: hex(bytes) },
    { weight: 1, arbitrary: fc.constantFrom('', '0'.repeat(bytes * 2), 'ABCDEF') },
    { weight: 1, arbitrary: hex(bytes + 1) },
  )
const loneSurrogates = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  maxLength: 4,
})
const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: loneSurrogates },
)
const nanosAround = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: -7 * 86_400_000, max: 60_000 }).map((d) => NOW_MS + d) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, NOW_MS + 3 * 86_400_000, 253_402_300_800_000) },
)
const GENAI_KEYS = [
  GEN_AI.operationName,
  GEN_AI.providerName,
  GEN_AI.system,
  GEN_AI.requestModel,
  GEN_AI.responseModel,
  GEN_AI.usageInputTokens,
  GEN_AI.usageOutputTokens,
  GEN_AI.usagePromptTokens,
  GEN_AI.usageCacheReadInputTokens,
  GEN_AI.usageCacheCreationInputTokens,
  GEN_AI.usageReasoningOutputTokens,
  GEN_AI.responseTimeToFirstChunk,
  GEN_AI.inputMessages,
  GEN_AI.outputMessages,
  'gen_ai.prompt.0.content',
  'gen_ai.completion.0.role',
  'hindsight.span.kind',
  'hindsight.release',
  'llm.request.type',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'llm.model_name',
  'openinference.span.kind',
  'input.value',
  'ai.usage.promptTokens',
  'ai.model.id',
  'ai.operationId',
  'session.id',
  'user.id',
  'error.type',
]
const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...GENAI_KEYS) }, { weight: 2, arbitrary: text })
const absurdNumber = fc.constantFrom(
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
)

function doubleJson(d: number): Json {
  if (Number.isNaN(d)) return 'NaN'
  if (!Number.isFinite(d)) return d > 0 ? 'Infinity' : '-Infinity'
  return d
}

const anyValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    text.map((s): Json => ({ stringValue: s })),
    fc.boolean().map((b): Json => ({ boolValue: b })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((i): Json => ({ intValue: i.toString() })),
    fc.oneof(fc.double(), absurdNumber).map((d): Json => ({ doubleValue: doubleJson(d) })),
    fc.array(tie('value'), { maxLength: 3 }).map((values): Json => ({ arrayValue: { values } })),
    fc
      .array(fc.record({ key: text, value: tie('value') }), { maxLength: 3 })
      .map((values): Json => ({ kvlistValue: { values } })),
    fc.uint8Array({ maxLength: 16 }).map((b): Json => ({ bytesValue: Buffer.from(b).toString('base64') })),
  ),
})).value
const attributes = fc.array(fc.record({ key, value: anyValue }), { maxLength: 8 })
const hugeAttribute = fc
  .record({
    key: fc.constantFrom('app.big', GEN_AI.inputMessages),
    length: fc.integer({ min: 70_000, max: 1_200_000 }),
  })
  .map((h): Json => ({ key: h.key, value: { stringValue: 'h'.repeat(h.length) } }))

const span = fc
  .record({
    traceId: id(16),
    spanId: id(8),
    parentSpanId: fc.oneof(fc.constant(''), id(8)),
    name: text,
    kind: fc.integer({ min: -1, max: 7 }),
    start: nanosAround,
    durationMs: fc.integer({ min: -1000, max: 600_000 }),
    attributes,
    events: fc.array(fc.record({ name: text, attributes }), { maxLength: 2 }),
    status: fc.record({ code: fc.integer({ min: 0, max: 3 }), message: text }),
  })
  .map(
    (s): Json => ({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: (BigInt(s.start) * 1_000_000n).toString(),
      endTimeUnixNano: ((BigInt(s.start) + BigInt(s.durationMs)) * 1_000_000n).toString(),
      attributes: s.attributes,
      events: s.events.map((e) => ({
        name: e.name,
        timeUnixNano: String(BigInt(s.start) * 1_000_000n),
        attributes: e.attributes,
      })),
      status: s.status,
    }),
  )
const request = fc
  .array(
    fc.record({
      resource: attributes,
      scopes: fc.array(fc.record({ name: text, version: text, spans: fc.array(span, { maxLength: 6 }) }), {
        minLength: 1,
        maxLength: 2,
      }),
    }),
    { minLength: 1, maxLength: 2 },
  )
  .map(
    (resources): Json => ({
      resourceSpans: resources.map((r) => ({
        resource: { attributes: r.resource },
        scopeSpans: r.scopes.map((s) => ({ scope: { name: s.name, version: s.version }, spans: s.spans })),
      })),
    }),
  )

/** The OTLP/JSON request as protobuf (ids from hex, doubles back to numbers). */
function toProtobuf(json: Json): Buffer {
  const convert = (value: Json, keyName = ''): unknown => {
    if (Array.isArray(value)) return value.map((v) => convert(v))
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = convert(v, k)
      return out
    }
    if (
      typeof value === 'string' &&
      (keyName === 'traceId' || keyName === 'spanId' || keyName === 'parentSpanId')
    ) {
      return Buffer.from(value, 'hex')
    }
    if (keyName === 'doubleValue' && typeof value === 'string') return Number(value)
    return value
  }
  return Buffer.from(
    ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(convert(json) as object)).finish(),
  )
}

// --- mutations ---------------------------------------------------------------------------------

type ByteMutation =
  | { kind: 'none' }
  | { kind: 'flip'; positions: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; remove: number; insert: Uint8Array }

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<ByteMutation>({ kind: 'none' }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      positions: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('splice' as const),
      at: fc.nat(),
      remove: fc.nat({ max: 12 }),
      insert: fc.uint8Array({ maxLength: 12 }),
    }),
  },
)

function mutateBytes(input: Buffer, m: ByteMutation): Buffer {
  if (input.length === 0 || m.kind === 'none') return input
  const bytes = Buffer.from(input)
  if (m.kind === 'flip') {
    for (const p of m.positions) {
      const at = p % (bytes.length * 8)
      bytes[at >> 3] = (bytes[at >> 3] ?? 0) ^ (1 << (at & 7))
    }
    return bytes
  }
  if (m.kind === 'truncate') return bytes.subarray(0, m.at % bytes.length)
  const at = m.at % bytes.length
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.insert), bytes.subarray(at + m.remove)])
}

/** Replace the `index`-th node (depth-first, modulo their number) of `json` with `replacement`. */
function replaceNode(json: Json, index: number, replacement: Json): Json {
  const slots: Array<{ parent: Json[] | { [key: string]: Json }; key: string | number }> = []
  const walk = (node: Json) => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        slots.push({ parent: node, key: i })
        walk(child)
      })
    } else if (node && typeof node === 'object') {
      for (const [k, child] of Object.entries(node)) {
        slots.push({ parent: node, key: k })
        walk(child)
      }
    }
  }
  const copy = structuredClone(json)
  walk(copy)
  const slot = slots[index % Math.max(1, slots.length)]
  if (!slot) return replacement
  ;(slot.parent as Record<string | number, Json>)[slot.key] = replacement
  return copy
}

interface Payload {
  body: Buffer
  /** The content type the body really is. */
  format: 'protobuf' | 'json' | 'bytes'
  /** An unmodified generated request. */
  pristine: boolean
}

const payload: fc.Arbitrary<Payload> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(request, byteMutation).map(([r, m]) => ({
      body: mutateBytes(toProtobuf(r), m),
      format: 'protobuf' as const,
      pristine: m.kind === 'none',
    })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(request, byteMutation).map(([r, m]) => ({
      body: mutateBytes(Buffer.from(JSON.stringify(r)), m),
      format: 'json' as const,
      pristine: m.kind === 'none',
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(request, fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([r, at, replacement]) => ({
      body: Buffer.from(JSON.stringify(replaceNode(r, at, replacement as Json))),
      format: 'json' as const,
      pristine: false,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(request, hugeAttribute, fc.boolean()).map(([r, huge, asJson]) => {
      const withHuge = structuredClone(r) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: Json[] }> }>
      }
      const first = withHuge.resourceSpans[0]?.scopeSpans[0]?.spans[0] as { attributes?: Json[] } | undefined
      if (first) first.attributes = [...(first.attributes ?? []), huge]
      const json = withHuge as unknown as Json
      return asJson
        ? { body: Buffer.from(JSON.stringify(json)), format: 'json' as const, pristine: true }
        : { body: toProtobuf(json), format: 'protobuf' as const, pristine: true }
    }),
  },
  {
    weight: 1,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({
      body: Buffer.from(JSON.stringify(v) ?? 'null'),
      format: 'json' as const,
      pristine: false,
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 2048 })
      .map((b) => ({ body: Buffer.from(b), format: 'bytes' as const, pristine: false })),
  },
)

const CONTENT_TYPES = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
  bytes: 'application/x-protobuf',
}

const httpCase = fc.record({
  payload,
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant<string | null>(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('text/plain', 'application/json; charset=utf-8', 'application/protobuf', ''),
    },
  ),
  encoding: fc.oneof(
    { weight: 8, arbitrary: fc.constant<'identity' | 'gzip' | 'gzip-corrupt' | 'br'>('identity') },
    { weight: 2, arbitrary: fc.constant<'identity' | 'gzip' | 'gzip-corrupt' | 'br'>('gzip') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<'identity' | 'gzip' | 'gzip-corrupt' | 'br'>('gzip-corrupt', 'br'),
    },
  ),
  auth: fc.oneof(
    { weight: 15, arbitrary: fc.constant<'bearer' | 'header' | 'none' | 'wrong'>('bearer') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<'bearer' | 'header' | 'none' | 'wrong'>('header', 'none', 'wrong'),
    },
  ),
})

function authHeaders(auth: 'bearer' | 'header' | 'none' | 'wrong'): Record<string, string> {
  if (auth === 'bearer') return { authorization: `Bearer ${KEY}` }
  if (auth === 'header') return { 'x-hindsight-api-key': KEY }
  if (auth === 'wrong') return { authorization: 'Bearer hs_not_a_key' }
  return {}
}

/** Failures name the seed, path and error; counterexamples (possibly megabytes) are cut short. */
function compactReport<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return
  const example = fc.stringify(details.counterexample).slice(0, 1500)
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  throw new Error(
    `property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}"): ${cause}\ncounterexample (cut): ${example}`,
  )
}

function capacityAnswer(statusCode: number, retryAfter: string | null): boolean {
  return (statusCode === 429 || statusCode === 503) && retryAfter !== null && Number(retryAfter) > 0
}

test(`HTTP and gRPC endpoints under ${RUNS} generated and mutated payloads: no crash, hang or non-capacity 5xx`, async (t) => {
  const httpRuns = Math.ceil(RUNS / 2)
  const grpcRuns = RUNS - httpRuns
  const statuses = new Map<string, number>()
  const tally = (label: string) => statuses.set(label, (statuses.get(label) ?? 0) + 1)

  const address = collector.grpcUrl ?? ''
  const plain = rawTraceClient(address)
  const gzip = rawTraceClient(address, { 'grpc.default_compression_algorithm': 2 })
  const httpFuzz = fc.assert(
    fc.asyncProperty(httpCase, async (c) => {
      const headers: Record<string, string> = {
        ...authHeaders(c.auth),
        'content-type': c.contentType ?? CONTENT_TYPES[c.payload.format],
      }
      let body = c.payload.body
      if (c.encoding === 'gzip' || c.encoding === 'gzip-corrupt') {
        body = gzipSync(body)
        if (c.encoding === 'gzip-corrupt')
          body = mutateBytes(body, { kind: 'flip', positions: [body.length * 4] })
        headers['content-encoding'] = 'gzip'
      } else if (c.encoding === 'br') headers['content-encoding'] = 'br'
      const reply = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
      const answer = Buffer.from(await reply.arrayBuffer())
      tally(`http ${reply.status}`)
      if (reply.status >= 500) {
        assert.ok(
          capacityAnswer(reply.status, reply.headers.get('retry-after')),
          `HTTP ${reply.status}: ${answer}`,
        )
        return
      }
      assert.ok(
        [200, 400, 401, 413, 415, 429].includes(reply.status),
        `unexpected HTTP ${reply.status}: ${answer}`,
      )
      if (reply.status === 429) assert.ok(capacityAnswer(429, reply.headers.get('retry-after')))
      const protobufAnswer = reply.headers.get('content-type') === 'application/x-protobuf'
      if (reply.status === 200) {
        const decoded = protobufAnswer
          ? ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(answer))
          : (JSON.parse(answer.toString()) as object)
        assert.equal(typeof decoded, 'object')
      } else {
        const statusBody = protobufAnswer
          ? RpcStatus.toObject(RpcStatus.decode(answer))
          : JSON.parse(answer.toString())
        assert.ok(String((statusBody as { message?: string }).message ?? '').length > 0, 'errors say why')
      }
      // An untouched generated request with a good key and matching headers is always taken.
      if (
        c.payload.pristine &&
        c.auth !== 'none' &&
        c.auth !== 'wrong' &&
        c.contentType === null &&
        c.encoding !== 'gzip-corrupt' &&
        c.encoding !== 'br'
      ) {
        assert.ok([200, 413].includes(reply.status), `a valid request got ${reply.status}: ${answer}`)
      }
    }),
    { numRuns: httpRuns, reporter: compactReport },
  )

  try {
    // Both endpoints at once: the two cores and the waits (fsync, inserts) overlap.
    const grpcFuzz = fc.assert(
      fc.asyncProperty(
        payload.filter((p) => p.format !== 'json'),
        fc.boolean(),
        fc.oneof({ weight: 15, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        async (p, compressed, withKey) => {
          const { error, response } = await exportRaw(compressed ? gzip : plain, p.body, withKey)
          tally(`grpc ${error ? status[error.code] : 'OK'}`)
          if (!error) {
            assert.ok(response)
            ExportTraceServiceResponse.decode(response)
            return
          }
          assert.notEqual(error.code, status.INTERNAL, `INTERNAL: ${error.details}`)
          assert.notEqual(error.code, status.UNKNOWN, `UNKNOWN: ${error.details}`)
          assert.notEqual(error.code, status.DEADLINE_EXCEEDED, 'the call hung')
          if (error.code === status.UNAVAILABLE)
            assert.ok(hasRetryInfo(error), `UNAVAILABLE without RetryInfo: ${error.details}`)
          if (error.code === status.RESOURCE_EXHAUSTED && !hasRetryInfo(error)) {
            assert.match(error.details, /larger than|spans; at most/, 'only size limits are non-retryable')
          }
          const sizeLimit =
            error.code === status.RESOURCE_EXHAUSTED && /larger than|spans; at most/.test(error.details)
          if (p.pristine && withKey && !sizeLimit)
            assert.fail(`a valid request got ${status[error.code]}: ${error.details}`)
        },
      ),
      { numRuns: grpcRuns, reporter: compactReport },
    )
    await Promise.all([httpFuzz, grpcFuzz])

    // Still serving, and nothing it accepted was refused by storage.
    const valid = toProtobuf(fc.sample(request, { seed: 42, numRuns: 1 })[0] ?? {})
    const reply = await fetch(`${collector.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/x-protobuf' },
      body: valid,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
    assert.equal(reply.status, 200)
    assert.equal((await exportRaw(plain, valid, true)).error, null)
    await collector.flush()
  } finally {
    plain.close()
    gzip.close()
  }
  const stats = collector.stats()
  t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
  t.diagnostic(`stats: ${JSON.stringify(stats)}`)
  assert.ok(stats.accepted_spans > 0)
  assert.equal(stats.dropped_rows, 0, 'every accepted row was stored')
  assert.equal(stats.pending_rows, 0)
})

// --- gRPC plumbing -----------------------------------------------------------------------------

function exportRaw(
  client: RawTraceClient,
  body: Buffer,
  withKey: boolean,
): Promise<{ error: ServiceError | null; response: Buffer | undefined }> {
  const metadata = new Metadata()
  if (withKey) metadata.set('authorization', `Bearer ${KEY}`)
  return new Promise((resolve) => {
    client.Export(body, metadata, { deadline: Date.now() + REQUEST_TIMEOUT_MS }, (error, response) =>
      resolve({ error, response }),
    )
  })
}

function hasRetryInfo(error: ServiceError): boolean {
  const [details] = error.metadata.get('grpc-status-details-bin')
  if (!Buffer.isBuffer(details)) return false
  const decoded = RpcStatus.toObject(RpcStatus.decode(details)) as { details?: Array<{ typeUrl: string }> }
  return (decoded.details ?? []).some((d) => d.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo')
}
