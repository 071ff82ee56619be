import { context, type Span, SpanKind, trace } from '@opentelemetry/api'
import { GEN_AI, HINDSIGHT } from './attributes'
import { activeHindsight, type Hindsight } from './hindsight'
import { type LooseAttributes, SpanRecorder } from './record-span'
import { keepShape } from './shape-anchor'

/** The kinds of step {@link observe} records (`hindsight.span.kind`). */
export type StepKind = 'llm' | 'embedding' | 'retrieval' | 'tool' | 'agent' | 'chain' | 'guardrail'

const STEP_KINDS: ReadonlySet<string> = new Set<StepKind>([
  'llm',
  'embedding',
  'retrieval',
  'tool',
  'agent',
  'chain',
  'guardrail',
])

/** A document a retrieval step returned. */
export interface RetrievedDocument {
  id: string
  /** Relevance score, as your retriever reports it. */
  score?: number
  /** The text; recorded only when `captureContent` is on (and masked). */
  content?: string
}

/** A document an answer relied on. */
export interface Citation {
  documentId: string
  /** The passage quoted; recorded only when `captureContent` is on (and masked). */
  quote?: string
}

/** What the callback of {@link observe} receives to enrich its span. Every method is safe after the step ended (it does nothing). */
export interface StepSpan {
  /** The span's ids, e.g. to attach a score later. Empty strings when tracing is off. */
  readonly traceId: string
  readonly spanId: string
  /** Adds attributes; values that are not valid OpenTelemetry attribute values are dropped. */
  setAttributes(attributes: Record<string, unknown>): StepSpan
  /** Records the step's input (JSON, content: only with `captureContent`). */
  setInput(value: unknown): StepSpan
  /** Records the output instead of the callback's return value. */
  setOutput(value: unknown): StepSpan
  /** Retrieval: the documents returned, as `hindsight.retrieval.documents` (ids and scores; text only with `captureContent`). */
  setDocuments(documents: readonly RetrievedDocument[]): StepSpan
  /** Answers: the documents the answer cited, as `hindsight.citations`. */
  setCitations(citations: readonly Citation[]): StepSpan
}

/** Options of {@link observe}. */
export interface ObserveOptions {
  /**
   * What the step is. `tool`, `agent` and `retrieval` get the GenAI span names
   * (`execute_tool {name}`, `invoke_agent {name}`, `retrieval {name}`) and attributes.
   * @default 'chain'
   */
  kind?: StepKind
  /** Attributes to set when the span starts. */
  attributes?: Record<string, unknown>
  /** The step's input, recorded like `span.setInput(input)`. */
  input?: unknown
}

/** Longest input/output text recorded; longer values are cut (and no longer valid JSON). */
const MAX_CONTENT_CHARS = 64 * 1024

/** JSON text for a value, or the string itself; never throws (cycles, BigInt, functions are handled). */
export function contentText(value: unknown): string | undefined {
  if (value === undefined) return undefined
  let out: string | undefined
  if (typeof value === 'string') {
    out = value
  } else {
    try {
      const seen = new WeakSet<object>()
      out = JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString()
        if (v instanceof Error) return { name: v.name, message: v.message }
        if (v instanceof Map) return Object.fromEntries(v)
        if (v instanceof Set) return [...v]
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[Circular]'
          seen.add(v)
        }
        return v
      })
    } catch {
      out = undefined
    }
  }
  if (out === undefined) return undefined
  return out.length > MAX_CONTENT_CHARS ? `${out.slice(0, MAX_CONTENT_CHARS)}…[truncated]` : out
}

function spanName(name: string, kind: StepKind): string {
  switch (kind) {
    case 'tool':
      return `execute_tool ${name}`
    case 'agent':
      return `invoke_agent ${name}`
    case 'retrieval':
      return `retrieval ${name}`
    default:
      return name
  }
}

function kindAttributes(name: string, kind: StepKind): LooseAttributes {
  switch (kind) {
    case 'tool':
      return { [GEN_AI.operationName]: 'execute_tool', [GEN_AI.toolName]: name }
    case 'agent':
      return { [GEN_AI.operationName]: 'invoke_agent', [GEN_AI.agentName]: name }
    case 'retrieval':
      return { [GEN_AI.operationName]: 'retrieval', [GEN_AI.dataSourceId]: name }
    case 'embedding':
      return { [GEN_AI.operationName]: 'embeddings' }
    case 'llm':
      return { [GEN_AI.operationName]: 'chat' }
    default:
      return {}
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof Reflect.get(value, 'then') === 'function'
  )
}

/** The handle given to the callback; writes go through {@link SpanRecorder}, so nothing happens after the span ended. */
class Step implements StepSpan {
  readonly traceId: string
  readonly spanId: string
  /** Set once the callback called `setOutput`: its return value is then not recorded. */
  outputSet = false

  constructor(
    readonly recorder: SpanRecorder,
    private readonly kind: StepKind,
    private readonly hindsight: Hindsight,
  ) {
    const ids = recorder.span.spanContext()
    this.traceId = ids.traceId
    this.spanId = ids.spanId
    keepShape(Step, this)
  }

  #guard(write: () => void): this {
    try {
      write()
    } catch {
      this.hindsight.recordInternalError()
    }
    return this
  }

  setAttributes(attributes: Record<string, unknown>): this {
    return this.#guard(() => this.recorder.set(attributes))
  }

  setInput(value: unknown): this {
    return this.#guard(() => {
      if (!this.hindsight.captureContent) return
      const key = this.kind === 'tool' ? GEN_AI.toolCallArguments : HINDSIGHT.input
      this.recorder.set({ [key]: contentText(value) })
    })
  }

  setOutput(value: unknown): this {
    this.outputSet = true
    return this.#guard(() => this.recordOutput(value))
  }

  recordOutput(value: unknown): void {
    if (!this.hindsight.captureContent) return
    const key = this.kind === 'tool' ? GEN_AI.toolCallResult : HINDSIGHT.output
    this.recorder.set({ [key]: contentText(value) })
  }

  setDocuments(documents: readonly RetrievedDocument[]): this {
    return this.#guard(() => {
      if (!Array.isArray(documents)) return
      const content = this.hindsight.captureContent
      const list = documents.map((doc: RetrievedDocument) => ({
        id: String(doc?.id),
        ...(typeof doc?.score === 'number' && Number.isFinite(doc.score) ? { score: doc.score } : {}),
        ...(content && typeof doc?.content === 'string' ? { content: doc.content } : {}),
      }))
      this.recorder.set({ [HINDSIGHT.retrievalDocuments]: JSON.stringify(list) })
    })
  }

  setCitations(citations: readonly Citation[]): this {
    return this.#guard(() => {
      if (!Array.isArray(citations)) return
      const content = this.hindsight.captureContent
      const list = citations.map((citation: Citation) => ({
        document_id: String(citation?.documentId),
        ...(content && typeof citation?.quote === 'string' ? { quote: citation.quote } : {}),
      }))
      this.recorder.set({ [HINDSIGHT.citations]: JSON.stringify(list) })
    })
  }
}

const NOOP_STEP: StepSpan = {
  traceId: '',
  spanId: '',
  setAttributes: () => NOOP_STEP,
  setInput: () => NOOP_STEP,
  setOutput: () => NOOP_STEP,
  setDocuments: () => NOOP_STEP,
  setCitations: () => NOOP_STEP,
}

/**
 * Records one step of your app (a retrieval, a tool call, an agent run…) as a span around `fn`.
 * Spans started inside `fn` (LLM calls, nested steps) become its children, across `await`. The
 * return value is recorded as the output (unless `captureContent` is off), errors are recorded and
 * re-thrown unchanged, and `fn` runs exactly as it would without the SDK, sync or async: a promise
 * comes back as the same promise. Before `init()` or when disabled, `fn` just runs.
 *
 * ```ts
 * const docs = await observe('kb', async (span) => {
 *   const hits = await search(query)
 *   span.setDocuments(hits.map((h) => ({ id: h.id, score: h.score, content: h.text })))
 *   return hits
 * }, { kind: 'retrieval', input: query })
 * ```
 */
export function observe<T>(name: string, fn: (span: StepSpan) => T, options: ObserveOptions = {}): T {
  const hindsight = activeHindsight()
  if (!hindsight?.enabled) return fn(NOOP_STEP)
  let step: Step
  let span: Span
  try {
    const kind: StepKind = STEP_KINDS.has(options.kind ?? '') ? (options.kind as StepKind) : 'chain'
    const otelKind = kind === 'llm' || kind === 'embedding' ? SpanKind.CLIENT : SpanKind.INTERNAL
    // The SDK's lean span under init() (the host provider's span when attached), like wrapped calls.
    span = hindsight.startCallSpan(spanName(name, kind), otelKind, context.active())
    const recorder = new SpanRecorder(span)
    recorder.set({ ...kindAttributes(name, kind), ...options.attributes, [HINDSIGHT.spanKind]: kind })
    step = new Step(recorder, kind, hindsight)
    if (options.input !== undefined) step.setInput(options.input)
  } catch {
    hindsight.recordInternalError()
    return fn(NOOP_STEP)
  }

  let result: T
  try {
    result = context.with(trace.setSpan(context.active(), span), () => fn(step))
  } catch (error) {
    step.recorder.fail(error)
    throw error
  }
  if (isThenable(result)) {
    // The caller keeps the very same promise; this only observes it (and handles its rejection
    // for itself, so no unhandled rejection is added: the caller still sees the original).
    try {
      result.then(
        (value) => finish(step, value),
        (error: unknown) => step.recorder.fail(error),
      )
    } catch {
      hindsight.recordInternalError()
      step.recorder.end()
    }
    return result
  }
  finish(step, result)
  return result
}

function finish(step: Step, value: unknown): void {
  try {
    if (!step.outputSet) step.recordOutput(value)
  } catch {
    // Recording the output is best effort; the span must still end.
  }
  step.recorder.end()
}
