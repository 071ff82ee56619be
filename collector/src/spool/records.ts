import { crc32 } from 'node:zlib'

/**
 * The spool's record format: a 16-byte header, then the body (the JSONEachRow lines of one
 * request's rows, exactly the bytes later handed to the engine).
 *
 * ```
 * offset 0  u32 LE  magic 0x31525348 ('HSR1')
 * offset 4  u32 LE  body length in bytes
 * offset 8  u32 LE  rows in the body
 * offset 12 u32 LE  CRC-32 of header bytes 4..12 followed by the body
 * ```
 * A record whose header is incomplete, whose magic is wrong or whose body runs past the end of
 * the file is a torn write (the process died mid-append); one whose checksum does not match is
 * corrupt. Either way it was never acknowledged.
 */
export const RECORD_MAGIC = 0x31525348
export const HEADER_BYTES = 16

export function encodeHeader(body: Buffer, rows: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES)
  header.writeUInt32LE(RECORD_MAGIC, 0)
  header.writeUInt32LE(body.length, 4)
  header.writeUInt32LE(rows, 8)
  header.writeUInt32LE(crc32(body, crc32(header.subarray(4, 12))), 12)
  return header
}

export type ParsedRecord =
  | { kind: 'record'; body: Buffer; rows: number; size: number }
  /** Not enough bytes in `buffer` for the header or the body that the header announces. */
  | { kind: 'incomplete'; needed: number }
  /** Not a record start: a torn or overwritten tail. */
  | { kind: 'bad_magic' }
  /** A complete record whose checksum does not match; `size` says how far to skip. */
  | { kind: 'corrupt'; size: number }

/** Parse the record starting at `offset` in `buffer` (the body is a view, not a copy). */
export function parseRecord(buffer: Buffer, offset: number): ParsedRecord {
  const available = buffer.length - offset
  if (available < HEADER_BYTES) return { kind: 'incomplete', needed: HEADER_BYTES }
  if (buffer.readUInt32LE(offset) !== RECORD_MAGIC) return { kind: 'bad_magic' }
  const length = buffer.readUInt32LE(offset + 4)
  const rows = buffer.readUInt32LE(offset + 8)
  const size = HEADER_BYTES + length
  if (available < size) return { kind: 'incomplete', needed: size }
  const body = buffer.subarray(offset + HEADER_BYTES, offset + size)
  const expected = buffer.readUInt32LE(offset + 12)
  if (crc32(body, crc32(buffer.subarray(offset + 4, offset + 12))) !== expected) {
    return { kind: 'corrupt', size }
  }
  return { kind: 'record', body, rows, size }
}
