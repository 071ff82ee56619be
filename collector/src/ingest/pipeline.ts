import { createHash } from 'node:crypto'
import type { SpanRow } from '../canonical'
import { CollectorError, type CollectorErrorCode } from '../errors'
import { type IngestLimits, limitSpan, type ResourceCache, resolveLimits } from '../limits/limits'
import { mapSpan } from '../mapping/map-span'
import { type DecodedRequest, decodeOtlpRequest, type OtlpEncoding, ProtobufRequest } from '../otlp/decode'
import type { OtlpSpan } from '../otlp/types'
import type { WireStrings } from '../otlp/wire'
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table'
import { type PriceTableResolver, staticPriceResolver } from '../pricing/project-prices'
import type { ProjectRepository } from '../storage'
import { type SpanRejection, validateSpan } from '../validate'
import type { SpanWriter } from '../writer/span-writer'
import { ingestBuffers } from './buffer-pool'
import { type JsonEscaper, jsonEscaper } from './json-escape'

/**
 * The API key of a request (HTTP headers or gRPC metadata): an `Authorization: Bearer <key>`
 * header, else `x-hindsight-api-key`; '' when neither is sent.
 */
export function apiKeyFrom(authorization: string | undefined, apiKeyHeader: string | undefined): string {
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (match?.[1]) return match[1]
  }
  return apiKeyHeader?.trim() ?? ''
}

export interface IngestPipelineOptions {
  /** Resolves API keys to projects. */
  projects: Pick<ProjectRepository, 'authenticate'>
  /** Receives the accepted rows (and, when it has a spool, makes them durable). */
  writer: SpanWriter
  /** Prices for `cost_usd`. @default PRICE_TABLE */
  priceTable?: PriceTable
  /** The price table of each project (custom prices); replaces `priceTable`. @default `priceTable` for all */
  prices?: PriceTableResolver
  /** Clock in ms since the epoch (timestamp validation, `ingested_at`). @default Date.now */
  now?: () => number
  /** Request and span limits. @default DEFAULT_LIMITS */
  limits?: Partial<IngestLimits>
  /**
   * Requests handled at once (over every transport); more are answered 429 / RESOURCE_EXHAUSTED
   * with a retry delay, which bounds the memory held by bodies being decoded. @default 64
   */
  maxConcurrentRequests?: number
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

/** The outcome of an accepted request: what goes into `partial_success`. */
export interface IngestResult {
  accepted: number
  rejected: number
  /** '' when nothing was rejected; otherwise a summary by reason with an example each. */
  errorMessage: string
}

/** Seconds clients are asked to wait when the collector is busy. */
export const RETRY_AFTER_BUSY_S = 1
/** Seconds clients are asked to wait while storage (or the spool) is failing. */
export const RETRY_AFTER_UNAVAILABLE_S = 5
const KNOWN_KEYS_MAX = 10_000
const EXAMPLE_MAX_CHARS = 300

const TOKEN_COLUMNS = [
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
] as const
/** Decimal(18, 9). */
const COST = /^\d{1,9}(\.\d{1,9})?$/
const DATETIME6 = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/

/** A value storage would refuse (and so drop the whole row at insert), or null. */
function rowProblem(row: SpanRow): string | null {
  for (const column of TOKEN_COLUMNS) {
    const value = row[column]
    if (!Number.isSafeInteger(value) || value < 0) return `${column} = ${value}`
  }
  if (row.cost_usd !== null && !COST.test(row.cost_usd)) return `cost_usd = ${row.cost_usd}`
  if (!DATETIME6.test(row.start_time)) return `start_time = ${row.start_time}`
  if (!DATETIME6.test(row.end_time)) return `end_time = ${row.end_time}`
  return null
}

function summarize(rejections: SpanRejection[], total: number): string {
  const byReason = new Map<string, { count: number; example: string }>()
  for (const r of rejections) {
    const entry = byReason.get(r.reason)
    if (entry) entry.count += 1
    else byReason.set(r.reason, { count: 1, example: r.message.slice(0, EXAMPLE_MAX_CHARS) })
  }
  const parts = [...byReason].map(([reason, { count, example }]) => `${reason} x${count} (e.g. ${example})`)
  return `${rejections.length} of ${total} spans rejected: ${parts.join('; ')}`
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Room at the start of the escaper's memory for the content being escaped (larger: JSON.stringify). */
const WIRE_AREA_BYTES = 256 * 1024
/** What a row with `input` and `output` blanked holds where they are. */
const BLANK_CONTENT = ',"input":"","output":""'
/** Where the input's escaped bytes go in it (after `,"input":"`). */
const INPUT_AT = ',"input":"'.length
/** Between the input's and the output's escaped bytes. */
const OUTPUT_KEY = new Uint8Array(Buffer.from('","output":"'))
/** Where the output's closing quote is in it. */
const OUTPUT_END = BLANK_CONTENT.length - 1

/** Bytes reserved per expected row before the first one is written (rows are ~1–4 KB). */
const ROW_BYTES_GUESS = 4096
/** Largest scratch kept between requests; bigger requests use (and drop) their own buffer. */
const SCRATCH_MAX_BYTES = 8 * 2 ** 20

/**
 * JSONEachRow lines written straight into one Buffer, each row's JSON encoded as it is produced:
 * no request-sized string is built and flattened (a large-object-space allocation per request,
 * and a copy), only row-sized strings that die young.
 */
class RowBuffer {
  /**
   * Scratch space shared by every request: a request's rows are written and taken in one
   * synchronous stretch, so no two requests use it at once. Grows to the largest request seen.
   */
  private static scratch: Buffer = Buffer.allocUnsafeSlow(0)
  private buffer: Buffer
  /** Where the rows start in `buffer`. */
  private base: number
  private length: number
  /**
   * With an escaper, `buffer` is its memory: the first `WIRE_AREA_BYTES` receive the bytes of
   * the content being escaped, the rows follow.
   */
  escaper: JsonEscaper | null

  constructor(expectedRows: number, escaper: JsonEscaper | null) {
    const wanted = Math.max(1, expectedRows) * ROW_BYTES_GUESS
    // The module's memory never shrinks: it is used only for requests within the scratch bound.
    if (escaper && wanted <= SCRATCH_MAX_BYTES) {
      this.escaper = escaper
      this.base = WIRE_AREA_BYTES
      escaper.reserve(this.base + wanted)
      this.buffer = escaper.view
    } else {
      this.escaper = null
      this.base = 0
      if (RowBuffer.scratch.length < wanted) {
        this.buffer = Buffer.allocUnsafeSlow(wanted)
        if (wanted <= SCRATCH_MAX_BYTES) RowBuffer.scratch = this.buffer
      } else {
        this.buffer = RowBuffer.scratch
      }
    }
    this.length = this.base
  }

  line(json: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit, plus the newline.
    this.reserve(json.length * 3 + 1)
    this.length += this.buffer.write(json, this.length, 'utf8')
    this.buffer[this.length++] = 0x0a
  }

  /**
   * The line of a row whose `input` and `output` were blanked to '' before `json` was made, with
   * `source` bytes [`inputStart`, `inputEnd`) and [`outputStart`, `outputEnd`) (either may be
   * empty) escaped where `"input":""` and `"output":""` are. Only with an escaper. False
   * (nothing written) when the keys are not found or the content spans too many bytes.
   */
  splicedLine(
    json: string,
    source: Buffer,
    inputStart: number,
    inputEnd: number,
    outputStart: number,
    outputEnd: number,
  ): boolean {
    const escaper = this.escaper
    if (escaper === null) return false
    const inputLength = inputEnd - inputStart
    const outputLength = outputEnd - outputStart
    // The bytes of both (usually close together in the span) are copied to the start of the
    // module's memory, where it reads them.
    const from =
      inputLength === 0 ? outputStart : outputLength === 0 ? inputStart : Math.min(inputStart, outputStart)
    const to = Math.max(inputEnd, outputEnd)
    if (to - from > WIRE_AREA_BYTES) return false
    // `,"` cannot occur inside a JSON string (its quotes are escaped), and no object comes before
    // `input` in a row: the first match is the row's own pair of keys.
    const at = json.indexOf(BLANK_CONTENT)
    if (at === -1) return false
    // Escaping writes at most 6 bytes per byte, and whole 16-byte blocks. Growing past the
    // memory bound leaves the escaper (then the caller writes the row with JSON.stringify).
    this.reserve(json.length * 3 + 6 * (inputLength + outputLength) + 33)
    if (this.escaper !== escaper) return false
    const buffer = this.buffer
    source.copy(buffer, 0, from, to)
    let end = this.length
    end += buffer.write(json.slice(0, at + INPUT_AT), end, 'utf8')
    end = escaper.escape(inputStart - from, inputLength, end)
    for (let i = 0; i < OUTPUT_KEY.length; i++) buffer[end++] = OUTPUT_KEY[i] as number
    end = escaper.escape(outputStart - from, outputLength, end)
    end += buffer.write(json.slice(at + OUTPUT_END), end, 'utf8')
    buffer[end++] = 0x0a
    this.length = end
    return true
  }

  /** Room for `bytes` more. */
  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return
    if (this.escaper) {
      const size = Math.max(this.buffer.length * 2, this.length + bytes)
      if (size <= WIRE_AREA_BYTES + SCRATCH_MAX_BYTES) {
        this.escaper.reserve(size)
        this.buffer = this.escaper.view
        return
      }
      // Beyond the bound: the rest of the request is written to a Buffer of its own, without
      // the escaper (the rows so far move along).
      const own = Buffer.allocUnsafeSlow(
        Math.max(2 * (this.length - this.base), this.length - this.base + bytes),
      )
      this.buffer.copy(own, 0, this.base, this.length)
      this.buffer = own
      this.length -= this.base
      this.base = 0
      this.escaper = null
      return
    }
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.length + bytes))
    this.buffer.copy(grown, 0, 0, this.length)
    this.buffer = grown
    if (grown.length <= SCRATCH_MAX_BYTES) RowBuffer.scratch = grown
  }

  /**
   * The lines, in a Buffer of exactly their size (the spare room is not kept alive), from the
   * ingest pool: the writer gives it back once the rows are stored.
   */
  take(): Buffer {
    const body = ingestBuffers.acquire(this.length - this.base)
    this.buffer.copy(body, 0, this.base, this.length)
    return body
  }
}

/**
 * What every OTLP transport does with a request once it has its bytes: authenticate the key,
 * decode within the limits, validate each span, apply the attribute limits, map the span to the
 * canonical row (with its price), serialize the rows once, and hand them to the writer, which
 * makes them durable (spool) before this resolves. HTTP and gRPC differ only in how they read
 * the request and how they answer.
 */
export class IngestPipeline {
  readonly limits: IngestLimits
  private readonly projects: Pick<ProjectRepository, 'authenticate'>
  private readonly writer: SpanWriter
  private readonly priceTable: PriceTable
  private readonly prices: PriceTableResolver
  private readonly now: () => number
  private readonly maxConcurrent: number
  private readonly onError: (message: string, error: unknown) => void
  private readonly counters: IngestStats = { accepted_spans: 0, rejected_spans: 0, rejections: {} }
  /** Recently authenticated keys (by hash), used only while the key lookup itself fails. */
  private readonly knownKeys = new Map<string, string>()
  private active = 0

  constructor(options: IngestPipelineOptions) {
    this.projects = options.projects
    this.writer = options.writer
    this.priceTable = options.priceTable ?? PRICE_TABLE
    this.prices = options.prices ?? staticPriceResolver(this.priceTable)
    this.now = options.now ?? Date.now
    this.limits = resolveLimits(options.limits)
    this.maxConcurrent = Math.max(1, options.maxConcurrentRequests ?? 64)
    this.onError =
      options.onError ?? ((message, error) => console.error(`[hindsight collector] ${message}`, error))
  }

  /**
   * The project of `apiKey`. Throws `unauthorized` for a missing or unknown key, and
   * `storage_unavailable` when keys cannot be looked up (unless this key was verified recently:
   * a storage outage should not turn away clients whose spans the spool can keep).
   */
  async authenticate(apiKey: string): Promise<string> {
    if (!apiKey) {
      throw new CollectorError(
        'unauthorized',
        'missing API key: send `Authorization: Bearer <key>` or `x-hindsight-api-key: <key>`',
      )
    }
    const hash = createHash('sha256').update(apiKey).digest('base64')
    let projectId: string | null
    try {
      projectId = await this.projects.authenticate(apiKey)
    } catch (error) {
      const known = this.knownKeys.get(hash)
      if (known) return known
      throw new CollectorError('storage_unavailable', 'cannot verify the API key right now; retry later', {
        retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_S,
        cause: error,
      })
    }
    if (!projectId) {
      this.knownKeys.delete(hash)
      throw new CollectorError('unauthorized', 'invalid API key')
    }
    if (this.knownKeys.size >= KNOWN_KEYS_MAX) this.knownKeys.clear()
    this.knownKeys.set(hash, projectId)
    return projectId
  }

  /**
   * Take a request slot; call the returned function when the request is answered. Throws
   * `too_many_requests` when `maxConcurrentRequests` are already being handled.
   */
  enter(): () => void {
    if (this.active >= this.maxConcurrent) {
      throw new CollectorError(
        'too_many_requests',
        'the collector is handling too many requests; retry later',
        {
          retryAfterSeconds: RETRY_AFTER_BUSY_S,
        },
      )
    }
    this.active += 1
    let released = false
    return () => {
      if (released) return
      released = true
      this.active -= 1
    }
  }

  /** Refuse before reading a body that could not be kept anyway (writer full or failing). */
  checkCapacity(): void {
    this.throwIfRefused(this.writer.admit(1))
  }

  /**
   * Decode a request body within the span limit (see `decodeOtlpRequest`). Protobuf spans are
   * decoded later, one at a time, by `ingest`: `body` must not change until `ingest` resolves.
   */
  decode(body: Buffer, encoding: OtlpEncoding): DecodedRequest {
    return decodeOtlpRequest(body, encoding, { maxSpans: this.limits.maxSpansPerRequest })
  }

  /**
   * Validate, limit, map and store the spans of a decoded request for `projectId`. Resolves once
   * the accepted rows are durable (with a spool) or queued; throws a retryable `CollectorError`
   * when they cannot be taken now, in which case nothing of the request was kept. A protobuf
   * request's spans are decoded here, each just before it is handled (so none outlives its row),
   * and message content of valid UTF-8 is escaped into the row from the body's bytes.
   */
  async ingest(projectId: string, request: DecodedRequest): Promise<IngestResult> {
    // Backpressure before any work: while storage falls behind, requests wait here (bounded).
    await this.writer.throttle()
    const nowMs = this.now()
    const priceTable = await this.prices.tableFor(projectId) // price table for project
    const spanRejections: SpanRejection[] = []
    const resources: ResourceCache = new WeakMap()
    // Protobuf content is escaped from the request bytes (see RowBuffer.splicedLine).
    const protobuf = request instanceof ProtobufRequest ? request : null
    const out = new RowBuffer(
      protobuf ? protobuf.spanCount : request.spans.length,
      protobuf ? jsonEscaper : null,
    )
    let rows = 0
    let decodedSpans = 0
    const handle = (decoded: OtlpSpan, wire: WireStrings | null): void => {
      decodedSpans += 1
      const rejection = validateSpan(decoded, nowMs)
      if (rejection) {
        spanRejections.push(rejection)
        return
      }
      let row: SpanRow
      try {
        const span = limitSpan(decoded, this.limits, resources)
        row = mapSpan(span, { projectId, now: nowMs, priceTable })
      } catch (error) {
        this.onError(`mapping span ${decoded.spanId} failed`, error)
        spanRejections.push({
          reason: 'mapping_failed',
          message: `span ${decoded.spanId} could not be mapped: ${errorText(error)}`,
        })
        return
      }
      const problem = rowProblem(row)
      if (problem) {
        this.onError(`span ${decoded.spanId} mapped to a row storage cannot take`, new Error(problem))
        spanRejections.push({ reason: 'invalid_row', message: `span ${decoded.spanId}: ${problem}` })
        return
      }
      // Serialized once: these bytes go to the spool and, unchanged, to the engine.
      if (!wire || !out.escaper || !this.writeFromWire(row, wire, out)) out.line(JSON.stringify(row))
      rows += 1
    }
    // Protobuf spans are decoded one at a time as they are handled (none outlives its row).
    if (protobuf) protobuf.forEach(handle)
    else for (const span of request.spans) handle(span, null)
    // Spans refused while decoding come first, as they always have.
    const rejections =
      request.rejections.length > 0 ? [...request.rejections, ...spanRejections] : spanRejections
    if (rows > 0) {
      const body = out.take()
      const admitted = this.writer.admit(rows, body.length)
      if (admitted !== 'ok') ingestBuffers.release(body)
      this.throwIfRefused(admitted)
      try {
        await this.writer.accept(body, rows)
      } catch (error) {
        throw new CollectorError(
          'storage_unavailable',
          'the spans could not be written to the spool; retry later',
          {
            retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_S,
            cause: error,
          },
        )
      }
    }
    const total = decodedSpans + request.rejections.length
    this.counters.accepted_spans += rows
    this.counters.rejected_spans += rejections.length
    for (const r of rejections) this.count(r.reason)
    return {
      accepted: rows,
      rejected: rejections.length,
      errorMessage: rejections.length > 0 ? summarize(rejections, total) : '',
    }
  }

  /**
   * Write `row`'s line with its `input` and `output` escaped from the request bytes they were
   * decoded from (see `json-escape.ts`), when each is either '' or such a string; the rest of the
   * row goes through `JSON.stringify` with the two blanked. The bytes are the same as
   * `JSON.stringify(row)`'s. False when the row does not qualify (nothing written).
   */
  private writeFromWire(row: SpanRow, wire: WireStrings, out: RowBuffer): boolean {
    const input = row.input
    const output = row.output
    const i = input === '' ? -2 : wire.indexOf(input)
    const o = output === '' ? -2 : wire.indexOf(output)
    if (i === -1 || o === -1 || (i === -2 && o === -2)) return false
    row.input = ''
    row.output = ''
    const json = JSON.stringify(row)
    row.input = input
    row.output = output
    return out.splicedLine(
      json,
      wire.buf,
      i < 0 ? 0 : (wire.starts[i] as number),
      i < 0 ? 0 : (wire.ends[i] as number),
      o < 0 ? 0 : (wire.starts[o] as number),
      o < 0 ? 0 : (wire.ends[o] as number),
    )
  }

  /** Count a whole-request refusal (`request_<code>` in the stats). */
  countRefusal(code: CollectorErrorCode): void {
    this.count(`request_${code}`)
  }

  stats(): IngestStats {
    return { ...this.counters, rejections: { ...this.counters.rejections } }
  }

  private count(key: string, n = 1): void {
    this.counters.rejections[key] = (this.counters.rejections[key] ?? 0) + n
  }

  private throwIfRefused(admitted: ReturnType<SpanWriter['admit']>): void {
    if (admitted === 'failing') {
      throw new CollectorError(
        'storage_unavailable',
        this.writer.durable
          ? 'storage is failing and the spool is full (or the collector is shutting down); retry later'
          : 'storage is failing or the collector is shutting down; retry later',
        { retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_S },
      )
    }
    if (admitted === 'full') {
      throw new CollectorError(
        'too_many_requests',
        'the collector is busy writing earlier spans; retry later',
        {
          retryAfterSeconds: RETRY_AFTER_BUSY_S,
        },
      )
    }
  }
}
