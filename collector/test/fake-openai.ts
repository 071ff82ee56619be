/**
 * A small local server speaking the OpenAI wire protocol for the dialect tests: Chat Completions
 * (JSON, or SSE with a final usage chunk when `stream_options.include_usage` is set) and
 * Embeddings (float or base64). The collector may not depend on `@hindsight/sdk/testing`, so it
 * keeps its own fake. Binds 127.0.0.1 on a free port.
 */
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeUsage {
  prompt_tokens: number
  completion_tokens: number
  /** `prompt_tokens_details.cached_tokens` (part of prompt_tokens, as OpenAI counts). @default 0 */
  cached_tokens?: number
  /** `completion_tokens_details.reasoning_tokens` (part of completion_tokens). @default 0 */
  reasoning_tokens?: number
}

export interface FakeToolCall {
  id: string
  name: string
  /** JSON text, as OpenAI sends it. */
  arguments: string
}

export interface FakeReply {
  /** Assistant text; none when only tool calls are returned. */
  content?: string
  toolCalls?: FakeToolCall[]
  /** The response's `model`. @default the request's model */
  model?: string
  usage: FakeUsage
  /** Streaming: delay before the first content chunk. @default 0 */
  firstChunkDelayMs?: number
  /** Characters of content per stream chunk. @default 5 */
  chunkSize?: number
}

export type JsonRecord = Record<string, unknown>

export interface RecordedRequest {
  path: string
  body: JsonRecord
}

export interface FakeOpenAI {
  /** e.g. `http://127.0.0.1:54321/v1`: the client's `baseURL`. */
  baseURL: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

export interface FakeOpenAIOptions {
  /** Reply per chat request, chosen by its 0-based index among chat requests. */
  reply: FakeReply | ((body: JsonRecord, index: number) => FakeReply)
  /** Embedding dimensions. @default 4 */
  dimensions?: number
}

export const CREATED = 1_780_000_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function usageBody(usage: FakeUsage): JsonRecord {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens ?? 0, audio_tokens: 0 },
  }
}

function toolCallsOf(reply: FakeReply): JsonRecord[] {
  return (reply.toolCalls ?? []).map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }))
}

function finishReason(reply: FakeReply): string {
  return (reply.toolCalls ?? []).length > 0 ? 'tool_calls' : 'stop'
}

function completion(reply: FakeReply, model: string, id: string): JsonRecord {
  const toolCalls = toolCallsOf(reply)
  return {
    id,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReason(reply),
      },
    ],
    usage: usageBody(reply.usage),
    system_fingerprint: 'fp_fake',
  }
}

async function stream(
  res: ServerResponse,
  reply: FakeReply,
  model: string,
  id: string,
  includeUsage: boolean,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const base = { id, object: 'chat.completion.chunk', created: CREATED, model, system_fingerprint: 'fp_fake' }
  const send = (data: JsonRecord) => res.write(`data: ${JSON.stringify(data)}\n\n`)
  const chunk = (delta: JsonRecord, finish: string | null = null) =>
    send({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    })
  if (reply.firstChunkDelayMs) await sleep(reply.firstChunkDelayMs)
  chunk({ role: 'assistant', content: '', refusal: null })
  const text = reply.content ?? ''
  const size = reply.chunkSize ?? 5
  for (let i = 0; i < text.length; i += size) chunk({ content: text.slice(i, i + size) })
  ;(reply.toolCalls ?? []).forEach((call, index) => {
    chunk({
      tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
    })
    chunk({ tool_calls: [{ index, function: { arguments: call.arguments } }] })
  })
  chunk({}, finishReason(reply))
  if (includeUsage) send({ ...base, choices: [], usage: usageBody(reply.usage) })
  res.end('data: [DONE]\n\n')
}

function embeddings(body: JsonRecord, dimensions: number): JsonRecord {
  const inputs = Array.isArray(body.input) ? body.input : [body.input]
  const base64 = body.encoding_format === 'base64'
  const data = inputs.map((text, index) => {
    const vector = Array.from({ length: dimensions }, (_, i) => (String(text).length + i) / 100)
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector
    return { object: 'embedding', index, embedding }
  })
  const tokens = inputs.reduce<number>((sum, text) => sum + String(text).split(/\s+/).length, 0)
  return {
    object: 'list',
    data,
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  }
}

export async function startFakeOpenAI(options: FakeOpenAIOptions): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = []
  let chats = 0
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (part: Buffer) => parts.push(part))
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? ''
      let body: JsonRecord = {}
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as JsonRecord
      } catch {}
      requests.push({ path, body })
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(value))
      }
      if (path.endsWith('/embeddings')) {
        json(200, embeddings(body, options.dimensions ?? 4))
        return
      }
      if (!path.endsWith('/chat/completions')) {
        json(404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } })
        return
      }
      const index = chats++
      const reply = typeof options.reply === 'function' ? options.reply(body, index) : options.reply
      const model = reply.model ?? String(body.model ?? 'fake-model')
      const id = `chatcmpl-fake-${index}`
      if (body.stream === true) {
        const streamOptions = body.stream_options as JsonRecord | undefined
        stream(res, reply, model, id, streamOptions?.include_usage === true).catch(() => res.destroy())
      } else {
        json(200, completion(reply, model, id))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
