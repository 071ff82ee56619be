/**
 * Message content in one format for every dialect: the GenAI convention's messages, a JSON array
 * of `{ role, parts: [...], finish_reason? }` with parts such as `{ type: 'text', content }`,
 * `{ type: 'tool_call', id, name, arguments }`, `{ type: 'tool_call_response', id, response }`,
 * `{ type: 'reasoning', content }`, `{ type: 'uri', modality, uri }`, `{ type: 'blob', … }`.
 * GenAI spans already carry this format and are passed through untouched (no parse on the hot
 * path); flattened or SDK-specific forms (OpenInference, OpenLLMetry's indexed attributes, the
 * AI SDK's model messages) are rebuilt into it.
 */
import type { AttributeValue } from '../otlp/types'
import { toJsonValue } from './attribute-values'

export type Part = Record<string, unknown>

export interface Message {
  role: string
  parts: Part[]
  finish_reason?: string
  name?: string
}

type Json = unknown

const isRecord = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const field = (value: Json, key: string): Json =>
  isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined

const text = (value: Json): string | undefined => (typeof value === 'string' ? value : undefined)

function define(target: Record<string, Json>, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Content attributes hold JSON strings per the convention; structured values are serialized. */
export function contentText(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(toJsonValue(value))
}

/** JSON text for a message list; '' when there is none. */
export function messagesJson(messages: Message[]): string {
  return messages.length === 0 ? '' : JSON.stringify(messages)
}

/** Parse JSON text, or undefined when it is not JSON. */
export function parseJson(value: string): Json {
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}

/** Arguments and results: JSON objects/arrays are parsed, anything else is kept as given. */
function maybeJson(value: Json): Json {
  if (typeof value !== 'string') return value
  const first = value.trimStart()[0]
  if (first !== '{' && first !== '[') return value
  const parsed = parseJson(value)
  return parsed === undefined ? value : parsed
}

export const textPart = (content: string): Part => ({ type: 'text', content })

function toolCallPart(id: Json, name: Json, args: Json): Part {
  const part: Part = { type: 'tool_call' }
  if (id !== undefined && id !== null && id !== '') part.id = id
  part.name = name ?? ''
  if (args !== undefined) part.arguments = maybeJson(args)
  return part
}

function toolResponsePart(id: Json, response: Json): Part {
  const part: Part = { type: 'tool_call_response' }
  if (id !== undefined && id !== null && id !== '') part.id = id
  part.response = maybeJson(response)
  return part
}

function mediaPart(source: Json, mediaType: Json, fallbackModality: string): Part {
  const mime = text(mediaType)
  const modality = mime?.split('/')[0] ?? fallbackModality
  const uri = text(source)
  if (uri !== undefined && /^(https?|data|gs|s3):/i.test(uri)) {
    return mime ? { type: 'uri', modality, mime_type: mime, uri } : { type: 'uri', modality, uri }
  }
  return mime
    ? { type: 'blob', modality, mime_type: mime, content: source }
    : { type: 'blob', modality, content: source }
}

// ---------------------------------------------------------------------------------------------
// System instructions

const STARTS_WITH_SYSTEM = /^\s*\[\s*\{\s*"role"\s*:\s*"system"/

/**
 * `gen_ai.system_instructions` (a JSON array of parts) put in front of `gen_ai.input.messages` as
 * a system message, so the canonical input holds the whole prompt. The (possibly large) messages
 * text is spliced, not parsed. Returns undefined when nothing should change: no instructions, or
 * the messages already start with a system message.
 */
export function withSystemInstructions(input: string, instructions: string): string | undefined {
  const system = instructions.trim()
  if (system === '' || STARTS_WITH_SYSTEM.test(input)) return undefined
  // Parts arrays (the convention) are spliced as sent; a single part is wrapped; a string or
  // plain text becomes a text part.
  let parts: string
  if (system.startsWith('[')) parts = system
  else if (system.startsWith('{')) parts = `[${system}]`
  else {
    const parsed = system.startsWith('"') ? parseJson(system) : undefined
    parts = JSON.stringify([textPart(typeof parsed === 'string' ? parsed : system)])
  }
  const message = `{"role":"system","parts":${parts}}`
  const messages = input.trim()
  if (messages === '') return `[${message}]`
  if (messages.startsWith('[')) {
    const rest = messages.slice(1).trimStart()
    return rest.startsWith(']') ? `[${message}]` : `[${message},${rest}`
  }
  // Plain-text input (older senders): keep it as the user turn.
  return `[${message},${JSON.stringify({ role: 'user', parts: [textPart(messages)] })}]`
}

// ---------------------------------------------------------------------------------------------
// Flattened attributes (`prefix.<index>.<path>`) → nested values

interface TreeNode {
  value?: Json
  children?: Map<string, TreeNode>
}

const INDEX = /^\d+$/

/**
 * Rebuild nested values from flattened `a.0.b.c` paths: numeric segments become array positions
 * (in index order, gaps closed), others object keys (defined as own keys, so `__proto__` is data).
 */
export function unflatten(entries: Iterable<readonly [string, AttributeValue]>): Json {
  const root: TreeNode = {}
  for (const [path, value] of entries) {
    let node = root
    for (const segment of path.split('.')) {
      node.children ??= new Map()
      let child = node.children.get(segment)
      if (!child) {
        child = {}
        node.children.set(segment, child)
      }
      node = child
    }
    node.value = toJsonValue(value)
  }
  return build(root)
}

function build(node: TreeNode): Json {
  if (!node.children) return node.value
  const keys = [...node.children.keys()]
  if (keys.every((k) => INDEX.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => build(node.children?.get(k) ?? {}))
  }
  const out: Record<string, Json> = {}
  for (const key of keys) define(out, key, build(node.children.get(key) ?? {}))
  return out
}

/** OpenAI-style content (string, or `[{ type: 'text', text }, { type: 'image_url', … }]`) → parts. */
function openAiContentParts(content: Json): Part[] {
  if (content === undefined || content === null || content === '') return []
  let value = content
  if (typeof value === 'string') {
    const first = value.trimStart()[0]
    const parsed = first === '[' ? parseJson(value) : undefined
    if (!Array.isArray(parsed)) return [textPart(value)]
    value = parsed
  }
  if (!Array.isArray(value)) return [textPart(JSON.stringify(value))]
  const parts: Part[] = []
  for (const item of value) {
    const type = text(field(item, 'type'))
    if (type === 'text' || type === 'input_text' || type === 'output_text') {
      parts.push(textPart(text(field(item, 'text')) ?? ''))
    } else if (type === 'image_url') {
      parts.push(
        mediaPart(field(field(item, 'image_url'), 'url') ?? field(item, 'image_url'), undefined, 'image'),
      )
    } else if (typeof item === 'string') {
      parts.push(textPart(item))
    } else if (isRecord(item)) {
      parts.push({ ...item })
    }
  }
  return parts
}

// ---------------------------------------------------------------------------------------------
// OpenInference: llm.input_messages.<i>.message.{role,content,contents.<j>.message_content.*,
// tool_calls.<k>.tool_call.{id,function.name,function.arguments},tool_call_id,name}

export function openInferenceMessages(entries: Iterable<readonly [string, AttributeValue]>): Message[] {
  const list = unflatten(entries)
  if (!Array.isArray(list)) return []
  const out: Message[] = []
  for (const item of list) {
    const m = field(item, 'message')
    if (!isRecord(m)) continue
    const role = text(m.role) ?? 'user'
    const parts: Part[] = []
    const content = m.content
    const toolCallId = m.tool_call_id
    if (role === 'tool' && toolCallId !== undefined) {
      parts.push(toolResponsePart(toolCallId, content ?? ''))
    } else {
      if (typeof content === 'string' && content !== '') parts.push(textPart(content))
      const contents = m.contents
      if (Array.isArray(contents)) {
        for (const c of contents) {
          const mc = field(c, 'message_content')
          const type = text(field(mc, 'type'))
          if (type === 'text') parts.push(textPart(text(field(mc, 'text')) ?? ''))
          else if (type === 'image')
            parts.push(mediaPart(field(field(field(mc, 'image'), 'image'), 'url'), undefined, 'image'))
          else if (isRecord(mc)) parts.push({ ...mc })
        }
      }
    }
    const toolCalls = m.tool_calls
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls) {
        const tc = field(call, 'tool_call')
        const fn = field(tc, 'function')
        parts.push(toolCallPart(field(tc, 'id'), field(fn, 'name'), field(fn, 'arguments')))
      }
    }
    if (m.function_call_name !== undefined) {
      parts.push(toolCallPart(undefined, m.function_call_name, m.function_call_arguments_json))
    }
    const message: Message = { role, parts }
    if (typeof m.name === 'string' && m.name !== '') message.name = m.name
    out.push(message)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// OpenLLMetry: gen_ai.prompt.<i>.{role,content,tool_call_id,tool_calls.<k>.{id,name,arguments}}
// and gen_ai.completion.<i>.{role,content,finish_reason,tool_calls…,function_call.{name,arguments}}

export function indexedMessages(entries: Iterable<readonly [string, AttributeValue]>): Message[] {
  const list = unflatten(entries)
  if (!Array.isArray(list)) return []
  const out: Message[] = []
  for (const m of list) {
    if (!isRecord(m)) continue
    const role = text(m.role) ?? 'user'
    const parts: Part[] =
      role === 'tool' && m.tool_call_id !== undefined
        ? [toolResponsePart(m.tool_call_id, m.content ?? '')]
        : openAiContentParts(m.content)
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        parts.push(toolCallPart(field(call, 'id'), field(call, 'name'), field(call, 'arguments')))
      }
    }
    const functionCall = m.function_call
    if (isRecord(functionCall)) parts.push(toolCallPart(undefined, functionCall.name, functionCall.arguments))
    const message: Message = { role, parts }
    if (typeof m.finish_reason === 'string') message.finish_reason = m.finish_reason
    out.push(message)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Vercel AI SDK model messages (`ai.prompt.messages`, `ai.prompt`, `ai.response.*`)

/** A tool result's `output` in AI SDK v5+ is `{ type: 'text' | 'json' | …, value }`. */
function toolOutput(value: Json): Json {
  const type = text(field(value, 'type'))
  return type !== undefined && field(value, 'value') !== undefined ? field(value, 'value') : value
}

function aiSdkParts(content: Json): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [textPart(content)]
  if (!Array.isArray(content))
    return content === undefined || content === null ? [] : [textPart(JSON.stringify(content))]
  const parts: Part[] = []
  for (const p of content) {
    const type = text(field(p, 'type'))
    switch (type) {
      case 'text':
        parts.push(textPart(text(field(p, 'text')) ?? ''))
        break
      case 'reasoning':
        parts.push({ type: 'reasoning', content: text(field(p, 'text')) ?? '' })
        break
      case 'image':
        parts.push(mediaPart(field(p, 'image'), field(p, 'mediaType') ?? field(p, 'mimeType'), 'image'))
        break
      case 'file':
        parts.push(mediaPart(field(p, 'data'), field(p, 'mediaType') ?? field(p, 'mimeType'), 'file'))
        break
      case 'tool-call':
        parts.push(
          toolCallPart(field(p, 'toolCallId'), field(p, 'toolName'), field(p, 'input') ?? field(p, 'args')),
        )
        break
      case 'tool-result':
        parts.push(
          toolResponsePart(field(p, 'toolCallId'), toolOutput(field(p, 'output') ?? field(p, 'result'))),
        )
        break
      default:
        if (isRecord(p)) parts.push({ ...p })
        else if (typeof p === 'string') parts.push(textPart(p))
    }
  }
  return parts
}

function aiSdkMessageList(value: Json): Message[] {
  if (!Array.isArray(value)) return []
  const out: Message[] = []
  for (const m of value) {
    if (!isRecord(m)) continue
    out.push({ role: text(m.role) ?? 'user', parts: aiSdkParts(m.content) })
  }
  return out
}

/** `ai.prompt.messages` (JSON of the model messages) → canonical JSON; the raw text when unreadable. */
export function aiSdkMessagesJson(raw: string): string {
  const parsed = parseJson(raw)
  return Array.isArray(parsed) ? messagesJson(aiSdkMessageList(parsed)) : raw
}

/** Outer spans' `ai.prompt`: `{ system?, prompt?, messages? }` → canonical JSON; raw text when unreadable. */
export function aiSdkPromptJson(raw: string): string {
  const parsed = parseJson(raw)
  if (!isRecord(parsed)) return raw
  const out: Message[] = []
  const system = parsed.system
  if (typeof system === 'string' && system !== '') out.push({ role: 'system', parts: [textPart(system)] })
  else if (Array.isArray(system)) out.push(...aiSdkMessageList(system))
  const prompt = parsed.prompt
  if (typeof prompt === 'string' && prompt !== '') out.push({ role: 'user', parts: [textPart(prompt)] })
  else if (Array.isArray(prompt)) out.push(...aiSdkMessageList(prompt))
  out.push(...aiSdkMessageList(parsed.messages))
  return out.length === 0 ? raw : messagesJson(out)
}

const FINISH_REASONS: Readonly<Record<string, string>> = {
  'tool-calls': 'tool_call',
  'content-filter': 'content_filter',
}

/** The assistant's answer from `ai.response.text`, `.reasoning`, `.toolCalls`, `.finishReason`. */
export function aiSdkOutputJson(response: {
  text: string
  reasoning: string
  toolCalls: string
  finishReason: string
}): string {
  const parts: Part[] = []
  if (response.reasoning !== '') parts.push({ type: 'reasoning', content: response.reasoning })
  if (response.text !== '') parts.push(textPart(response.text))
  if (response.toolCalls !== '') {
    const calls = parseJson(response.toolCalls)
    if (Array.isArray(calls)) {
      for (const call of calls) {
        parts.push(
          toolCallPart(
            field(call, 'toolCallId'),
            field(call, 'toolName'),
            field(call, 'input') ?? field(call, 'args'),
          ),
        )
      }
    }
  }
  if (parts.length === 0) return ''
  const message: Message = { role: 'assistant', parts }
  if (response.finishReason !== '') {
    message.finish_reason = FINISH_REASONS[response.finishReason] ?? response.finishReason
  }
  return JSON.stringify([message])
}
