/**
 * MAGLEV as Envoy's MaglevLoadBalancer (OriginalMaglevTable) builds it: hosts sorted by their
 * hash key (`address:port`), offset = xxHash64(key) mod M, skip = xxHash64(key, seed 1)
 * mod (M − 1) + 1, and each round a host places an entry when round × weight ≥ its target
 * (which then grows by the largest normalized weight), so heavier hosts own proportionally more
 * of the prime-sized table (default 65537). Lookup is `table[hash mod M]`; retry attempt k
 * xors the hash with 2^64 − k as Envoy does.
 *
 * As with the ring, a host ejected by outlier detection keeps its entries and lookups step to
 * the next entry, so only its keys move.
 */
import { hostHashKey, mod64 } from '../hash.js';
import { xxh64 } from '../xxhash.js';
import type { Host } from './host.js';
import { normalizedWeights } from './ring-hash.js';
import type { Picker, PickerOptions } from './types.js';

/** Envoy's default table size (prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;


/** Builds the Maglev table (once per host-set change). */
export function maglev(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  if (n === 0) return { size: 0, pick: () => undefined };
  const size = options.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  const m = BigInt(size);
  const { weights, max } = normalizedWeights(hosts);
  const entries = hosts
    .map((h, i) => ({ key: hostHashKey(h.address, h.port), index: i, weight: weights[i] as number }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => ({
      ...e,
      offset: Number(xxh64(e.key) % m),
      skip: Number(xxh64(e.key, 1n) % (m - 1n)) + 1,
      target: 0,
      next: 0,
    }));
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < size; iteration++) {
    for (let i = 0; i < entries.length && filled < size; i++) {
      const e = entries[i] as (typeof entries)[number];
      if (iteration * e.weight < e.target) continue;
      e.target += max;
      // offset + skip × next stays below 2^53 for any table size Envoy accepts.
      let c = (e.offset + e.skip * e.next) % size;
      while ((table[c] as number) >= 0) {
        e.next++;
        c = (e.offset + e.skip * e.next) % size;
      }
      table[c] = e.index;
      e.next++;
      filled++;
    }
  }
  const skip = options.skipExcluded === true;
  const wrap = 0x1_0000_0000 % size;
  return {
    size: n,
    pick(hi, lo, attempt) {
      // Envoy: hash ^= ~0 - attempt + 1, i.e. 2^64 - attempt: all ones above, 2^32 - attempt below.
      const at = attempt > 0 ? mod64((hi ^ 0xffff_ffff) >>> 0, (lo ^ (0x1_0000_0000 - attempt)) >>> 0, size, wrap) : mod64(hi, lo, size, wrap);
      if (!skip) return hosts[table[at] as number];
      for (let step = 0; step < size; step++) {
        const host = hosts[table[(at + step) % size] as number] as Host;
        if (!host.outlier.ejected) return host;
      }
      return undefined;
    },
  };
}
