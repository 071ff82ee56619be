/**
 * The text of an answer, whatever shape it was recorded in: plain text, a JSON string of GenAI
 * messages (`[{ role, parts: [{ type: 'text', content }] }]`), OpenAI messages (`{ content }`),
 * Anthropic content blocks (`[{ type: 'text', text }]`), or any other JSON (stringified).
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function partText(part: unknown): string | null {
  if (typeof part === 'string') return part
  if (!isRecord(part)) return null
  if (part.type === 'text' || part.type === undefined || part.type === 'output_text') {
    if (typeof part.content === 'string') return part.content
    if (typeof part.text === 'string') return part.text
  }
  return null
}

/** Text of one message-like value, or null when it is not message-shaped. */
function messageText(message: unknown): string | null {
  if (!isRecord(message)) return partText(message)
  if (Array.isArray(message.parts))
    return message.parts
      .map(partText)
      .filter((t) => t !== null)
      .join('')
  if (typeof message.content === 'string') return message.content
  if (Array.isArray(message.content))
    return message.content
      .map(partText)
      .filter((t) => t !== null)
      .join('')
  if (typeof message.text === 'string') return message.text
  return null
}

function structuredText(value: unknown): string | null {
  if (Array.isArray(value)) {
    // Content blocks (`[{ type: 'text', text }]`) form one message; messages are one per line.
    const blocks =
      value.length > 0 && value.every((v) => isRecord(v) && !('role' in v) && typeof v.type === 'string')
    if (blocks)
      return value
        .map(partText)
        .filter((t) => t !== null)
        .join('')
    const texts = value.map(messageText)
    if (texts.length > 0 && texts.every((t) => t !== null)) return texts.join('\n')
    return null
  }
  if (isRecord(value)) {
    if (Array.isArray(value.choices)) {
      const first = value.choices[0]
      if (isRecord(first) && isRecord(first.message)) return messageText(first.message)
    }
    return messageText(value)
  }
  return null
}

/** The readable text of an answer or input. */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') {
    const trimmed = value.trim()
    if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(trimmed)
        const text = structuredText(parsed)
        if (text !== null) return text
      } catch {}
    }
    return value
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return structuredText(value) ?? JSON.stringify(value)
}

/** Removes a surrounding Markdown code fence (```json … ```), as models often add one. */
export function stripCodeFence(text: string): string {
  const match = /^\s*```[a-zA-Z0-9_-]*\s*\n?([\s\S]*?)\n?\s*```\s*$/.exec(text)
  return match?.[1] ?? text
}

/**
 * Parses JSON from model output: the whole text, else inside a code fence, else the first
 * balanced `{…}` object in it. Returns undefined when there is none.
 */
export function extractJson(text: string): unknown {
  const candidates = [text, stripCodeFence(text)]
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate)
    } catch {}
  }
  const start = text.indexOf('{')
  if (start < 0) return undefined
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const ch = text[i]
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
      continue
    }
    if (ch === '"') inString = true
    else if (ch === '{') depth++
    else if (ch === '}') {
      depth--
      if (depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1))
        } catch {
          return undefined
        }
      }
    }
  }
  return undefined
}
