/**
 * The export path: a bounded span queue and an OTLP/HTTP sender built so that telemetry can never
 * cost the host app. Nothing here blocks a caller, throws, logs more than once, or keeps a finished
 * process alive: every timer and socket is unref'd except while the app explicitly waits for a
 * `flush()` / `shutdown()` (or the one flush when the event loop empties).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { type Context, context, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api'
import { type ExportResult, ExportResultCode, suppressTracing } from '@opentelemetry/core'
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { type EncodedRequest, TraceRequestBuilder } from './otlp-encode'

/** What happened to the spans this SDK produced. */
export interface HindsightStats {
  /** Spans the backend accepted. */
  exported: number
  /** Spans lost: queue full, failed exports, or ended after shutdown. */
  dropped: number
  /** Export requests that failed (each may have carried many spans). */
  failedExports: number
  /** Errors inside the SDK that were swallowed so the host app never sees them. */
  internalErrors: number
}

/** Mutable counters, plus the single "spans are being dropped" warning. */
export class StatsCounter {
  exported = 0
  dropped = 0
  failedExports = 0
  internalErrors = 0
  #warned = false

  /** Counts lost spans; the first loss of an instance is reported once with `console.warn`, later ones only counted. */
  drop(count: number, reason: string): void {
    this.dropped += count
    if (this.#warned) return
    this.#warned = true
    try {
      console.warn(
        `@hindsight/sdk: dropped ${count} span(s): ${reason}. Further losses are not logged; they are counted in getStats().dropped.`,
      )
    } catch {
      // A broken console must not break the app.
    }
  }

  snapshot(): HindsightStats {
    return {
      exported: this.exported,
      dropped: this.dropped,
      failedExports: this.failedExports,
      internalErrors: this.internalErrors,
    }
  }
}

interface Referable {
  ref(): unknown
  unref(): unknown
}

/**
 * Decides whether the SDK's timers and sockets may keep the process alive. By default none do, so
 * an app that is done exits at once; while someone awaits `flush()`/`shutdown()` they all do, so
 * the awaited work can finish (a script's top-level `await shutdown()` must not be cut short).
 */
export class KeepAlive {
  #holds = 0
  readonly #handles = new Set<Referable>()

  get held(): boolean {
    return this.#holds > 0
  }

  /** Follows the current hold state until the returned function is called. */
  track(handle: Referable): () => void {
    this.#handles.add(handle)
    if (this.#holds > 0) handle.ref()
    else handle.unref()
    return () => {
      this.#handles.delete(handle)
    }
  }

  /** Keeps tracked handles referenced until the returned function is called (idempotent). */
  hold(): () => void {
    if (this.#holds++ === 0) for (const handle of this.#handles) handle.ref()
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.#holds === 0) for (const handle of this.#handles) handle.unref()
    }
  }
}

/** Runs `fn` outside the caller's context with tracing suppressed, so exports never become spans (ours or the host's). */
function outsideTracing<T>(fn: () => T): T {
  return context.with(suppressTracing(ROOT_CONTEXT), fn)
}

/** Resolves after `ms`, or at once when `cancel` is called; the timer follows `keepAlive`. */
function delay(ms: number, keepAlive: KeepAlive, cancels: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = outsideTracing(() => setTimeout(() => done(), ms))
    const untrack = keepAlive.track(timer)
    const done = () => {
      clearTimeout(timer)
      untrack()
      cancels.delete(done)
      resolve()
    }
    cancels.add(done)
  })
}

// ---------------------------------------------------------------------------------------------
// OTLP over HTTP

type SendOutcome = { ok: true } | { ok: false; retryable: boolean; retryAfterMs?: number; reason: string }

const RETRYABLE_STATUS = new Set([429, 502, 503, 504])
const MAX_RETRIES = 4
const FIRST_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 4000
const MAX_RESPONSE_BYTES = 64 * 1024

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date. */
export function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number.parseInt(value, 10) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

function statusReason(status: number): string {
  if (status === 401 || status === 403) return `the collector rejected the API key (HTTP ${status})`
  if (status === 413) return 'the collector refused the request as too large (HTTP 413)'
  return `the collector answered HTTP ${status}`
}

export interface OtlpSenderOptions {
  url: string
  headers: Record<string, string>
  /** One export, retries included, settles within this. */
  timeoutMillis: number
  userAgent: string
  keepAlive: KeepAlive
  contentType?: string
}

/**
 * Posts OTLP/protobuf bodies with retries: exponential backoff with jitter on 429/502/503/504 and
 * network errors, `Retry-After` honoured (if it points past this export's deadline the export fails
 * at once and nothing is sent before that time), everything within `timeoutMillis`.
 */
export class OtlpSender {
  readonly #url: URL
  readonly #options: OtlpSenderOptions
  readonly #agent: HttpAgent | HttpsAgent
  /** Cancels every request and retry wait in progress (see {@link abort}). */
  readonly #cancels = new Set<() => void>()
  #aborted = false
  #notBefore = 0

  constructor(options: OtlpSenderOptions) {
    this.#options = options
    this.#url = new URL(options.url)
    // Pooled keep-alive sockets save a TCP (and TLS) handshake per batch. Node's agent unrefs a socket
    // while it idles in the pool, so a kept-alive connection never holds the process open.
    const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 1, timeout: 30_000 }
    this.#agent = this.#url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
  }

  get url(): string {
    return this.#options.url
  }

  /**
   * Ends every request and retry wait now (they fail, their spans count as dropped) and refuses new
   * ones. Called when `shutdown()` reaches its deadline, so nothing outlives it.
   */
  abort(): void {
    this.#aborted = true
    for (const cancel of [...this.#cancels]) cancel()
    this.#agent.destroy()
  }

  /** Closes pooled idle connections (they are unref'd, but a clean shutdown leaves nothing open). */
  close(): void {
    this.#agent.destroy()
  }

  /** Posts `body` (or the chunks of one body, `byteLength` bytes in all) until it is accepted, fails for good, or the deadline passes. */
  async send(body: Uint8Array | readonly Uint8Array[], byteLength?: number): Promise<ExportResult> {
    const chunks = body instanceof Uint8Array ? [body] : body
    const length = byteLength ?? chunks.reduce((n, chunk) => n + chunk.byteLength, 0)
    const deadline = Date.now() + this.#options.timeoutMillis
    if (this.#aborted) return failed(ABORTED)
    if (Date.now() < this.#notBefore) {
      return failed('the collector asked to retry later (Retry-After) and that time has not come')
    }
    let backoff = FIRST_BACKOFF_MS
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#post(chunks, length, Math.max(1, deadline - Date.now()))
      if (outcome.ok) return { code: ExportResultCode.SUCCESS }
      if (!outcome.retryable || attempt >= MAX_RETRIES) return failed(outcome.reason)
      const jittered = backoff * (0.8 + Math.random() * 0.4)
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
      const wait = outcome.retryAfterMs ?? jittered
      if (Date.now() + wait >= deadline) {
        // The collector's own Retry-After is respected even beyond this export: later exports
        // fail fast (and are counted) instead of hammering an overloaded collector.
        if (outcome.retryAfterMs !== undefined) this.#notBefore = Date.now() + outcome.retryAfterMs
        return failed(outcome.reason)
      }
      await delay(wait, this.#options.keepAlive, this.#cancels)
      if (this.#aborted) return failed(ABORTED)
    }
  }

  #post(chunks: readonly Uint8Array[], byteLength: number, timeoutMillis: number): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      let settled = false
      let untrack: (() => void) | undefined
      let cancel: (() => void) | undefined
      const settle = (outcome: SendOutcome) => {
        if (settled) return
        settled = true
        untrack?.()
        if (cancel) this.#cancels.delete(cancel)
        resolve(outcome)
      }
      try {
        outsideTracing(() => {
          const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest
          const req = send(this.#url, {
            method: 'POST',
            agent: this.#agent,
            headers: {
              ...this.#options.headers,
              'Content-Type': this.#options.contentType ?? 'application/x-protobuf',
              'Content-Length': String(byteLength),
              'User-Agent': this.#options.userAgent,
            },
          })
          req.setTimeout(timeoutMillis, () => {
            req.destroy()
            settle({
              ok: false,
              retryable: true,
              reason: `no answer from ${this.#options.url} within ${timeoutMillis} ms`,
            })
          })
          req.on('socket', (socket) => {
            if (!settled) untrack = this.#options.keepAlive.track(socket)
          })
          req.on('error', (error: NodeJS.ErrnoException) => {
            settle({
              ok: false,
              retryable: true,
              reason: `cannot reach ${this.#options.url} (${error.code ?? error.message})`,
            })
          })
          req.on('response', (res: IncomingMessage) => this.#read(res, settle))
          cancel = () => {
            settle({ ok: false, retryable: false, reason: ABORTED })
            req.destroy()
          }
          this.#cancels.add(cancel)
          for (let i = 0; i < chunks.length - 1; i++) req.write(chunks[i])
          req.end(chunks[chunks.length - 1])
        })
      } catch (error) {
        settle({
          ok: false,
          retryable: false,
          reason: error instanceof Error ? error.message : String(error),
        })
      }
    })
  }

  #read(res: IncomingMessage, settle: (outcome: SendOutcome) => void): void {
    let size = 0
    res.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_RESPONSE_BYTES) res.destroy()
    })
    const finish = () => {
      const status = res.statusCode ?? 0
      if (status >= 200 && status < 300) settle({ ok: true })
      else
        settle({
          ok: false,
          retryable: RETRYABLE_STATUS.has(status),
          retryAfterMs: parseRetryAfter(res.headers['retry-after']),
          reason: statusReason(status),
        })
    }
    res.on('end', finish)
    res.on('close', finish)
    res.on('error', finish)
  }
}

const ABORTED = 'shutdown() reached its deadline before the export finished'

function failed(reason: string): ExportResult {
  return { code: ExportResultCode.FAILED, error: new Error(reason) }
}

// ---------------------------------------------------------------------------------------------
// The bounded queue

export interface SpanQueueOptions {
  maxQueueSize: number
  maxExportBatchSize: number
  scheduledDelayMillis: number
  exportTimeoutMillis: number
  /** Named in the drop warning. */
  destination: string
}

/** Spans taken from the queue for one export. */
interface QueuedBatch {
  readonly count: number
  send(done: (result: ExportResult) => void): void
}

/** Where the queue keeps its spans until they are exported. */
interface SpanStore {
  /** Spans held. */
  readonly length: number
  /** Keeps one span (never throws: a span that cannot be encoded is reported by the store). */
  add(span: ReadableSpan): void
  /** Up to `max` of the oldest spans, as one export; undefined when empty. */
  take(max: number): QueuedBatch | undefined
  close(): Promise<void>
}

/** The spans themselves, handed to any `SpanExporter` (a custom `exporter` option). */
class SpanObjectStore implements SpanStore {
  #spans: ReadableSpan[] = []

  constructor(private readonly exporter: SpanExporter) {}

  get length(): number {
    return this.#spans.length
  }

  add(span: ReadableSpan): void {
    this.#spans.push(span)
  }

  take(max: number): QueuedBatch | undefined {
    if (this.#spans.length === 0) return undefined
    const spans = this.#spans.splice(0, max)
    const exporter = this.exporter
    return { count: spans.length, send: (done) => exporter.export(spans, done) }
  }

  close(): Promise<void> {
    return this.exporter.shutdown()
  }
}

/**
 * Ended spans the SDK's own OTLP path holds before encoding them: they are encoded together, in one
 * loop, once this many are waiting or when a batch is taken, whichever comes first. Encoding span
 * by span as each ends ran the encoder between the client's own work, with cold caches every time:
 * in `pnpm bench:sdk` (same run, every other child) encoding together cost ~12–15 µs less CPU per
 * call. The bound keeps what waits in the heap small (a few hundred KiB of span objects).
 */
export const ENCODE_TOGETHER = 128

/**
 * The SDK's own OTLP path: ended spans are encoded to protobuf together (see
 * {@link ENCODE_TOGETHER}) into reusable buffers ({@link TraceRequestBuilder}); full batches
 * become request bodies at once, and the sender posts them with its retries. A span that cannot
 * be encoded is reported through `onUnencodable` and left out; the rest of its batch is sent.
 */
class EncodedSpanStore implements SpanStore {
  #sealed: { request: EncodedRequest; count: number }[] = []
  #sealedCount = 0
  #open = new TraceRequestBuilder()
  /** Ended spans not yet encoded, in the order they ended. */
  #waiting: ReadableSpan[] = []

  constructor(
    private readonly sender: OtlpSender,
    private readonly batchSize: number,
    private readonly onUnencodable: (error: unknown) => void,
  ) {}

  get length(): number {
    return this.#sealedCount + this.#open.count + this.#waiting.length
  }

  add(span: ReadableSpan): void {
    this.#waiting.push(span)
    if (this.#waiting.length >= ENCODE_TOGETHER) this.#encodeWaiting()
  }

  #encodeWaiting(): void {
    const waiting = this.#waiting
    this.#waiting = []
    for (const span of waiting) {
      try {
        this.#open.add(span)
      } catch (error) {
        this.onUnencodable(error)
        continue
      }
      if (this.#open.count >= this.batchSize) this.#seal()
    }
  }

  #seal(): void {
    const count = this.#open.count
    this.#sealed.push({ request: this.#open.finish(), count })
    this.#sealedCount += count
  }

  take(_max: number): QueuedBatch | undefined {
    if (this.#waiting.length > 0) this.#encodeWaiting()
    if (this.#sealed.length === 0 && this.#open.count > 0) this.#seal()
    const next = this.#sealed.shift()
    if (!next) return undefined
    this.#sealedCount -= next.count
    const sender = this.sender
    return {
      count: next.count,
      send: (done) => {
        const request = next.request
        sender.send(request.chunks, request.byteLength).then(
          (result) => {
            request.release()
            done(result)
          },
          (error: unknown) => {
            request.release()
            done(failed(String(error)))
          },
        )
      },
    }
  }

  close(): Promise<void> {
    this.sender.close()
    return Promise.resolve()
  }
}

/**
 * A batching span processor that, unlike the stock `BatchSpanProcessor`, bounds queued AND in-flight
 * spans together (a slow collector cannot make memory grow), counts every span it loses, reports
 * the first loss once, exports one batch at a time, and whose timers never keep the process alive.
 * With the SDK's own sender it encodes spans in groups (see {@link EncodedSpanStore}); with a custom
 * exporter, as span objects.
 */
export class SpanQueue implements SpanProcessor {
  readonly #store: SpanStore
  #inFlight = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #draining: Promise<void> | undefined
  #closed = false
  #shutdown: Promise<void> | undefined

  constructor(
    target: SpanExporter | OtlpSender,
    private readonly options: SpanQueueOptions,
    private readonly stats: StatsCounter,
    private readonly keepAlive: KeepAlive,
  ) {
    this.#store =
      target instanceof OtlpSender
        ? new EncodedSpanStore(target, options.maxExportBatchSize, (error) => this.#unserializable(error))
        : new SpanObjectStore(target)
  }

  /** Spans queued or being exported. */
  get pending(): number {
    return this.#store.length + this.#inFlight
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.#closed) {
      this.stats.drop(1, 'a span ended after shutdown()')
      return
    }
    if (this.pending >= this.options.maxQueueSize) {
      this.stats.drop(
        1,
        `the export queue is full (maxQueueSize ${this.options.maxQueueSize}); ${this.options.destination} is slow or unreachable`,
      )
      return
    }
    this.#store.add(span)
    if (this.#store.length >= this.options.maxExportBatchSize) this.#drain()
    else this.#schedule()
  }

  /** A span that could not be serialized: lost, counted, and reported like any other loss. */
  #unserializable(error: unknown): void {
    this.stats.internalErrors += 1
    this.stats.drop(
      1,
      `a span could not be serialized (${error instanceof Error ? error.message : String(error)})`,
    )
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#draining) return
    this.#timer = outsideTracing(() =>
      setTimeout(() => {
        this.#clearTimer()
        this.#drain()
      }, this.options.scheduledDelayMillis),
    )
    // Never held: waiting for the next batch is no reason to keep a process alive.
    this.#timer.unref?.()
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /**
   * Exports the queued batch, then further batches only while full ones are waiting; a partial
   * remainder waits for the timer. (Looping until the queue is empty sent a request for every few
   * spans that arrived during each round trip: hundreds of tiny exports under steady traffic.)
   */
  #drain(): Promise<void> {
    this.#clearTimer()
    if (!this.#draining) {
      this.#draining = (async () => {
        do {
          const batch = this.#store.take(this.options.maxExportBatchSize)
          if (batch) await this.#export(batch)
        } while (this.#store.length >= this.options.maxExportBatchSize)
      })().finally(() => {
        this.#draining = undefined
        if (this.#store.length > 0) this.#schedule()
      })
    }
    return this.#draining
  }

  #export(batch: QueuedBatch): Promise<void> {
    this.#inFlight += batch.count
    return new Promise<void>((resolve) => {
      let settled = false
      const timer = outsideTracing(() =>
        setTimeout(
          () =>
            settle(failed(`no answer within exportTimeoutMillis (${this.options.exportTimeoutMillis} ms)`)),
          this.options.exportTimeoutMillis + 100,
        ),
      )
      const untrack = this.keepAlive.track(timer)
      const settle = (result: ExportResult) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        untrack()
        this.#inFlight -= batch.count
        if (result.code === ExportResultCode.SUCCESS) {
          this.stats.exported += batch.count
        } else {
          this.stats.failedExports += 1
          this.stats.drop(
            batch.count,
            `export to ${this.options.destination} failed: ${result.error?.message ?? 'unknown error'}`,
          )
        }
        resolve()
      }
      try {
        outsideTracing(() => batch.send(settle))
      } catch (error) {
        settle(failed(error instanceof Error ? error.message : String(error)))
      }
    })
  }

  /** Exports everything queued now (all batches at once) and waits for the exports in flight. Never rejects. */
  async forceFlush(): Promise<void> {
    this.#clearTimer()
    const running: Promise<void>[] = []
    for (
      let batch = this.#store.take(this.options.maxExportBatchSize);
      batch;
      batch = this.#store.take(this.options.maxExportBatchSize)
    )
      running.push(this.#export(batch))
    if (this.#draining) running.push(this.#draining)
    await Promise.all(running)
  }

  shutdown(): Promise<void> {
    if (!this.#shutdown) {
      this.#closed = true
      this.#shutdown = this.forceFlush().then(
        () => this.#store.close().catch(() => {}),
        () => {},
      )
    }
    return this.#shutdown
  }
}
