import { asArray, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import { dataUrlMimeType, toParts, toText } from '../shared/parts'

/**
 * Conversion of OpenAI Chat Completions payloads to the GenAI "parts" message format
 * (`[{ role, parts: [{ type: 'text', content }] }]`) used by `gen_ai.input.messages`,
 * `gen_ai.output.messages` and `gen_ai.system_instructions`.
 */

export type MessagePart =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id?: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id?: string; response: unknown }
  | { type: 'uri'; modality: string; uri: string }
  | { type: 'blob'; modality: string; mime_type?: string }
  | { type: 'file'; modality?: string; file_id?: string; filename?: string }
  | { type: string; [key: string]: unknown }

export interface GenAIMessage {
  role: string
  parts: MessagePart[]
  name?: string
  finish_reason?: string
}

export interface ToolCallState {
  id?: string
  name: string
  arguments: string
}

/** Tool arguments are JSON text on the wire; the conventions show them as objects, so parse when valid. */
export function toolArguments(raw: string): unknown {
  if (raw.trim() === '') return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

/** One item of a content array. Inline (base64) media is left out: it would bloat every span. */
function contentPart(part: unknown): MessagePart | undefined {
  if (typeof part === 'string') return { type: 'text', content: part }
  if (!isRecord(part)) return undefined
  const type = asString(part.type) ?? 'unknown'
  switch (type) {
    case 'text':
      return { type: 'text', content: asString(part.text) ?? '' }
    case 'refusal':
      return { type: 'text', content: asString(part.refusal) ?? '' }
    case 'image_url': {
      const url = asString(asRecord(part.image_url)?.url) ?? ''
      if (url.startsWith('data:')) return { type: 'blob', modality: 'image', mime_type: dataUrlMimeType(url) }
      return { type: 'uri', modality: 'image', uri: url }
    }
    case 'input_audio': {
      const format = asString(asRecord(part.input_audio)?.format)
      return { type: 'blob', modality: 'audio', mime_type: format ? `audio/${format}` : undefined }
    }
    case 'file': {
      const file = asRecord(part.file)
      return { type: 'file', file_id: asString(file?.file_id), filename: asString(file?.filename) }
    }
    default:
      return { type }
  }
}

const contentParts = (content: unknown): MessagePart[] => toParts(content, contentPart)

/** Text of a message or tool result, joined; tool results are strings or arrays of text parts. */
const contentText = (content: unknown): string => toText(content, contentPart)

/** Appends `items` to `parts` (no spread: it costs an iterator and an argument list per call). */
function append(parts: MessagePart[], items: readonly MessagePart[]): void {
  for (let i = 0; i < items.length; i++) parts.push(items[i] as MessagePart)
}

/** Appends a message's tool calls to `parts`. */
function addToolCallParts(parts: MessagePart[], toolCalls: unknown): void {
  for (const call of asArray(toolCalls)) {
    if (!isRecord(call)) continue
    const fn = asRecord(call.function) ?? asRecord(call.custom)
    const raw = asString(fn?.arguments) ?? asString(fn?.input) ?? ''
    parts.push({
      type: 'tool_call',
      id: asString(call.id),
      name: asString(fn?.name) ?? '',
      arguments: toolArguments(raw),
    })
  }
}

/** Appends the legacy `function_call` of a message, if any, to `parts`. */
function addLegacyFunctionCall(parts: MessagePart[], functionCall: unknown): void {
  const fn = asRecord(functionCall)
  if (!fn) return
  parts.push({
    type: 'tool_call',
    name: asString(fn.name) ?? '',
    arguments: toolArguments(asString(fn.arguments) ?? ''),
  })
}

function withName(message: GenAIMessage, source: UnknownRecord): GenAIMessage {
  const name = asString(source.name)
  return name ? { ...message, name } : message
}

/**
 * Splits the request's messages: system and developer messages become the system instructions
 * (a list of parts), everything else the input messages, in order.
 */
export function toInputMessages(messages: unknown): { system: MessagePart[]; input: GenAIMessage[] } {
  const system: MessagePart[] = []
  const input: GenAIMessage[] = []
  for (const message of asArray(messages)) {
    if (!isRecord(message)) continue
    const role = asString(message.role) ?? 'user'
    switch (role) {
      case 'system':
      case 'developer':
        append(system, contentParts(message.content))
        break
      case 'assistant': {
        const parts = contentParts(message.content)
        if (typeof message.refusal === 'string') parts.push({ type: 'text', content: message.refusal })
        addToolCallParts(parts, message.tool_calls)
        addLegacyFunctionCall(parts, message.function_call)
        input.push(withName({ role, parts }, message))
        break
      }
      case 'tool':
        input.push({
          role,
          parts: [
            {
              type: 'tool_call_response',
              id: asString(message.tool_call_id),
              response: contentText(message.content),
            },
          ],
        })
        break
      case 'function':
        input.push(
          withName(
            { role: 'tool', parts: [{ type: 'tool_call_response', response: contentText(message.content) }] },
            message,
          ),
        )
        break
      default:
        input.push(withName({ role, parts: contentParts(message.content) }, message))
    }
  }
  return { system, input }
}

/** `gen_ai.tool.definitions`: the tools offered to the model, flattened to `{ type, name, description, parameters }`. */
export function toToolDefinitions(tools: unknown): UnknownRecord[] {
  const definitions: UnknownRecord[] = []
  for (const tool of asArray(tools)) {
    if (!isRecord(tool)) continue
    const type = asString(tool.type) ?? 'function'
    const spec = asRecord(tool.function) ?? asRecord(tool.custom) ?? tool
    const definition: UnknownRecord = { type, name: asString(spec.name) ?? '' }
    if (typeof spec.description === 'string') definition.description = spec.description
    if (spec.parameters !== undefined) definition.parameters = spec.parameters
    definitions.push(definition)
  }
  return definitions
}

/** Output messages of a non-streamed completion, one per choice. */
export function completionOutputMessages(choices: unknown): GenAIMessage[] {
  const output: GenAIMessage[] = []
  for (const choice of asArray(choices)) {
    if (!isRecord(choice)) continue
    const message = asRecord(choice.message) ?? {}
    const parts = contentParts(message.content)
    if (typeof message.refusal === 'string') parts.push({ type: 'text', content: message.refusal })
    addToolCallParts(parts, message.tool_calls)
    addLegacyFunctionCall(parts, message.function_call)
    const out: GenAIMessage = { role: asString(message.role) ?? 'assistant', parts }
    const finishReason = asString(choice.finish_reason)
    if (finishReason) out.finish_reason = finishReason
    output.push(out)
  }
  return output
}

/** What a stream accumulated for one choice, turned into an output message. */
export function streamedOutputMessage(choice: {
  role: string
  content: string
  refusal: string
  toolCalls: ToolCallState[]
  finishReason: string | undefined
}): GenAIMessage {
  const parts: MessagePart[] = []
  if (choice.content) parts.push({ type: 'text', content: choice.content })
  if (choice.refusal) parts.push({ type: 'text', content: choice.refusal })
  for (const call of choice.toolCalls) {
    parts.push({ type: 'tool_call', id: call.id, name: call.name, arguments: toolArguments(call.arguments) })
  }
  const message: GenAIMessage = { role: choice.role, parts }
  if (choice.finishReason) message.finish_reason = choice.finishReason
  return message
}
