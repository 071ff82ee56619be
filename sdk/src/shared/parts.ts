import { asArray } from '../narrow'
import type { MessagePart } from '../openai/messages'

/**
 * Pieces every payload converter (OpenAI Chat Completions, Responses, Anthropic Messages) shares:
 * turning a content value (a string or an array of provider parts) into GenAI "parts", and back
 * into text.
 */

/** The MIME type of a `data:` URL, if it names one. */
export function dataUrlMimeType(url: string): string | undefined {
  return /^data:([^;,]+)[;,]/.exec(url)?.[1]
}

/** A string as one text part; an array item by item through `toPart`, leaving out what it drops. */
export function toParts(content: unknown, toPart: (item: unknown) => MessagePart | undefined): MessagePart[] {
  if (typeof content === 'string') return [{ type: 'text', content }]
  const parts: MessagePart[] = []
  for (const item of asArray(content)) {
    const part = toPart(item)
    if (part) parts.push(part)
  }
  return parts
}

/** The text parts' content, joined (a string stays as it is). */
export function toText(content: unknown, toPart: (item: unknown) => MessagePart | undefined): string {
  if (typeof content === 'string') return content
  return toParts(content, toPart)
    .map((part) => (part.type === 'text' && typeof part.content === 'string' ? part.content : ''))
    .join('')
}
