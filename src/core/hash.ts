/**
 * Hashing for consistent-hash load balancing: a fast 53-bit string hash (cyrb53, public domain)
 * so ring positions and request keys fit a JS number exactly, with no BigInt on the hot path.
 */

/** 2^53: hashes are integers in [0, HASH_SPACE). */
export const HASH_SPACE = 2 ** 53;

/**
 * 53-bit hash of a string (cyrb53). Deterministic across processes, so two mesh clients agree on
 * which endpoint a key maps to.
 *
 * @example hash53('user-42') === hash53('user-42') // true
 */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Combines two hashes order-dependently, as Envoy folds several hash policies
 * (`rotl(h, 1) ^ next`), but on 53-bit numbers.
 */
export function combineHash(a: number, b: number): number {
  return hash53(`${a}|${b}`);
}
