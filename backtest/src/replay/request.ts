/**
 * A recorded LLM call turned back into a request: the stored GenAI "parts" messages (`input`
 * column), system instructions and tool definitions become an OpenAI Chat Completions request or
 * an Anthropic Messages request, with the candidate's model, parameters and prompt changes
 * applied. Calls recorded from either API are stored in the same GenAI form, so any recorded call
 * replays against either wire protocol. Tool outputs recorded in the later messages are sent as
 * they were (stubbed), so each step of an agent replays on its own.
 */
import type { CacheRule } from '../caching/rules'
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
  /** The recorded call streamed (`gen_ai.request.stream`). */
  stream?: boolean
  /** Names of the tools the recorded answer called, in order. */
  tool_calls?: string[]
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

/** `cache_control` of an Anthropic content block or tool. */
export interface CacheControl {
  type: 'ephemeral'
  ttl?: '1h'
}

export type AnthropicBlock =
  | { type: 'text'; text: string; cache_control?: CacheControl }
  | { type: 'tool_use'; id: string; name: string; input: unknown; cache_control?: CacheControl }
  | { type: 'tool_result'; tool_use_id: string; content: string; cache_control?: CacheControl }

export interface AnthropicMessage {
  role: 'user' | 'assistant'
  content: AnthropicBlock[]
}

export interface AnthropicTool {
  name: string
  description?: string
  input_schema: unknown
  cache_control?: CacheControl
}

export interface AnthropicRequest {
  model: string
  max_tokens: number
  system?: Array<{ type: 'text'; text: string; cache_control?: CacheControl }>
  messages: AnthropicMessage[]
  tools?: AnthropicTool[]
  [parameter: string]: unknown
}

/** The call has no recorded content to replay. */
export class NoContentError extends Error {
  override readonly name = 'NoContentError'
}

/** Anthropic requires `max_tokens`; used when neither the recording nor the candidate sets one. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096

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

/** Names of the tools a recorded output (GenAI output messages JSON) called. */
export function recordedToolCalls(output: string): string[] {
  const names: string[] = []
  for (const message of asParts(parseJson(output)))
    for (const p of asParts(message.parts))
      if (p.type === 'tool_call' && typeof p.name === 'string') names.push(p.name)
  return names
}

interface ToolDefinition {
  name: string
  description?: string
  parameters?: unknown
}

/** What both wire protocols are built from: messages (system first) with the prompt changes, tools. */
interface Prepared {
  messages: ChatMessage[]
  tools: ToolDefinition[]
}

function prepare(call: RecordedCall, candidate: CandidateSpec): Prepared {
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
  const tools = asParts(parseJson(call.tools))
    .filter((t) => typeof t.name === 'string' && (t.type === undefined || t.type === 'function'))
    .map((t) => ({
      name: t.name as string,
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
    }))
  return { messages: all, tools }
}

/** Parameters the runner controls itself, never sent as given. */
const CONTROLLED = new Set(['stream', 'stream_options'])

/** Recorded `gen_ai.request.*` parameter names → Chat Completions parameter names. */
const OPENAI_PARAMETERS: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  max_tokens: 'max_completion_tokens',
  frequency_penalty: 'frequency_penalty',
  presence_penalty: 'presence_penalty',
  stop_sequences: 'stop',
  seed: 'seed',
}

/** Recorded `gen_ai.request.*` names → Anthropic Messages names (penalties and seed have no equivalent). */
const ANTHROPIC_PARAMETERS: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  top_k: 'top_k',
  max_tokens: 'max_tokens',
  stop_sequences: 'stop_sequences',
}

/** Candidate parameters given in Chat Completions names, as Anthropic names. */
const ANTHROPIC_ALIASES: Record<string, string> = {
  max_completion_tokens: 'max_tokens',
  stop: 'stop_sequences',
}

/** The candidate's parameters win over the recorded ones; `null` removes one. */
function applyCandidateParameters(
  request: Record<string, unknown>,
  candidate: CandidateSpec,
  aliases: Record<string, string> = {},
): void {
  for (const [given, value] of Object.entries(candidate.parameters)) {
    if (CONTROLLED.has(given)) continue
    const name = aliases[given] ?? given
    if (value === null) delete request[name]
    else if (name === 'stop_sequences' && typeof value === 'string') request[name] = [value]
    else request[name] = value
  }
}

/** Whether the candidate is called streaming: its `stream` parameter, else as the recorded call was. */
export function wantsStream(call: RecordedCall, candidate: CandidateSpec): boolean {
  const given = candidate.parameters.stream
  if (typeof given === 'boolean') return given
  if (given === 'true' || given === 'false') return given === 'true'
  return call.stream === true
}

/** The Chat Completions request the candidate receives for one recorded call (without `stream`). */
export function toChatRequest(call: RecordedCall, candidate: CandidateSpec): ChatRequest {
  const { messages, tools } = prepare(call, candidate)
  const request: ChatRequest = { model: candidate.model, messages }
  for (const [recorded, name] of Object.entries(OPENAI_PARAMETERS)) {
    const value = call.parameters[recorded]
    if (value !== undefined) request[name] = value
  }
  applyCandidateParameters(request, candidate)
  if (tools.length > 0) request.tools = tools.map((t) => ({ type: 'function' as const, function: t }))
  return request
}

function parseArguments(json: string): unknown {
  const parsed = parseJson(json)
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {}
}

/** Chat messages (system excluded) → Anthropic messages: tool results become user `tool_result` blocks, same-role neighbours merge. */
export function toAnthropicMessages(messages: ChatMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = []
  const push = (role: AnthropicMessage['role'], blocks: AnthropicBlock[]) => {
    if (blocks.length === 0) return
    const last = out[out.length - 1]
    if (last?.role === role) {
      // tool_result blocks must open a user turn: they go before any text already there.
      if (role === 'user' && blocks.every((b) => b.type === 'tool_result')) {
        const firstText = last.content.findIndex((b) => b.type !== 'tool_result')
        if (firstText >= 0) last.content.splice(firstText, 0, ...blocks)
        else last.content.push(...blocks)
      } else last.content.push(...blocks)
    } else out.push({ role, content: blocks })
  }
  for (const m of messages) {
    if (m.role === 'system') continue
    if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: m.content ?? '' }])
    } else if (m.role === 'assistant') {
      const blocks: AnthropicBlock[] = []
      if (m.content) blocks.push({ type: 'text', text: m.content })
      for (const c of m.tool_calls ?? [])
        blocks.push({
          type: 'tool_use',
          id: c.id,
          name: c.function.name,
          input: parseArguments(c.function.arguments),
        })
      push('assistant', blocks)
    } else if (m.content) {
      push('user', [{ type: 'text', text: m.content }])
    }
  }
  return out
}

/**
 * Places `cache_control` breakpoints as the caching rule says (`breakpoints_at`: `static` = end of
 * tools + system, `previous_turn` = end of the message before the last exchange, `last_message` =
 * end of the prompt), keeping the latest `max_breakpoints`. Returns how many were placed.
 */
export function placeBreakpoints(
  request: AnthropicRequest,
  rule: Pick<CacheRule, 'mode' | 'breakpoints_at' | 'max_breakpoints'> | null,
  ttl: '5m' | '1h' = '5m',
): number {
  if (rule?.mode === 'automatic_prefix') return 0
  const at = rule?.breakpoints_at ?? ['static', 'last_message']
  const max = rule?.max_breakpoints ?? 4
  const control: CacheControl = ttl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' }
  // Targets in prompt order: tools (0), system (1), messages (2 + index).
  const targets = new Map<number, { cache_control?: CacheControl }>()
  const n = request.messages.length
  const lastBlock = (i: number) => {
    const content = request.messages[i]?.content
    return content?.[content.length - 1]
  }
  for (const where of at) {
    if (where === 'static') {
      const system = request.system?.[request.system.length - 1]
      const tool = request.tools?.[request.tools.length - 1]
      if (system) targets.set(1, system)
      else if (tool) targets.set(0, tool)
    } else {
      const i = where === 'last_message' ? n - 1 : n - 3
      const block = i >= 0 ? lastBlock(i) : undefined
      if (block) targets.set(2 + i, block)
    }
  }
  const chosen = [...targets.entries()].sort((a, b) => a[0] - b[0]).slice(-Math.max(1, max))
  for (const [, target] of chosen) target.cache_control = { ...control }
  return chosen.length
}

/**
 * The Anthropic Messages request for one recorded call (without `stream`): system instructions as
 * `system` blocks, tool calls and results as `tool_use` / `tool_result` blocks, tools with
 * `input_schema`; with `caching: 'on'`, `cache_control` breakpoints per the candidate's caching rule.
 */
export function toAnthropicRequest(
  call: RecordedCall,
  candidate: CandidateSpec,
  rule: Pick<CacheRule, 'mode' | 'breakpoints_at' | 'max_breakpoints'> | null = null,
): AnthropicRequest {
  const { messages, tools } = prepare(call, candidate)
  const system = messages
    .filter((m) => m.role === 'system' && m.content)
    .map((m) => ({ type: 'text' as const, text: m.content ?? '' }))
  const request: AnthropicRequest = {
    model: candidate.model,
    max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
    messages: toAnthropicMessages(messages),
  }
  if (system.length > 0) request.system = system
  for (const [recorded, name] of Object.entries(ANTHROPIC_PARAMETERS)) {
    const value = call.parameters[recorded]
    if (value === undefined) continue
    // OpenAI's temperature goes to 2, Anthropic's to 1.
    request[name] = name === 'temperature' && typeof value === 'number' ? Math.min(1, value) : value
  }
  applyCandidateParameters(request, candidate, ANTHROPIC_ALIASES)
  if (tools.length > 0)
    request.tools = tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: t.parameters ?? { type: 'object', properties: {} },
    }))
  if (candidate.caching === 'on') placeBreakpoints(request, rule, candidate.cache_ttl)
  return request
}
