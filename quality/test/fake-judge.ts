/**
 * A fake judge model server for tests: OpenAI Chat Completions (`POST /v1/chat/completions`) and
 * Anthropic Messages (`POST /v1/messages`) on 127.0.0.1, answering what the test scripts, so the
 * judge is exercised through the real `openai` and `@anthropic-ai/sdk` clients.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeJudgeReply {
  /** The model's text. @default '{"score": 4, "reason": "fine"}' */
  text?: string
  /** Answer with this HTTP error instead. */
  status?: number
  /** Wait this long before answering (to trigger client timeouts). @default 0 */
  delayMs?: number
  /** @default 100 input, 20 output */
  usage?: { input: number; output: number }
  /** The response's model. @default the request's */
  model?: string
}

export interface FakeJudgeRequest {
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

export interface FakeJudge {
  /** Base for `@anthropic-ai/sdk` (`baseURL`); the OpenAI client takes `${url}/v1`. */
  url: string
  requests: FakeJudgeRequest[]
  close(): Promise<void>
}

export async function startFakeJudge(
  reply: (request: FakeJudgeRequest, index: number) => FakeJudgeReply = () => ({}),
): Promise<FakeJudge> {
  const requests: FakeJudgeRequest[] = []
  const pending = new Set<ReturnType<typeof setTimeout>>()
  const server = createServer((req, res) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      text += chunk
    })
    req.on('end', () => {
      const request: FakeJudgeRequest = {
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(text || '{}'),
      }
      const index = requests.push(request) - 1
      const r = reply(request, index)
      const send = () => answer(res, request, r)
      if (r.delayMs) {
        const timer = setTimeout(() => {
          pending.delete(timer)
          if (!res.destroyed) send()
        }, r.delayMs)
        pending.add(timer)
      } else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const timer of pending) clearTimeout(timer)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function answer(res: ServerResponse, request: FakeJudgeRequest, r: FakeJudgeReply): void {
  const anthropic = request.path.startsWith('/v1/messages')
  const model = r.model ?? String(request.body.model ?? 'fake-judge')
  const usage = r.usage ?? { input: 100, output: 20 }
  const text = r.text ?? '{"score": 4, "reason": "fine"}'
  if (r.status) {
    res.writeHead(r.status, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify(
        anthropic
          ? { type: 'error', error: { type: 'api_error', message: `fake error ${r.status}` } }
          : { error: { message: `fake error ${r.status}`, type: 'api_error', param: null, code: null } },
      ),
    )
    return
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  if (anthropic) {
    res.end(
      JSON.stringify({
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: usage.output },
      }),
    )
    return
  }
  res.end(
    JSON.stringify({
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null },
      ],
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      },
    }),
  )
}
