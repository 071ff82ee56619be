/**
 * The model calls of a cohort as columns of typed arrays: what the what-if engine re-prices and
 * replays against simulated caches. The engine renders and hashes prompt blocks (tools → system →
 * messages) in SQL, so only hashes and lengths cross into JavaScript, never the prompt text.
 */
import { GEN_AI } from '@hindsight/collector/conventions'
import type { Storage } from '@hindsight/collector/storage'

export interface CallTable {
  n: number
  /** Start, ms since the epoch, ascending. */
  start: Float64Array
  duration: Float64Array
  /** Time to first token (ms); NaN when not recorded. */
  ttft: Float64Array
  /** Trace of each call (a 52-bit hash of the trace id): the cluster for standard errors. */
  trace: Float64Array
  /** Index into `models` / `providers`. */
  model: Uint16Array
  provider: Uint16Array
  models: string[]
  providers: string[]
  inputTokens: Float64Array
  outputTokens: Float64Array
  cacheReadTokens: Float64Array
  cacheWriteTokens: Float64Array
  error: Uint8Array
  /** Prompt blocks of call i are blockHash/blockChars[blockStart[i] .. blockStart[i + 1]). */
  blockStart: Uint32Array
  blockHash: Uint32Array
  blockChars: Uint32Array
  /** Leading blocks that are tool definitions and system instructions. */
  staticBlocks: Uint8Array
  hasTools: Uint8Array
  hasSystem: Uint8Array
}

/** Which calls to load: one project, a time range, span-level conditions and (optionally) a frozen cohort. */
export interface CallQuery {
  projectId: string
  from: Date
  to: Date
  /** Only calls of traces in this frozen cohort. */
  cohortId?: string
  model?: string[]
  provider?: string[]
  route?: string[]
  release?: string[]
}

/** DateTime64(6) parameter text, as the read model binds times. */
export function chTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '000')
}

const TIME = "DateTime64(6, 'UTC')"

/** Conditions on the call itself (kind llm, span filters); values are bound, never spliced. */
export function callConditions(q: Omit<CallQuery, 'cohortId'>): {
  where: string[]
  params: Record<string, unknown>
} {
  const where = [
    'project_id = {projectId:String}',
    `start_time >= {from:${TIME}}`,
    `start_time < {to:${TIME}}`,
    "kind = 'llm'",
  ]
  const params: Record<string, unknown> = { projectId: q.projectId, from: chTime(q.from), to: chTime(q.to) }
  for (const column of ['model', 'provider', 'route', 'release'] as const) {
    const values = q[column]
    if (values && values.length > 0) {
      where.push(`${column} IN {f_${column}:Array(String)}`)
      params[`f_${column}`] = values
    }
  }
  return { where, params }
}

/**
 * Prompt blocks in provider order: the tool definitions, the system instructions, then each
 * message of `input`, split at message starts with the separators (',' or the closing ']') trimmed,
 * so a message hashes the same whether it is the last one of a prompt or not. The split is
 * deterministic, which is all prefix identity needs. The array's opening '[' is dropped.
 */
const TOOLS = `attributes['${GEN_AI.toolDefinitions}']`
const SYSTEM = `attributes['${GEN_AI.systemInstructions}']`
const BLOCKS = `arrayFilter(b -> length(b) > 1, arrayConcat([${TOOLS}, ${SYSTEM}], arrayMap(m -> trim(TRAILING ',]' FROM m), splitByString('{"role":', input))))`

/** Load the calls matching `q`, ordered by start time. */
export async function loadCalls(storage: Storage, q: CallQuery): Promise<CallTable> {
  const db = storage.database
  const { where, params } = callConditions(q)
  if (q.cohortId) {
    where.push(
      `trace_id IN (SELECT trace_id FROM ${db}.cohort_traces WHERE project_id = {projectId:String} AND cohort_id = {cohortId:String})`,
    )
    params.cohortId = q.cohortId
  }
  const query = `
    SELECT
      bitShiftRight(cityHash64(trace_id), 12),
      toUnixTimestamp64Milli(start_time),
      duration_ms,
      ifNull(ttft_ms, -1),
      model,
      provider,
      input_tokens,
      output_tokens,
      cache_read_tokens,
      cache_write_tokens,
      status = 'error',
      ${TOOLS} != '',
      ${SYSTEM} != '',
      arrayMap(b -> xxHash32(b), blocks),
      arrayMap(b -> toUInt32(lengthUTF8(b)), blocks)
    FROM (SELECT *, ${BLOCKS} AS blocks FROM ${db}.spans FINAL WHERE ${where.join(' AND ')})`
  const result = await storage.client.query({
    query,
    query_params: params,
    format: 'JSONCompactEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  })
  // Sorted here: ORDER BY in the engine costs several times the whole query on a million rows.
  return sortByStart(parseCalls(await result.text()))
}

/** Row shape: 13 numbers/strings then two arrays (block hashes, block chars); checked cheaply per row. */
const ROW_FIELDS = 15

function parseCalls(text: string): CallTable {
  // Count rows first so the columns are allocated once.
  let n = 0
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) n++
  if (text.length > 0 && !text.endsWith('\n')) n++
  const table = emptyTable(n)
  const modelIndex = new Map<string, number>()
  const providerIndex = new Map<string, number>()
  let hashes = new Uint32Array(Math.max(16, n * 8))
  let chars = new Uint32Array(hashes.length)
  let blocks = 0
  let start = 0
  for (let i = 0; i < n; i++) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    const r: unknown = JSON.parse(text.slice(start, end))
    start = end + 1
    if (
      !Array.isArray(r) ||
      r.length !== ROW_FIELDS ||
      typeof r[1] !== 'number' ||
      typeof r[4] !== 'string' ||
      !Array.isArray(r[13]) ||
      !Array.isArray(r[14])
    ) {
      throw new Error(`unexpected call row from the engine: ${text.slice(start, Math.min(end, start + 200))}`)
    }
    table.trace[i] = r[0]
    table.start[i] = r[1]
    table.duration[i] = r[2]
    table.ttft[i] = r[3] < 0 ? Number.NaN : r[3]
    table.model[i] = intern(modelIndex, table.models, r[4])
    table.provider[i] = intern(providerIndex, table.providers, r[5])
    table.inputTokens[i] = r[6]
    table.outputTokens[i] = r[7]
    table.cacheReadTokens[i] = r[8]
    table.cacheWriteTokens[i] = r[9]
    table.error[i] = r[10]
    table.hasTools[i] = r[11]
    table.hasSystem[i] = r[12]
    table.staticBlocks[i] = r[11] + r[12]
    table.blockStart[i] = blocks
    const h: number[] = r[13]
    const c: number[] = r[14]
    if (blocks + h.length > hashes.length) {
      const grown = new Uint32Array(Math.max(hashes.length * 2, blocks + h.length))
      grown.set(hashes)
      hashes = grown
      const grownChars = new Uint32Array(grown.length)
      grownChars.set(chars)
      chars = grownChars
    }
    for (let b = 0; b < h.length; b++) {
      hashes[blocks] = h[b] ?? 0
      chars[blocks] = c[b] ?? 0
      blocks++
    }
  }
  table.blockStart[n] = blocks
  table.blockHash = hashes.slice(0, blocks)
  table.blockChars = chars.slice(0, blocks)
  return table
}

/** The table in start-time order (stable: ties keep the engine's order). */
export function sortByStart(t: CallTable): CallTable {
  let sorted = true
  for (let i = 1; i < t.n && sorted; i++) if ((t.start[i] ?? 0) < (t.start[i - 1] ?? 0)) sorted = false
  if (sorted) return t
  const order = Uint32Array.from({ length: t.n }, (_, i) => i).sort(
    (a, b) => (t.start[a] ?? 0) - (t.start[b] ?? 0) || a - b,
  )
  const out = emptyTable(t.n)
  out.models.push(...t.models)
  out.providers.push(...t.providers)
  const columns = [
    'start',
    'duration',
    'ttft',
    'trace',
    'model',
    'provider',
    'inputTokens',
    'outputTokens',
    'cacheReadTokens',
    'cacheWriteTokens',
    'error',
    'staticBlocks',
    'hasTools',
    'hasSystem',
  ] as const
  for (const column of columns) {
    const from = t[column]
    const to = out[column]
    for (let i = 0; i < t.n; i++) to[i] = from[order[i] ?? 0] ?? 0
  }
  out.blockHash = new Uint32Array(t.blockHash.length)
  out.blockChars = new Uint32Array(t.blockChars.length)
  let at = 0
  for (let i = 0; i < t.n; i++) {
    const j = order[i] ?? 0
    const first = t.blockStart[j] ?? 0
    const last = t.blockStart[j + 1] ?? first
    out.blockStart[i] = at
    out.blockHash.set(t.blockHash.subarray(first, last), at)
    out.blockChars.set(t.blockChars.subarray(first, last), at)
    at += last - first
  }
  out.blockStart[t.n] = at
  return out
}

function intern(index: Map<string, number>, list: string[], value: string): number {
  let k = index.get(value)
  if (k === undefined) {
    k = list.length
    list.push(value)
    index.set(value, k)
  }
  return k
}

export function emptyTable(n: number): CallTable {
  return {
    n,
    start: new Float64Array(n),
    duration: new Float64Array(n),
    ttft: new Float64Array(n),
    trace: new Float64Array(n),
    model: new Uint16Array(n),
    provider: new Uint16Array(n),
    models: [],
    providers: [],
    inputTokens: new Float64Array(n),
    outputTokens: new Float64Array(n),
    cacheReadTokens: new Float64Array(n),
    cacheWriteTokens: new Float64Array(n),
    error: new Uint8Array(n),
    blockStart: new Uint32Array(n + 1),
    blockHash: new Uint32Array(0),
    blockChars: new Uint32Array(0),
    staticBlocks: new Uint8Array(n),
    hasTools: new Uint8Array(n),
    hasSystem: new Uint8Array(n),
  }
}
