import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'

const PROBE = createContextKey('@hindsight/sdk context probe')

/**
 * Registers an AsyncLocalStorage context manager unless the host app already has one. The probe
 * (does a value set with `context.with` come back?) avoids `setGlobalContextManager`'s duplicate
 * registration error, which would also be logged through the host's diag logger.
 */
export function ensureContextManager(): void {
  const propagates = context.with(ROOT_CONTEXT.setValue(PROBE, true), () => context.active().getValue(PROBE))
  if (propagates === true) return
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
}
