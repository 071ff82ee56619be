import type { OtlpSpan } from './otlp/types'
import { MIN_START_UNIX_NANO } from './time'

/** Why a single span was rejected; counted per reason in the collector's stats. */
export type SpanRejectionReason =
  /** The span's bytes or JSON could not be decoded (wrong types, broken protobuf). */
  | 'malformed_span'
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'end_before_start'
  | 'start_too_old'
  | 'start_in_future'
  | 'end_in_future'
  | 'mapping_failed'
  /** The mapped row holds a value storage cannot take (a mapping bug; reported). */
  | 'invalid_row'

export interface SpanRejection {
  reason: SpanRejectionReason
  message: string
}

const ALL_ZERO = /^0+$/
/** How far in the future a span may start (clock skew between hosts). */
const MAX_FUTURE_NANOS = 86_400_000_000_000n

/** 1 when lowercase hex and not all zero, 0 when all zero, -1 when not `length` lowercase hex chars. */
function hexId(id: string, length: number): number {
  if (id.length !== length) return -1
  let nonZero = 0
  for (let i = 0; i < length; i++) {
    const c = id.charCodeAt(i)
    if (c === 0x30) continue
    if ((c < 0x31 || c > 0x39) && (c < 0x61 || c > 0x66)) return -1
    nonZero = 1
  }
  return nonZero
}

/** The latest start/end accepted at `nowMs`, computed once per clock value (a request's spans share it). */
let boundNowMs = Number.NaN
let bound = 0n
function futureBound(nowMs: number): bigint {
  if (nowMs !== boundNowMs) {
    bound = BigInt(Math.trunc(nowMs)) * 1_000_000n + MAX_FUTURE_NANOS
    boundNowMs = nowMs
  }
  return bound
}

function describeId(id: string): string {
  if (id === '') return 'missing'
  if (ALL_ZERO.test(id)) return 'all zero'
  return `'${id.slice(0, 40)}' (${id.length} hex chars)`
}

/**
 * Check one span's ids and timestamps. Returns why it must be rejected, or null when it is fine.
 * An all-zero parent span id is treated as "no parent", as some SDKs send it for root spans.
 */
export function validateSpan(span: OtlpSpan, nowMs: number): SpanRejection | null {
  if (hexId(span.traceId, 32) !== 1) {
    return {
      reason: 'invalid_trace_id',
      message: `trace_id must be 16 bytes (32 hex chars), not all zero; got ${describeId(span.traceId)}`,
    }
  }
  if (hexId(span.spanId, 16) !== 1) {
    return {
      reason: 'invalid_span_id',
      message: `span_id must be 8 bytes (16 hex chars), not all zero; got ${describeId(span.spanId)}`,
    }
  }
  if (span.parentSpanId !== '' && hexId(span.parentSpanId, 16) === -1) {
    return {
      reason: 'invalid_parent_span_id',
      message: `parent_span_id must be empty or 8 bytes (16 hex chars); got ${describeId(span.parentSpanId)}`,
    }
  }
  const start = span.startTimeUnixNano
  const end = span.endTimeUnixNano
  if (start < MIN_START_UNIX_NANO) {
    return { reason: 'start_too_old', message: `start_time_unix_nano ${start} is before 2000-01-01` }
  }
  const latest = futureBound(nowMs)
  if (start > latest) {
    return {
      reason: 'start_in_future',
      message: `start_time_unix_nano ${start} is more than 1 day in the future`,
    }
  }
  if (end > latest) {
    return {
      reason: 'end_in_future',
      message: `end_time_unix_nano ${end} is more than 1 day in the future`,
    }
  }
  if (end < start) {
    return {
      reason: 'end_before_start',
      message: `end_time_unix_nano ${end} is before start_time_unix_nano ${start}`,
    }
  }
  return null
}
