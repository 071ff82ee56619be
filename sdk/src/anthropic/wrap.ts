import { patchMethod, patchWithOptions, resolvePath } from '../openai/patch'
import { MessagesCall } from './messages-call'

function providerName(client: object): string {
  // The Bedrock and Vertex clients (separate packages) share the Messages API.
  switch (client.constructor?.name) {
    case 'AnthropicBedrock':
      return 'aws.bedrock'
    case 'AnthropicVertex':
      return 'gcp.vertex_ai'
    default:
      return 'anthropic'
  }
}

/**
 * Instruments an Anthropic client (`@anthropic-ai/sdk`) so that every `messages.create` call, and
 * the helpers built on it (`messages.stream()` with its events and `finalMessage()`,
 * `messages.parse()`), becomes a `chat {model}` span; `beta.messages` likewise. Token counts
 * follow the GenAI conventions: `gen_ai.usage.input_tokens` includes cache reads and writes.
 *
 * The client is patched in place and returned, with its type unchanged. Wrapping twice is
 * harmless, and `withOptions()` copies are wrapped too. Calls made before `init()` or with `enabled: false` go straight to Anthropic.
 */
export function wrapAnthropic<T extends object>(client: T): T {
  try {
    const provider = providerName(client)
    const start = (hindsight: Parameters<typeof MessagesCall.start>[0], params: unknown) =>
      MessagesCall.start(hindsight, params, provider)
    patchMethod(resolvePath(client, ['messages']), 'create', start)
    patchMethod(resolvePath(client, ['beta', 'messages']), 'create', start)
    patchWithOptions(client, wrapAnthropic)
  } catch {
    // A client we cannot patch is returned as it was: tracing is never worth breaking the app.
  }
  return client
}
