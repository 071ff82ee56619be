import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { ZodError } from 'zod'

/** Error codes of the public API and the HTTP status each one is sent with. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  internal_error: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().openapi({ example: 'from: must be an ISO 8601 timestamp' }),
    }),
  })
  .openapi('Error')

export function errorBody<C extends ErrorCode>(code: C, message: string) {
  return { error: { code, message } }
}

export function errorResponse(c: Context, code: ErrorCode, message: string): Response {
  return c.json(errorBody(code, message), ERROR_STATUS[code])
}

/** One line per problem, each starting with the parameter's name so scripts can tell what to fix. */
export function describeZodError(error: ZodError, target: string): string {
  return error.issues
    .map((issue) => {
      const name = issue.path.length > 0 ? issue.path.map(String).join('.') : target
      return `${name}: ${issue.message}`
    })
    .join('; ')
}

/**
 * The read model reports bad input as `RangeError('<parameter>: <what is wrong>')`. Only those
 * messages are shown to callers; any other error is a server fault.
 */
export function readModelInputError(error: unknown): string | null {
  if (!(error instanceof RangeError)) return null
  const match = /^(from|to|limit|cursor|intervalSeconds): (.+)$/.exec(error.message)
  if (!match) return null
  const name = match[1] === 'intervalSeconds' ? 'interval' : match[1]
  return `${name}: ${match[2]}`
}

/** Responses every authenticated route documents besides its 200. */
export const ERROR_RESPONSES = {
  400: {
    description: 'A parameter is missing or invalid; the message names it.',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  401: {
    description: 'Missing, unknown or revoked project key.',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  500: {
    description: 'Unexpected server error.',
    content: { 'application/json': { schema: ErrorSchema } },
  },
}

/** `{id}` path parameter of the CRUD routes. */
export const IdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) })

/** The 404 a route documents when `{id}` is not in the caller's project. */
export function notFoundResponse(description: string) {
  return { 404: { description, content: { 'application/json': { schema: ErrorSchema } } } }
}

/** A JSON response entry for a route's `responses`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } }
}
