import { GEN_AI, HINDSIGHT } from '../attributes'
import { asArray, asNumber, asRecord, asString, isRecord, type UnknownRecord } from '../narrow'
import type { AttributeSink } from '../openai/api-call'
import type { GenAIMessage, MessagePart } from '../openai/messages'
import { toolArguments } from '../openai/messages'
import type { LooseAttributes } from '../record-span'
import { toParts } from '../shared/parts'

/**
 * Conversion of Anthropic Messages payloads to the GenAI conventions: content blocks to "parts"
 * messages, and usage to token counts. Anthropic's `input_tokens` EXCLUDES cache reads and writes
 * while the conventions' `gen_ai.usage.input_tokens` includes them; {@link usageAttributes} is the
 * only place that adds them up.
 */

/**
 * Token attributes from an Anthropic usage object, normalized once:
 * `input_tokens` = input + cache read + cache creation; cache read and creation as reported; the
 * 1-hour part of the creation (`cache_creation.ephemeral_1h_input_tokens`) in
 * `hindsight.usage.cache_creation_1h.input_tokens`. Streams must pass the merged usage of the
 * whole message (see {@link MessageAccumulator}), never a sum of events.
 */
export function usageAttributes(usage: unknown): LooseAttributes {
  const attributes: LooseAttributes = {}
  writeUsage(
    {
      put(key, value) {
        attributes[key] = value
      },
    },
    usage,
  )
  return attributes
}

/**
 * The same attributes as {@link usageAttributes}, written one by one into `sink` (no intermediate
 * object: see `SpanRecorder.put`); undefined values are passed on, for the sink to skip.
 */
export function writeUsage(sink: Pick<AttributeSink, 'put'>, usage: unknown): void {
  const u = asRecord(usage)
  if (!u) return
  const input = asNumber(u.input_tokens)
  const cacheRead = asNumber(u.cache_read_input_tokens)
  const cacheCreation = asNumber(u.cache_creation_input_tokens)
  const split = asRecord(u.cache_creation)
  sink.put(
    GEN_AI.usageInputTokens,
    input === undefined ? undefined : input + (cacheRead ?? 0) + (cacheCreation ?? 0),
  )
  sink.put(GEN_AI.usageOutputTokens, asNumber(u.output_tokens))
  sink.put(GEN_AI.usageCacheReadInputTokens, cacheRead)
  sink.put(GEN_AI.usageCacheCreationInputTokens, cacheCreation)
  sink.put(HINDSIGHT.usageCacheCreation1hInputTokens, asNumber(split?.ephemeral_1h_input_tokens))
}

function sourcePart(source: unknown, modality: string): MessagePart {
  const s = asRecord(source) ?? {}
  switch (asString(s.type)) {
    case 'url':
      return { type: 'uri', modality, uri: asString(s.url) ?? '' }
    case 'file':
      return { type: 'file', modality, file_id: asString(s.file_id) }
    case 'text':
      return { type: 'blob', modality, mime_type: asString(s.media_type) ?? 'text/plain' }
    default:
      // base64 data is left out: it would bloat every span.
      return { type: 'blob', modality, mime_type: asString(s.media_type) }
  }
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  return asArray(content)
    .map((block) => (isRecord(block) && block.type === 'text' ? (asString(block.text) ?? '') : ''))
    .join('')
}

/** One content block as a part; `tool_result` blocks are handled by the caller (they become tool messages). */
export function blockPart(block: unknown): MessagePart | undefined {
  if (typeof block === 'string') return { type: 'text', content: block }
  if (!isRecord(block)) return undefined
  const type = asString(block.type) ?? 'unknown'
  switch (type) {
    case 'text':
      return { type: 'text', content: asString(block.text) ?? '' }
    case 'image':
      return sourcePart(block.source, 'image')
    case 'document':
      return sourcePart(block.source, 'document')
    case 'tool_use':
      return {
        type: 'tool_call',
        id: asString(block.id),
        name: asString(block.name) ?? '',
        arguments: block.input,
      }
    case 'server_tool_use':
      return {
        type: 'server_tool_call',
        id: asString(block.id),
        name: asString(block.name) ?? '',
        arguments: block.input,
      }
    case 'thinking':
      return { type: 'reasoning', content: asString(block.thinking) ?? '' }
    case 'redacted_thinking':
      return { type: 'reasoning' }
    default:
      return { type }
  }
}

const parts = (content: unknown): MessagePart[] => toParts(content, blockPart)

/**
 * The request's `system` as system instructions and its `messages` as input messages. A user
 * message's `tool_result` blocks become a `tool` message (as in the OpenAI wrappers), in order
 * with the rest of its blocks.
 */
export function toInputMessages(
  system: unknown,
  messages: unknown,
): { system: MessagePart[]; input: GenAIMessage[] } {
  const input: GenAIMessage[] = []
  for (const message of asArray(messages)) {
    if (!isRecord(message)) continue
    const role = asString(message.role) ?? 'user'
    if (typeof message.content === 'string') {
      input.push({ role, parts: [{ type: 'text', content: message.content }] })
      continue
    }
    let current: GenAIMessage | undefined
    for (const block of asArray(message.content)) {
      const isResult = isRecord(block) && block.type === 'tool_result'
      const blockRole = isResult ? 'tool' : role
      if (current?.role !== blockRole) {
        current = { role: blockRole, parts: [] }
        input.push(current)
      }
      if (isResult) {
        current.parts.push({
          type: 'tool_call_response',
          id: asString(block.tool_use_id),
          response: textOf(block.content),
        })
      } else {
        const part = blockPart(block)
        if (part) current.parts.push(part)
      }
    }
    if (!current) input.push({ role, parts: [] })
  }
  return { system: parts(system), input }
}

/** `gen_ai.tool.definitions`: client tools as functions (`input_schema` → `parameters`); server tools by type. */
export function toToolDefinitions(tools: unknown): UnknownRecord[] {
  const definitions: UnknownRecord[] = []
  for (const tool of asArray(tools)) {
    if (!isRecord(tool)) continue
    const type = asString(tool.type)
    const client = type === undefined || type === 'custom'
    const definition: UnknownRecord = {
      type: client ? 'function' : type,
      name: asString(tool.name) ?? type ?? '',
    }
    if (typeof tool.description === 'string') definition.description = tool.description
    if (client && tool.input_schema !== undefined) definition.parameters = tool.input_schema
    definitions.push(definition)
  }
  return definitions
}

/** A message's content as the one output message, with the stop reason as finish reason. */
export function outputMessages(content: unknown, stopReason: string | undefined): GenAIMessage[] {
  return [{ role: 'assistant', parts: parts(content), ...(stopReason ? { finish_reason: stopReason } : {}) }]
}

interface BlockState {
  block: UnknownRecord
  /** `input_json_delta` pieces of a tool_use block's input. */
  json: string
}

/**
 * Rebuilds a streamed message from its events. Usage is MERGED, never summed: `message_start`
 * carries the input counts (and a placeholder output count), each `message_delta` carries
 * cumulative totals that replace the earlier values. Summing them is how cached tokens get
 * counted twice.
 */
export class MessageAccumulator {
  events = 0
  id: string | undefined
  model: string | undefined
  stopReason: string | undefined
  usage: UnknownRecord | undefined
  #sawMessageDelta = false
  readonly #blocks = new Map<number, BlockState>()

  add(event: unknown): void {
    this.events += 1
    if (!isRecord(event)) return
    switch (event.type) {
      case 'message_start': {
        const message = asRecord(event.message)
        this.id = asString(message?.id)
        this.model = asString(message?.model)
        const usage = asRecord(message?.usage)
        if (usage) this.usage = { ...usage }
        break
      }
      case 'content_block_start': {
        const block = asRecord(event.content_block)
        if (block)
          this.#blocks.set(asNumber(event.index) ?? this.#blocks.size, { block: { ...block }, json: '' })
        break
      }
      case 'content_block_delta': {
        const state = this.#blocks.get(asNumber(event.index) ?? -1)
        const delta = asRecord(event.delta)
        if (!state || !delta) break
        const append = (field: string, piece: unknown) => {
          if (typeof piece === 'string') state.block[field] = (asString(state.block[field]) ?? '') + piece
        }
        switch (delta.type) {
          case 'text_delta':
            append('text', delta.text)
            break
          case 'thinking_delta':
            append('thinking', delta.thinking)
            break
          case 'input_json_delta':
            if (typeof delta.partial_json === 'string') state.json += delta.partial_json
            break
        }
        break
      }
      case 'message_delta': {
        const delta = asRecord(event.delta)
        this.stopReason = asString(delta?.stop_reason) ?? this.stopReason
        this.#sawMessageDelta = true
        const totals = asRecord(event.usage)
        if (totals) {
          const merged: UnknownRecord = { ...this.usage }
          for (const [key, value] of Object.entries(totals))
            if (value !== null && value !== undefined) merged[key] = value
          this.usage = merged
        }
        break
      }
    }
  }

  /**
   * The usage to record: the merged totals, without the placeholder `output_tokens` of
   * `message_start` when the stream ended before any `message_delta` gave the real count.
   */
  finalUsage(): UnknownRecord | undefined {
    if (!this.usage || this.#sawMessageDelta) return this.usage
    const { output_tokens: _placeholder, ...rest } = this.usage
    return rest
  }

  /** The content blocks received so far, tool inputs parsed from their JSON pieces. */
  content(): UnknownRecord[] {
    return [...this.#blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, { block, json }]) =>
        json !== '' && (block.type === 'tool_use' || block.type === 'server_tool_use')
          ? { ...block, input: toolArguments(json) }
          : block,
      )
  }
}
