// The one request every variant of `pnpm bench:sdk` makes, shared by the fake-server process and the
// variant children. The markers let the OTLP sink check that content capture really is on: they
// are counted in every exported byte (a streamed reply is only found if the instrumentation
// reassembled it). Also how the children make that request and measure it.
import type { ChatClient } from './sdk-variants'

export const MODEL = 'gpt-4o-mini'
export const PROMPT_MARKER = 'hsbench-prompt-7f3a9c'
export const REPLY_MARKER = 'hsbench-reply-c91e04'

export const MESSAGES = [
  {
    role: 'system',
    content:
      'You are the support assistant of an online shop. Answer in two sentences at most, quote the order number, and never promise a refund.',
  },
  {
    role: 'user',
    content: `Hello, my order #4821 was supposed to arrive on Monday and the tracking page still says "label created". Can you tell me where it is and when it will arrive? (${PROMPT_MARKER})`,
  },
] as const

/** About 120 characters: 30 content chunks of 4 characters when streamed, as the fake server cuts it. */
export const REPLY = `Order #4821 left our warehouse this morning; the carrier expects to deliver it within two business days. (${REPLY_MARKER})`

export type Mode = 'non-stream' | 'stream'

/** The openai client options of every benchmark client. */
export function clientOptions(baseURL: string) {
  return { baseURL, apiKey: 'sk-bench', maxRetries: 0 }
}

function replyText(completion: unknown): string | undefined {
  if (typeof completion !== 'object' || completion === null) return undefined
  const choices: unknown = Reflect.get(completion, 'choices')
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined
  const message: unknown =
    typeof first === 'object' && first !== null ? Reflect.get(first, 'message') : undefined
  const content: unknown =
    typeof message === 'object' && message !== null ? Reflect.get(message, 'content') : undefined
  return typeof content === 'string' ? content : undefined
}

function deltaText(chunk: unknown): string {
  if (typeof chunk !== 'object' || chunk === null) return ''
  const choices: unknown = Reflect.get(chunk, 'choices')
  const first: unknown = Array.isArray(choices) ? choices[0] : undefined
  const delta: unknown = typeof first === 'object' && first !== null ? Reflect.get(first, 'delta') : undefined
  const content: unknown =
    typeof delta === 'object' && delta !== null ? Reflect.get(delta, 'content') : undefined
  return typeof content === 'string' ? content : ''
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value
}

const request = { model: MODEL, messages: MESSAGES, temperature: 0.2, max_tokens: 200 }

async function plainCall(client: ChatClient): Promise<boolean> {
  return replyText(await client.chat.completions.create(request)) === REPLY
}

async function streamCall(client: ChatClient): Promise<boolean> {
  const stream = await client.chat.completions.create({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  })
  if (!isAsyncIterable(stream)) return false
  let text = ''
  for await (const chunk of stream) text += deltaText(chunk)
  return text === REPLY
}

/** Makes the one request on `client` (streamed or not); true when the reply came back intact. */
export function callFor(mode: Mode): (client: ChatClient) => Promise<boolean> {
  return mode === 'stream' ? streamCall : plainCall
}

/** CPU µs (user + system, all threads) of a `process.cpuUsage()` figure. */
export function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system
}
