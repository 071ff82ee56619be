import {
  type status as GrpcStatus,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import { CollectorError, ERROR_CODES } from '../errors'
import { apiKeyFrom, type IngestPipeline } from '../ingest/pipeline'
import { encodeExportResponse, OTLP_PROTO_SOURCES, RpcStatus } from '../otlp/proto'

/*
 * The OTLP trace service, declared over the collector's own proto text: its package and
 * message names give the method path, and the request and response types it names are the ones
 * the OTLP/HTTP receiver decodes and encodes. google.rpc.RetryInfo (with Duration) is what OTLP
 * clients read from `grpc-status-details-bin` to know how long to wait before retrying.
 */
const SERVICE_PROTO = `
syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;

service TraceService {
  rpc Export(ExportTraceServiceRequest) returns (ExportTraceServiceResponse) {}
}
`
const RETRY_INFO_PROTO = `
syntax = "proto3";
package google.rpc;

message RetryInfo { google.protobuf.Duration retry_delay = 1; }
`
const DURATION_PROTO = `
syntax = "proto3";
package google.protobuf;

message Duration {
  int64 seconds = 1;
  int32 nanos = 2;
}
`

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root()
  for (const source of [
    ...Object.values(OTLP_PROTO_SOURCES),
    SERVICE_PROTO,
    RETRY_INFO_PROTO,
    DURATION_PROTO,
  ]) {
    protobuf.parse(source, root, { keepCase: false })
  }
  root.resolveAll()
  return root
}

const root = buildRoot()
const traceService = root.lookupService('opentelemetry.proto.collector.trace.v1.TraceService')
const RetryInfo = root.lookupType('google.rpc.RetryInfo')

/** `/opentelemetry.proto.collector.trace.v1.TraceService/Export` */
export const TRACE_EXPORT_PATH = `/${traceService.fullName.replace(/^\./, '')}/Export`

const passthrough = (buffer: Buffer) => buffer

/*
 * Messages stay bytes on both sides: the request is decoded once, by the same decoder as
 * OTLP/HTTP protobuf (span by span, tolerant of bad UTF-8), and the response is encoded with the
 * same ExportTraceServiceResponse type. Also the definition of raw-bytes test clients
 * (`rawTraceClient` in `./raw-client`).
 */
export const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
  },
}

export interface GrpcReceiverOptions {
  pipeline: IngestPipeline
  /** Interface to bind. */
  host: string
  /** Port; 0 picks a free one. */
  port: number
  /** Largest request message, after decompression (larger → RESOURCE_EXHAUSTED). */
  maxMessageBytes: number
  /** Where unexpected errors are reported. */
  onError: (message: string, error: unknown) => void
}

export interface GrpcReceiver {
  /** `http://host:port`, the form OTLP gRPC exporters take as their endpoint. */
  url: string
  port: number
  /** Stop accepting calls; calls in progress get `graceMs` to finish. */
  close(graceMs: number): Promise<void>
}

function apiKeyOf(metadata: Metadata): string {
  const text = (key: string) => {
    const value = metadata.get(key)[0]
    return typeof value === 'string' ? value : undefined
  }
  return apiKeyFrom(text('authorization'), text('x-hindsight-api-key'))
}

/** The status as gRPC sends it, with RetryInfo in `grpc-status-details-bin` when a retry is welcome. */
export function toServiceError(error: CollectorError): Partial<ServiceError> {
  const code = ERROR_CODES[error.code].rpcCode as GrpcStatus
  const metadata = new Metadata()
  if (error.retryAfterSeconds !== undefined) {
    const retryInfo = RetryInfo.encode(
      RetryInfo.fromObject({ retryDelay: { seconds: error.retryAfterSeconds } }),
    ).finish()
    const details = RpcStatus.encode(
      RpcStatus.fromObject({
        code,
        message: error.message,
        details: [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: retryInfo }],
      }),
    ).finish()
    metadata.set('grpc-status-details-bin', Buffer.from(details))
  }
  return { code, details: error.message, metadata }
}

/**
 * Start the OTLP/gRPC trace receiver (`opentelemetry.proto.collector.trace.v1.TraceService/Export`)
 * on `host:port`. Status codes follow the OTLP spec: OK with `partial_success` for refused spans,
 * UNAUTHENTICATED, INVALID_ARGUMENT (with the reason), RESOURCE_EXHAUSTED (too large: no retry
 * info; busy: with RetryInfo) and UNAVAILABLE with RetryInfo while storage or the spool cannot
 * take spans. gzip-compressed requests are accepted (grpc-js inflates them within the size limit).
 */
export async function startGrpcReceiver(options: GrpcReceiverOptions): Promise<GrpcReceiver> {
  const { pipeline, onError } = options
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': 4 * 2 ** 20,
  })

  async function handle(call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    const projectId = await pipeline.authenticate(apiKeyOf(call.metadata))
    pipeline.checkCapacity()
    const release = pipeline.enter()
    try {
      const result = await pipeline.ingest(projectId, pipeline.decode(call.request, 'protobuf'))
      return encodeExportResponse(result.rejected, result.errorMessage)
    } finally {
      release()
    }
  }

  server.addService(TRACE_SERVICE, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      handle(call).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const known = CollectorError.isInstance(error)
            ? error
            : new CollectorError('internal', 'internal error while handling the request', { cause: error })
          if (!CollectorError.isInstance(error))
            onError('unexpected error handling an OTLP/gRPC request', error)
          pipeline.countRefusal(known.code)
          callback(toServiceError(known))
        },
      )
    },
  })

  const address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
      if (!error) resolve(bound)
      else {
        // grpc-js reports "No address added…": say which port and what to do.
        const message = `cannot serve OTLP/gRPC on ${address} (${error.message}): is the port in use? Choose another port, or turn gRPC off (grpcPort: false)`
        reject(new Error(message, { cause: error }))
      }
    })
  })
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`

  let closed: Promise<void> | null = null
  return {
    url,
    port,
    close(graceMs: number) {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown()
          resolve()
        }, graceMs)
        server.tryShutdown(() => {
          clearTimeout(timer)
          resolve()
        })
      })
      return closed
    },
  }
}
