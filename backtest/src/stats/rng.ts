/**
 * A small, fast, seeded PRNG for resampling: sfc32 (Chris Doty-Humphrey's Small Fast Counting
 * generator, PractRand-clean) seeded through splitmix32, so any 32-bit seed — or a string, hashed
 * with FNV-1a — gives a well-mixed independent stream. Same seed, same numbers, on every platform.
 */
export interface Rng {
  /** Uniform on [0, 1) with 32 bits of randomness. */
  next(): number
  /** Uniform integer in [0, n) (n ≤ 2³²). */
  int(n: number): number
  /** Standard normal (Box–Muller). */
  normal(): number
}

/** FNV-1a 32-bit hash of a string: turns a textual seed into a numeric one. */
export function hashSeed(seed: string | number): number {
  if (typeof seed === 'number') return seed >>> 0
  let h = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export function createRng(seed: string | number): Rng {
  let s = hashSeed(seed)
  const splitmix = () => {
    s = (s + 0x9e3779b9) | 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  const u32 = () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  // Warm-up: the first outputs of a counting generator are correlated with the seed.
  for (let i = 0; i < 12; i++) u32()
  let spare: number | null = null
  return {
    next: () => u32() / 4294967296,
    int: (n: number) => Math.floor((u32() / 4294967296) * n),
    normal: () => {
      if (spare !== null) {
        const value = spare
        spare = null
        return value
      }
      let u = 0
      while (u === 0) u = u32() / 4294967296
      const v = u32() / 4294967296
      const r = Math.sqrt(-2 * Math.log(u))
      spare = r * Math.sin(2 * Math.PI * v)
      return r * Math.cos(2 * Math.PI * v)
    },
  }
}
