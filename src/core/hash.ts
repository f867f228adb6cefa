/**
 * Consistent-hash values are 64-bit, as in Envoy and grpc-js-xds: `bigint`s from xxHash64
 * (src/core/xxhash.ts). This module holds the few operations on them the balancers share.
 */

const MASK64 = (1n << 64n) - 1n;

/**
 * Folds one more policy's hash into the running one, as Envoy's HashPolicyImpl and
 * grpc-js-xds do: `rotl(h, 1) ^ next`.
 *
 * @example combineHash(1n, 2n) === 0n // rotl(1) = 2, 2 ^ 2 = 0
 */
export function combineHash(h: bigint, next: bigint): bigint {
  return (((h << 1n) | (h >> 63n)) & MASK64) ^ next;
}

/**
 * A uniformly random 64-bit hash (Envoy's `random_.random()` when no policy produced one).
 *
 * @example randomHash(Math.random) // e.g. 0x9f3c…n
 */
export function randomHash(random: () => number): bigint {
  return (BigInt(randomHalf(random)) << 32n) | BigInt(randomHalf(random));
}

/** A uniformly random 32-bit half of a hash, as a plain number. */
export function randomHalf(random: () => number): number {
  return Math.floor(random() * 0x1_0000_0000);
}

/** The upper 32 bits of a 64-bit hash, as a number (pickers compare halves, never bigints). */
export function hashHi(h: bigint): number {
  return Number(h >> 32n);
}

/** The lower 32 bits of a 64-bit hash, as a number. */
export function hashLo(h: bigint): number {
  return Number(h & 0xffff_ffffn);
}

/**
 * (hi · 2^32 + lo) mod m for m < 2^26 without bigints (Maglev's `hash % table_size`,
 * Envoy's `hash % 100` for the priority).
 *
 * @example mod64(1, 0, 100) === 2 ** 32 % 100
 */
export function mod64(hi: number, lo: number, m: number, twoTo32ModM = 0x1_0000_0000 % m): number {
  return ((hi % m) * twoTo32ModM + (lo % m)) % m;
}

/** The key Envoy hashes a host by: `address()->asString()` — `10.0.0.7:9080`, `[::1]:9080`. */
export function hostHashKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
