import { ChatCall } from './chat-call'
import { EmbeddingsCall } from './embeddings-call'
import { patchMethod, patchWithOptions, resolvePath } from './patch'
import { ResponsesCall } from './responses-call'

function providerName(client: object): string {
  // AzureOpenAI subclasses OpenAI; the conventions give Azure its own provider name.
  return client.constructor?.name === 'AzureOpenAI' ? 'azure.ai.openai' : 'openai'
}

/**
 * Instruments an OpenAI client (openai v5, v6 or v7) so that every call of
 * - `chat.completions.create` (and the helpers built on it: `parse`, `stream`, `runTools`) and
 *   `responses.create` (and `responses.stream`, `responses.parse`) becomes a `chat {model}` span,
 * - `embeddings.create` becomes an `embeddings {model}` span.
 *
 * The client is patched in place (on its resource objects, not on the openai module, so it works
 * whatever the module format or version) and returned, with its type unchanged. Wrapping twice is
 * harmless, and `withOptions()` copies are wrapped too. Calls made before `init()` or with `enabled: false` go straight to OpenAI.
 */
export function wrapOpenAI<T extends object>(client: T): T {
  try {
    const provider = providerName(client)
    patchMethod(resolvePath(client, ['chat', 'completions']), 'create', (hindsight, params) =>
      ChatCall.start(hindsight, params, provider),
    )
    patchMethod(resolvePath(client, ['responses']), 'create', (hindsight, params) =>
      ResponsesCall.start(hindsight, params, provider),
    )
    patchMethod(resolvePath(client, ['embeddings']), 'create', (hindsight, params) =>
      EmbeddingsCall.start(hindsight, params, provider),
    )
    patchWithOptions(client, wrapOpenAI)
  } catch {
    // A client we cannot patch is returned as it was: tracing is never worth breaking the app.
  }
  return client
}
