/** `@hindsight/quality` errors as tRPC errors: bad input → BAD_REQUEST (the message names the field). */
import { QualityError } from '@hindsight/quality'
import { TRPCError } from '@trpc/server'

export async function qualityCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (!QualityError.isInstance(error)) throw error
    throw new TRPCError({
      code: error.code === 'not_found' ? 'NOT_FOUND' : error.code === 'conflict' ? 'CONFLICT' : 'BAD_REQUEST',
      message: error.message,
      cause: error,
    })
  }
}
