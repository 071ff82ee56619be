import { asArray, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import { dataUrlMimeType, toParts, toText } from '../shared/parts'
import { type GenAIMessage, type MessagePart, toolArguments } from './messages'

/**
 * Conversion of OpenAI Responses API payloads (input items, output items, tools) to the GenAI
 * "parts" message format. Responses have no per-choice finish reason, so one is derived from the
 * response's status and output, with the values of the GenAI output-message schema.
 */

/** One content part of a message item. Inline (base64) media is left out: it would bloat every span. */
function contentPart(part: unknown): MessagePart | undefined {
  if (typeof part === 'string') return { type: 'text', content: part }
  if (!isRecord(part)) return undefined
  const type = asString(part.type) ?? 'unknown'
  switch (type) {
    case 'input_text':
    case 'output_text':
    case 'text':
    case 'summary_text':
    case 'reasoning_text':
      return { type: 'text', content: asString(part.text) ?? '' }
    case 'refusal':
      return { type: 'text', content: asString(part.refusal) ?? '' }
    case 'input_image': {
      const url = asString(part.image_url) ?? ''
      if (url.startsWith('data:')) return { type: 'blob', modality: 'image', mime_type: dataUrlMimeType(url) }
      if (url) return { type: 'uri', modality: 'image', uri: url }
      return { type: 'file', modality: 'image', file_id: asString(part.file_id) }
    }
    case 'input_file': {
      const url = asString(part.file_url)
      if (url) return { type: 'uri', modality: 'file', uri: url }
      return { type: 'file', file_id: asString(part.file_id), filename: asString(part.filename) }
    }
    case 'input_audio': {
      const format = asString(asRecord(part.input_audio)?.format)
      return { type: 'blob', modality: 'audio', mime_type: format ? `audio/${format}` : undefined }
    }
    default:
      return { type }
  }
}

const contentParts = (content: unknown): MessagePart[] => toParts(content, contentPart)

const contentText = (content: unknown): string => toText(content, contentPart)

function reasoningText(item: UnknownRecord): string {
  return [...asArray(item.summary), ...asArray(item.content)]
    .map((part) => (isRecord(part) ? (asString(part.text) ?? '') : ''))
    .filter((text) => text !== '')
    .join('\n')
}

/**
 * The parts an output item (or an input item replaying one) contributes to an assistant message;
 * undefined for items that are not assistant output (messages of other roles, tool results).
 */
function assistantItemParts(item: UnknownRecord): MessagePart[] | undefined {
  const type = asString(item.type)
  switch (type) {
    case 'function_call':
      return [
        {
          type: 'tool_call',
          id: asString(item.call_id),
          name: asString(item.name) ?? '',
          arguments: toolArguments(asString(item.arguments) ?? ''),
        },
      ]
    case 'custom_tool_call':
      return [
        {
          type: 'tool_call',
          id: asString(item.call_id),
          name: asString(item.name) ?? '',
          arguments: asString(item.input) ?? '',
        },
      ]
    case 'reasoning': {
      const text = reasoningText(item)
      return text ? [{ type: 'reasoning', content: text }] : []
    }
    case 'message':
    case undefined:
      return asString(item.role) === 'assistant' ? contentParts(item.content) : undefined
    case 'function_call_output':
    case 'custom_tool_call_output':
    case 'item_reference':
      return undefined
    default:
      // Built-in tools the API runs itself (web_search_call, file_search_call, …): kept by kind.
      return [{ type: 'server_tool_call', id: asString(item.id), name: type }]
  }
}

/**
 * Splits `instructions` and `input` into system instructions (the instructions, then system and
 * developer messages) and the input messages, in order. Consecutive assistant items (a message,
 * its reasoning, parallel function calls) are one assistant message, as in Chat Completions.
 */
export function toResponsesInput(
  input: unknown,
  instructions: unknown,
): { system: MessagePart[]; input: GenAIMessage[] } {
  const system: MessagePart[] = []
  const messages: GenAIMessage[] = []
  if (typeof instructions === 'string' && instructions !== '') {
    system.push({ type: 'text', content: instructions })
  }
  if (typeof input === 'string') {
    messages.push({ role: 'user', parts: [{ type: 'text', content: input }] })
    return { system, input: messages }
  }
  for (const item of asArray(input)) {
    if (!isRecord(item)) continue
    const type = asString(item.type)
    const role = asString(item.role)
    if ((type === 'message' || type === undefined) && (role === 'system' || role === 'developer')) {
      system.push(...contentParts(item.content))
      continue
    }
    if (type === 'function_call_output' || type === 'custom_tool_call_output') {
      messages.push({
        role: 'tool',
        parts: [
          { type: 'tool_call_response', id: asString(item.call_id), response: contentText(item.output) },
        ],
      })
      continue
    }
    if (type === 'item_reference') {
      messages.push({ role: 'user', parts: [{ type: 'item_reference', id: asString(item.id) }] })
      continue
    }
    const assistantParts = assistantItemParts(item)
    if (assistantParts) {
      const previous = messages.at(-1)
      if (previous?.role === 'assistant') previous.parts.push(...assistantParts)
      else messages.push({ role: 'assistant', parts: assistantParts })
      continue
    }
    messages.push({ role: role ?? 'user', parts: contentParts(item.content) })
  }
  return { system, input: messages }
}

/** `gen_ai.tool.definitions` for Responses tools: functions are flat; built-in tools are named by their type. */
export function toResponsesToolDefinitions(tools: unknown): UnknownRecord[] {
  const definitions: UnknownRecord[] = []
  for (const tool of asArray(tools)) {
    if (!isRecord(tool)) continue
    const type = asString(tool.type) ?? 'function'
    const definition: UnknownRecord = { type, name: asString(tool.name) ?? type }
    if (typeof tool.description === 'string') definition.description = tool.description
    if (tool.parameters !== undefined && tool.parameters !== null) definition.parameters = tool.parameters
    definitions.push(definition)
  }
  return definitions
}

/**
 * The finish reason of a response, in the GenAI output-message vocabulary: `tool_call` when the
 * model called a function, `stop` when it completed otherwise, `length` / `content_filter` for an
 * incomplete response, `error` for a failed one. Undefined while the response is still running.
 */
export function responseFinishReason(
  response: UnknownRecord | undefined,
  output: unknown,
): string | undefined {
  const status = asString(response?.status)
  if (status === 'failed') return 'error'
  if (status === 'incomplete') {
    const reason = asString(asRecord(response?.incomplete_details)?.reason)
    if (reason === 'max_output_tokens') return 'length'
    return reason ?? 'incomplete'
  }
  if (status !== 'completed') return undefined
  const calledTool = asArray(output).some((item) => {
    const type = isRecord(item) ? asString(item.type) : undefined
    return type === 'function_call' || type === 'custom_tool_call'
  })
  return calledTool ? 'tool_call' : 'stop'
}

/** The output items of a response as one assistant message (a response is one generation). */
export function responseOutputMessages(output: unknown, finishReason: string | undefined): GenAIMessage[] {
  const parts: MessagePart[] = []
  for (const item of asArray(output)) {
    if (isRecord(item)) parts.push(...(assistantItemParts(item) ?? []))
  }
  return [{ role: 'assistant', parts, ...(finishReason ? { finish_reason: finishReason } : {}) }]
}
