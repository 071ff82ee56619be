import type { ServerResponse } from 'node:http'
import { asRecord, asString, type UnknownRecord } from '../narrow'
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

/** A tool call the fake model makes. */
export interface FakeToolCall {
  id: string
  name: string
  /** JSON text, as OpenAI sends it. */
  arguments: string
}

/**
 * What the fake returns for one request, on any endpoint (Chat Completions, Responses,
 * Embeddings). Every field has a sensible default; fields that make no sense for an endpoint are
 * ignored there.
 */
export interface FakeReply {
  /** Assistant text. @default 'Hello from the fake OpenAI server.' (or none when toolCalls are given) */
  content?: string
  toolCalls?: FakeToolCall[]
  /** Chat Completions. @default 'tool_calls' when toolCalls are given, else 'stop' */
  finishReason?: string
  /** Responses: a reasoning output item with this summary, before the message. */
  reasoning?: string
  /**
   * Responses: the final status. `incomplete` ends with `incomplete_details.reason`
   * `max_output_tokens`; `failed` with `error.code` `server_error`. @default 'completed'
   */
  status?: 'completed' | 'incomplete' | 'failed'
  /** The response's `model`. @default the request's model */
  model?: string
  /** @default 'chatcmpl-fake-<n>' (Chat Completions), 'resp_fake_<n>' (Responses) */
  id?: string
  /**
   * Token counts (Responses name them input/output; Embeddings use prompt_tokens only).
   * @default prompt 12, completion 8, no cached or reasoning tokens
   */
  usage?: {
    prompt_tokens?: number
    completion_tokens?: number
    cached_tokens?: number
    reasoning_tokens?: number
  }
  /** Embeddings: the vector length. @default the request's `dimensions`, else 8 */
  dimensions?: number
  /** Answer with this HTTP error instead: status plus an OpenAI error body. */
  error?: { status: number; message?: string; type?: string; code?: string | null }
  /**
   * Delay before the response (non-streaming) or before the first chunk (Chat Completions
   * streaming) or the first output event (Responses streaming: after `response.created`). @default 0
   */
  firstChunkDelayMs?: number
  /** Delay between stream chunks. @default 0 */
  chunkDelayMs?: number
  /** Characters of content (and of tool arguments) per stream chunk. @default 4 */
  chunkSize?: number
  /** Streaming only: stop after this many chunks/events and fail as `failMode` says. */
  failAfterChunks?: number
  /**
   * `error-event` sends an OpenAI error as an SSE message (Chat Completions: a `data: {error}`
   * chunk, which every client throws; Responses: an `event: error` message, which openai v7
   * throws and v5/v6 yield as an item); `destroy` cuts the connection mid-stream.
   * @default 'error-event'
   */
  failMode?: 'error-event' | 'destroy'
}

export interface FakeOpenAIOptions {
  /**
   * The reply, or a function choosing it per request (`index` counts requests from 0, `path` is
   * e.g. `/v1/responses`).
   */
  reply?: FakeReply | ((request: UnknownRecord, index: number, path: string) => FakeReply)
}

export interface FakeOpenAI {
  /** e.g. `http://127.0.0.1:54321` */
  url: string
  /** `url + '/v1'`: pass as the OpenAI client's `baseURL`. */
  baseURL: string
  /** Request bodies in arrival order. */
  requests: UnknownRecord[]
  /** Requests with their paths and headers. */
  recorded: RecordedRequest[]
  /** Requests being answered now and the most answered at once (a load test's provider-side concurrency). */
  load: FakeServerLoad
  close(): Promise<void>
}

function sendError(res: ServerResponse, error: NonNullable<FakeReply['error']>): void {
  sendJson(
    res,
    error.status,
    {
      error: {
        message: error.message ?? `Fake error ${error.status}`,
        type: error.type ?? (error.status === 429 ? 'rate_limit_exceeded' : 'api_error'),
        param: null,
        code: error.code ?? null,
      },
    },
    { 'x-request-id': 'req_fake_error' },
  )
}

interface Resolved {
  id: string
  model: string
  content: string | undefined
  toolCalls: FakeToolCall[]
  created: number
  prompt: number
  completion: number
  cached: number
  reasoning: number
}

function resolveReply(reply: FakeReply, body: UnknownRecord, id: string): Resolved {
  const toolCalls = reply.toolCalls ?? []
  return {
    id: reply.id ?? id,
    model: reply.model ?? asString(body.model) ?? 'fake-model',
    content: reply.content ?? (toolCalls.length > 0 ? undefined : 'Hello from the fake OpenAI server.'),
    toolCalls,
    created: Math.floor(Date.now() / 1000),
    prompt: reply.usage?.prompt_tokens ?? 12,
    completion: reply.usage?.completion_tokens ?? 8,
    cached: reply.usage?.cached_tokens ?? 0,
    reasoning: reply.usage?.reasoning_tokens ?? 0,
  }
}

/** Sends `events` as SSE, honouring the delays and the mid-stream failure; `end` closes a complete stream. */
async function sendStream(
  res: ServerResponse,
  reply: FakeReply,
  events: string[],
  failure: string,
  end: string,
  firstDelayAt = 0,
): Promise<void> {
  startSse(res, { 'x-request-id': 'req_fake' })
  for (const [sent, event] of events.entries()) {
    if (res.destroyed) return
    if (reply.failAfterChunks !== undefined && sent >= reply.failAfterChunks) {
      if (reply.failMode === 'destroy') res.destroy()
      else res.end(failure)
      return
    }
    if (sent === firstDelayAt) await sleep(reply.firstChunkDelayMs ?? 0)
    else if (sent > 0) await sleep(reply.chunkDelayMs ?? 0)
    if (res.destroyed) return
    res.write(event)
  }
  res.end(end)
}

// --- Chat Completions ----------------------------------------------------------------------------

function chatUsage(r: Resolved): UnknownRecord {
  return {
    prompt_tokens: r.prompt,
    completion_tokens: r.completion,
    total_tokens: r.prompt + r.completion,
    prompt_tokens_details: { cached_tokens: r.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: r.reasoning, audio_tokens: 0 },
  }
}

function chatFinishReason(r: Resolved, reply: FakeReply): string {
  return reply.finishReason ?? (r.toolCalls.length > 0 ? 'tool_calls' : 'stop')
}

function completionBody(r: Resolved, reply: FakeReply): UnknownRecord {
  return {
    id: r.id,
    object: 'chat.completion',
    created: r.created,
    model: r.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: r.content ?? null,
          refusal: null,
          ...(r.toolCalls.length > 0
            ? {
                tool_calls: r.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: chatFinishReason(r, reply),
      },
    ],
    usage: chatUsage(r),
    system_fingerprint: 'fp_fake',
  }
}

/** The chunk sequence OpenAI sends: role first, content pieces, tool-call pieces, the finish reason, then usage. */
function chatChunks(r: Resolved, reply: FakeReply, includeUsage: boolean): UnknownRecord[] {
  const base = { id: r.id, object: 'chat.completion.chunk', created: r.created, model: r.model }
  const usage = includeUsage ? { usage: null } : {}
  const chunk = (delta: UnknownRecord, finishReason: string | null = null): UnknownRecord => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...usage,
  })
  const size = reply.chunkSize ?? 4
  const out: UnknownRecord[] = [chunk({ role: 'assistant', content: '', refusal: null })]
  for (const piece of chunkText(r.content ?? '', size)) out.push(chunk({ content: piece }))
  r.toolCalls.forEach((call, index) => {
    out.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    )
    for (const piece of chunkText(call.arguments, size)) {
      out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
    }
  })
  out.push(chunk({}, chatFinishReason(r, reply)))
  if (includeUsage) out.push({ ...base, choices: [], usage: chatUsage(r) })
  return out
}

async function chatCompletions(
  res: ServerResponse,
  reply: FakeReply,
  body: UnknownRecord,
  index: number,
): Promise<void> {
  const r = resolveReply(reply, body, `chatcmpl-fake-${index}`)
  if (body.stream === true) {
    const includeUsage = asRecord(body.stream_options)?.include_usage === true
    const failure = sseMessage({ error: { message: 'Fake mid-stream failure', type: 'server_error' } })
    const events = chatChunks(r, reply, includeUsage).map((chunk) => sseMessage(chunk))
    await sendStream(res, reply, events, failure, sseMessage('[DONE]'))
    return
  }
  await sleep(reply.firstChunkDelayMs ?? 0)
  sendJson(res, 200, completionBody(r, reply), { 'x-request-id': `req_fake_${index}` })
}

// --- Responses -----------------------------------------------------------------------------------

function responsesUsage(r: Resolved): UnknownRecord {
  return {
    input_tokens: r.prompt,
    input_tokens_details: { cached_tokens: r.cached },
    output_tokens: r.completion,
    output_tokens_details: { reasoning_tokens: r.reasoning },
    total_tokens: r.prompt + r.completion,
  }
}

function reasoningItem(r: Resolved, summary: string): UnknownRecord {
  return { id: `rs_${r.id}`, type: 'reasoning', summary: [{ type: 'summary_text', text: summary }] }
}

function messageItem(r: Resolved, text: string, status = 'completed'): UnknownRecord {
  return {
    id: `msg_${r.id}`,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text, annotations: [], logprobs: [] }] : [],
  }
}

function functionCallItem(
  call: FakeToolCall,
  index: number,
  args: string,
  status = 'completed',
): UnknownRecord {
  return {
    id: `fc_${index}_${call.id}`,
    type: 'function_call',
    status,
    call_id: call.id,
    name: call.name,
    arguments: args,
  }
}

function responseBody(
  r: Resolved,
  reply: FakeReply,
  body: UnknownRecord,
  final: boolean,
  output: UnknownRecord[],
): UnknownRecord {
  const status = final ? (reply.status ?? 'completed') : 'in_progress'
  return {
    id: r.id,
    object: 'response',
    created_at: r.created,
    status,
    error: status === 'failed' ? { code: 'server_error', message: 'Fake response failure' } : null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: r.model,
    output: final ? output : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    temperature: body.temperature ?? 1,
    tool_choice: 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: final ? responsesUsage(r) : null,
    metadata: {},
  }
}

function responseOutput(r: Resolved, reply: FakeReply): UnknownRecord[] {
  const output: UnknownRecord[] = []
  if (reply.reasoning) output.push(reasoningItem(r, reply.reasoning))
  if (r.content !== undefined) output.push(messageItem(r, r.content))
  r.toolCalls.forEach((call, index) => {
    output.push(functionCallItem(call, index, call.arguments))
  })
  return output
}

/** The event sequence of a streamed response, as the API sends it. */
function responseEvents(r: Resolved, reply: FakeReply, body: UnknownRecord): UnknownRecord[] {
  const size = reply.chunkSize ?? 4
  const events: UnknownRecord[] = [
    { type: 'response.created', response: responseBody(r, reply, body, false, []) },
    { type: 'response.in_progress', response: responseBody(r, reply, body, false, []) },
  ]
  let outputIndex = 0
  if (reply.reasoning) {
    const item = reasoningItem(r, reply.reasoning)
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: { ...item, summary: [] },
    })
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item })
    outputIndex += 1
  }
  if (r.content !== undefined) {
    const itemId = `msg_${r.id}`
    const at = { item_id: itemId, output_index: outputIndex, content_index: 0 }
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: messageItem(r, '', 'in_progress'),
    })
    events.push({
      type: 'response.content_part.added',
      ...at,
      part: { type: 'output_text', text: '', annotations: [] },
    })
    for (const delta of chunkText(r.content, size)) {
      events.push({ type: 'response.output_text.delta', ...at, delta, logprobs: [] })
    }
    events.push({ type: 'response.output_text.done', ...at, text: r.content, logprobs: [] })
    events.push({
      type: 'response.content_part.done',
      ...at,
      part: { type: 'output_text', text: r.content, annotations: [] },
    })
    events.push({
      type: 'response.output_item.done',
      output_index: outputIndex,
      item: messageItem(r, r.content),
    })
    outputIndex += 1
  }
  r.toolCalls.forEach((call, index) => {
    const item = functionCallItem(call, index, call.arguments)
    const at = { item_id: item.id, output_index: outputIndex }
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: functionCallItem(call, index, '', 'in_progress'),
    })
    for (const delta of chunkText(call.arguments, size)) {
      events.push({ type: 'response.function_call_arguments.delta', ...at, delta })
    }
    events.push({ type: 'response.function_call_arguments.done', ...at, arguments: call.arguments })
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item })
    outputIndex += 1
  })
  const status = reply.status ?? 'completed'
  events.push({
    type: `response.${status}`,
    response: responseBody(r, reply, body, true, responseOutput(r, reply)),
  })
  return events.map((event, sequence_number) => ({ ...event, sequence_number }))
}

async function responses(
  res: ServerResponse,
  reply: FakeReply,
  body: UnknownRecord,
  index: number,
): Promise<void> {
  const r = resolveReply(reply, body, `resp_fake_${index}`)
  if (body.stream === true) {
    const all = responseEvents(r, reply, body)
    const failure = sseMessage(
      {
        type: 'error',
        code: 'server_error',
        message: 'Fake mid-stream failure',
        param: null,
        sequence_number: reply.failAfterChunks ?? 0,
      },
      'error',
    )
    const events = all.map((event) => sseMessage(event, asString(event.type)))
    // The first-chunk delay falls after `response.created` and `response.in_progress`.
    await sendStream(res, reply, events, failure, '', 2)
    return
  }
  await sleep(reply.firstChunkDelayMs ?? 0)
  sendJson(res, 200, responseBody(r, reply, body, true, responseOutput(r, reply)), {
    'x-request-id': `req_fake_${index}`,
  })
}

// --- Embeddings ----------------------------------------------------------------------------------

function embeddingInputs(input: unknown): number {
  if (typeof input === 'string') return 1
  if (!Array.isArray(input)) return 1
  // A flat list of token ids is one input; a list of strings or of token lists is one each.
  return input.length > 0 && input.every((item) => typeof item === 'number') ? 1 : input.length
}

async function embeddings(
  res: ServerResponse,
  reply: FakeReply,
  body: UnknownRecord,
  index: number,
): Promise<void> {
  await sleep(reply.firstChunkDelayMs ?? 0)
  const dimensions = reply.dimensions ?? (typeof body.dimensions === 'number' ? body.dimensions : 8)
  const base64 = body.encoding_format === 'base64'
  const data = Array.from({ length: embeddingInputs(body.input) }, (_, item) => {
    const vector = Float32Array.from({ length: dimensions }, (_, i) => ((item + 1) * (i + 1)) / 100)
    return {
      object: 'embedding',
      index: item,
      embedding: base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector),
    }
  })
  const prompt = reply.usage?.prompt_tokens ?? 12
  sendJson(
    res,
    200,
    {
      object: 'list',
      data,
      model: reply.model ?? asString(body.model) ?? 'fake-embedding-model',
      usage: { prompt_tokens: prompt, total_tokens: prompt },
    },
    { 'x-request-id': `req_fake_${index}` },
  )
}

const ROUTES: Record<
  string,
  (res: ServerResponse, reply: FakeReply, body: UnknownRecord, index: number) => Promise<void>
> = {
  '/v1/chat/completions': chatCompletions,
  '/v1/responses': responses,
  '/v1/embeddings': embeddings,
}

/**
 * Starts a fake OpenAI server on 127.0.0.1 (random port). Point a real `new OpenAI({ baseURL })`
 * at it. It answers `POST /v1/chat/completions` (JSON, or SSE chunks when `stream: true`),
 * `POST /v1/responses` (JSON, or SSE with `event:` lines) and `POST /v1/embeddings` (float or
 * base64 vectors, as `encoding_format` asks), and 404s the rest.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: UnknownRecord[] = []
  const recorded: RecordedRequest[] = []
  const server = await startFakeServer(
    async ({ method, path, headers, body }, res) => {
      const route = ROUTES[path.split('?')[0] ?? '']
      if (method !== 'POST' || !route) {
        sendError(res, {
          status: 404,
          message: `No fake for ${method} ${path}`,
          type: 'invalid_request_error',
        })
        return
      }
      const index = requests.length
      requests.push(body)
      recorded.push({ path, headers, body })
      const reply =
        typeof options.reply === 'function' ? options.reply(body, index, path) : (options.reply ?? {})
      if (reply.error) {
        await sleep(reply.firstChunkDelayMs ?? 0)
        sendError(res, reply.error)
        return
      }
      await route(res, reply, body, index)
    },
    (res) =>
      sendError(res, { status: 400, message: 'Request body is not JSON', type: 'invalid_request_error' }),
  )
  return {
    url: server.url,
    baseURL: `${server.url}/v1`,
    requests,
    recorded,
    load: server.load,
    close: server.close,
  }
}
