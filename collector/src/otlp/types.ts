/**
 * OTLP spans after decoding, independent of the wire format (protobuf or JSON). Ids are lowercase
 * hex of whatever the sender sent (validation happens later, per span), 64-bit integers are
 * `bigint` so nothing loses precision, and attribute maps are `Map`s so a key like `__proto__`
 * is just a key.
 */
export type AttributeValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | ReadonlyMap<string, AttributeValue>

export type Attributes = ReadonlyMap<string, AttributeValue>

export interface OtlpResource {
  attributes: Attributes
}

export interface OtlpScope {
  name: string
  version: string
  attributes: Attributes
}

export interface OtlpEvent {
  timeUnixNano: bigint
  name: string
  attributes: Attributes
}

export interface OtlpLink {
  traceId: string
  spanId: string
  traceState: string
  attributes: Attributes
}

/** OTLP `Span.SpanKind` values. */
export const OTLP_SPAN_KINDS = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
] as const

/** OTLP `Status.StatusCode` values. */
export const OTLP_STATUS_UNSET = 0
export const OTLP_STATUS_OK = 1
export const OTLP_STATUS_ERROR = 2

export interface OtlpSpan {
  /** Lowercase hex; '' when absent. Not yet validated. */
  traceId: string
  spanId: string
  parentSpanId: string
  traceState: string
  name: string
  /** OTLP SpanKind number (see {@link OTLP_SPAN_KINDS}). */
  kind: number
  startTimeUnixNano: bigint
  endTimeUnixNano: bigint
  attributes: Attributes
  events: OtlpEvent[]
  links: OtlpLink[]
  status: { code: number; message: string }
  /** Shared by every span of the same ResourceSpans / ScopeSpans. */
  resource: OtlpResource
  scope: OtlpScope
}
