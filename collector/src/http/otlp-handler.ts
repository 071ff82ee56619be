import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SpanRow } from '../canonical'
import { CollectorError, ERROR_CODES } from '../errors'
import { mapSpan } from '../mapping/map-span'
import { decodeOtlpTraces, type OtlpEncoding } from '../otlp/decode'
import { ExportTraceServiceResponse, RpcStatus } from '../otlp/proto'
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table'
import type { ProjectRepository } from '../storage'
import { type SpanRejection, validateSpan } from '../validate'
import type { SpanWriter } from '../writer/span-writer'
import { ACCEPTED_ENCODINGS, decompress, readBody, requestEncoding } from './body'

export interface OtlpHandlerOptions {
  /** Resolves API keys to projects. */
  projects: Pick<ProjectRepository, 'authenticate'>
  /** Receives the accepted rows. */
  writer: SpanWriter
  /** Path served. @default '/v1/traces' */
  path?: string
  /** Largest accepted body, compressed and decompressed (larger → 413). @default 10485760 (10 MiB) */
  maxBodyBytes?: number
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
  /** Clock in ms since the epoch (timestamp validation, `ingested_at`). @default Date.now */
  now?: () => number
  /** Where unexpected errors are reported. @default console.error */
  onError?: (message: string, error: unknown) => void
}

export interface IngestStats {
  /** Spans handed to the writer. */
  accepted_spans: number
  /** Spans refused one by one (reported in partial_success). */
  rejected_spans: number
  /**
   * Counts by reason: span rejections by their reason (e.g. `invalid_trace_id`), whole-request
   * refusals as `request_<code>` (e.g. `request_unauthorized`), counting requests.
   */
  rejections: Record<string, number>
}

/** A node:http request listener for OTLP/HTTP trace export, with its counters. */
export interface OtlpHandler {
  (req: IncomingMessage, res: ServerResponse): void
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
const RETRY_AFTER_FULL_S = 1
const RETRY_AFTER_FAILING_S = 5

function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  return ACCEPTED_CONTENT_TYPES[media] ?? null
}

function apiKeyOf(req: IncomingMessage): string {
  const authorization = req.headers.authorization
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (match?.[1]) return match[1]
  }
  const header = req.headers['x-hindsight-api-key']
  return (Array.isArray(header) ? header[0] : header)?.trim() ?? ''
}

function summarize(rejections: SpanRejection[], total: number): string {
  const byReason = new Map<string, { count: number; example: string }>()
  for (const r of rejections) {
    const entry = byReason.get(r.reason)
    if (entry) entry.count += 1
    else byReason.set(r.reason, { count: 1, example: r.message })
  }
  const parts = [...byReason].map(([reason, { count, example }]) => `${reason} x${count} (e.g. ${example})`)
  return `${rejections.length} of ${total} spans rejected: ${parts.join('; ')}`
}

function successBody(format: OtlpEncoding, rejected: number, message: string): Buffer {
  if (format === 'protobuf') {
    const payload = rejected > 0 ? { partialSuccess: { rejectedSpans: rejected, errorMessage: message } } : {}
    return Buffer.from(
      ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(payload)).finish(),
    )
  }
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
  const priceTable = options.priceTable ?? PRICE_TABLE
  const now = options.now ?? Date.now
  const onError =
    options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
  const { writer, projects } = options
  const counters: IngestStats = { accepted_spans: 0, rejected_spans: 0, rejections: {} }

  const count = (key: string, n = 1) => {
    counters.rejections[key] = (counters.rejections[key] ?? 0) + n
  }

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
    const key = apiKeyOf(req)
    if (!key) {
      throw new CollectorError(
        'unauthorized',
        'missing API key: send `Authorization: Bearer <key>` or `x-hindsight-api-key: <key>`',
      )
    }
    let projectId: string | null
    try {
      projectId = await projects.authenticate(key)
    } catch (error) {
      throw new CollectorError('storage_unavailable', 'cannot verify the API key right now; retry later', {
        retryAfterSeconds: RETRY_AFTER_FAILING_S,
        cause: error,
      })
    }
    if (!projectId) throw new CollectorError('unauthorized', 'invalid API key')
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
    const early = writer.admit(1)
    if (early === 'failing') throw unavailable()
    if (early === 'full') throw busy()

    const raw = await readBody(req, maxBodyBytes)
    const body = await decompress(raw, encoding, maxBodyBytes)
    const spans = decodeOtlpTraces(body, format)

    const nowMs = now()
    const rows: SpanRow[] = []
    const rejections: SpanRejection[] = []
    for (const span of spans) {
      const rejection = validateSpan(span, nowMs)
      if (rejection) {
        rejections.push(rejection)
        continue
      }
      try {
        rows.push(mapSpan(span, { projectId, now: nowMs, priceTable }))
      } catch (error) {
        onError(`mapping span ${span.spanId} failed`, error)
        rejections.push({
          reason: 'mapping_failed',
          message: `span ${span.spanId} could not be mapped: ${error instanceof Error ? error.message : String(error)}`,
        })
      }
    }

    const admitted = writer.admit(rows.length)
    if (admitted === 'failing') throw unavailable()
    if (admitted === 'full') throw busy()
    writer.add(rows)
    counters.accepted_spans += rows.length
    counters.rejected_spans += rejections.length
    for (const r of rejections) count(r.reason)
    const message = rejections.length > 0 ? summarize(rejections, spans.length) : ''
    send(res, 200, format, successBody(format, rejections.length, message))
  }

  function busy(): CollectorError {
    return new CollectorError(
      'too_many_requests',
      'the collector is busy writing earlier spans; retry later',
      {
        retryAfterSeconds: RETRY_AFTER_FULL_S,
      },
    )
  }

  function unavailable(): CollectorError {
    return new CollectorError(
      'storage_unavailable',
      'storage is failing or the collector is shutting down; retry later',
      {
        retryAfterSeconds: RETRY_AFTER_FAILING_S,
      },
    )
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
    count(`request_${known.code}`)
    const headers: Record<string, string> = {}
    if (known.retryAfterSeconds !== undefined) headers['retry-after'] = String(known.retryAfterSeconds)
    // The body may be unread (early refusal): close the connection rather than read it.
    if (!req.readableEnded) headers.connection = 'close'
    const info = ERROR_CODES[known.code]
    send(
      res,
      info.status,
      format ?? 'json',
      errorBody(format ?? 'json', info.rpcCode, known.message),
      headers,
    )
    if (!req.readableEnded) req.resume()
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
  handler.stats = () => ({ ...counters, rejections: { ...counters.rejections } })
  return handler
}
