import assert from 'node:assert/strict'
import { test } from 'node:test'
import { computeCostUsd, priceSpan } from './price-span'
import { findPrice, PRICE_TABLE, type PriceTable, parsePriceTable, priceMicros } from './price-table'
import { checkSafePattern } from './project-prices'

const AT = '2026-06-01 12:00:00.000000'
const llm = (over: Partial<Parameters<typeof priceSpan>[0]>) => ({
  kind: 'llm' as const,
  provider: 'openai',
  model: 'gpt-4o',
  start_time: AT,
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  ...over,
})

test('OpenAI gpt-4o with cached tokens: cached part at the cached price, no double count', () => {
  // gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens.
  // 10,000 input of which 8,000 cached; 500 output:
  // 2,000 × 2.50/1M = 0.005; 8,000 × 1.25/1M = 0.01; 500 × 10/1M = 0.005 → 0.02
  const price = priceSpan(llm({ input_tokens: 10_000, cache_read_tokens: 8_000, output_tokens: 500 }))
  assert.deepEqual(price, { cost_usd: '0.020000000', price_version: PRICE_TABLE.version, pricing_note: '' })
})

test('OpenAI dated snapshot matches by pattern; o3 uses the price in effect at the span time', () => {
  const dated = priceSpan(llm({ model: 'gpt-4o-2024-08-06', input_tokens: 1_000_000 }))
  assert.equal(dated.cost_usd, '2.500000000')
  const o3 = llm({ model: 'o3', input_tokens: 1_000_000, output_tokens: 1_000_000 })
  // o3 was $10/$40 until the 2025-06-10 cut to $2/$8.
  assert.equal(priceSpan({ ...o3, start_time: '2025-05-01 00:00:00.000000' }).cost_usd, '50.000000000')
  assert.equal(priceSpan(o3).cost_usd, '10.000000000')
  // The first gpt-4o snapshot keeps its own price (exact name beats the pattern).
  assert.equal(
    priceSpan(llm({ model: 'gpt-4o-2024-05-13', input_tokens: 1_000_000 })).cost_usd,
    '5.000000000',
  )
})

test('Anthropic with cache read and 5-minute cache write', () => {
  // claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write (5 min), $15 output per 1M.
  // input 12,050 = 50 uncached + 10,000 read + 2,000 written; output 400:
  // 50×3 + 10000×0.30 + 2000×3.75 + 400×15 = 150 + 3000 + 7500 + 6000 = 16,650 / 1M = 0.01665
  const row = llm({
    provider: 'anthropic',
    model: 'claude-sonnet-4-5-20250929',
    input_tokens: 12_050,
    cache_read_tokens: 10_000,
    cache_write_tokens: 2_000,
    output_tokens: 400,
  })
  assert.equal(priceSpan(row).cost_usd, '0.016650000')
  // 1-hour writes are priced at 2x input ($6): 2000 × (6 − 3.75) more = +0.0045.
  const entry = findPrice(PRICE_TABLE, 'anthropic', 'claude-sonnet-4-5', new Date('2026-06-01'))
  assert.ok(entry)
  assert.equal(computeCostUsd({ ...row, cache_write_1h_tokens: 2_000 }, entry), '0.021150000')
  // Same model through Bedrock's id.
  const bedrock = { ...row, provider: 'aws.bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }
  assert.equal(priceSpan(bedrock).cost_usd, '0.016650000')
})

test('unknown model: unpriced with a note; non-LLM spans: unpriced without one', () => {
  assert.deepEqual(priceSpan(llm({ provider: 'acme', model: 'big-1', input_tokens: 10 })), {
    cost_usd: null,
    price_version: '',
    pricing_note: 'unknown model: acme/big-1',
  })
  assert.deepEqual(priceSpan(llm({ kind: 'tool', input_tokens: 10 })), {
    cost_usd: null,
    price_version: '',
    pricing_note: '',
  })
  // Before a model's first effective date there is no price either.
  assert.equal(priceSpan(llm({ model: 'gpt-5', start_time: '2025-01-01 00:00:00.000000' })).cost_usd, null)
})

test('embeddings are priced on input tokens', () => {
  const row = llm({ kind: 'embedding', model: 'text-embedding-3-small', input_tokens: 1_234_567 })
  // 1,234,567 × $0.02/1M = 0.02469134
  assert.equal(priceSpan(row).cost_usd, '0.024691340')
})

test('money is exact: sub-nano amounts round half up, large totals keep every digit', () => {
  assert.equal(priceMicros(0.075), 75_000n)
  assert.equal(priceMicros(18.75), 18_750_000n)
  // One cached gpt-5-nano token: $0.005/1M = 5e-9 USD exactly.
  const nano = findPrice(PRICE_TABLE, 'openai', 'gpt-5-nano', new Date('2026-01-01'))
  assert.ok(nano)
  assert.equal(
    computeCostUsd({ input_tokens: 1, cache_read_tokens: 1, cache_write_tokens: 0, output_tokens: 0 }, nano),
    '0.000000005',
  )
  const table: PriceTable = parsePriceTable({
    version: 't',
    currency: 'USD',
    unit: 'per 1M tokens',
    entries: [{ provider: 'p', model: 'm', effective_from: '2020-01-01', input: 0.0005, output: 0.1 }],
  })
  const m = findPrice(table, 'p', 'm', new Date())
  assert.ok(m)
  // 1 token × 0.0005/1M = 5e-10 → rounds half up to 1e-9.
  assert.equal(
    computeCostUsd({ input_tokens: 1, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 }, m),
    '0.000000001',
  )
  // 0.1 + 0.2 style float error cannot happen: 3 × 10^9 output tokens at $0.1/1M = 300 exactly.
  assert.equal(
    computeCostUsd(
      { input_tokens: 0, output_tokens: 3_000_000_000, cache_read_tokens: 0, cache_write_tokens: 0 },
      m,
    ),
    '300.000000000',
  )
})

test('price tables are validated', () => {
  assert.throws(
    () =>
      parsePriceTable({
        version: 'x',
        currency: 'USD',
        unit: 'per 1M tokens',
        entries: [{ provider: 'p', model: 'm', effective_from: '2020-01-01', input: 0.1234567, output: 1 }],
      }),
    /entries\.0\.input/,
  )
  assert.throws(
    () => parsePriceTable({ version: 'x', currency: 'EUR', unit: 'per 1M tokens', entries: [] }),
    /currency/,
  )
})

test('the built-in table covers the required models', () => {
  const at = new Date('2026-11-01')
  for (const model of [
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4.1',
    'gpt-4.1-mini',
    'gpt-4.1-nano',
    'o3',
    'o4-mini',
    'gpt-5',
    'gpt-5-mini',
    'gpt-5-nano',
    'text-embedding-3-small',
    'text-embedding-3-large',
  ]) {
    assert.ok(findPrice(PRICE_TABLE, 'openai', model, at), model)
  }
  for (const model of [
    'claude-opus-4-1',
    'claude-opus-4',
    'claude-sonnet-4-5',
    'claude-sonnet-4',
    'claude-haiku-4-5',
    'claude-3-5-haiku',
    'claude-opus-4-1-20250805',
    'claude-haiku-4-5-20251001',
    'claude-3-5-haiku-20241022',
  ]) {
    assert.ok(findPrice(PRICE_TABLE, 'anthropic', model, at), model)
  }
  // Patterns are anchored: opus-4 must not swallow opus-4-1 snapshots.
  assert.equal(findPrice(PRICE_TABLE, 'anthropic', 'claude-opus-4-1-20250805', at)?.model, 'claude-opus-4-1')
  assert.equal(findPrice(PRICE_TABLE, 'openai', 'gpt-4o-mini-2024-07-18', at)?.model, 'gpt-4o-mini')
})

const tableOf = (entries: unknown[], overrides?: { version: string; entries: unknown[] }): PriceTable =>
  parsePriceTable({ version: 'base-v1', currency: 'USD', unit: 'per 1M tokens', entries, overrides })

test('effective dates: a span is priced with the entry in effect at its start time, across a change', () => {
  const table = tableOf([
    { provider: 'acme', model: 'm1', effective_from: '2026-03-01', input: 1, output: 2 },
    { provider: 'acme', model: 'm1', effective_from: '2026-01-01', input: 3, output: 4 },
  ])
  const row = llm({ provider: 'acme', model: 'm1', input_tokens: 1_000_000, output_tokens: 1_000_000 })
  // Before the first entry: unpriced; the last microsecond before the change: old price; the
  // first instant of the change day (UTC): new price.
  assert.equal(priceSpan({ ...row, start_time: '2025-12-31 23:59:59.999999' }, table).cost_usd, null)
  assert.equal(priceSpan({ ...row, start_time: '2026-02-28 23:59:59.999999' }, table).cost_usd, '7.000000000')
  assert.equal(priceSpan({ ...row, start_time: '2026-03-01 00:00:00.000000' }, table).cost_usd, '3.000000000')
})

test('tiers: above the threshold the whole call is priced at the tier, including cache rates', () => {
  // claude-sonnet-4-5 over 200k input: $6 input, $0.60 read, $7.50 write, $22.50 output per 1M.
  const base = llm({ provider: 'anthropic', model: 'claude-sonnet-4-5', output_tokens: 1_000 })
  // Exactly 200,000 input tokens is not above the threshold: base prices.
  // 100,000 × 3 + 100,000 × 0.30 + 1,000 × 15 = 300,000 + 30,000 + 15,000 → 0.345
  const at = { ...base, input_tokens: 200_000, cache_read_tokens: 100_000 }
  assert.equal(priceSpan(at).cost_usd, '0.345000000')
  // 200,001 tokens (cache reads count toward the threshold): tier prices for every token.
  // 90,001 × 6 + 100,000 × 0.60 + 10,000 × 7.50 + 1,000 × 22.50
  //   = 540,006 + 60,000 + 75,000 + 22,500 = 697,506 / 1M = 0.697506
  const above = { ...base, input_tokens: 200_001, cache_read_tokens: 100_000, cache_write_tokens: 10_000 }
  assert.equal(priceSpan(above).cost_usd, '0.697506000')

  // Several tiers: the highest exceeded applies; omitted tier cache prices default to the tier's input.
  const table = tableOf([
    {
      provider: 'acme',
      model: 'long',
      effective_from: '2026-01-01',
      input: 1,
      cache_read: 0.1,
      output: 2,
      tiers: [
        { above_input_tokens: 1000, input: 2, cache_read: 0.2, output: 4 },
        { above_input_tokens: 2000, input: 5, output: 10 },
      ],
    },
  ])
  const acme = (input: number, read = 0) =>
    priceSpan(llm({ provider: 'acme', model: 'long', input_tokens: input, cache_read_tokens: read }), table)
      .cost_usd
  assert.equal(acme(1000, 500), '0.000550000') // 500 × 1 + 500 × 0.1 = 550 µ$
  assert.equal(acme(1001, 500), '0.001102000') // 501 × 2 + 500 × 0.2 = 1,102 µ$
  assert.equal(acme(2001, 1000), '0.010005000') // 1,001 × 5 + 1,000 × 5 (read defaults to tier input)
  assert.throws(
    () =>
      tableOf([
        {
          provider: 'acme',
          model: 'bad',
          effective_from: '2026-01-01',
          input: 1,
          output: 1,
          tiers: [
            { above_input_tokens: 2000, input: 2, output: 2 },
            { above_input_tokens: 1000, input: 3, output: 3 },
          ],
        },
      ]),
    /entries\.0\.tiers/,
  )
})

test('overrides (custom prices) beat the built-in entries while in effect, and carry their own version', () => {
  const table = tableOf(
    [
      { provider: 'openai', model: 'gpt-4o', effective_from: '2024-01-01', input: 2.5, output: 10 },
      { provider: 'openai', model: 'gpt-4o-mini', effective_from: '2024-01-01', input: 0.15, output: 0.6 },
    ],
    {
      version: 'custom-abc',
      // A negotiated price from March 2026, for gpt-4o and its dated snapshots (pattern).
      entries: [
        {
          provider: 'openai',
          model: 'gpt-4o',
          model_pattern: 'gpt-4o-\\d{4}-\\d{2}-\\d{2}',
          effective_from: '2026-03-01',
          input: 1,
          output: 4,
        },
      ],
    },
  )
  const row = llm({ input_tokens: 1_000_000, output_tokens: 1_000_000 })
  assert.deepEqual(priceSpan({ ...row, start_time: '2026-03-02 00:00:00.000000' }, table), {
    cost_usd: '5.000000000',
    price_version: 'custom-abc',
    pricing_note: '',
  })
  // A dated snapshot matches the custom pattern, even though the base table has an exact name
  // for gpt-4o only: the custom layer is searched first.
  assert.equal(
    priceSpan({ ...row, model: 'gpt-4o-2024-08-06', start_time: '2026-03-02 00:00:00.000000' }, table)
      .cost_usd,
    '5.000000000',
  )
  // Before the custom price starts, the built-in one applies with the table's version.
  assert.deepEqual(priceSpan({ ...row, start_time: '2026-02-01 00:00:00.000000' }, table), {
    cost_usd: '12.500000000',
    price_version: 'base-v1',
    pricing_note: '',
  })
  // Models without a custom price keep the built-in price.
  assert.equal(priceSpan({ ...row, model: 'gpt-4o-mini' }, table).price_version, 'base-v1')
})

test('custom model patterns that could backtrack catastrophically are refused', () => {
  for (const entry of PRICE_TABLE.entries) {
    if (entry.model_pattern)
      assert.doesNotThrow(() => checkSafePattern(entry.model_pattern ?? ''), entry.model)
  }
  for (const ok of ['gpt-4o-\\d{4}-\\d{2}-\\d{2}', '(?:[a-z]{2,4}\\.)?m1', 'm1|m2', '[(+]*x', '(?:ab)+']) {
    assert.doesNotThrow(() => checkSafePattern(ok), ok)
  }
  for (const [bad, reason] of [
    ['(a+)+$', /repeated group/],
    ['(?:\\w*x)*', /repeated group/],
    ['(a|ab){2,}', /repeated group/],
    ['((a)+)+', /repeated group/],
    ['(a)\\1', /backreferences/],
    ['(?=a)a', /only \(\?:…\) groups/],
    ['x'.repeat(201), /at most 200/],
  ] as const) {
    assert.throws(() => checkSafePattern(bad), reason, bad)
  }
})

test('cost in float arithmetic (below 2^52 picodollars) equals the BigInt computation, and past it too', () => {
  // The reference: the whole computation in BigInt picodollars, rounded half up to nanodollars.
  const reference = (
    usage: { input: number; output: number; read: number; write: number; write1h: number },
    rates: {
      input: number
      output: number
      cache_read?: number
      cache_write?: number
      cache_write_1h?: number
    },
  ) => {
    const inputPrice = priceMicros(rates.input)
    const readPrice = rates.cache_read === undefined ? inputPrice : priceMicros(rates.cache_read)
    const writePrice = rates.cache_write === undefined ? inputPrice : priceMicros(rates.cache_write)
    const write1hPrice = rates.cache_write_1h === undefined ? writePrice : priceMicros(rates.cache_write_1h)
    const write1h = BigInt(Math.min(usage.write1h, usage.write))
    const uncached = BigInt(Math.max(usage.input - usage.read - usage.write, 0))
    const pico =
      uncached * inputPrice +
      BigInt(usage.read) * readPrice +
      (BigInt(usage.write) - write1h) * writePrice +
      write1h * write1hPrice +
      BigInt(usage.output) * priceMicros(rates.output)
    const nano = (pico + 500n) / 1000n
    return `${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, '0')}`
  }
  const entries = PRICE_TABLE.entries
  let seed = 7
  const next = (max: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return Math.floor((seed / 2 ** 31) * max)
  }
  for (let i = 0; i < 5000; i++) {
    const entry = entries[i % entries.length]
    assert.ok(entry)
    // Mostly everyday counts; some in the billions and beyond 2^53 / price, where BigInt takes over.
    const scale = [1_000, 200_000, 5_000_000, 2_000_000_000, 9_000_000_000_000][i % 5] as number
    const input = next(scale)
    const usage = {
      input,
      output: next(scale),
      read: next(input + 1),
      write: next(Math.max(1, input >> 2)),
      write1h: next(Math.max(1, input >> 3)),
    }
    const rates = { ...entry, tiers: undefined }
    const got = computeCostUsd(
      {
        input_tokens: usage.input,
        output_tokens: usage.output,
        cache_read_tokens: usage.read,
        cache_write_tokens: usage.write,
        cache_write_1h_tokens: usage.write1h,
      },
      rates,
    )
    assert.equal(got, reference(usage, rates), `${entry.provider}/${entry.model} ${JSON.stringify(usage)}`)
  }
})
