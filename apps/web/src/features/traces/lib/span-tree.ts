/**
 * Span tree and waterfall geometry for the trace page: depth-first rows, each measured from the
 * trace's start. Pure, so it is tested without a browser.
 */
import { parseTimestamp } from '../../../lib/format'

export interface TreeSpan {
  span_id: string
  parent_span_id: string
  name: string
  start_time: string
  duration_ms: number
}

export interface TreeRow<S extends TreeSpan> {
  span: S
  depth: number
  /** Start offset from the trace's first span, ms. */
  offsetMs: number
  hasChildren: boolean
}

export interface SpanTree<S extends TreeSpan> {
  /** Every span, depth first, children in start order. */
  rows: TreeRow<S>[]
  /** Trace length from the first start to the last end, ms (at least 1 so bars can divide by it). */
  totalMs: number
}

export function buildSpanTree<S extends TreeSpan>(spans: readonly S[]): SpanTree<S> {
  const starts = new Map<S, number>(spans.map((s) => [s, parseTimestamp(s.start_time)]))
  const start = (s: S) => starts.get(s) ?? 0
  const traceStart = spans.length > 0 ? Math.min(...spans.map(start)) : 0
  const traceEnd = spans.length > 0 ? Math.max(...spans.map((s) => start(s) + Math.max(0, s.duration_ms))) : 0
  const ids = new Set(spans.map((s) => s.span_id))
  const children = new Map<string, S[]>()
  const roots: S[] = []
  for (const s of spans) {
    // A parent that never arrived (or a self-reference) must not hide the span: show it as a root.
    if (s.parent_span_id && s.parent_span_id !== s.span_id && ids.has(s.parent_span_id)) {
      const list = children.get(s.parent_span_id) ?? []
      list.push(s)
      children.set(s.parent_span_id, list)
    } else {
      roots.push(s)
    }
  }
  const byStart = (a: S, b: S) => start(a) - start(b) || a.name.localeCompare(b.name)
  const rows: TreeRow<S>[] = []
  const seen = new Set<string>()
  const visit = (s: S, depth: number) => {
    if (seen.has(s.span_id)) return
    seen.add(s.span_id)
    const kids = (children.get(s.span_id) ?? []).sort(byStart)
    rows.push({ span: s, depth, offsetMs: start(s) - traceStart, hasChildren: kids.length > 0 })
    for (const k of kids) visit(k, depth + 1)
  }
  for (const r of roots.sort(byStart)) visit(r, 0)
  // Spans caught in a parent cycle are unreachable from any root; list them rather than drop them.
  for (const s of [...spans].sort(byStart)) visit(s, 0)
  return { rows, totalMs: Math.max(1, traceEnd - traceStart) }
}

/** Rows left visible when the given spans are collapsed (their descendants hidden). */
export function visibleRows<S extends TreeSpan>(
  rows: TreeRow<S>[],
  collapsed: ReadonlySet<string>,
): TreeRow<S>[] {
  const out: TreeRow<S>[] = []
  let hideBelow: number | null = null
  for (const row of rows) {
    if (hideBelow !== null) {
      if (row.depth > hideBelow) continue
      hideBelow = null
    }
    out.push(row)
    if (collapsed.has(row.span.span_id) && row.hasChildren) hideBelow = row.depth
  }
  return out
}

export interface ChatMessage {
  role: string
  text: string
}

/**
 * Messages from a span's input/output JSON, in the shapes the conventions use: OpenAI-style
 * `{role, content}` (content a string or parts) and GenAI `{role, parts: [{type, content}]}`.
 * Returns null when the value is not a message list (the caller then shows pretty JSON).
 */
export function toMessages(value: unknown): ChatMessage[] | null {
  const list = Array.isArray(value)
    ? value
    : isRecord(value) && Array.isArray(value.messages)
      ? value.messages
      : isRecord(value) && Array.isArray(value.choices)
        ? value.choices.map((c) => (isRecord(c) && isRecord(c.message) ? c.message : c))
        : null
  if (!list || list.length === 0) return null
  const out: ChatMessage[] = []
  for (const item of list) {
    if (!isRecord(item) || typeof item.role !== 'string') return null
    const text = partsText(item.content ?? item.parts ?? '')
    const calls = item.tool_calls ?? null
    out.push({
      role: item.role,
      text: calls ? `${text}${text ? '\n' : ''}${JSON.stringify(calls, null, 2)}` : text,
    })
  }
  return out
}

function partsText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === 'string') return part
        if (isRecord(part)) {
          if (typeof part.content === 'string') return part.content
          if (typeof part.text === 'string') return part.text
          return JSON.stringify(part, null, 2)
        }
        return String(part)
      })
      .join('\n')
  }
  return content == null ? '' : JSON.stringify(content, null, 2)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** JSON.parse that never throws: the text is untrusted span content. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (!text) return { ok: false }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}
