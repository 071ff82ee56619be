import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { OTLPLogExporter } from 'otel3-exporter-logs-otlp-proto'
import { BatchLogRecordProcessor, LoggerProvider } from 'otel3-sdk-logs'
import {
  countJson,
  countProtobuf,
  type OtlpSink,
  occurrences,
  type SinkStats,
  startOtlpSink,
} from './sdk-sink'

let sink: OtlpSink
before(async () => {
  sink = await startOtlpSink({ markers: ['needle-1', 'needle-2'] })
})
after(() => sink.close())

function makeSpans(names: string[], attribute: string): ReadableSpan[] {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] })
  const tracer = provider.getTracer('t')
  for (const name of names) tracer.startSpan(name, { attributes: { content: attribute } }).end()
  return memory.getFinishedSpans()
}

async function stats(id: string): Promise<SinkStats> {
  return (await (await fetch(`${sink.url}/stats/${id}`)).json()) as SinkStats
}

test('counts spans and their names in protobuf and JSON requests, as the official serializers write them', () => {
  const spans = makeSpans(['chat a', 'chat a', 'chat b'], 'x')
  const proto = ProtobufTraceSerializer.serializeRequest(spans)
  const json = JsonTraceSerializer.serializeRequest(spans)
  assert.ok(proto && json)
  for (const counted of [countProtobuf(proto, 'traces'), countJson(json, 'traces')]) {
    assert.equal(counted.items, 3)
    assert.deepEqual(Object.fromEntries(counted.names), { 'chat a': 2, 'chat b': 1 })
  }
  assert.throws(() => countProtobuf(Uint8Array.from([0x0a, 0x05, 0x01]), 'traces'))
})

test('occurrences counts non-overlapping matches', () => {
  assert.equal(occurrences(Buffer.from('aXbXXc'), Buffer.from('X')), 3)
  assert.equal(occurrences(Buffer.from('aaaa'), Buffer.from('aa')), 2)
  assert.equal(occurrences(Buffer.from('abc'), Buffer.from('z')), 0)
})

test('a real OTLP protobuf exporter reaches the sink: spans, names and markers counted per variant id', async () => {
  const exporter = new OTLPTraceExporter({ url: `${sink.url}/variant-a/v1/traces` })
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer('t')
  for (let i = 0; i < 4; i++)
    tracer.startSpan('chat m', { attributes: { input: 'say needle-1 twice needle-1' } }).end()
  await provider.forceFlush()
  await provider.shutdown()
  const a = await stats('variant-a')
  assert.equal(a.spans, 4)
  assert.equal(a.traceRequests, 4, 'one request per span with a simple processor')
  assert.deepEqual(a.names, { 'chat m': 4 })
  assert.equal(a.markers['needle-1'], 8)
  assert.equal(a.markers['needle-2'], 0)
  assert.equal(a.rejected, 0)
  assert.equal((await stats('variant-b')).spans, 0, 'another id saw nothing')
})

test('log records (content events) are counted apart from spans; gzip and JSON bodies are read', async () => {
  const loggers = new LoggerProvider({
    processors: [
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${sink.url}/logs-v/v1/logs` }) }),
    ],
  })
  const logger = loggers.getLogger('t')
  logger.emit({ eventName: 'gen_ai.user.message', body: 'needle-2' })
  logger.emit({ body: 'no name' })
  await loggers.shutdown()
  const json = JsonTraceSerializer.serializeRequest(makeSpans(['j'], 'needle-2'))
  assert.ok(json)
  const res = await fetch(`${sink.url}/logs-v/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(json),
  })
  assert.equal(res.status, 200)
  const bad = await fetch(`${sink.url}/logs-v/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Uint8Array.from([0xff]),
  })
  assert.equal(bad.status, 400)
  const s = await stats('logs-v')
  assert.equal(s.logRecords, 2)
  assert.equal(s.spans, 1)
  assert.equal(s.traceRequests, 1)
  assert.equal(s.requests, 2, 'the log batch and the JSON trace request; the undecodable one is not counted')
  assert.equal(s.names['log:gen_ai.user.message'], 1)
  assert.equal(s.names['log:(no event name)'], 1)
  assert.equal(s.markers['needle-2'], 2)
  assert.equal(s.rejected, 1)
})
