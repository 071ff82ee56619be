import type { CallTable } from '../calls'
import type { CacheRule } from './rules'

/** A prompt-transform the candidate applies before the call (only what changes the prefix). */
export interface PrefixTransform {
  /** Replace (or add) the system prompt block: its 32-bit hash and length in characters. */
  system?: { hash: number; chars: number }
}

export interface SimulationOptions {
  /**
   * Rule per call (index into `rules`), e.g. the candidate's single rule, or each recorded
   * model's own rule for calibration. -1: the call is not simulated (no caching).
   */
  ruleOf: (call: number) => number
  rules: readonly CacheRule[]
  /** Use the 1-hour TTL where the rule has one (Anthropic's `ttl: '1h'`). @default false */
  longTtl?: boolean
  transform?: PrefixTransform
  /** Candidate tokens per recorded token (tokenizer difference). @default 1 */
  tokenRatio?: number
  /** Called every `progressEvery` calls with the share done. */
  onProgress?: (done: number) => void
}

export interface SimulationResult {
  /** Per call: input tokens the candidate sends (after the transform and token ratio). */
  inputTokens: Float64Array
  /** Per call: input tokens read from the cache. */
  readTokens: Float64Array
  /** Per call: input tokens written to the cache (charged at the write price). */
  writeTokens: Float64Array
  /** Calls whose prompt content was not recorded: simulated as uncached. */
  withoutContent: number
  /** Calls with a rule and content (the simulated ones). */
  simulated: number
}

/** Average characters per token when a call has no recorded input count. */
export const CHARS_PER_TOKEN = 4

/**
 * Prefix identity: a chain hash over the blocks of the prompt rendered in provider order
 * (tools → system → messages), two 32-bit lanes folded into a 52-bit integer so it is an exact
 * JavaScript number usable as a Map key. The scope (rule index) seeds the chain, so caches of
 * different models or providers never share entries.
 */
let laneA = 0
let laneB = 0

function chainStart(scope: number): void {
  laneA = Math.imul(scope + 1, 0x9e3779b1) | 0
  laneB = Math.imul(scope + 7, 0x85ebca6b) | 0
}

/** Fold one block hash into the two lanes (murmur3-style mixing). */
function mix(x: number): void {
  let h1 = Math.imul(laneA ^ x, 0xcc9e2d51)
  h1 = (h1 << 15) | (h1 >>> 17)
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0x1b873593)
  let h2 = Math.imul(laneB + x, 0x85ebca6b) ^ h1
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35)
  laneA = h1 ^ (h2 >>> 7)
  laneB = h2 ^ (h1 >>> 11)
}

/**
 * Cache entries in an open-addressing hash table keyed by the two 32-bit lanes of the prefix hash
 * (no JavaScript object or heap number per entry), clocks in typed arrays. Expired entries are
 * dropped by rebuilding the table now and then.
 */
class EntryTable {
  private mask = 0
  private keyA = new Uint32Array(0)
  private keyB = new Uint32Array(0)
  private used = new Uint8Array(0)
  private expires = new Float64Array(0)
  private available = new Float64Array(0)
  private created = new Float64Array(0)
  size = 0

  constructor(capacity = 1 << 16) {
    this.allocate(capacity)
  }

  private allocate(capacity: number): void {
    this.mask = capacity - 1
    this.keyA = new Uint32Array(capacity)
    this.keyB = new Uint32Array(capacity)
    this.used = new Uint8Array(capacity)
    this.expires = new Float64Array(capacity)
    this.available = new Float64Array(capacity)
    this.created = new Float64Array(capacity)
    this.size = 0
  }

  /** The slot of key (a, b), or -1. */
  find(a: number, b: number): number {
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask
    while (this.used[i]) {
      if (this.keyA[i] === a && this.keyB[i] === b) return i
      i = (i + 1) & this.mask
    }
    return -1
  }

  insert(a: number, b: number, expires: number, available: number, created: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.rebuild(Number.NEGATIVE_INFINITY, (this.mask + 1) * 2)
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask
    while (this.used[i]) i = (i + 1) & this.mask
    this.used[i] = 1
    this.keyA[i] = a
    this.keyB[i] = b
    this.expires[i] = expires
    this.available[i] = available
    this.created[i] = created
    this.size++
  }

  expiresAt(slot: number): number {
    return this.expires[slot] ?? Number.NEGATIVE_INFINITY
  }

  availableAt(slot: number): number {
    return this.available[slot] ?? Number.POSITIVE_INFINITY
  }

  createdAt(slot: number): number {
    return this.created[slot] ?? 0
  }

  set(slot: number, expires: number, available: number): void {
    this.expires[slot] = expires
    this.available[slot] = available
  }

  reset(slot: number, expires: number, available: number, created: number): void {
    this.set(slot, expires, available)
    this.created[slot] = created
  }

  /** Keep only entries that expire at or after `t` (all of them for −∞), in a table of `capacity`. */
  rebuild(t: number, capacity = this.mask + 1): void {
    const { keyA, keyB, used, expires, available, created } = this
    this.allocate(capacity)
    for (let i = 0; i < used.length; i++) {
      if (used[i] && (expires[i] ?? 0) >= t) {
        this.insert(keyA[i] ?? 0, keyB[i] ?? 0, expires[i] ?? 0, available[i] ?? 0, created[i] ?? 0)
      }
    }
  }
}

/**
 * Replay the recorded calls, in start-time order, against simulated provider caches: which
 * prefix entries exist (written at breakpoints or, for automatic caching, at every block
 * boundary above the minimum), when they become usable (after the writing response starts or
 * ends), when they expire (TTL from the last hit, refreshed on hits, capped by a maximum
 * lifetime), and how many input tokens each call reads from and writes to the cache.
 *
 * Token counts of prefixes are the blocks' character counts scaled so that the whole prompt
 * matches the call's recorded input tokens (chars/4 when none was recorded); block boundaries
 * are message boundaries, so a provider matching token-level prefixes may hit a little more
 * than simulated (OpenAI's 128-token steps inside a message).
 */
export function simulateCaching(calls: CallTable, options: SimulationOptions): SimulationResult {
  const n = calls.n
  const inputTokens = new Float64Array(n)
  const readTokens = new Float64Array(n)
  const writeTokens = new Float64Array(n)
  const ratio = options.tokenRatio ?? 1
  const entries = new EntryTable()
  let withoutContent = 0
  let simulated = 0
  // Per-call scratch: prefix keys and cumulative tokens at the end of each block.
  let keysA = new Uint32Array(64)
  let keysB = new Uint32Array(64)
  let cumulative = new Float64Array(64)
  const transform = options.transform?.system
  let lastSweep = Number.NEGATIVE_INFINITY

  const positions = new Int32Array(8)
  // Per-call clock state read by `alive` and `touch` (defined once, not per call).
  let now = 0
  let ttl = 0
  let maxLife = Number.POSITIVE_INFINITY
  let usableAt = 0
  let refreshOnHit = true
  function alive(j: number): boolean {
    const slot = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
    return slot >= 0 && entries.expiresAt(slot) >= now && entries.availableAt(slot) <= now
  }
  function touch(j: number, hit: boolean): void {
    const slot = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
    if (slot < 0) {
      entries.insert(keysA[j] ?? 0, keysB[j] ?? 0, Math.min(now + ttl, now + maxLife), usableAt, now)
      return
    }
    const e = entries.expiresAt(slot)
    if (e < now) {
      // Expired: a new entry in the same slot.
      entries.reset(slot, Math.min(now + ttl, now + maxLife), usableAt, now)
    } else if (hit ? refreshOnHit : true) {
      entries.set(
        slot,
        Math.min(Math.max(e, now + ttl), entries.createdAt(slot) + maxLife),
        Math.min(entries.availableAt(slot), usableAt),
      )
    }
  }

  for (let i = 0; i < n; i++) {
    const t = calls.start[i] ?? 0
    const first = calls.blockStart[i] ?? 0
    const last = calls.blockStart[i + 1] ?? first
    const recordedInput = calls.inputTokens[i] ?? 0
    const staticBlocks = calls.staticBlocks[i] ?? 0
    // Characters of the prompt as the candidate sends it.
    let chars = 0
    for (let b = first; b < last; b++) chars += calls.blockChars[b] ?? 0
    const systemIndex = staticBlocks > 0 && calls.hasSystem[i] ? first + staticBlocks - 1 : -1
    let candidateChars = chars
    if (transform) {
      candidateChars += transform.chars - (systemIndex >= 0 ? (calls.blockChars[systemIndex] ?? 0) : 0)
    }
    const tokensPerChar = recordedInput > 0 && chars > 0 ? recordedInput / chars : 1 / CHARS_PER_TOKEN
    const total = recordedInput > 0 ? candidateChars * tokensPerChar * ratio : recordedInput
    inputTokens[i] = chars > 0 ? Math.round(total) : Math.round(recordedInput * ratio)

    const ruleIndex = options.ruleOf(i)
    if (ruleIndex < 0) continue
    if (last === first) {
      withoutContent++
      continue
    }
    const rule = options.rules[ruleIndex]
    if (!rule) continue
    simulated++

    // Blocks after the transform: the system block replaced, or inserted after the tools.
    const k0 = last - first
    const k = transform && systemIndex < 0 ? k0 + 1 : k0
    if (keysA.length < k) {
      keysA = new Uint32Array(k * 2)
      keysB = new Uint32Array(k * 2)
      cumulative = new Float64Array(k * 2)
    }
    chainStart(ruleIndex)
    let tokens = 0
    let out = 0
    const insertAt = transform && systemIndex < 0 ? first + (calls.hasTools[i] ? 1 : 0) : -1
    let staticCount = staticBlocks
    for (let blk = first; blk <= last; blk++) {
      if (blk === insertAt && transform) {
        mix(transform.hash)
        tokens += transform.chars * tokensPerChar * ratio
        keysA[out] = laneA >>> 0
        keysB[out] = laneB >>> 0
        cumulative[out] = tokens
        out++
        staticCount++
      }
      if (blk === last) break
      const replace = transform && blk === systemIndex
      const hash = replace ? transform.hash : (calls.blockHash[blk] ?? 0)
      const blockChars = replace ? transform.chars : (calls.blockChars[blk] ?? 0)
      mix(hash)
      tokens += blockChars * tokensPerChar * ratio
      keysA[out] = laneA >>> 0
      keysB[out] = laneB >>> 0
      cumulative[out] = tokens
      out++
    }

    ttl = ((options.longTtl && rule.ttl_1h_seconds) || rule.ttl_seconds) * 1000
    maxLife = rule.max_lifetime_seconds ? rule.max_lifetime_seconds * 1000 : Number.POSITIVE_INFINITY
    refreshOnHit = rule.refresh_on_hit
    now = t
    const ttft = calls.ttft[i] ?? Number.NaN
    const duration = calls.duration[i] ?? 0
    usableAt =
      rule.available_after === 'response_start' ? t + (Number.isNaN(ttft) ? duration : ttft) : t + duration
    const min = rule.min_tokens
    const breakpointsAt = rule.breakpoints_at ?? []
    let read = 0
    let write = 0
    if (rule.mode === 'automatic_prefix') {
      for (let j = k - 1; j >= 0; j--) {
        const c = cumulative[j] ?? 0
        if (c < min) break
        if (alive(j)) {
          read = c
          break
        }
      }
      if (rule.step_tokens && read > 0)
        read = min + Math.floor((read - min) / rule.step_tokens) * rule.step_tokens
      for (let j = 0; j < k; j++) if ((cumulative[j] ?? 0) >= min) touch(j, (cumulative[j] ?? 0) <= read)
    } else {
      // Breakpoints chosen by the simulated client, at most max_breakpoints, the latest kept
      // (a few positions: kept in a reused typed array, sorted by insertion).
      let count = 0
      for (const where of breakpointsAt) {
        const p = where === 'static' ? staticCount - 1 : where === 'previous_turn' ? k - 3 : k - 1
        if (p < 0 || p >= k || (where === 'previous_turn' && p < staticCount)) continue
        let dup = false
        for (let q = 0; q < count; q++) if (positions[q] === p) dup = true
        if (dup) continue
        let q = count++
        while (q > 0 && (positions[q - 1] ?? 0) > p) {
          positions[q] = positions[q - 1] ?? 0
          q--
        }
        positions[q] = p
      }
      const firstKept = Math.max(0, count - Math.max(1, rule.max_breakpoints ?? 4))
      const lookback = rule.lookback_blocks ?? 0
      let hitAt = -1
      for (let q = count - 1; q >= firstKept && hitAt < 0; q--) {
        const bp = positions[q] ?? 0
        for (let j = bp; j >= Math.max(0, bp - lookback); j--) {
          if ((cumulative[j] ?? 0) < min) break
          if (alive(j)) {
            hitAt = j
            break
          }
        }
      }
      read = hitAt >= 0 ? (cumulative[hitAt] ?? 0) : 0
      if (hitAt >= 0) touch(hitAt, true)
      let lastWritten = read
      for (let q = firstKept; q < count; q++) {
        const bp = positions[q] ?? 0
        const c = cumulative[bp] ?? 0
        if (c < min) continue
        if (bp === hitAt) continue
        if (c > read) lastWritten = Math.max(lastWritten, c)
        touch(bp, false)
      }
      write = lastWritten - read
    }
    const totalTokens = inputTokens[i] ?? 0
    readTokens[i] = Math.min(Math.round(read), totalTokens)
    writeTokens[i] = Math.min(Math.round(write), totalTokens - (readTokens[i] ?? 0))

    // Expired entries can never be hit again (time only moves forward): sweep them now and then.
    if (entries.size > 200_000 && t - lastSweep > ttl) {
      entries.rebuild(t)
      lastSweep = t
    }
    if (options.onProgress && i % 100_000 === 99_999) options.onProgress((i + 1) / n)
  }
  return { inputTokens, readTokens, writeTokens, withoutContent, simulated }
}
