/**
 * Small deterministic hashing and pseudo-random numbers for the simulator
 * (never `Math.random`).
 *
 * @internal
 */

/** 32-bit hash of the parts (FNV-1a with a murmur3 finaliser). @internal */
export const hash32 = (...parts: ReadonlyArray<string | number>): number => {
  let h = 0x811c9dc5
  const text = parts.map(String).join("\u0000")
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A splitmix32 generator. @internal */
export class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) | 0
    let t = this.state ^ (this.state >>> 16)
    t = Math.imul(t, 0x21f0aaad)
    t ^= t >>> 15
    t = Math.imul(t, 0x735a2d97)
    t ^= t >>> 15
    return t >>> 0
  }
  /** The next float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }
  /** `n` lowercase hex digits. */
  hex(n: number): string {
    let out = ""
    while (out.length < n) out += this.nextU32().toString(16).padStart(8, "0")
    return out.slice(0, n)
  }
  /** One element of a non-empty array. */
  pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.next() * items.length)] as A
  }
}

/** `n` hex digits derived from the parts. @internal */
export const hexId = (n: number, ...parts: ReadonlyArray<string | number>): string => new Rng(hash32(...parts)).hex(n)

const Z95 = 1.6448536269514722

/**
 * A lognormal sample with the given median and 95th percentile, from two
 * uniform draws (Box–Muller).
 *
 * @internal
 */
export const lognormal = (median: number, p95: number, u1: number, u2: number): number => {
  if (median <= 0) return 0
  const sigma = p95 > median ? Math.log(p95 / median) / Z95 : 0
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2)
  return median * Math.exp(sigma * z)
}
