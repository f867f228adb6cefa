/**
 * xxHash64, the hash Envoy (`HashUtil::xxHash64`) and grpc-js-xds use for hash policies, ring
 * hash points and Maglev permutations, from `xxhash-wasm` (the package grpc-js-xds itself
 * uses; measured against `@node-rs/xxhash`: ~0.2 µs vs ~0.4 µs per short key, 7 ms vs 17–36 ms
 * to load, one package instead of a native binary per platform — see bench/RESULTS.md).
 *
 * WebAssembly compiles asynchronously, so the hasher is loaded once per process before the first
 * engine needs it: `createMesh()` awaits {@link loadXxhash}; code that builds an engine by hand
 * (tests, benches) awaits it too. The loaded instance is immutable and shared.
 */
import xxhash from 'xxhash-wasm';

type Api = Awaited<ReturnType<typeof xxhash>>;

const KEY = Symbol.for('meshlet.xxhash');
// Shared across the ESM and CJS copies of the package (one WebAssembly instance per process).
const holder = globalThis as typeof globalThis & { [KEY]?: { api?: Api; loading?: Promise<Api> } };

/**
 * Loads the WebAssembly hasher (idempotent; ~7 ms the first time).
 *
 * @example
 * ```ts
 * await loadXxhash();
 * xxh64('user-42'); // 64-bit bigint, the same value Envoy computes
 * ```
 */
export async function loadXxhash(): Promise<void> {
  const slot = (holder[KEY] ??= {});
  if (slot.api) return;
  slot.loading ??= xxhash();
  slot.api = await slot.loading;
}

/**
 * xxHash64 of a string's UTF-8 bytes with a seed (Envoy's `HashUtil::xxHash64(key, seed)`).
 * Throws when {@link loadXxhash} has not completed (a programming error: createMesh loads it).
 *
 * @example xxh64('hello') === 0x26c7827d889f6da3n
 */
export function xxh64(input: string, seed = 0n): bigint {
  const api = holder[KEY]?.api;
  if (!api) throw new Error('meshlet: xxHash64 is not loaded yet; await loadXxhash() before building an engine');
  return api.h64(input, seed);
}

/** Lower-case 16-digit hex of a 64-bit value (Envoy's `Hex::uint64ToHex`). */
export function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}
