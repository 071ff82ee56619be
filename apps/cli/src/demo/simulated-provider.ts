/**
 * A local, OpenAI-compatible chat-completions server that SIMULATES a provider, so the demo runs
 * the real SDK and the real `openai` client without network access or an API key. Latency,
 * token counts, prompt caching and errors follow realistic shapes; every answer says
 * "[simulated]" so nobody mistakes it for a model's output.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { Rng } from './rng'

/** Latency and size profile of one simulated model. */
export interface ModelProfile {
  /** Model name reported in responses (a dated snapshot, like the real API). */
  snapshot: string
  /** Median time to first token, ms. */
  ttftMs: number
  /** Median time per output token, ms. */
  perTokenMs: number
  /** Median output length, tokens. */
  outputTokens: number
}

export const SIMULATED_MODELS: Record<string, ModelProfile> = {
  'gpt-4o': { snapshot: 'gpt-4o-2024-08-06', ttftMs: 450, perTokenMs: 12, outputTokens: 140 },
  'gpt-4o-mini': { snapshot: 'gpt-4o-mini-2024-07-18', ttftMs: 300, perTokenMs: 7, outputTokens: 110 },
  'gpt-4.1-mini': { snapshot: 'gpt-4.1-mini-2025-04-14', ttftMs: 340, perTokenMs: 8, outputTokens: 120 },
}

const FALLBACK_PROFILE: Omit<ModelProfile, 'snapshot'> = { ttftMs: 400, perTokenMs: 10, outputTokens: 120 }

export interface SimulatedProviderOptions {
  /** Seed of the random source. @default 7 */
  seed?: number
  /** Share of requests answered with a 429 or 500. @default 0.02 */
  errorRate?: number
  /** Multiplies every delay; 0 answers at once (tests). @default 1 */
  timeScale?: number
}

export interface SimulatedProvider {
  /** e.g. `http://127.0.0.1:41234` */
  url: string
  /** `url + '/v1'`, what `new OpenAI({ baseURL })` wants. */
  baseURL: string
  stats(): { requests: number; errors: number }
  close(): Promise<void>
}

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() })
const requestSchema = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z
    .array(
      z.looseObject({
        role: z.string(),
        content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
      }),
    )
    .min(1)
    .max(1000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
})
type ChatRequest = z.infer<typeof requestSchema>

const WORDS = (
  'the order your account was shipped refund policy within thirty days we can help with that ' +
  'please note the invoice support ticket has been updated and our team will follow up shortly ' +
  'summary of the main points customer reported an issue with billing resolved by resetting ' +
  'category priority high low medium sentiment positive negative neutral next steps include'
).split(' ')

function messageText(message: ChatRequest['messages'][number]): string {
  const { content } = message
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join(' ')
  return ''
}

/** Roughly 4 characters per token plus the per-message framing the real tokenizer adds. */
export function estimatePromptTokens(request: Pick<ChatRequest, 'messages'>): number {
  return 3 + request.messages.reduce((sum, m) => sum + 4 + Math.ceil(messageText(m).length / 4), 0)
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-simulated': 'true', ...headers })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > limit) throw new Error('request body too large')
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Wait `ms`, or less if `signal` aborts (the client went away). The abort listener is removed
 * when the wait ends: a streamed answer waits once per chunk on the same request's signal, and
 * listeners left behind piled up past Node's limit of 10 (MaxListenersExceededWarning).
 */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })

/** Start the simulated provider on 127.0.0.1 and a free port. */
export async function startSimulatedProvider(
  options: SimulatedProviderOptions = {},
): Promise<SimulatedProvider> {
  const rng = new Rng(options.seed ?? 7)
  const errorRate = options.errorRate ?? 0.02
  const timeScale = options.timeScale ?? 1
  const seenPrefixes = new Set<string>()
  let requests = 0
  let errors = 0
  let sequence = 0

  async function completions(req: IncomingMessage, res: ServerResponse, signal: AbortSignal) {
    let raw: unknown
    try {
      raw = JSON.parse(await readBody(req, 5 * 1024 * 1024))
    } catch {
      return sendJson(res, 400, {
        error: { message: '[simulated] request body is not valid JSON', type: 'invalid_request_error' },
      })
    }
    const parsed = requestSchema.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return sendJson(res, 400, {
        error: {
          message: `[simulated] invalid request: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`,
          type: 'invalid_request_error',
          param: issue?.path.join('.') ?? null,
        },
      })
    }
    const request = parsed.data
    requests++
    const known = SIMULATED_MODELS[request.model]
    const profile = known ?? { ...FALLBACK_PROFILE, snapshot: request.model }

    if (rng.chance(errorRate)) {
      errors++
      await sleep(rng.lognormal(profile.ttftMs / 2, 0.4) * timeScale, signal)
      if (rng.chance(0.6)) {
        return sendJson(
          res,
          429,
          {
            error: {
              message: `[simulated] Rate limit reached for ${request.model}. Please try again in 1s.`,
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded',
            },
          },
          { 'retry-after': '1' },
        )
      }
      return sendJson(res, 500, {
        error: {
          message: '[simulated] The server had an error while processing your request.',
          type: 'server_error',
          param: null,
          code: null,
        },
      })
    }

    const promptTokens = estimatePromptTokens(request)
    const limit = request.max_completion_tokens ?? request.max_tokens ?? 4096
    const outputTokens = Math.max(3, Math.min(limit, Math.round(rng.lognormal(profile.outputTokens, 0.55))))
    const cachedTokens = cachedTokensFor(request, promptTokens)
    const words = ['[simulated]']
    for (let i = 1; i < Math.max(2, Math.round(outputTokens * 0.75)); i++) words.push(rng.pick(WORDS))
    const content = `${words.join(' ')}.`
    const finishReason = outputTokens >= limit ? 'length' : 'stop'
    const id = `chatcmpl-sim${(++sequence).toString(36).padStart(8, '0')}`
    const created = Math.floor(Date.now() / 1000)
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: outputTokens,
      total_tokens: promptTokens + outputTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    }
    const ttft = rng.lognormal(profile.ttftMs, 0.35) * timeScale
    const perToken = rng.lognormal(profile.perTokenMs, 0.25) * timeScale
    const base = { id, created, model: profile.snapshot, system_fingerprint: 'fp_simulated' }

    if (!request.stream) {
      await sleep(ttft + perToken * outputTokens, signal)
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
        service_tier: 'default',
      })
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-simulated': 'true',
    })
    const send = (chunk: unknown) => res.write(`data: ${JSON.stringify(chunk)}\n\n`)
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })
    await sleep(ttft, signal)
    send(chunk({ role: 'assistant', content: '', refusal: null }))
    // At most ~24 content chunks: realistic pacing without thousands of timers.
    const pieces = Math.min(24, words.length)
    const perPiece = Math.ceil(words.length / pieces)
    for (let i = 0; i < words.length && !signal.aborted; i += perPiece) {
      const text = words.slice(i, i + perPiece).join(' ')
      send(chunk({ content: i === 0 ? text : ` ${text}` }))
      await sleep(perToken * (outputTokens / pieces), signal)
    }
    if (signal.aborted) return res.end()
    send(chunk({ content: '.' }))
    send(chunk({}, finishReason))
    if (request.stream_options?.include_usage)
      send({ ...base, object: 'chat.completion.chunk', choices: [], usage })
    res.end('data: [DONE]\n\n')
  }

  /**
   * Like OpenAI's automatic prompt caching: prompts of 1024+ tokens whose leading system message
   * was seen before get most of that prefix served from cache, in 128-token steps.
   */
  function cachedTokensFor(request: ChatRequest, promptTokens: number): number {
    if (promptTokens < 1024) return 0
    const first = request.messages[0]
    if (first?.role !== 'system') return 0
    const prefix = messageText(first)
    const key = createHash('sha256').update(`${request.model}\n${prefix}`).digest('hex')
    const seen = seenPrefixes.has(key)
    seenPrefixes.add(key)
    if (!seen || !rng.chance(0.85)) return 0
    const prefixTokens = Math.ceil(prefix.length / 4) + 4
    return Math.min(promptTokens, Math.floor(prefixTokens / 128) * 128)
  }

  const server = createServer((req, res) => {
    const abort = new AbortController()
    res.on('close', () => abort.abort())
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      completions(req, res, abort.signal).catch((error: unknown) => {
        if (!res.headersSent) {
          sendJson(res, 500, {
            error: { message: `[simulated] ${(error as Error).message}`, type: 'server_error' },
          })
        } else res.destroy()
      })
      return
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: Object.keys(SIMULATED_MODELS).map((id) => ({ id, object: 'model', owned_by: 'simulated' })),
      })
    }
    sendJson(res, 404, {
      error: { message: `[simulated] no route ${req.method} ${path}`, type: 'not_found' },
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    baseURL: `${url}/v1`,
    stats: () => ({ requests, errors }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
