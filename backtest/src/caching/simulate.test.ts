import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type CallTable, emptyTable } from '../calls'
import { CACHE_RULES, type CacheRule, findCacheRule, parseCacheRules } from './rules'
import { simulateCaching } from './simulate'

interface CallInit {
  /** Seconds from t0. */
  at: number
  /** Block (hash, chars) pairs in provider order; the first `system` ones are static. */
  blocks: Array<[number, number]>
  system?: boolean
  /** Recorded input tokens; default chars / 4. */
  input?: number
  ttftMs?: number
  durationMs?: number
}

const T0 = Date.parse('2026-06-01T00:00:00Z')

function table(calls: CallInit[]): CallTable {
  const t = emptyTable(calls.length)
  const hashes: number[] = []
  const chars: number[] = []
  t.models.push('m')
  t.providers.push('p')
  calls.forEach((c, i) => {
    t.start[i] = T0 + c.at * 1000
    t.duration[i] = c.durationMs ?? 1000
    t.ttft[i] = c.ttftMs ?? Number.NaN
    t.trace[i] = i
    const total = c.blocks.reduce((s, [, n]) => s + n, 0)
    t.inputTokens[i] = c.input ?? total / 4
    t.outputTokens[i] = 100
    t.hasSystem[i] = c.system ? 1 : 0
    t.staticBlocks[i] = c.system ? 1 : 0
    t.blockStart[i] = hashes.length
    for (const [h, n] of c.blocks) {
      hashes.push(h)
      chars.push(n)
    }
  })
  t.blockStart[calls.length] = hashes.length
  t.blockHash = Uint32Array.from(hashes)
  t.blockChars = Uint32Array.from(chars)
  return t
}

function rule(provider: string, model: string): CacheRule {
  const r = findCacheRule(CACHE_RULES, provider, model, new Date('2026-06-01T00:00:00Z'))
  assert.ok(r, `${provider}/${model} has a rule`)
  return r
}

const sonnet = rule('anthropic', 'claude-sonnet-4-5')
const gpt4o = rule('openai', 'gpt-4o')

function run(calls: CallTable, r: CacheRule, extra: Partial<Parameters<typeof simulateCaching>[1]> = {}) {
  return simulateCaching(calls, { rules: [r], ruleOf: () => 0, ...extra })
}

// A 6,000-character system prompt (1,500 tokens at 4 chars/token) and 400-character messages.
const SYS: [number, number] = [0xaaaa, 6000]
const msg = (k: number): [number, number] => [0x1000 + k, 400]

describe('caching rules as data', () => {
  test('the most specific rule in effect applies', () => {
    assert.equal(rule('anthropic', 'claude-haiku-4-5').min_tokens, 4096)
    assert.equal(rule('anthropic', 'claude-haiku-4-5-20251001').min_tokens, 4096)
    assert.equal(rule('anthropic', 'claude-sonnet-4-5').min_tokens, 1024)
    assert.equal(rule('aws.bedrock', 'anthropic.claude-opus-4-6-v1').min_tokens, 4096)
    assert.equal(rule('openai', 'gpt-4o').step_tokens, 128)
    assert.equal(rule('openai', 'gpt-5.6').mode, 'breakpoints')
    assert.equal(rule('openai', 'gpt-5.5').ttl_seconds, 86400)
    // Not in effect before its date: the older default applies.
    assert.equal(
      findCacheRule(CACHE_RULES, 'anthropic', 'claude-haiku-4-5', new Date('2025-01-01'))?.min_tokens,
      1024,
    )
    assert.equal(findCacheRule(CACHE_RULES, 'unknown-provider', 'x', new Date()), null)
    assert.throws(
      () => parseCacheRules({ version: 'x', rules: [{ provider: 'a' }] }),
      /invalid caching rules at rules\.0/,
    )
  })
})

describe('simulateCaching — breakpoints (Anthropic)', () => {
  test('a conversation writes its prefix, and the next turn reads it back through the lookback', () => {
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)] },
      { at: 60, system: true, blocks: [SYS, msg(1), msg(2), msg(3)] },
      { at: 120, system: true, blocks: [SYS, msg(1), msg(2), msg(3), msg(4), msg(5)] },
    ])
    const r = run(calls, sonnet)
    // Call 1: nothing cached; writes up to its last message (1,500 + 100 tokens).
    assert.equal(r.readTokens[0], 0)
    assert.equal(r.writeTokens[0], 1600)
    // Call 2: reads the 1,600-token prefix, writes the two new messages.
    assert.equal(r.readTokens[1], 1600)
    assert.equal(r.writeTokens[1], 200)
    assert.equal(r.readTokens[2], 1800)
    assert.equal(r.writeTokens[2], 200)
    assert.equal(r.simulated, 3)
  })

  test('TTL: every hit refreshes the 5-minute clock; an idle gap longer than that misses', () => {
    const call = (at: number) => ({ at, system: true, blocks: [SYS, msg(1)] })
    const r = run(table([call(0), call(240), call(480), call(481 + 300)]), sonnet)
    assert.deepEqual(Array.from(r.readTokens), [0, 1600, 1600, 0])
    assert.equal(r.writeTokens[3], 1600)
    // The 1-hour TTL keeps it.
    const long = run(table([call(0), call(240), call(480), call(481 + 300)]), sonnet, { longTtl: true })
    assert.deepEqual(Array.from(long.readTokens), [0, 1600, 1600, 1600])
  })

  test('below the model minimum nothing is cached (Haiku 4.5 needs 4,096 tokens)', () => {
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)] },
      { at: 10, system: true, blocks: [SYS, msg(1)] },
    ])
    const r = run(calls, rule('anthropic', 'claude-haiku-4-5'))
    assert.deepEqual(Array.from(r.readTokens), [0, 0])
    assert.deepEqual(Array.from(r.writeTokens), [0, 0])
  })

  test('an entry is usable only once the writing response has started', () => {
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)], ttftMs: 2000 },
      { at: 1, system: true, blocks: [SYS, msg(1)] },
      { at: 3, system: true, blocks: [SYS, msg(1)] },
    ])
    const r = run(calls, sonnet)
    assert.deepEqual(Array.from(r.readTokens), [0, 0, 1600])
    // The concurrent second call paid the write again.
    assert.equal(r.writeTokens[1], 1600)
  })

  test('the static breakpoint shares the system prompt across different conversations', () => {
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)] },
      { at: 5, system: true, blocks: [SYS, msg(9)] },
    ])
    const r = run(calls, sonnet)
    assert.equal(r.readTokens[1], 1500)
    assert.equal(r.writeTokens[1], 100)
  })

  test('a replaced system prompt is one shared prefix for every call', () => {
    const calls = table([
      { at: 0, system: true, blocks: [[1, 6000], msg(1)] },
      { at: 5, system: true, blocks: [[2, 6400], msg(2)] },
    ])
    const before = run(calls, sonnet)
    assert.equal(before.readTokens[1], 0)
    const after = run(calls, sonnet, { transform: { system: { hash: 77, chars: 8000 } } })
    assert.equal(after.inputTokens[0], 2100)
    assert.equal(after.readTokens[1], 2000)
  })
})

describe('simulateCaching — automatic prefix (OpenAI)', () => {
  test('hits in 128-token steps above 1,024 and no write charge', () => {
    // 1,500 + 100 tokens shared; a hit rounds down to 1,024 + 4 × 128 = 1,536.
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)] },
      { at: 30, system: true, blocks: [SYS, msg(1), msg(2)] },
    ])
    const r = run(calls, gpt4o)
    assert.equal(r.readTokens[0], 0)
    assert.equal(r.readTokens[1], 1536)
    assert.deepEqual(Array.from(r.writeTokens), [0, 0])
  })

  test('caches of different models (scopes) never share entries, and calls without content are counted', () => {
    const calls = table([
      { at: 0, system: true, blocks: [SYS, msg(1)] },
      { at: 30, system: true, blocks: [SYS, msg(1)] },
      { at: 40, blocks: [], input: 2000 },
    ])
    const r = simulateCaching(calls, { rules: [gpt4o, gpt4o], ruleOf: (i) => i % 2 })
    assert.equal(r.readTokens[1], 0)
    assert.equal(r.withoutContent, 1)
    assert.equal(r.inputTokens[2], 2000)
  })

  test('a token ratio scales what the candidate sends', () => {
    const calls = table([{ at: 0, system: true, blocks: [SYS, msg(1)] }])
    assert.equal(run(calls, gpt4o, { tokenRatio: 1.3 }).inputTokens[0], 2080)
  })
})
