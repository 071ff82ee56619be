import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  formatChange,
  formatCount,
  formatDateTime,
  formatMs,
  formatPercent,
  formatSeconds,
  formatTokens,
  formatUsd,
  formatUsdTick,
  parseTimestamp,
} from './format'

test('dollars use 6 decimals under $0.01, 4 under $1, 2 above', () => {
  assert.equal(formatUsd(0.0012345), '$0.001235')
  assert.equal(formatUsd(0.25), '$0.2500')
  assert.equal(formatUsd(1234.5), '$1,234.50')
  assert.equal(formatUsd(0), '$0.00')
  assert.equal(formatUsd(null), '—', 'an unpriced value is not $0')
  assert.equal(formatUsdTick(0.0055), '$0.0055')
})

test('tokens and counts get K/M suffixes; latency gets ms or s', () => {
  assert.equal(formatTokens(950), '950')
  assert.equal(formatTokens(12_340), '12.3K')
  assert.equal(formatTokens(2_500_000), '2.5M')
  assert.equal(formatTokens(100_364), '100K', 'whole hundreds keep their zeros')
  assert.equal(formatTokens(120_000), '120K')
  assert.equal(formatTokens(200_000_000), '200M')
  assert.equal(formatTokens(2_000_000), '2M')
  assert.equal(formatTokens(10_000), '10K')
  assert.equal(formatCount(100_000), '100K')
  assert.equal(formatTokens(999_950), '1M', 'the unit follows the rounding')
  assert.equal(formatTokens(999_999_500), '1B')
  assert.equal(formatTokens(999.7), '1K')
  assert.equal(formatTokens(999_400), '999K')
  assert.equal(formatCount(9_999), '9,999')
  assert.equal(formatCount(123_456), '123K')
  assert.equal(formatMs(0), '0 ms')
  assert.equal(formatMs(4.25), '4.3 ms')
  assert.equal(formatMs(812.4), '812 ms')
  assert.equal(formatMs(1620), '1.62 s')
  assert.equal(formatSeconds(2455.3), '2.455 s')
  assert.equal(formatPercent(0.0071), '0.7%')
  assert.equal(formatPercent(null), '—')
})

test('change vs the previous period reads "new" when the previous value is zero', () => {
  assert.deepEqual(formatChange(10, 0), { label: 'new', direction: 'new' })
  assert.deepEqual(formatChange(0, 0), { label: '0%', direction: 'flat' })
  assert.deepEqual(formatChange(150, 100), { label: '+50%', direction: 'up' })
  assert.deepEqual(formatChange(95, 100), { label: '−5.0%', direction: 'down' })
  assert.deepEqual(formatChange(null, 3), { label: '', direction: 'none' })
  // Ten times or more reads as a factor: a near-empty previous period gives unreadable percentages.
  assert.deepEqual(formatChange(999, 100), { label: '+899%', direction: 'up' })
  assert.deepEqual(formatChange(1000, 100), { label: '×10', direction: 'up' })
  assert.deepEqual(formatChange(1250, 100), { label: '×12.5', direction: 'up' })
  assert.deepEqual(formatChange(3130, 5), { label: '×626', direction: 'up' })
  assert.deepEqual(formatChange(-50, -10), { label: '−400%', direction: 'down' })
})

test('canonical timestamps keep their microseconds and read as UTC', () => {
  const t = parseTimestamp('2026-03-01 12:00:00.123456')
  assert.equal(Math.floor(t), Date.UTC(2026, 2, 1, 12, 0, 0, 123))
  assert.ok(Math.abs((t % 1) - 0.456) < 1e-3)
  assert.equal(parseTimestamp('2026-03-01T12:00:00.123456Z'), t)
  assert.equal(formatDateTime(Date.UTC(2026, 2, 1, 12, 0, 5), 'utc'), '2026-03-01 12:00:05')
})
