// Public API of @hindsight/collector. Storage, conventions and the canonical row have their own
// subpath exports (`/storage`, `/conventions`, `/canonical`).
export type { SpanRow } from './canonical'
export { CollectorError, type CollectorErrorCode } from './errors'
export {
  type GrpcReceiver,
  type GrpcReceiverOptions,
  startGrpcReceiver,
  TRACE_EXPORT_PATH,
} from './grpc/grpc-receiver'
export {
  ACCEPTED_CONTENT_TYPES,
  createOtlpHandler,
  type IngestStats,
  type OtlpHandler,
  type OtlpHandlerOptions,
} from './http/otlp-handler'
export { BufferPool, ingestBuffers } from './ingest/buffer-pool'
export {
  type LocalIngest,
  type LocalIngestOptions,
  type LocalIngestStats,
  startLocalIngest,
} from './ingest/local-ingest'
export { IngestPipeline, type IngestPipelineOptions, type IngestResult } from './ingest/pipeline'
export { DEFAULT_LIMITS, type IngestLimits, limitSpan, resolveLimits } from './limits/limits'
export { type MapSpanOptions, mapSpan } from './mapping/map-span'
export { type NormalizedTokens, normalizeTokens, type RawTokenUsage, type TokenUsage } from './mapping/tokens'
export {
  type DecodedRequest,
  type DecodeOptions,
  decodeOtlpRequest,
  decodeOtlpTraces,
  type OtlpEncoding,
} from './otlp/decode'
export type {
  Attributes,
  AttributeValue,
  OtlpEvent,
  OtlpLink,
  OtlpResource,
  OtlpScope,
  OtlpSpan,
} from './otlp/types'
export { type CostTokens, computeCostUsd, priceSpan, type SpanPrice } from './pricing/price-span'
export {
  findPrice,
  PRICE_TABLE,
  type PriceEntry,
  type PriceTable,
  parsePriceTable,
} from './pricing/price-table'
export { type CollectorOptions, type CollectorStats, type RunningCollector, startCollector } from './server'
export {
  Spool,
  type SpoolOptions,
  type SpoolPosition,
  type SpoolRecord,
  type SpoolRecovery,
  type SpoolStats,
} from './spool/spool'
export { type SpanRejection, type SpanRejectionReason, validateSpan } from './validate'
export {
  type AdmitResult,
  chdbRawInsert,
  DEFAULT_BATCH_MAX_ROWS,
  isDataError,
  type RawInsert,
  SPAN_INSERT_SETTINGS,
  SpanWriter,
  type SpanWriterOptions,
  type SpanWriterStats,
  serializeRows,
  splitLines,
} from './writer/span-writer'
