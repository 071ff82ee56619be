import { randomUUID } from 'node:crypto'
import { invalid } from './errors'

export const TRACE_ID = /^[0-9a-f]{32}$/
export const SPAN_ID = /^[0-9a-f]{16}$/
/** Ids callers may choose (scores are idempotent by id): letters, digits and `_.:-`. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,128}$/

export function newId(): string {
  return randomUUID()
}

/** A trace id as stored: 32 lowercase hex characters (upper case accepted). */
export function traceId(value: string, field: string): string {
  const id = value.trim().toLowerCase()
  if (!TRACE_ID.test(id)) throw invalid(`${field}: must be 32 hexadecimal characters`)
  return id
}

/** A span id as stored, or '' when absent. */
export function spanId(value: string | undefined | null, field: string): string {
  if (value === undefined || value === null || value === '') return ''
  const id = value.trim().toLowerCase()
  if (!SPAN_ID.test(id)) throw invalid(`${field}: must be 16 hexadecimal characters`)
  return id
}
