import type { IncomingMessage } from 'node:http'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { CollectorError } from '../errors'
import { ingestBuffers } from '../ingest/buffer-pool'

const gunzipAsync = promisify(gunzip)

/** Content-Encodings accepted on requests (OTLP/HTTP requires gzip support). */
export const ACCEPTED_ENCODINGS = ['gzip', 'identity'] as const
export type AcceptedEncoding = (typeof ACCEPTED_ENCODINGS)[number]

export function requestEncoding(header: string | undefined): AcceptedEncoding | null {
  const value = (header ?? '').trim().toLowerCase()
  if (value === '' || value === 'identity') return 'identity'
  if (value === 'gzip' || value === 'x-gzip') return 'gzip'
  return null
}

function tooLarge(what: string, limit: number): CollectorError {
  return new CollectorError('payload_too_large', `${what} is larger than the limit of ${limit} bytes`)
}

/**
 * Read the raw request body, refusing (413) as soon as it exceeds `limit` bytes. With a declared
 * length, the body is read into a Buffer from the ingest pool (`ingestBuffers`): give it back
 * with `ingestBuffers.release` once nothing reads it.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw tooLarge('request body', limit)
  const chunks: Buffer[] = []
  let size = 0
  // Chunks are copied into `into` as they arrive while they fit the declared length.
  let into: Buffer | null =
    Number.isInteger(declared) && declared > 0 ? ingestBuffers.acquire(declared) : null
  try {
    for await (const chunk of req) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)
      if (size + buffer.length > limit) throw tooLarge('request body', limit)
      if (into && size + buffer.length <= into.length) buffer.copy(into, size)
      else {
        if (into) {
          // More than declared: keep what was copied as an ordinary chunk and go on without the pool.
          chunks.push(Buffer.from(into.subarray(0, size)))
          ingestBuffers.release(into)
          into = null
        }
        chunks.push(buffer)
      }
      size += buffer.length
    }
    if (into) {
      if (size === into.length) return into
      const short = Buffer.from(into.subarray(0, size))
      ingestBuffers.release(into)
      return short
    }
  } catch (error) {
    if (into) ingestBuffers.release(into)
    if (CollectorError.isInstance(error)) throw error
    // The client went away mid-body (aborted, reset): nothing to answer, nothing to report.
    throw new CollectorError(
      'malformed_request',
      `request body could not be read: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  return Buffer.concat(chunks, size)
}

/** Decompress a gzip body, refusing (413) when it inflates beyond `limit` bytes. */
export async function decompress(body: Buffer, encoding: AcceptedEncoding, limit: number): Promise<Buffer> {
  if (encoding === 'identity') return body
  try {
    return await gunzipAsync(body, { maxOutputLength: limit })
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      throw tooLarge('decompressed body', limit)
    throw new CollectorError(
      'malformed_request',
      `body is not valid gzip data: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}
