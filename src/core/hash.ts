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
  const hi = BigInt(Math.floor(random() * 0x1_0000_0000));
  const lo = BigInt(Math.floor(random() * 0x1_0000_0000));
  return (hi << 32n) | lo;
}

/** The key Envoy hashes a host by: `address()->asString()` — `10.0.0.7:9080`, `[::1]:9080`. */
export function hostHashKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
