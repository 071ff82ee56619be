/**
 * Corrections for many comparisons (several metrics, candidates or routes in one report).
 * Both return adjusted p-values in the input order (NaN inputs stay NaN and are not counted).
 */

export type Correction = 'holm' | 'benjamini-hochberg'

export const CORRECTION_LABEL: Record<Correction, string> = {
  holm: 'Holm step-down (controls the family-wise error rate)',
  'benjamini-hochberg': 'Benjamini–Hochberg (controls the false discovery rate)',
}

function valid(pValues: readonly number[]): number[] {
  const idx: number[] = []
  pValues.forEach((p, i) => {
    if (!Number.isNaN(p)) {
      if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value ${i}: must be in [0, 1], got ${p}`)
      idx.push(i)
    }
  })
  return idx
}

/** Holm (1979): sort ascending, p₍ᵢ₎ × (m − i + 1), running maximum, capped at 1. As R's `p.adjust(p, 'holm')`. */
export function holm(pValues: readonly number[]): number[] {
  const out = pValues.map(() => Number.NaN)
  const idx = valid(pValues).sort((a, b) => (pValues[a] ?? 0) - (pValues[b] ?? 0))
  const m = idx.length
  let running = 0
  idx.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[i] ?? 0)))
    out[i] = running
  })
  return out
}

/** Benjamini & Hochberg (1995): p₍ᵢ₎ × m / i, running minimum from the largest, capped at 1. As R's `p.adjust(p, 'BH')`. */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const out = pValues.map(() => Number.NaN)
  const idx = valid(pValues).sort((a, b) => (pValues[a] ?? 0) - (pValues[b] ?? 0))
  const m = idx.length
  let running = 1
  for (let rank = m - 1; rank >= 0; rank--) {
    const i = idx[rank] as number
    running = Math.min(running, ((pValues[i] ?? 0) * m) / (rank + 1))
    out[i] = Math.min(1, running)
  }
  return out
}

export function adjust(pValues: readonly number[], correction: Correction): number[] {
  return correction === 'holm' ? holm(pValues) : benjaminiHochberg(pValues)
}
