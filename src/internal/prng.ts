/**
 * A small seeded pseudo-random source (xoshiro128**, seeded through splitmix32), for tests that
 * must replay the same fault and routing decisions run after run. Not for cryptography.
 */

/**
 * A random source in [0, 1) whose position can be reset to a known state.
 *
 * @example
 * ```ts
 * const r: SeededRandom = seededRandom(1);
 * createMesh({ random: r });
 * ```
 */
export interface SeededRandom {
  /** The next number in [0, 1) (what `MeshOptions.random` takes). */
  (): number;
  /** Restarts the sequence from `seed` (a number or any string, hashed). */
  reseed(seed: number | string): void;
}

/**
 * A 32-bit seed: an integer as is, a string through FNV-1a.
 *
 * @example
 * ```ts
 * hashSeed('productpage'); // a stable 32-bit number
 * ```
 */
export function hashSeed(seed: number | string): number {
  if (typeof seed === 'number' && Number.isFinite(seed)) return seed >>> 0 ^ Math.floor(seed / 0x1_0000_0000) >>> 0;
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A seeded random source: the same seed gives the same sequence on every run and platform.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // always the same first number for seed 42
 * random.reseed('productpage#3'); // a known state again
 * ```
 */
export function seededRandom(seed: number | string): SeededRandom {
  const s = new Uint32Array(4);
  const reseed = (value: number | string): void => {
    // splitmix32 fills the four state words, so no seed leaves xoshiro's state all zero.
    let x = hashSeed(value);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  };
  const next = (): number => {
    // xoshiro128** (Blackman & Vigna, prng.di.unimi.it/xoshiro128starstar.c).
    const s0 = s[0] as number, s1 = s[1] as number, s2 = s[2] as number, s3 = s[3] as number;
    const r = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    let n2 = (s2 ^ s0) >>> 0;
    let n3 = (s3 ^ s1) >>> 0;
    const n1 = (s1 ^ n2) >>> 0;
    const n0 = (s0 ^ n3) >>> 0;
    n2 = (n2 ^ t) >>> 0;
    n3 = rotl(n3, 11);
    s[0] = n0; s[1] = n1; s[2] = n2; s[3] = n3;
    return r / 0x1_0000_0000;
  };
  reseed(seed);
  return Object.assign(next, { reseed });
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
