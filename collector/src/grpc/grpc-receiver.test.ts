import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { Metadata, type ServiceError, status } from '@grpc/grpc-js'
import { SpanKind } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import protobuf from 'protobufjs'
import { GEN_AI } from '../conventions'
import { ExportTraceServiceResponse, RpcStatus } from '../otlp/proto'
import { type RunningCollector, startCollector } from '../server'
import { createStorage, migrate, ProjectRepository, type Storage } from '../storage'
import { flakyStorage, nanos, newSpanId, newTraceId, otlpProtobuf, type TestRequest } from '../testing'
import { type RawTraceClient, rawTraceClient } from './raw-client'

const KEY = 'hs_test_grpc_key_0123456789abcdef'
const MAX_BODY = 256 * 1024
let dir: string
let storage: Storage
let projects: ProjectRepository
let projectId: string
let collector: RunningCollector
const quiet = () => {}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-grpc-'))
  storage = await createStorage({ dataDir: dir, database: 'hs_grpc_test' })
  await migrate(storage)
  projects = new ProjectRepository(storage)
  projectId = (await projects.ensure('Grpc', KEY)).project.id
  collector = await startCollector({
    storage,
    projects,
    port: 0,
    batchMaxDelayMs: 20,
    maxBodyBytes: MAX_BODY,
    limits: { maxSpansPerRequest: 50 },
    onError: quiet,
  })
})

after(async () => {
  await collector.close()
  await storage.close()
  rmSync(dir, { recursive: true, force: true })
})

/** One Export call with a raw grpc-js client: bytes in, bytes (or a status) out. */
function exportRaw(
  client: RawTraceClient,
  body: Buffer,
  meta: Record<string, string> = { authorization: `Bearer ${KEY}` },
): Promise<{ error: ServiceError | null; response: Buffer | undefined }> {
  const metadata = new Metadata()
  for (const [k, v] of Object.entries(meta)) metadata.set(k, v)
  return new Promise((resolve) => {
    client.Export(body, metadata, { deadline: Date.now() + 10_000 }, (error, response) =>
      resolve({ error, response }),
    )
  })
}

const retryInfoRoot = protobuf.parse(`
syntax = "proto3";
package google.rpc;
message RetryInfo { Duration retry_delay = 1; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
`).root
const RetryInfo = retryInfoRoot.lookupType('google.rpc.RetryInfo')

/** The retry delay in seconds carried in `grpc-status-details-bin`, or null. */
function retryDelay(error: ServiceError): number | null {
  const [details] = error.metadata.get('grpc-status-details-bin')
  if (!Buffer.isBuffer(details)) return null
  const statusMessage = RpcStatus.toObject(RpcStatus.decode(details)) as {
    code: number
    details?: Array<{ typeUrl: string; value: Uint8Array }>
  }
  assert.equal(statusMessage.code, error.code)
  const info = statusMessage.details?.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo')
  if (!info) return null
  const decoded = RetryInfo.toObject(RetryInfo.decode(info.value), { longs: Number }) as {
    retryDelay?: { seconds?: number }
  }
  return decoded.retryDelay?.seconds ?? 0
}

function chatRequest(traceId: string, spanId = newSpanId()): TestRequest {
  const startMs = Date.now() - 3000
  return {
    resource: { 'service.name': 'grpc-app' },
    spans: [
      {
        traceId,
        spanId,
        name: 'chat gpt-4o',
        startTimeUnixNano: nanos(startMs),
        endTimeUnixNano: nanos(startMs + 800),
        attributes: {
          [GEN_AI.operationName]: 'chat',
          [GEN_AI.providerName]: 'openai',
          [GEN_AI.requestModel]: 'gpt-4o',
          [GEN_AI.usageInputTokens]: 1000,
          [GEN_AI.usageOutputTokens]: 100,
        },
      },
    ],
  }
}

async function rowsFor(traceId: string): Promise<Array<Record<string, unknown>>> {
  await collector.flush()
  const result = await storage.client.query({
    query: `SELECT span_id, provider, model, input_tokens, output_tokens, toString(cost_usd) AS cost_usd, service_name
            FROM ${storage.database}.spans FINAL WHERE project_id = {p:String} AND trace_id = {t:String}`,
    query_params: { p: projectId, t: traceId },
    format: 'JSONEachRow',
  })
  return result.json<Record<string, unknown>>()
}

test('the official @opentelemetry/exporter-trace-otlp-grpc (gzip, bearer metadata) is stored and priced', async () => {
  assert.ok(collector.grpcUrl, 'gRPC is served by default')
  assert.notEqual(collector.grpcPort, collector.port)
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] })
  const span = provider.getTracer('grpc-test').startSpan('chat gpt-4o-mini', {
    kind: SpanKind.CLIENT,
    attributes: {
      [GEN_AI.operationName]: 'chat',
      [GEN_AI.providerName]: 'openai',
      [GEN_AI.requestModel]: 'gpt-4o-mini',
      [GEN_AI.usageInputTokens]: 2000,
      [GEN_AI.usageOutputTokens]: 500,
    },
  })
  span.end()
  const [finished] = memory.getFinishedSpans()
  assert.ok(finished)
  const metadata = new Metadata()
  metadata.set('authorization', `Bearer ${KEY}`)
  type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>
  const exporter = new OTLPTraceExporter({
    url: collector.grpcUrl,
    metadata,
    compression: 'gzip' as ExporterConfig['compression'],
  })
  const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
    exporter.export([finished], resolve),
  )
  assert.equal(result.code, 0, `export failed: ${result.error?.message}`)
  await exporter.shutdown()
  await provider.shutdown()

  const [row, ...more] = await rowsFor(finished.spanContext().traceId)
  assert.equal(more.length, 0)
  assert.equal(row?.span_id, finished.spanContext().spanId)
  assert.equal(row?.model, 'gpt-4o-mini')
  assert.deepEqual([row?.input_tokens, row?.output_tokens].map(Number), [2000, 500])
  // gpt-4o-mini: $0.15 input, $0.60 output per 1M: 2000×0.15 + 500×0.60 = 600 / 1M
  assert.equal(row?.cost_usd, '0.0006')
})

test('raw client: OK with an empty response, gzip accepted, x-hindsight-api-key works', async () => {
  const traceId = newTraceId()
  const client = rawTraceClient(collector.grpcUrl ?? '', { 'grpc.default_compression_algorithm': 2 })
  const { error, response } = await exportRaw(client, otlpProtobuf(chatRequest(traceId)), {
    'x-hindsight-api-key': KEY,
  })
  client.close()
  assert.equal(error, null)
  assert.ok(response)
  assert.deepEqual(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response)), {})
  const [row] = await rowsFor(traceId)
  assert.equal(row?.service_name, 'grpc-app')
  assert.equal(row?.cost_usd, '0.0035')
})

test('UNAUTHENTICATED without a key or with a wrong one', async () => {
  const client = rawTraceClient(collector.grpcUrl ?? '')
  const body = otlpProtobuf(chatRequest(newTraceId()))
  const missing = await exportRaw(client, body, {})
  assert.equal(missing.error?.code, status.UNAUTHENTICATED)
  assert.match(missing.error?.details ?? '', /missing API key/)
  const wrong = await exportRaw(client, body, { authorization: 'Bearer hs_nope' })
  assert.equal(wrong.error?.code, status.UNAUTHENTICATED)
  assert.match(wrong.error?.details ?? '', /invalid API key/)
  client.close()
})

test('INVALID_ARGUMENT with the reason for a malformed request; no retry info', async () => {
  const client = rawTraceClient(collector.grpcUrl ?? '')
  const { error } = await exportRaw(client, Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x01]))
  client.close()
  assert.ok(error)
  assert.equal(error.code, status.INVALID_ARGUMENT)
  assert.match(error.details, /not a valid protobuf ExportTraceServiceRequest/)
  assert.equal(retryDelay(error), null)
})

test('OK with partial_success naming the refused spans; the good span is stored', async () => {
  const traceId = newTraceId()
  const good = chatRequest(traceId).spans[0]
  assert.ok(good)
  const client = rawTraceClient(collector.grpcUrl ?? '')
  const { error, response } = await exportRaw(
    client,
    otlpProtobuf({ spans: [good, { ...good, spanId: '00' }, { ...good, spanId: newSpanId(), traceId: '' }] }),
  )
  client.close()
  assert.equal(error, null)
  assert.ok(response)
  const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(response), {
    longs: String,
  }) as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } }
  assert.equal(decoded.partialSuccess?.rejectedSpans, '2')
  assert.match(decoded.partialSuccess?.errorMessage ?? '', /invalid_span_id/)
  assert.match(decoded.partialSuccess?.errorMessage ?? '', /invalid_trace_id/)
  assert.equal((await rowsFor(traceId)).length, 1)
})

test('RESOURCE_EXHAUSTED without retry info for too many spans or a message over the limit', async () => {
  const client = rawTraceClient(collector.grpcUrl ?? '')
  const one = chatRequest(newTraceId()).spans[0]
  assert.ok(one)
  const many = otlpProtobuf({ spans: Array.from({ length: 51 }, () => ({ ...one, spanId: newSpanId() })) })
  const tooMany = await exportRaw(client, many)
  assert.equal(tooMany.error?.code, status.RESOURCE_EXHAUSTED)
  assert.match(tooMany.error?.details ?? '', /51 spans; at most 50/)
  assert.ok(tooMany.error)
  assert.equal(retryDelay(tooMany.error), null, 'not retryable: the same request would fail again')
  const huge = await exportRaw(client, Buffer.alloc(MAX_BODY + 10, 0))
  assert.equal(huge.error?.code, status.RESOURCE_EXHAUSTED)
  client.close()
})

test('busy: RESOURCE_EXHAUSTED with RetryInfo; storage failing: UNAVAILABLE with RetryInfo', async () => {
  let storageDown = false
  const small = await startCollector({
    storage: flakyStorage(storage, () => storageDown),
    projects,
    port: 0,
    maxPendingRows: 1,
    batchMaxDelayMs: 60_000,
    onError: quiet,
  })
  const raw = rawTraceClient(small.grpcUrl ?? '')
  try {
    assert.equal((await exportRaw(raw, otlpProtobuf(chatRequest(newTraceId())))).error, null)
    const busy = await exportRaw(raw, otlpProtobuf(chatRequest(newTraceId())))
    assert.ok(busy.error)
    assert.equal(busy.error.code, status.RESOURCE_EXHAUSTED)
    assert.equal(retryDelay(busy.error), 1)

    storageDown = true
    const flushed = small.flush()
    let unavailable: ServiceError | null = null
    for (let i = 0; i < 100 && !unavailable; i++) {
      await new Promise((r) => setTimeout(r, 20))
      const reply = await exportRaw(raw, otlpProtobuf(chatRequest(newTraceId())))
      if (reply.error?.code === status.UNAVAILABLE) unavailable = reply.error
    }
    assert.ok(unavailable, 'UNAVAILABLE while inserts fail')
    assert.equal(retryDelay(unavailable), 5)
    assert.match(unavailable.details, /storage is failing/)
    storageDown = false
    await flushed
    assert.equal(small.stats().rejections.request_too_many_requests, 1)
  } finally {
    storageDown = false
    raw.close()
    await small.close()
  }
})

test('grpcPort false serves no gRPC', async () => {
  const httpOnly = await startCollector({ storage, projects, port: 0, grpcPort: false })
  assert.equal(httpOnly.grpcUrl, null)
  assert.equal(httpOnly.grpcPort, null)
  await httpOnly.close()
})

test('a gRPC port in use fails the start with a message naming the port and the way out', async () => {
  await assert.rejects(
    startCollector({ storage, projects, port: 0, grpcPort: collector.grpcPort ?? 0, onError: quiet }),
    /cannot serve OTLP\/gRPC on 127\.0\.0\.1:\d+ .*grpcPort: false/,
  )
})
