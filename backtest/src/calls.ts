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
  /** Recorded cost in nanodollars (exact integers); NaN when the call was not priced. */
  recordedCostNano: Float64Array
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

/**
 * SQL condition: the row's trace is in the frozen cohort. Binds `{projectId:String}` and
 * `{cohortId:String}`.
 */
export function inCohortSql(db: string): string {
  return `trace_id IN (SELECT trace_id FROM ${db}.cohort_traces WHERE project_id = {projectId:String} AND cohort_id = {cohortId:String})`
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
 * deterministic, which is all prefix identity needs. The array's opening '[' is dropped. Tools and
 * system come back as their own columns (concatenating them into the message array would copy
 * every system prompt once more); blocks of one character or less are dropped.
 */
const TOOLS = `attributes['${GEN_AI.toolDefinitions}']`
const SYSTEM = `attributes['${GEN_AI.systemInstructions}']`
const MESSAGES = `arrayMap(m -> trim(TRAILING ',]' FROM m), splitByString('{"role":', input))`
/**
 * A message block's length in characters, with {@link DROPPED} set when it is one byte or less:
 * such blocks are skipped while reading (filtering the array of strings in the engine would copy
 * every prompt once more).
 */
const DROPPED = 0x80000000
const MESSAGE_CHARS = `arrayMap(b -> bitOr(toUInt32(lengthUTF8(b)), if(length(b) > 1, toUInt32(0), toUInt32(${DROPPED}))), messages)`
/** A block's 32-bit hash: the low half of XXH3-64 (several times faster than xxHash32 on long text). */
const hash = (x: string) => `toUInt32(bitAnd(xxh3(${x}), 4294967295))`

/** Bits of the `flags` column. */
const ERROR = 1
const HAS_TOOLS = 2
const HAS_SYSTEM = 4
const TOOLS_BLOCK = 8
const SYSTEM_BLOCK = 16
const PRICED = 32
/** A token count did not fit 32 bits (they are sent as UInt32). */
const CLAMPED = 64

/** The result columns, in order, with their engine types: what `readCalls` checks and decodes. */
const COLUMNS = [
  ['trace', 'UInt64', 'bitShiftRight(cityHash64(trace_id), 12)'],
  ['start', 'Int64', 'toUnixTimestamp64Milli(start_time)'],
  ['duration', 'Float64', 'toFloat64(duration_ms)'],
  ['ttft', 'Float64', 'toFloat64(ifNull(ttft_ms, -1))'],
  ['model', 'String', 'CAST(model AS String)'],
  ['provider', 'String', 'CAST(provider AS String)'],
  ['input', 'UInt32', 'toUInt32(least(input_tokens, 4294967295))'],
  ['output', 'UInt32', 'toUInt32(least(output_tokens, 4294967295))'],
  ['read', 'UInt32', 'toUInt32(least(cache_read_tokens, 4294967295))'],
  ['write', 'UInt32', 'toUInt32(least(cache_write_tokens, 4294967295))'],
  ['cost', 'Int64', 'toInt64(toDecimal128(ifNull(cost_usd, 0), 9) * 1000000000)'],
  [
    'flags',
    'UInt8',
    `toUInt8((status = 'error') * ${ERROR} + (tools != '') * ${HAS_TOOLS} + (system != '') * ${HAS_SYSTEM}
      + (length(tools) > 1) * ${TOOLS_BLOCK} + (length(system) > 1) * ${SYSTEM_BLOCK} + (cost_usd IS NOT NULL) * ${PRICED}
      + (greatest(input_tokens, output_tokens, cache_read_tokens, cache_write_tokens) > 4294967295) * ${CLAMPED})`,
  ],
  ['tools_hash', 'UInt32', hash('tools')],
  ['tools_chars', 'UInt32', 'toUInt32(lengthUTF8(tools))'],
  ['system_hash', 'UInt32', hash('system')],
  ['system_chars', 'UInt32', 'toUInt32(lengthUTF8(system))'],
  ['hashes', 'Array(UInt32)', `arrayMap(b -> ${hash('b')}, messages)`],
  ['chars', 'Array(UInt32)', MESSAGE_CHARS],
] as const

/**
 * Load the calls matching `q`, ordered by start time. One query reads only the columns the
 * what-if needs and returns them in the engine's columnar Native format: fixed-width columns are
 * copied in bulk, no text is parsed. The rows are then sorted here (a radix sort on the start
 * time: an ORDER BY in the engine costs more than the whole query).
 */
export async function loadCalls(storage: Storage, q: CallQuery): Promise<CallTable> {
  const db = storage.database
  const { where, params } = callConditions(q)
  if (q.cohortId) {
    where.push(inCohortSql(db))
    params.cohortId = q.cohortId
  }
  const query = `
    SELECT ${COLUMNS.map(([name, , expression]) => `${expression} AS ${name}`).join(',\n      ')}
    FROM (SELECT trace_id, start_time, duration_ms, ttft_ms, model, provider, input_tokens, output_tokens,
            cache_read_tokens, cache_write_tokens, cost_usd, status, ${TOOLS} AS tools, ${SYSTEM} AS system, ${MESSAGES} AS messages
          FROM ${db}.spans FINAL WHERE ${where.join(' AND ')})
    FORMAT Native`
  // exec: the raw bytes of any format, from the embedded engine and from a server alike.
  const result = await storage.client.exec({ query, query_params: params })
  const chunks: Buffer[] = []
  for await (const chunk of result.stream) chunks.push(chunk as Buffer)
  return readCalls(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks))
}

/** The columns of all blocks, in the engine's row order. */
interface Columns {
  n: number
  trace: Float64Array
  start: Float64Array
  duration: Float64Array
  ttft: Float64Array
  model: Uint16Array
  provider: Uint16Array
  input: Uint32Array
  output: Uint32Array
  read: Uint32Array
  write: Uint32Array
  cost: Float64Array
  flags: Uint8Array
  toolsHash: Uint32Array
  toolsChars: Uint32Array
  systemHash: Uint32Array
  systemChars: Uint32Array
  /** Message blocks of row r: [blockEnd[r], blockEnd[r + 1]) of hashes / chars. */
  blockEnd: Uint32Array
  hashes: Uint32Array
  chars: Uint32Array
}

const UINT32_COLUMNS = {
  input: 'input',
  output: 'output',
  read: 'read',
  write: 'write',
  tools_hash: 'toolsHash',
  tools_chars: 'toolsChars',
  system_hash: 'systemHash',
  system_chars: 'systemChars',
} as const

const BYTES: Partial<Record<string, number>> = { UInt64: 8, Int64: 8, Float64: 8, UInt32: 4, UInt8: 1 }

/**
 * Decode the Native blocks of {@link loadCalls} into a table sorted by start time (stable: ties
 * keep the engine's order). Every block is checked against {@link COLUMNS} (names and types), so
 * a change of layout fails loudly instead of misreading. A first pass only measures (rows and
 * blocks), so every column is allocated once; the second copies fixed-width columns in bulk.
 */
export function readCalls(buf: Uint8Array): CallTable {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1)
    throw new Error('reading call rows needs a little-endian CPU')
  const end = buf.byteLength
  let at = 0
  const need = (bytes: number) => {
    if (at + bytes > end) throw new Error('truncated call rows from the engine')
  }
  const text = (): string => {
    at = skipVarint(buf, at)
    need(varintValue)
    const value = new TextDecoder().decode(buf.subarray(at, at + varintValue))
    at += varintValue
    return value
  }
  // Pass 1: where each block and column starts, and the totals.
  const blocks: Array<{ rows: number; at: number[] }> = []
  let n = 0
  let totalBlocks = 0
  while (at < end) {
    at = skipVarint(buf, at)
    const columns = varintValue
    at = skipVarint(buf, at)
    const rows = varintValue
    if (columns !== COLUMNS.length)
      throw new Error(`unexpected call block from the engine: ${columns} columns`)
    const positions: number[] = []
    for (const [name, type] of COLUMNS) {
      const got = `${text()} ${text()}`
      if (got !== `${name} ${type}`) throw new Error(`unexpected call column from the engine: ${got}`)
      positions.push(at)
      const size = BYTES[type]
      if (size !== undefined) {
        need(rows * size)
        at += rows * size
      } else if (type === 'String') {
        for (let r = 0; r < rows; r++) {
          at = skipVarint(buf, at)
          need(varintValue)
          at += varintValue
        }
      } else {
        // Array(UInt32): offsets (UInt64, cumulative) then the values.
        need(rows * 8)
        const view = new DataView(buf.buffer, buf.byteOffset + at, rows * 8)
        const total = rows > 0 ? view.getUint32(rows * 8 - 8, true) : 0
        if (rows > 0 && view.getUint32(rows * 8 - 4, true) !== 0) throw new Error('call block too large')
        at += rows * 8
        need(total * 4)
        at += total * 4
        if (name === 'hashes') totalBlocks += total
      }
    }
    blocks.push({ rows, at: positions })
    n += rows
  }
  // Pass 2: decode every block into its rows.
  const cols: Columns = {
    n,
    trace: new Float64Array(n),
    start: new Float64Array(n),
    duration: new Float64Array(n),
    ttft: new Float64Array(n),
    model: new Uint16Array(n),
    provider: new Uint16Array(n),
    input: new Uint32Array(n),
    output: new Uint32Array(n),
    read: new Uint32Array(n),
    write: new Uint32Array(n),
    cost: new Float64Array(n),
    flags: new Uint8Array(n),
    toolsHash: new Uint32Array(n),
    toolsChars: new Uint32Array(n),
    systemHash: new Uint32Array(n),
    systemChars: new Uint32Array(n),
    blockEnd: new Uint32Array(n + 1),
    hashes: new Uint32Array(totalBlocks),
    chars: new Uint32Array(totalBlocks),
  }
  const models = new StringInterner([])
  const providers = new StringInterner([])
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  /** Copy `bytes` little-endian bytes into `out` from element `at` on: a memcpy, the platform being little-endian. */
  const copy = (out: Uint32Array | Float64Array, index: number, from: number, bytes: number) => {
    new Uint8Array(out.buffer, out.byteOffset + index * out.BYTES_PER_ELEMENT, bytes).set(
      buf.subarray(from, from + bytes),
    )
  }
  let base = 0
  let blockBase = 0
  for (const block of blocks) {
    const rows = block.rows
    COLUMNS.forEach(([name, type], c) => {
      let p = block.at[c] ?? 0
      switch (name) {
        case 'trace':
        case 'start':
        case 'cost': {
          const out = cols[name]
          for (let r = 0; r < rows; r++, p += 8) {
            const low = view.getUint32(p, true)
            const high = view.getInt32(p + 4, true)
            if (name === 'trace') out[base + r] = (high >>> 0) * 4294967296 + low
            else {
              // Exact below 2^53 (ms since 1970; nanodollars: $9 million for one call).
              if (high >= 2 ** 21 || high < -(2 ** 21)) throw new Error(`a recorded ${name} is out of range`)
              out[base + r] = high * 4294967296 + low
            }
          }
          break
        }
        case 'duration':
        case 'ttft':
          copy(cols[name], base, p, rows * 8)
          break
        case 'model':
        case 'provider': {
          const out = cols[name]
          const names = name === 'model' ? models : providers
          for (let r = 0; r < rows; r++) {
            p = skipVarint(buf, p)
            out[base + r] = names.intern(buf, p, varintValue)
            p += varintValue
          }
          break
        }
        case 'flags':
          cols.flags.set(buf.subarray(p, p + rows), base)
          break
        case 'hashes':
        case 'chars': {
          // Offsets: cumulative UInt64 (below 2^32, checked in the first pass), then the values.
          const total = rows > 0 ? view.getUint32(p + rows * 8 - 8, true) : 0
          if (name === 'hashes') {
            for (let r = 0; r < rows; r++)
              cols.blockEnd[base + r + 1] = blockBase + view.getUint32(p + r * 8, true)
            copy(cols.hashes, blockBase, p + rows * 8, total * 4)
          } else {
            if ((cols.blockEnd[base + rows] ?? 0) !== blockBase + total)
              throw new Error('unexpected call row from the engine: block arrays differ in length')
            copy(cols.chars, blockBase, p + rows * 8, total * 4)
            blockBase += total
          }
          break
        }
        default:
          if (type !== 'UInt32') throw new Error(`unexpected call column type ${type}`)
          copy(cols[UINT32_COLUMNS[name]], base, p, rows * 4)
      }
    })
    base += rows
  }
  return sortedTable(cols, models.names, providers.names)
}

/** out[i] = from[order[i]]. */
function gather(
  out: Float64Array | Uint16Array,
  from: Float64Array | Uint16Array | Uint32Array,
  order: Uint32Array,
): void {
  for (let i = 0; i < order.length; i++) out[i] = from[order[i] ?? 0] ?? 0
}

/** The table in start order, gathered from the engine-order columns. */
function sortedTable(cols: Columns, models: string[], providers: string[]): CallTable {
  const n = cols.n
  const order = startOrder(cols.start, n)
  const table = emptyTable(n)
  table.models.push(...models)
  table.providers.push(...providers)
  const { trace, start, duration, ttft, model, provider, inputTokens, outputTokens, cacheReadTokens } = table
  const { cacheWriteTokens, recordedCostNano, error, hasTools, hasSystem, staticBlocks, blockStart } = table
  // Upper bound: messages plus tools and system blocks.
  const hashes = new Uint32Array(cols.hashes.length + 2 * n)
  const chars = new Uint32Array(hashes.length)
  // One tight loop per column (a gather through the sort order), then the flags and blocks.
  gather(trace, cols.trace, order)
  gather(start, cols.start, order)
  gather(duration, cols.duration, order)
  gather(ttft, cols.ttft, order)
  gather(model, cols.model, order)
  gather(provider, cols.provider, order)
  gather(inputTokens, cols.input, order)
  gather(outputTokens, cols.output, order)
  gather(cacheReadTokens, cols.read, order)
  gather(cacheWriteTokens, cols.write, order)
  gather(recordedCostNano, cols.cost, order)
  const flagsOf = cols.flags
  const { toolsHash, toolsChars, systemHash, systemChars, blockEnd } = cols
  const rawHashes = cols.hashes
  const rawChars = cols.chars
  let b = 0
  for (let i = 0; i < n; i++) {
    const r = order[i] ?? 0
    if ((ttft[i] ?? 0) < 0) ttft[i] = Number.NaN
    const flags = flagsOf[r] ?? 0
    if (flags & CLAMPED) throw new Error('a recorded call has more than 4,294,967,295 tokens')
    if (!(flags & PRICED)) recordedCostNano[i] = Number.NaN
    const tools = flags & HAS_TOOLS ? 1 : 0
    const system = flags & HAS_SYSTEM ? 1 : 0
    error[i] = flags & ERROR
    hasTools[i] = tools
    hasSystem[i] = system
    staticBlocks[i] = tools + system
    blockStart[i] = b
    if (flags & TOOLS_BLOCK) {
      hashes[b] = toolsHash[r] ?? 0
      chars[b++] = toolsChars[r] ?? 0
    }
    if (flags & SYSTEM_BLOCK) {
      hashes[b] = systemHash[r] ?? 0
      chars[b++] = systemChars[r] ?? 0
    }
    const to = blockEnd[r + 1] ?? 0
    for (let k = blockEnd[r] ?? 0; k < to; k++) {
      const length = rawChars[k] ?? 0
      if (length >= DROPPED) continue
      hashes[b] = rawHashes[k] ?? 0
      chars[b++] = length
    }
  }
  blockStart[n] = b
  table.blockHash = b === hashes.length ? hashes : hashes.slice(0, b)
  table.blockChars = b === chars.length ? chars : chars.slice(0, b)
  return table
}

/** The value of the last varint read by {@link skipVarint} (a module slot: no allocation per read). */
let varintValue = 0

/** Read the LEB128 varint (a string or array length) at `at` into `varintValue`; the position after it. */
function skipVarint(buf: Uint8Array, at: number): number {
  const first = buf[at]
  if (first === undefined) throw new Error('truncated call rows from the engine')
  if (first < 0x80) {
    varintValue = first
    return at + 1
  }
  let value = first & 0x7f
  let scale = 128
  for (let p = at + 1; ; p++) {
    const byte = buf[p]
    if (byte === undefined) throw new Error('truncated call rows from the engine')
    value += (byte & 0x7f) * scale
    if (byte < 0x80) {
      varintValue = value
      return p + 1
    }
    scale *= 128
  }
}

/**
 * The permutation that sorts `starts[0..n)` ascending, stable. Integer millisecond times (what
 * the engine returns) go through an LSD radix sort on (start − earliest), 11 bits a pass; anything
 * else through a comparison sort.
 */
export function startOrder(starts: Float64Array, n: number): Uint32Array {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let sorted = true
  let integral = true
  for (let i = 0; i < n; i++) {
    const s = starts[i] ?? 0
    if (s < min) min = s
    if (s > max) max = s
    if (i > 0 && s < (starts[i - 1] ?? 0)) sorted = false
    if (!Number.isInteger(s)) integral = false
  }
  let order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  if (sorted || n < 2) return order
  const range = max - min
  if (!integral || !(range < 2 ** 53)) {
    return order.sort((a, b) => (starts[a] ?? 0) - (starts[b] ?? 0) || a - b)
  }
  const BITS = 11
  const RADIX = 1 << BITS
  const MASK = RADIX - 1
  let other = new Uint32Array(n)
  const counts = new Uint32Array(RADIX)
  // The digit of each row for the current pass, then a stable counting sort on it.
  const digits = new Uint16Array(n)
  const sortPass = () => {
    counts.fill(0)
    for (let i = 0; i < n; i++) {
      const d = digits[i] ?? 0
      counts[d] = (counts[d] ?? 0) + 1
    }
    let sum = 0
    for (let d = 0; d < RADIX; d++) {
      const c = counts[d] ?? 0
      counts[d] = sum
      sum += c
    }
    for (let i = 0; i < n; i++) {
      const row = order[i] ?? 0
      const d = digits[row] ?? 0
      const to = counts[d] ?? 0
      counts[d] = to + 1
      other[to] = row
    }
    const swap = order
    order = other
    other = swap
  }
  if (range < 2 ** 32) {
    // The usual case (under 49 days): 32-bit keys, digits by shifts.
    const keys = new Uint32Array(n)
    for (let i = 0; i < n; i++) keys[i] = (starts[i] ?? 0) - min
    for (let shift = 0; shift < 32 && 2 ** shift <= range; shift += BITS) {
      for (let i = 0; i < n; i++) digits[i] = ((keys[i] ?? 0) >>> shift) & MASK
      sortPass()
    }
    return order
  }
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) keys[i] = (starts[i] ?? 0) - min
  for (let scale = 1; scale <= range; scale *= RADIX) {
    // ToInt32 keeps the low 32 bits of an integer-valued double exactly, so `& MASK` is the digit.
    for (let i = 0; i < n; i++) digits[i] = Math.floor((keys[i] ?? 0) / scale) & MASK
    sortPass()
  }
  return order
}

/**
 * Short strings (model and provider names) read from the row bytes without decoding each one:
 * the previous row's value first, then a byte hash and a byte comparison.
 */
class StringInterner {
  private readonly bytes: Uint8Array[] = []
  private readonly byHash = new Map<number, number[]>()
  private last = -1

  constructor(readonly names: string[]) {}

  intern(buf: Uint8Array, at: number, length: number): number {
    if (this.last >= 0 && same(this.bytes[this.last], buf, at, length)) return this.last
    let h = 0x811c9dc5 ^ length
    for (let k = 0; k < length; k++) h = Math.imul(h ^ (buf[at + k] ?? 0), 0x01000193)
    let list = this.byHash.get(h)
    if (list) {
      for (const index of list) {
        if (same(this.bytes[index], buf, at, length)) {
          this.last = index
          return index
        }
      }
    } else {
      list = []
      this.byHash.set(h, list)
    }
    const copy = buf.slice(at, at + length)
    const index = this.names.length
    if (index >= 65536) throw new Error('more than 65,536 distinct models or providers in one cohort')
    this.names.push(new TextDecoder().decode(copy))
    this.bytes.push(copy)
    list.push(index)
    this.last = index
    return index
  }
}

function same(known: Uint8Array | undefined, buf: Uint8Array, at: number, length: number): boolean {
  if (!known || known.length !== length) return false
  for (let k = 0; k < length; k++) if (known[k] !== buf[at + k]) return false
  return true
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
    recordedCostNano: new Float64Array(n).fill(Number.NaN),
    error: new Uint8Array(n),
    blockStart: new Uint32Array(n + 1),
    blockHash: new Uint32Array(0),
    blockChars: new Uint32Array(0),
    staticBlocks: new Uint8Array(n),
    hasTools: new Uint8Array(n),
    hasSystem: new Uint8Array(n),
  }
}
