import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeTokens, type TokenSemantics, tokenSemantics } from './tokens'

// One case per provider family, with the counts its instrumentations put in gen_ai.* attributes.

test('openai: prompt tokens include cached tokens, completion includes reasoning — kept as is', () => {
  // usage: prompt_tokens 2006 (cached_tokens 1920), completion_tokens 300 (reasoning_tokens 256)
  const t = normalizeTokens({ input: 2006, output: 300, cacheRead: 1920, reasoning: 256 })
  assert.deepEqual(t, {
    input: 2006,
    output: 300,
    cacheRead: 1920,
    cacheWrite: 0,
    reasoning: 256,
    adjustments: [],
  })
})

test('anthropic via gen_ai.* (convention: input includes cache read + write) — kept as is', () => {
  // Anthropic raw: input_tokens 50, cache_read 10000, cache_creation 2000 → convention input 12050
  const t = normalizeTokens({ input: 12050, output: 400, cacheRead: 10000, cacheWrite: 2000 })
  assert.equal(t.input, 12050)
  assert.equal(t.cacheRead, 10000)
  assert.equal(t.cacheWrite, 2000)
  assert.deepEqual(t.adjustments, [])
})

test('anthropic with its raw input_tokens (excludes cache) — cache tokens added back, once', () => {
  const t = normalizeTokens({ input: 50, output: 400, cacheRead: 10000, cacheWrite: 2000 })
  assert.equal(t.input, 12050)
  assert.deepEqual(t.adjustments, ['input_excluded_cache'])
  // Normalizing canonical counts again changes nothing: no double counting.
  assert.deepEqual(normalizeTokens(t).adjustments, [])
  assert.equal(normalizeTokens(t).input, 12050)
})

test('aws.bedrock (Claude, cacheReadInputTokens/cacheWriteInputTokens) follows the same rule', () => {
  const inclusive = normalizeTokens({ input: 3100, output: 10, cacheRead: 3000 })
  assert.equal(inclusive.input, 3100)
  const exclusive = normalizeTokens({ input: 100, output: 10, cacheRead: 3000 })
  assert.equal(exclusive.input, 3100)
})

test('gcp.gemini: cachedContentTokenCount is inside promptTokenCount — kept as is', () => {
  const t = normalizeTokens({ input: 5000, output: 20, cacheRead: 4096 })
  assert.equal(t.input, 5000)
  assert.equal(t.input - t.cacheRead, 904)
})

test('reasoning reported outside output is folded in; missing counts are zero', () => {
  const t = normalizeTokens({ output: 40, reasoning: 100 })
  assert.deepEqual(t, {
    input: 0,
    output: 140,
    cacheRead: 0,
    cacheWrite: 0,
    reasoning: 100,
    adjustments: ['output_excluded_reasoning'],
  })
  assert.deepEqual(normalizeTokens({}), {
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    reasoning: 0,
    adjustments: [],
  })
})

// What each dialect declares, per provider (see tokenSemantics): the declared semantics decide,
// so counts are corrected exactly once — never twice, never where they were already inclusive.

test('declared exclusive input (OpenLLMetry/Vercel v5 + Claude): cache added even when input >= cache', () => {
  for (const [dialect, provider, model] of [
    ['openllmetry', 'anthropic', 'claude-sonnet-4-5'],
    ['openllmetry', 'aws.bedrock', 'anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['vercel_ai', 'anthropic', 'claude-sonnet-4-5'],
    ['vercel_ai', 'gcp.vertex_ai', 'claude-sonnet-4-5@20250929'],
    ['vercel_ai', 'aws.bedrock', 'amazon.nova-pro-v1:0'],
  ] as const) {
    const semantics = tokenSemantics(dialect, provider, model)
    assert.equal(semantics.input, 'exclusive', `${dialect} ${provider}`)
    const t = normalizeTokens({
      input: 5000,
      output: 400,
      cacheRead: 3000,
      cacheWrite: 1000,
      ...inputOf(semantics),
    })
    assert.equal(t.input, 9000, `${dialect} ${provider}`)
    assert.deepEqual(t.adjustments, ['input_excluded_cache'])
  }
})

test('every other dialect/provider is auto: inclusive counts are kept (no double count)', () => {
  for (const [dialect, provider, model] of [
    ['otel_genai', 'anthropic', 'claude-sonnet-4-5'],
    ['hindsight', 'anthropic', 'claude-sonnet-4-5'],
    ['vercel_ai_otel', 'anthropic', 'claude-sonnet-4-5'],
    ['openinference', 'anthropic', 'claude-sonnet-4-5'],
    ['openinference', 'openai', 'gpt-4o'],
    ['openllmetry', 'openai', 'gpt-4o'],
    ['vercel_ai', 'openai', 'gpt-4o'],
  ] as const) {
    const semantics = tokenSemantics(dialect, provider, model)
    assert.deepEqual(semantics, { input: 'auto', output: 'auto' }, `${dialect} ${provider}`)
    const t = normalizeTokens({
      input: 9000,
      output: 400,
      cacheRead: 3000,
      cacheWrite: 1000,
      ...inputOf(semantics),
    })
    assert.equal(t.input, 9000, `${dialect} ${provider}`)
    assert.deepEqual(t.adjustments, [])
  }
})

test('declared exclusive output (Vercel v5 + Gemini: candidates exclude thoughts)', () => {
  const semantics = tokenSemantics('vercel_ai', 'gcp.gemini', 'gemini-2.5-flash')
  assert.deepEqual(semantics, { input: 'auto', output: 'exclusive' })
  const t = normalizeTokens({ input: 1000, output: 100, reasoning: 50, outputSemantics: semantics.output })
  assert.equal(t.output, 150)
  assert.deepEqual(t.adjustments, ['output_excluded_reasoning'])
})

test('inclusive is never corrected, even when smaller than its parts; exclusive without parts is unchanged', () => {
  const inclusive = normalizeTokens({ input: 10, cacheRead: 3000, inputSemantics: 'inclusive' })
  assert.equal(inclusive.input, 10)
  assert.deepEqual(inclusive.adjustments, [])
  const bare = normalizeTokens({
    input: 10,
    output: 5,
    inputSemantics: 'exclusive',
    outputSemantics: 'exclusive',
  })
  assert.deepEqual([bare.input, bare.output, bare.adjustments.length], [10, 5, 0])
})

function inputOf(semantics: TokenSemantics) {
  return { inputSemantics: semantics.input, outputSemantics: semantics.output }
}
