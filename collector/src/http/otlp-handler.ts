import type { IncomingMessage, ServerResponse } from 'node:http'
import { CollectorError, ERROR_CODES } from '../errors'
import { ingestBuffers } from '../ingest/buffer-pool'
import { apiKeyFrom, IngestPipeline, type IngestStats } from '../ingest/pipeline'
import type { IngestLimits } from '../limits/limits'
import type { OtlpEncoding } from '../otlp/decode'
import { encodeExportResponse, RpcStatus } from '../otlp/proto'
import type { PriceTable } from '../pricing/price-table'
import type { ProjectRepository } from '../storage'
import type { SpanWriter } from '../writer/span-writer'
import { ACCEPTED_ENCODINGS, decompress, readBody, requestEncoding } from './body'

export type { IngestStats } from '../ingest/pipeline'

export interface OtlpHandlerOptions {
  /** Resolves API keys to projects (ignored when `pipeline` is given). */
  projects: Pick<ProjectRepository, 'authenticate'>
  /** Receives the accepted rows (ignored when `pipeline` is given). */
  writer: SpanWriter
  /** The ingest pipeline to use, shared with other transports (gRPC). @default one built from these options */
  pipeline?: IngestPipeline
  /** Path served. @default '/v1/traces' */
  path?: string
  /** Largest accepted body, compressed and decompressed (larger → 413). @default 10485760 (10 MiB) */
  maxBodyBytes?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
  /** Clock in ms since the epoch (timestamp validation, `ingested_at`). @default Date.now */
  now?: () => number
  /** Request and span limits. @default DEFAULT_LIMITS */
  limits?: Partial<IngestLimits>
  /** Where unexpected errors are reported. @default console.error */
  onError?: (message: string, error: unknown) => void
}

/** A node:http request listener for OTLP/HTTP trace export, with its counters. */
export interface OtlpHandler {
  (req: IncomingMessage, res: ServerResponse): void
  /** Counters of the pipeline (shared with other transports using the same pipeline). */
  stats(): IngestStats
}

/** Media types accepted on requests. */
export const ACCEPTED_CONTENT_TYPES: Readonly<Record<string, OtlpEncoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
}

const MEDIA_TYPE_LIST = Object.keys(ACCEPTED_CONTENT_TYPES).join(', ')
const RESPONSE_TYPES: Record<OtlpEncoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
}

function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return ACCEPTED_CONTENT_TYPES[media] ?? null
}

function apiKeyOf(req: IncomingMessage): string {
  const header = req.headers['x-hindsight-api-key']
  return apiKeyFrom(req.headers.authorization, Array.isArray(header) ? header[0] : header)
}

function successBody(format: OtlpEncoding, rejected: number, message: string): Buffer {
  if (format === 'protobuf') return encodeExportResponse(rejected, message)
  const payload =
    rejected > 0 ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } } : {}
  return Buffer.from(JSON.stringify(payload))
}

function errorBody(format: OtlpEncoding, code: number, message: string): Buffer {
  if (format === 'protobuf')
    return Buffer.from(RpcStatus.encode(RpcStatus.fromObject({ code, message })).finish())
  return Buffer.from(JSON.stringify({ code, message }))
}

function send(res: ServerResponse, status: number, format: OtlpEncoding, body: Buffer, headers = {}): void {
  if (res.headersSent || res.writableEnded) return
  res.writeHead(status, {
    'content-type': RESPONSE_TYPES[format],
    'content-length': body.length,
    ...headers,
  })
  res.end(body)
}

/**
 * Build the OTLP/HTTP trace receiver: `POST {path}` with protobuf or JSON, gzip or identity.
 * Answers per the OTLP/HTTP spec (200 with partial_success for refused spans; 400, 401, 404,
 * 405, 413, 415; 429/503 with Retry-After when the writer is full or storage is failing), in the
 * request's encoding. Never throws: every failure becomes a response.
 */
export function createOtlpHandler(options: OtlpHandlerOptions): OtlpHandler {
  const path = options.path ?? '/v1/traces'
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 2 ** 20
  const onError =
    options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
  const pipeline =
    options.pipeline ??
    new IngestPipeline({
      projects: options.projects,
      writer: options.writer,
      onError,
      ...(options.priceTable !== undefined && { priceTable: options.priceTable }),
      ...(options.now !== undefined && { now: options.now }),
      ...(options.limits !== undefined && { limits: options.limits }),
    })

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    format: OtlpEncoding | null,
  ): Promise<void> {
    const url = req.url ?? '/'
    const requestPath = url.split('?')[0] ?? url
    if (requestPath !== path) {
      throw new CollectorError('not_found', `no route for ${requestPath}; send OTLP traces to POST ${path}`)
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      throw new CollectorError(
        'method_not_allowed',
        `method ${req.method ?? ''} not allowed on ${path}; use POST`,
      )
    }
    const projectId = await pipeline.authenticate(apiKeyOf(req))
    if (!format) {
      throw new CollectorError(
        'unsupported_media_type',
        `unsupported Content-Type '${req.headers['content-type'] ?? ''}'; accepted: ${MEDIA_TYPE_LIST}`,
      )
    }
    const encoding = requestEncoding(req.headers['content-encoding'])
    if (!encoding) {
      throw new CollectorError(
        'unsupported_media_type',
        `unsupported Content-Encoding '${req.headers['content-encoding'] ?? ''}'; accepted: ${ACCEPTED_ENCODINGS.join(', ')}`,
      )
    }
    // Refuse early, before reading and decoding a body that could not be kept anyway.
    pipeline.checkCapacity()
    const release = pipeline.enter()
    let raw: Buffer | null = null
    try {
      raw = await readBody(req, maxBodyBytes)
      const body = await decompress(raw, encoding, maxBodyBytes)
      const result = await pipeline.ingest(projectId, pipeline.decode(body, format))
      send(res, 200, format, successBody(format, result.rejected, result.errorMessage))
    } finally {
      // The rows are copied out and durable (or refused): the body's memory serves the next request.
      if (raw) ingestBuffers.release(raw)
      release()
    }
  }

  function fail(
    req: IncomingMessage,
    res: ServerResponse,
    format: OtlpEncoding | null,
    error: unknown,
  ): void {
    try {
      respondWithError(req, res, format, error)
    } catch (secondary) {
      onError('could not send an error response', secondary)
      res.destroy()
    }
  }

  function respondWithError(
    req: IncomingMessage,
    res: ServerResponse,
    format: OtlpEncoding | null,
    error: unknown,
  ): void {
    const known = CollectorError.isInstance(error)
      ? error
      : new CollectorError('internal', 'internal error while handling the request', { cause: error })
    if (!CollectorError.isInstance(error)) onError('unexpected error handling an OTLP request', error)
    pipeline.countRefusal(known.code)
    const headers: Record<string, string> = {}
    if (known.retryAfterSeconds !== undefined) headers['retry-after'] = String(known.retryAfterSeconds)
    const info = ERROR_CODES[known.code]
    const answer = () =>
      send(
        res,
        info.status,
        format ?? 'json',
        errorBody(format ?? 'json', info.rpcCode, known.message),
        headers,
      )
    if (req.readableEnded) {
      answer()
      return
    }
    // A capacity refusal (429/503) before the body was read: the client is still sending a body of
    // an acceptable size, so read it to the end and answer then, on a connection that stays open
    // (closing mid-body would make the client's write fail before it sees the Retry-After).
    const declared = Number(req.headers['content-length'])
    if (known.retryAfterSeconds !== undefined && Number.isFinite(declared) && declared <= maxBodyBytes) {
      req.once('end', answer)
      req.resume()
      return
    }
    // Anything else (too large, unauthenticated, unknown length): answer now and close rather than read.
    headers.connection = 'close'
    answer()
    req.resume()
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    let format: OtlpEncoding | null = null
    try {
      format = encodingOf(req.headers['content-type'])
      req.on('error', () => {
        // A client that aborts mid-body surfaces in readBody; nothing else to do here.
      })
      handle(req, res, format).catch((error: unknown) => fail(req, res, format, error))
    } catch (error) {
      fail(req, res, format, error)
    }
  }) as OtlpHandler
  handler.stats = () => pipeline.stats()
  return handler
}
