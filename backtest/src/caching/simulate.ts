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

/** Smallest entry table (slots): ~0.5 MB, so a table of live entries stays in the CPU caches. */
const MIN_CAPACITY = 1 << 14

/**
 * Cache entries in an open-addressing hash table keyed by the two 32-bit lanes of the prefix hash
 * (no JavaScript object or heap number per entry), clocks in typed arrays. Expired entries are
 * dropped by rebuilding the table now and then. Slots stay valid until the next {@link rebuild}
 * (inserting never moves an entry), which only {@link reserve} and {@link sweep} trigger.
 */
class EntryTable {
  mask = 0
  keyA = new Uint32Array(0)
  keyB = new Uint32Array(0)
  used = new Uint8Array(0)
  expires = new Float64Array(0)
  available = new Float64Array(0)
  created = new Float64Array(0)
  size = 0

  constructor(capacity = MIN_CAPACITY) {
    this.allocate(capacity)
  }

  /** The arrays of the previous table, reused by the next rebuild of the same capacity. */
  private spare: {
    keyA: Uint32Array<ArrayBuffer>
    keyB: Uint32Array<ArrayBuffer>
    used: Uint8Array<ArrayBuffer>
    expires: Float64Array<ArrayBuffer>
    available: Float64Array<ArrayBuffer>
    created: Float64Array<ArrayBuffer>
  } | null = null

  private allocate(capacity: number): void {
    const spare = this.spare
    this.spare = null
    this.mask = capacity - 1
    if (spare && spare.used.length === capacity) {
      spare.used.fill(0)
      this.keyA = spare.keyA
      this.keyB = spare.keyB
      this.used = spare.used
      this.expires = spare.expires
      this.available = spare.available
      this.created = spare.created
    } else {
      this.keyA = new Uint32Array(capacity)
      this.keyB = new Uint32Array(capacity)
      this.used = new Uint8Array(capacity)
      this.expires = new Float64Array(capacity)
      this.available = new Float64Array(capacity)
      this.created = new Float64Array(capacity)
    }
    this.size = 0
  }

  /** The slot of key (a, b), or -1. */
  find(a: number, b: number): number {
    const { used, keyA, keyB, mask } = this
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask
    while (used[i]) {
      if (keyA[i] === a && keyB[i] === b) return i
      i = (i + 1) & mask
    }
    return -1
  }

  /** Make room for `more` inserts without a rebuild (the table stays at most half full). */
  reserve(more: number): void {
    let capacity = this.mask + 1
    while ((this.size + more) * 2 > capacity) capacity *= 2
    if (capacity !== this.mask + 1) this.rebuild(Number.NEGATIVE_INFINITY, capacity)
  }

  /** Insert a key known to be absent (call {@link reserve} first). */
  insert(a: number, b: number, expires: number, available: number, created: number): void {
    const { used, mask } = this
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & mask
    while (used[i]) i = (i + 1) & mask
    used[i] = 1
    this.keyA[i] = a
    this.keyB[i] = b
    this.expires[i] = expires
    this.available[i] = available
    this.created[i] = created
    this.size++
  }

  /**
   * A call at `now` writes key (a, b) found at `slot` (-1: absent, inserted): an expired entry is
   * replaced in its slot; a live one has its lifetime extended (capped at `maxLife` after its
   * creation) unless `refresh` is false (a hit on a rule that does not refresh on hit).
   */
  write(
    slot: number,
    a: number,
    b: number,
    refresh: boolean,
    now: number,
    fresh: number,
    usableAt: number,
    ttl: number,
    maxLife: number,
  ): void {
    if (slot < 0) {
      this.insert(a, b, fresh, usableAt, now)
      return
    }
    const { expires, available, created } = this
    const e = expires[slot] ?? 0
    if (e < now) {
      // Expired: a new entry in the same slot.
      expires[slot] = fresh
      available[slot] = usableAt
      created[slot] = now
    } else if (refresh) {
      expires[slot] = Math.min(Math.max(e, now + ttl), (created[slot] ?? 0) + maxLife)
      available[slot] = Math.min(available[slot] ?? 0, usableAt)
    }
  }

  /** Drop the entries that expired before `t`, in a table sized for what is left. */
  sweep(t: number): void {
    const { used, expires } = this
    let live = 0
    for (let i = 0; i < used.length; i++) if (used[i] && (expires[i] ?? 0) >= t) live++
    let capacity = MIN_CAPACITY
    while (live * 4 > capacity) capacity *= 2
    this.rebuild(t, capacity)
  }

  /** Keep only entries that expire at or after `t` (all of them for −∞), in a table of `capacity`. */
  rebuild(t: number, capacity = this.mask + 1): void {
    const old = {
      keyA: this.keyA,
      keyB: this.keyB,
      used: this.used,
      expires: this.expires,
      available: this.available,
      created: this.created,
    }
    const { keyA, keyB, used, expires, available, created } = old
    this.allocate(capacity)
    for (let i = 0; i < used.length; i++) {
      if (used[i] && (expires[i] ?? 0) >= t) {
        this.insert(keyA[i] ?? 0, keyB[i] ?? 0, expires[i] ?? 0, available[i] ?? 0, created[i] ?? 0)
      }
    }
    this.spare = old
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
 *
 * Prefix identity: a chain hash over the blocks of the prompt rendered in provider order
 * (tools → system → messages), two 32-bit lanes mixed murmur3-style. The scope (rule index) seeds
 * the chain, so caches of different models or providers never share entries. The loop keeps
 * everything in locals and typed arrays: no closure, no object per call or per entry.
 */
/** Entries before the first sweep of expired ones; then twice what the last sweep kept. */
const SWEEP_FROM = 8192

export function simulateCaching(calls: CallTable, options: SimulationOptions): SimulationResult {
  const n = calls.n
  const inputTokens = new Float64Array(n)
  const readTokens = new Float64Array(n)
  const writeTokens = new Float64Array(n)
  const ratio = options.tokenRatio ?? 1
  const entries = new EntryTable()
  let withoutContent = 0
  let simulated = 0
  // Per-call scratch: prefix keys, cumulative tokens at the end of each block, and the slot of
  // each prefix in the table (-1: absent).
  let keysA = new Uint32Array(64)
  let keysB = new Uint32Array(64)
  let cumulative = new Float64Array(64)
  let slots = new Int32Array(64)
  const transform = options.transform?.system
  const transformHash = transform?.hash ?? 0
  const transformChars = transform?.chars ?? 0
  let lastSweep = Number.NEGATIVE_INFINITY
  let sweepAt = SWEEP_FROM
  const { start, blockStart, blockChars, blockHash, staticBlocks, hasSystem, hasTools } = calls
  const recordedInputs = calls.inputTokens
  const ttfts = calls.ttft
  const durations = calls.duration
  const positions = new Int32Array(8)

  for (let i = 0; i < n; i++) {
    const t = start[i] ?? 0
    const first = blockStart[i] ?? 0
    const last = blockStart[i + 1] ?? first
    const recordedInput = recordedInputs[i] ?? 0
    const statics = staticBlocks[i] ?? 0
    // Characters of the prompt as the candidate sends it.
    let chars = 0
    for (let b = first; b < last; b++) chars += blockChars[b] ?? 0
    const systemIndex = statics > 0 && hasSystem[i] ? first + statics - 1 : -1
    let candidateChars = chars
    if (transform) {
      candidateChars += transformChars - (systemIndex >= 0 ? (blockChars[systemIndex] ?? 0) : 0)
    }
    const tokensPerChar = recordedInput > 0 && chars > 0 ? recordedInput / chars : 1 / CHARS_PER_TOKEN
    const total = recordedInput > 0 ? candidateChars * tokensPerChar * ratio : recordedInput
    const sent = chars > 0 ? Math.round(total) : Math.round(recordedInput * ratio)
    inputTokens[i] = sent

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
      slots = new Int32Array(k * 2)
    }
    let laneA = Math.imul(ruleIndex + 1, 0x9e3779b1) | 0
    let laneB = Math.imul(ruleIndex + 7, 0x85ebca6b) | 0
    let tokens = 0
    // With a transform that adds a system block, it goes in at this position of the prompt.
    const insertAt = transform && systemIndex < 0 ? (hasTools[i] ? 1 : 0) : -1
    const staticCount = insertAt >= 0 ? statics + 1 : statics
    for (let v = 0; v < k; v++) {
      let hash: number
      let size: number
      if (v === insertAt) {
        hash = transformHash
        size = transformChars
      } else {
        const blk = first + (insertAt >= 0 && v > insertAt ? v - 1 : v)
        if (transform && blk === systemIndex) {
          hash = transformHash
          size = transformChars
        } else {
          hash = blockHash[blk] ?? 0
          size = blockChars[blk] ?? 0
        }
      }
      // Fold the block hash into the two lanes (murmur3-style mixing).
      let h1 = Math.imul(laneA ^ hash, 0xcc9e2d51)
      h1 = (h1 << 15) | (h1 >>> 17)
      h1 = Math.imul(h1 ^ (h1 >>> 13), 0x1b873593)
      let h2 = Math.imul(laneB + hash, 0x85ebca6b) ^ h1
      h2 = Math.imul(h2 ^ (h2 >>> 16), 0xc2b2ae35)
      laneA = h1 ^ (h2 >>> 7)
      laneB = h2 ^ (h1 >>> 11)
      tokens += size * tokensPerChar * ratio
      keysA[v] = laneA >>> 0
      keysB[v] = laneB >>> 0
      cumulative[v] = tokens
    }

    const ttl = ((options.longTtl && rule.ttl_1h_seconds) || rule.ttl_seconds) * 1000
    const maxLife = rule.max_lifetime_seconds ? rule.max_lifetime_seconds * 1000 : Number.POSITIVE_INFINITY
    const refreshOnHit = rule.refresh_on_hit
    const now = t
    const ttft = ttfts[i] ?? Number.NaN
    const duration = durations[i] ?? 0
    const usableAt =
      rule.available_after === 'response_start' ? t + (Number.isNaN(ttft) ? duration : ttft) : t + duration
    const fresh = Math.min(now + ttl, now + maxLife)
    const min = rule.min_tokens
    // At most k new entries: slots found below stay valid through this call's inserts.
    entries.reserve(k)
    const { expires, available } = entries
    let read = 0
    let write = 0
    if (rule.mode === 'automatic_prefix') {
      // Every prefix at or above the minimum is looked up once: the longest live one is read,
      // then each is written or refreshed.
      let from = k
      while (from > 0 && (cumulative[from - 1] ?? 0) >= min) from--
      for (let j = from; j < k; j++) slots[j] = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
      for (let j = k - 1; j >= from; j--) {
        const slot = slots[j] ?? -1
        if (slot >= 0 && (expires[slot] ?? 0) >= now && (available[slot] ?? 0) <= now) {
          read = cumulative[j] ?? 0
          break
        }
      }
      if (rule.step_tokens && read > 0)
        read = min + Math.floor((read - min) / rule.step_tokens) * rule.step_tokens
      for (let j = 0; j < k; j++) {
        const c = cumulative[j] ?? 0
        if (c < min) continue
        let slot = j >= from ? (slots[j] ?? -1) : -1
        // (A prefix absent above can only be present now if this call inserted the same key.)
        if (slot < 0) slot = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
        const refresh = c > read || refreshOnHit
        entries.write(slot, keysA[j] ?? 0, keysB[j] ?? 0, refresh, now, fresh, usableAt, ttl, maxLife)
      }
    } else {
      // Breakpoints chosen by the simulated client, at most max_breakpoints, the latest kept
      // (a few positions: kept in a reused typed array, sorted by insertion).
      let count = 0
      for (const where of rule.breakpoints_at ?? []) {
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
          const slot = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
          if (slot >= 0 && (expires[slot] ?? 0) >= now && (available[slot] ?? 0) <= now) {
            hitAt = j
            break
          }
        }
      }
      read = hitAt >= 0 ? (cumulative[hitAt] ?? 0) : 0
      // Touch the hit, then each kept breakpoint (written, or refreshed when already there).
      let lastWritten = read
      for (let q = firstKept - 1; q < count; q++) {
        let j: number
        let hit: boolean
        if (q < firstKept) {
          if (hitAt < 0) continue
          j = hitAt
          hit = true
        } else {
          j = positions[q] ?? 0
          const c = cumulative[j] ?? 0
          if (c < min || j === hitAt) continue
          if (c > read) lastWritten = Math.max(lastWritten, c)
          hit = false
        }
        const slot = entries.find(keysA[j] ?? 0, keysB[j] ?? 0)
        const refresh = !hit || refreshOnHit
        entries.write(slot, keysA[j] ?? 0, keysB[j] ?? 0, refresh, now, fresh, usableAt, ttl, maxLife)
      }
      write = lastWritten - read
    }
    readTokens[i] = Math.min(Math.round(read), sent)
    writeTokens[i] = Math.min(Math.round(write), sent - (readTokens[i] ?? 0))

    // Expired entries can never be hit again (time only moves forward): sweep them now and then.
    // A small table stays in the CPU caches: the sweep also shrinks it to what is still live.
    if (entries.size > sweepAt && t - lastSweep > ttl) {
      entries.sweep(t)
      lastSweep = t
      sweepAt = Math.max(SWEEP_FROM, entries.size * 2)
    }
    if (options.onProgress && i % 100_000 === 99_999) options.onProgress((i + 1) / n)
  }
  return { inputTokens, readTokens, writeTokens, withoutContent, simulated }
}
