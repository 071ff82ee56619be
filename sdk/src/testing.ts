/**
 * Test helpers, published as `@hindsight/sdk/testing`: local servers that speak the OpenAI (Chat
 * Completions, Responses, Embeddings) and Anthropic (Messages) wire protocols, and in-memory span
 * capture. Nothing here is needed in production.
 */
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { HindsightOptions } from './config'
import { type Hindsight, init } from './hindsight'

export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
export {
  type FakeAnthropic,
  type FakeAnthropicOptions,
  type FakeAnthropicReply,
  type FakeToolUse,
  startFakeAnthropic,
} from './testing/fake-anthropic'
export {
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type FakeReply,
  type FakeToolCall,
  startFakeOpenAI,
} from './testing/fake-openai'
export type { RecordedRequest } from './testing/http'

export interface InMemoryHindsight {
  hindsight: Hindsight
  exporter: InMemorySpanExporter
  /** Finished spans so far (spans are exported synchronously as they end). */
  spans(): ReadableSpan[]
  /** The finished spans whose name starts with `chat`. */
  chatSpans(): ReadableSpan[]
  reset(): void
}

/**
 * `init()` with an in-memory exporter behind a synchronous processor: spans can be read as soon as
 * they end, with no collector. Replaces any previous `init()`, like `init()` itself.
 */
export function initInMemory(
  options: Omit<HindsightOptions, 'exporter' | 'spanProcessor'> = {},
): InMemoryHindsight {
  const exporter = new InMemorySpanExporter()
  const hindsight = init({ ...options, spanProcessor: new SimpleSpanProcessor(exporter) })
  return {
    hindsight,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    chatSpans: () => exporter.getFinishedSpans().filter((span) => span.name.startsWith('chat')),
    reset: () => exporter.reset(),
  }
}
