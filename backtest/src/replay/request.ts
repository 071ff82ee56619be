/**
 * A recorded LLM call turned back into a request: the stored GenAI "parts" messages (`input`
 * column), system instructions and tool definitions become an OpenAI Chat Completions request,
 * with the candidate's model, parameters and prompt changes applied. Tool outputs recorded in the
 * later messages are sent as they were (stubbed), so each step of an agent replays on its own.
 */
import type { CandidateSpec } from '../candidate'

/** One recorded LLM call, as the replay needs it. */
export interface RecordedCall {
  trace_id: string
  span_id: string
  start_ms: number
  provider: string
  model: string
  /** JSON: `[{ role, parts: [...] }]`, '' when content was not captured. */
  input: string
  /** JSON parts of `gen_ai.system_instructions`, or ''. */
  system: string
  /** JSON of `gen_ai.tool.definitions`, or ''. */
  tools: string
  /** Recorded request parameters (`gen_ai.request.*`), parsed. */
  parameters: Record<string, number | string | string[]>
  duration_ms: number
  ttft_ms: number | null
  output_tokens: number
  output_chars: number
  cost_usd: number | null
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string | null
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>
  tool_call_id?: string
}

export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown } }>
  [parameter: string]: unknown
}

/** The call has no recorded content to replay. */
export class NoContentError extends Error {
  override readonly name = 'NoContentError'
}

type Part = Record<string, unknown>

function parseJson(text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const asParts = (value: unknown): Part[] =>
  Array.isArray(value) ? value.filter((p): p is Part => typeof p === 'object' && p !== null) : []

function text(parts: Part[]): string {
  return parts
    .filter((p) => p.type === 'text' && typeof p.content === 'string')
    .map((p) => p.content as string)
    .join('\n')
}

const stringify = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value ?? null)

/** The recorded messages (GenAI parts) as Chat Completions messages. */
export function toChatMessages(input: unknown): ChatMessage[] {
  const out: ChatMessage[] = []
  for (const message of asParts(input)) {
    const role = typeof message.role === 'string' ? message.role : 'user'
    const parts = asParts(message.parts)
    if (role === 'tool') {
      for (const p of parts.filter((x) => x.type === 'tool_call_response')) {
        out.push({
          role: 'tool',
          tool_call_id: typeof p.id === 'string' ? p.id : '',
          content: stringify(p.response),
        })
      }
    } else if (role === 'assistant') {
      const calls = parts
        .filter((p) => p.type === 'tool_call' && typeof p.name === 'string')
        .map((p, k) => ({
          id: typeof p.id === 'string' ? p.id : `call_${k}`,
          type: 'function' as const,
          function: { name: p.name as string, arguments: stringify(p.arguments ?? {}) },
        }))
      const content = text(parts)
      out.push({
        role: 'assistant',
        content: content === '' && calls.length > 0 ? null : content,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      })
    } else if (role === 'system' || role === 'developer') {
      out.push({ role: 'system', content: text(parts) })
    } else {
      out.push({ role: 'user', content: text(parts) })
    }
  }
  return out
}

/** Recorded `gen_ai.request.*` parameter names → Chat Completions parameter names. */
const PARAMETERS: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  max_tokens: 'max_completion_tokens',
  frequency_penalty: 'frequency_penalty',
  presence_penalty: 'presence_penalty',
  stop_sequences: 'stop',
  seed: 'seed',
}

/** The request the candidate receives for one recorded call. */
export function toChatRequest(call: RecordedCall, candidate: CandidateSpec): ChatRequest {
  const input = parseJson(call.input)
  if (!Array.isArray(input) || input.length === 0) {
    throw new NoContentError(
      `call ${call.trace_id}/${call.span_id} has no recorded messages (captureContent off?): it cannot be replayed`,
    )
  }
  const messages = toChatMessages(input)
  const recordedSystem = text(asParts(parseJson(call.system)))
  const system = candidate.prompt.system ?? (recordedSystem === '' ? undefined : recordedSystem)
  const rest = candidate.prompt.system === undefined ? messages : messages.filter((m) => m.role !== 'system')
  const all: ChatMessage[] = system === undefined ? rest : [{ role: 'system', content: system }, ...rest]
  const template = candidate.prompt.template
  if (template !== undefined) {
    for (let i = all.length - 1; i >= 0; i--) {
      const m = all[i]
      if (m?.role === 'user') {
        all[i] = { ...m, content: template.replaceAll('{{input}}', m.content ?? '') }
        break
      }
    }
  }
  const request: ChatRequest = { model: candidate.model, messages: all }
  for (const [recorded, name] of Object.entries(PARAMETERS)) {
    const value = call.parameters[recorded]
    if (value !== undefined) request[name] = value
  }
  // The candidate's parameters win over the recorded ones.
  for (const [name, value] of Object.entries(candidate.parameters)) {
    if (value === null) delete request[name]
    else request[name] = value
  }
  const tools = asParts(parseJson(call.tools))
    .filter((t) => typeof t.name === 'string')
    .map((t) => ({
      type: 'function' as const,
      function: {
        name: t.name as string,
        ...(typeof t.description === 'string' ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
      },
    }))
  if (tools.length > 0) request.tools = tools
  return request
}
