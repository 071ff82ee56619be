/**
 * The candidate's endpoint, through the SDK-instrumented client of its wire protocol:
 * `wrapOpenAI(new OpenAI({ baseURL }))` for any OpenAI-compatible endpoint, or
 * `wrapAnthropic(new Anthropic({ baseURL }))` for Anthropic Messages. Sends one recorded call,
 * streaming or not, and translates the answer back to one shape: text, tool calls, usage (input
 * tokens include cache reads and writes, as in the GenAI conventions), duration and, when
 * streamed, time to first token.
 */
import Anthropic from '@anthropic-ai/sdk'
import type {
  Usage as AnthropicUsage,
  Message,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages/messages'
import { wrapAnthropic, wrapOpenAI } from '@hindsight/sdk'
import OpenAI from 'openai'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions'
import type { CacheRule } from '../caching/rules'
import type { CandidateSpec } from '../candidate'
import { type RecordedCall, toAnthropicRequest, toChatRequest, wantsStream } from './request'

export interface CandidateToolCall {
  id: string
  name: string
  /** JSON text of the arguments. */
  arguments: string
}

/** The candidate's answer to one recorded call, whatever the wire protocol. */
export interface CandidateAnswer {
  model: string
  text: string
  tool_calls: CandidateToolCall[]
  finish_reason: string | null
  /** `input_tokens` includes cache reads and writes. */
  usage: {
    input_tokens: number
    output_tokens: number
    cache_read_tokens: number
    cache_write_tokens: number
    cache_write_1h_tokens: number
  }
  duration_ms: number
  /** Time to the first content delta; null when not streamed. */
  ttft_ms: number | null
  streamed: boolean
}

export interface CandidateClient {
  readonly api: CandidateSpec['api']
  /** Build the request for a recorded call (throws NoContentError first) and send it. */
  send(call: RecordedCall): Promise<CandidateAnswer>
}

export interface CandidateClientOptions {
  /** The endpoint's key. @default OPENAI_API_KEY or ANTHROPIC_API_KEY */
  apiKey?: string
  /** The candidate model's caching rule (Anthropic breakpoints when `caching: 'on'`). */
  rule?: CacheRule | null
  /** Retries of a failed request by the client. @default 1 */
  maxRetries?: number
}

const n = (x: number | null | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0)

/** Chat Completions usage (whole answer or the last stream chunk's): OpenAI reports no cache writes. */
function openAIUsage(
  usage: ChatCompletion['usage'] | ChatCompletionChunk['usage'],
): CandidateAnswer['usage'] {
  return {
    input_tokens: n(usage?.prompt_tokens),
    output_tokens: n(usage?.completion_tokens),
    cache_read_tokens: n(usage?.prompt_tokens_details?.cached_tokens),
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
  }
}

export function createCandidateClient(
  candidate: CandidateSpec,
  options: CandidateClientOptions = {},
): CandidateClient {
  const maxRetries = options.maxRetries ?? 1
  if (candidate.api === 'anthropic') {
    const client = wrapAnthropic(
      new Anthropic({
        apiKey: options.apiKey ?? process.env.ANTHROPIC_API_KEY ?? 'unset',
        maxRetries,
        ...(candidate.base_url ? { baseURL: candidate.base_url } : {}),
      }),
    )
    return {
      api: 'anthropic',
      send: (call) => sendAnthropic(client, call, candidate, options.rule ?? null),
    }
  }
  const client = wrapOpenAI(
    new OpenAI({
      baseURL: candidate.base_url,
      apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'unset',
      maxRetries,
    }),
  )
  return { api: 'openai', send: (call) => sendOpenAI(client, call, candidate) }
}

async function sendOpenAI(
  client: OpenAI,
  call: RecordedCall,
  candidate: CandidateSpec,
): Promise<CandidateAnswer> {
  const request = toChatRequest(call, candidate)
  const streamed = wantsStream(call, candidate)
  const started = performance.now()
  if (!streamed) {
    const response: ChatCompletion = await client.chat.completions.create(
      request as unknown as ChatCompletionCreateParamsNonStreaming,
    )
    const choice = response.choices[0]
    const usage = response.usage
    return {
      model: response.model || candidate.model,
      text: choice?.message.content ?? '',
      tool_calls: (choice?.message.tool_calls ?? []).flatMap((c) =>
        c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : [],
      ),
      finish_reason: choice?.finish_reason ?? null,
      usage: openAIUsage(usage),
      duration_ms: performance.now() - started,
      ttft_ms: null,
      streamed,
    }
  }
  const stream = await client.chat.completions.create({
    ...(request as unknown as ChatCompletionCreateParamsNonStreaming),
    stream: true,
    stream_options: { include_usage: true },
  } as ChatCompletionCreateParamsStreaming)
  let model = ''
  let text = ''
  let ttft: number | null = null
  let finish: string | null = null
  let usage: ChatCompletionChunk['usage'] = null
  const calls = new Map<number, CandidateToolCall>()
  for await (const chunk of stream) {
    if (!model && chunk.model) model = chunk.model
    if (chunk.usage) usage = chunk.usage
    const choice = chunk.choices[0]
    if (!choice) continue
    const delta = choice.delta
    if (ttft === null && (delta.content || delta.refusal || (delta.tool_calls?.length ?? 0) > 0))
      ttft = performance.now() - started
    if (delta.content) text += delta.content
    for (const piece of delta.tool_calls ?? []) {
      const current = calls.get(piece.index) ?? { id: '', name: '', arguments: '' }
      if (piece.id) current.id = piece.id
      if (piece.function?.name) current.name += piece.function.name
      if (piece.function?.arguments) current.arguments += piece.function.arguments
      calls.set(piece.index, current)
    }
    if (choice.finish_reason) finish = choice.finish_reason
  }
  return {
    model: model || candidate.model,
    text,
    tool_calls: [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c),
    finish_reason: finish,
    usage: openAIUsage(usage),
    duration_ms: performance.now() - started,
    ttft_ms: ttft,
    streamed,
  }
}

type UsageFields = Partial<
  Pick<
    AnthropicUsage,
    'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'
  >
> & { cache_creation?: { ephemeral_1h_input_tokens?: number | null } | null }

/** Anthropic's `input_tokens` excludes cache reads and writes; the answer's includes them. */
function anthropicUsage(u: UsageFields | undefined): CandidateAnswer['usage'] {
  const read = n(u?.cache_read_input_tokens)
  const write = n(u?.cache_creation_input_tokens)
  return {
    input_tokens: n(u?.input_tokens) + read + write,
    output_tokens: n(u?.output_tokens),
    cache_read_tokens: read,
    cache_write_tokens: write,
    cache_write_1h_tokens: n(u?.cache_creation?.ephemeral_1h_input_tokens),
  }
}

async function sendAnthropic(
  client: Anthropic,
  call: RecordedCall,
  candidate: CandidateSpec,
  rule: CacheRule | null,
): Promise<CandidateAnswer> {
  const request = toAnthropicRequest(call, candidate, rule)
  const streamed = wantsStream(call, candidate)
  const started = performance.now()
  if (!streamed) {
    const message: Message = await quietDeprecation(request.model, () =>
      client.messages.create(request as unknown as MessageCreateParamsNonStreaming),
    )
    const text: string[] = []
    const toolCalls: CandidateToolCall[] = []
    for (const block of message.content) {
      if (block.type === 'text') text.push(block.text)
      else if (block.type === 'tool_use')
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) })
    }
    return {
      model: message.model || candidate.model,
      text: text.join(''),
      tool_calls: toolCalls,
      finish_reason: message.stop_reason ?? null,
      usage: anthropicUsage(message.usage),
      duration_ms: performance.now() - started,
      ttft_ms: null,
      streamed,
    }
  }
  const stream = await quietDeprecation(request.model, () =>
    client.messages.create({
      ...(request as unknown as MessageCreateParamsNonStreaming),
      stream: true,
    } as MessageCreateParamsStreaming),
  )
  let model = ''
  let text = ''
  let ttft: number | null = null
  let finish: string | null = null
  // Usage is merged, never summed: message_delta carries cumulative totals.
  let usage: UsageFields = {}
  const blocks = new Map<number, CandidateToolCall>()
  for await (const event of stream as AsyncIterable<RawMessageStreamEvent>) {
    switch (event.type) {
      case 'message_start':
        model = event.message.model
        usage = { ...usage, ...definedOnly(event.message.usage) }
        break
      case 'content_block_start':
        if (event.content_block.type === 'tool_use')
          blocks.set(event.index, {
            id: event.content_block.id,
            name: event.content_block.name,
            arguments: '',
          })
        break
      case 'content_block_delta': {
        if (ttft === null) ttft = performance.now() - started
        const delta = event.delta
        if (delta.type === 'text_delta') text += delta.text
        else if (delta.type === 'input_json_delta') {
          const block = blocks.get(event.index)
          if (block) block.arguments += delta.partial_json
        }
        break
      }
      case 'message_delta':
        if (event.delta.stop_reason) finish = event.delta.stop_reason
        usage = { ...usage, ...definedOnly(event.usage) }
        break
      default:
        break
    }
  }
  return {
    model: model || candidate.model,
    text,
    tool_calls: [...blocks.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, c]) => ({ ...c, arguments: c.arguments === '' ? '{}' : c.arguments })),
    finish_reason: finish,
    usage: anthropicUsage(usage),
    duration_ms: performance.now() - started,
    ttft_ms: ttft,
    streamed,
  }
}

const DEPRECATION_WARNING = /^The model '.*' is deprecated and will reach end-of-life/
/** Models whose deprecation warning this process has shown. */
const deprecationShown = new Set<string>()

/**
 * The Anthropic SDK (1.x) `console.warn`s on EVERY `messages.create` of a model on its deprecation
 * list (e.g. `claude-sonnet-4-5`): hundreds of identical lines in a replay. Its `logLevel` /
 * `logger` client options do not reach that warning (it is written with `console.warn` directly),
 * so: the warning is written synchronously inside `create()`, and only during that synchronous
 * call is `console.warn` wrapped to hold back that one message, which is then shown once per
 * model and process. No other code runs in that window, so nothing else logged is ever touched.
 */
function quietDeprecation<T>(model: string, create: () => T): T {
  const original = console.warn
  let held: unknown[] | undefined
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && DEPRECATION_WARNING.test(args[0])) held = args
    else Reflect.apply(original, console, args)
  }
  try {
    return create()
  } finally {
    console.warn = original
    if (held && !deprecationShown.has(model)) {
      deprecationShown.add(model)
      Reflect.apply(original, console, held)
    }
  }
}

/** The fields of a usage object that are set (a message_delta's nulls must not erase message_start's counts). */
function definedOnly(usage: object | null | undefined): UsageFields {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(usage ?? {})) if (v !== null && v !== undefined) out[k] = v
  return out as UsageFields
}
