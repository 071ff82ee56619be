import type { ServerResponse } from 'node:http'
import { asString, type UnknownRecord } from '../narrow'
import {
  chunkText,
  type FakeServerLoad,
  type RecordedRequest,
  sendJson,
  sleep,
  sseMessage,
  startFakeServer,
  startSse,
} from './http'

/** A tool the fake Claude calls. */
export interface FakeToolUse {
  id: string
  name: string
  /** The tool input; streamed as `input_json_delta` pieces of its JSON text. */
  input: Record<string, unknown>
}

/** What the fake returns for one Messages request. Every field has a sensible default. */
export interface FakeAnthropicReply {
  /** Assistant text. @default 'Hello from the fake Anthropic server.' (or none when toolUses are given) */
  content?: string
  /** Extended thinking, sent as a `thinking` block before the text. */
  thinking?: string
  toolUses?: FakeToolUse[]
  /** @default 'tool_use' when toolUses are given, else 'end_turn' */
  stopReason?: string
  /** The response's `model`. @default the request's model */
  model?: string
  /** @default 'msg_fake_<n>' */
  id?: string
  /**
   * Usage as Anthropic reports it: `input_tokens` EXCLUDES the cache reads and writes. The
   * ephemeral split becomes `usage.cache_creation` when either part is given.
   * @default input 12, output 8, no cache fields
   */
  usage?: {
    input_tokens?: number
    output_tokens?: number
    cache_read_input_tokens?: number
    cache_creation_input_tokens?: number
    ephemeral_5m_input_tokens?: number
    ephemeral_1h_input_tokens?: number
  }
  /**
   * Streaming: what `message_delta` carries. `output` (the classic protocol): only the cumulative
   * `output_tokens`, input counts only in `message_start`. `full`: the cumulative totals of every
   * count again, as newer API versions send them. @default 'output'
   */
  messageDeltaUsage?: 'output' | 'full'
  /** Answer with this HTTP error instead: status plus an Anthropic error body. */
  error?: { status: number; type?: string; message?: string }
  /** Delay before the response (non-streaming) or before the first content delta (streaming). @default 0 */
  firstChunkDelayMs?: number
  /** Delay between stream events. @default 0 */
  chunkDelayMs?: number
  /** Characters of text (and of tool input JSON) per delta. @default 4 */
  chunkSize?: number
  /** Streaming only: stop after this many events and fail as `failMode` says. */
  failAfterChunks?: number
  /**
   * `error-event` sends `event: error` with an `overloaded_error` body (the client throws an
   * APIError); `destroy` cuts the connection. @default 'error-event'
   */
  failMode?: 'error-event' | 'destroy'
}

export interface FakeAnthropicOptions {
  /** The reply, or a function choosing it per request (`index` counts requests from 0). */
  reply?: FakeAnthropicReply | ((request: UnknownRecord, index: number) => FakeAnthropicReply)
}

export interface FakeAnthropic {
  /** e.g. `http://127.0.0.1:54321`: pass as the Anthropic client's `baseURL`. */
  url: string
  /** Same as `url` (the Anthropic client adds `/v1` itself). */
  baseURL: string
  requests: UnknownRecord[]
  recorded: RecordedRequest[]
  /** Requests being answered now and the most answered at once (a load test's provider-side concurrency). */
  load: FakeServerLoad
  close(): Promise<void>
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
}

function sendError(res: ServerResponse, error: NonNullable<FakeAnthropicReply['error']>): void {
  sendJson(
    res,
    error.status,
    {
      type: 'error',
      error: {
        type: error.type ?? ERROR_TYPES[error.status] ?? 'api_error',
        message: error.message ?? `Fake error ${error.status}`,
      },
      request_id: 'req_fake_error',
    },
    { 'request-id': 'req_fake_error' },
  )
}

interface Resolved {
  id: string
  model: string
  content: string | undefined
  toolUses: FakeToolUse[]
  stopReason: string
}

function resolveReply(reply: FakeAnthropicReply, body: UnknownRecord, index: number): Resolved {
  const toolUses = reply.toolUses ?? []
  return {
    id: reply.id ?? `msg_fake_${index}`,
    model: reply.model ?? asString(body.model) ?? 'claude-fake',
    content: reply.content ?? (toolUses.length > 0 ? undefined : 'Hello from the fake Anthropic server.'),
    toolUses,
    stopReason: reply.stopReason ?? (toolUses.length > 0 ? 'tool_use' : 'end_turn'),
  }
}

/** The usage object of a message; `outputTokens` lets `message_start` carry its placeholder. */
function usageOf(reply: FakeAnthropicReply, outputTokens?: number): UnknownRecord {
  const u = reply.usage ?? {}
  const usage: UnknownRecord = {
    input_tokens: u.input_tokens ?? 12,
    output_tokens: outputTokens ?? u.output_tokens ?? 8,
  }
  if (u.cache_read_input_tokens !== undefined) usage.cache_read_input_tokens = u.cache_read_input_tokens
  if (u.cache_creation_input_tokens !== undefined) {
    usage.cache_creation_input_tokens = u.cache_creation_input_tokens
  }
  if (u.ephemeral_5m_input_tokens !== undefined || u.ephemeral_1h_input_tokens !== undefined) {
    usage.cache_creation = {
      ephemeral_5m_input_tokens: u.ephemeral_5m_input_tokens ?? 0,
      ephemeral_1h_input_tokens: u.ephemeral_1h_input_tokens ?? 0,
    }
  }
  usage.service_tier = 'standard'
  return usage
}

function contentBlocks(r: Resolved, reply: FakeAnthropicReply): UnknownRecord[] {
  const blocks: UnknownRecord[] = []
  if (reply.thinking) blocks.push({ type: 'thinking', thinking: reply.thinking, signature: 'sig_fake' })
  if (r.content !== undefined) blocks.push({ type: 'text', text: r.content })
  for (const use of r.toolUses)
    blocks.push({ type: 'tool_use', id: use.id, name: use.name, input: use.input })
  return blocks
}

function messageBody(r: Resolved, reply: FakeAnthropicReply): UnknownRecord {
  return {
    id: r.id,
    type: 'message',
    role: 'assistant',
    model: r.model,
    content: contentBlocks(r, reply),
    stop_reason: r.stopReason,
    stop_sequence: null,
    usage: usageOf(reply),
  }
}

/** The events of a streamed message, as `[event name, data]`, and the index of the first delta. */
function streamEvents(
  r: Resolved,
  reply: FakeAnthropicReply,
): { events: [string, UnknownRecord][]; firstDelta: number } {
  const size = reply.chunkSize ?? 4
  const events: [string, UnknownRecord][] = [
    [
      'message_start',
      {
        type: 'message_start',
        message: { ...messageBody(r, reply), content: [], stop_reason: null, usage: usageOf(reply, 1) },
      },
    ],
    ['ping', { type: 'ping' }],
  ]
  let firstDelta = -1
  const delta = (index: number, value: UnknownRecord) => {
    if (firstDelta < 0) firstDelta = events.length
    events.push(['content_block_delta', { type: 'content_block_delta', index, delta: value }])
  }
  let index = 0
  const block = (start: UnknownRecord, deltas: () => void) => {
    events.push(['content_block_start', { type: 'content_block_start', index, content_block: start }])
    deltas()
    events.push(['content_block_stop', { type: 'content_block_stop', index }])
    index += 1
  }
  const thinking = reply.thinking
  if (thinking) {
    block({ type: 'thinking', thinking: '', signature: '' }, () => {
      for (const piece of chunkText(thinking, size)) delta(index, { type: 'thinking_delta', thinking: piece })
      delta(index, { type: 'signature_delta', signature: 'sig_fake' })
    })
  }
  const text = r.content
  if (text !== undefined) {
    block({ type: 'text', text: '' }, () => {
      for (const piece of chunkText(text, size)) delta(index, { type: 'text_delta', text: piece })
    })
  }
  for (const use of r.toolUses) {
    block({ type: 'tool_use', id: use.id, name: use.name, input: {} }, () => {
      delta(index, { type: 'input_json_delta', partial_json: '' })
      for (const piece of chunkText(JSON.stringify(use.input), size)) {
        delta(index, { type: 'input_json_delta', partial_json: piece })
      }
    })
  }
  const final = usageOf(reply)
  const deltaUsage =
    reply.messageDeltaUsage === 'full'
      ? { ...final, service_tier: undefined }
      : { output_tokens: final.output_tokens }
  events.push([
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: r.stopReason, stop_sequence: null }, usage: deltaUsage },
  ])
  events.push(['message_stop', { type: 'message_stop' }])
  return { events, firstDelta: firstDelta < 0 ? events.length - 2 : firstDelta }
}

async function stream(res: ServerResponse, r: Resolved, reply: FakeAnthropicReply): Promise<void> {
  startSse(res, { 'request-id': `req_${r.id}` })
  const { events, firstDelta } = streamEvents(r, reply)
  for (const [sent, [name, data]] of events.entries()) {
    if (res.destroyed) return
    if (reply.failAfterChunks !== undefined && sent >= reply.failAfterChunks) {
      if (reply.failMode === 'destroy') {
        res.destroy()
      } else {
        res.end(
          sseMessage(
            { type: 'error', error: { type: 'overloaded_error', message: 'Fake mid-stream failure' } },
            'error',
          ),
        )
      }
      return
    }
    if (sent === firstDelta) await sleep(reply.firstChunkDelayMs ?? 0)
    else if (sent > 0) await sleep(reply.chunkDelayMs ?? 0)
    if (res.destroyed) return
    res.write(sseMessage(data, name))
  }
  res.end()
}

/**
 * Starts a fake Anthropic server on 127.0.0.1 (random port). Point a real
 * `new Anthropic({ baseURL: fake.baseURL })` at it. It answers `POST /v1/messages` with a Message
 * (JSON) or, when `stream: true`, the Messages SSE protocol (`event:` lines: message_start, ping,
 * content_block_start/delta/stop, message_delta, message_stop), and 404s the rest.
 */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const requests: UnknownRecord[] = []
  const recorded: RecordedRequest[] = []
  const server = await startFakeServer(
    async ({ method, path, headers, body }, res) => {
      if (method !== 'POST' || path.split('?')[0] !== '/v1/messages') {
        sendError(res, { status: 404, message: `No fake for ${method} ${path}` })
        return
      }
      const index = requests.length
      requests.push(body)
      recorded.push({ path, headers, body })
      const reply = typeof options.reply === 'function' ? options.reply(body, index) : (options.reply ?? {})
      if (reply.error) {
        await sleep(reply.firstChunkDelayMs ?? 0)
        sendError(res, reply.error)
        return
      }
      const resolved = resolveReply(reply, body, index)
      if (body.stream === true) {
        await stream(res, resolved, reply)
        return
      }
      await sleep(reply.firstChunkDelayMs ?? 0)
      sendJson(res, 200, messageBody(resolved, reply), { 'request-id': `req_${resolved.id}` })
    },
    (res) => sendError(res, { status: 400, message: 'Request body is not JSON' }),
  )
  return { url: server.url, baseURL: server.url, requests, recorded, load: server.load, close: server.close }
}
