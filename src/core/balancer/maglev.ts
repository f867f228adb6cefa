/**
 * MAGLEV (Google's Maglev paper, Envoy's MaglevLoadBalancer): a lookup table of prime size
 * (default 65537) filled by each host's permutation (offset, skip) in turns proportional to its
 * weight. Lookup is `table[hash % size]`; far less state than a ring, similar disruption.
 */
import { hash53 } from '../hash.js';
import type { Host } from './host.js';
import type { Picker, PickerOptions } from './types.js';

/** Envoy's default table size (prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

/** Builds the Maglev table (once per host-set change). */
export function maglev(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  if (n === 0) return { size: 0, pick: () => undefined };
  const size = options.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  const offsets = new Uint32Array(n);
  const skips = new Uint32Array(n);
  const nexts = new Uint32Array(n);
  const raw = hosts.map((h) => Math.max(0, h.weight));
  // All-zero weights would never fill the table: treat them as equal.
  const weights = raw.some((w) => w > 0) ? raw : raw.map(() => 1);
  const maxWeight = Math.max(...weights);
  for (let i = 0; i < n; i++) {
    const key = (hosts[i] as Host).key;
    offsets[i] = hash53(key, 0x1234) % size;
    skips[i] = (hash53(key, 0x5678) % (size - 1)) + 1;
  }
  const table = new Int32Array(size).fill(-1);
  let filled = 0;
  // Weighted Maglev (Envoy): in iteration k a host places floor(k·w/max) − floor((k−1)·w/max)
  // entries, so heavier hosts own proportionally more of the table.
  for (let iteration = 1; filled < size; iteration++) {
    for (let i = 0; i < n && filled < size; i++) {
      const share = (weights[i] as number) / maxWeight;
      const placed = Math.floor(iteration * share) - Math.floor((iteration - 1) * share);
      for (let k = 0; k < placed && filled < size; k++) {
        let c = ((offsets[i] as number) + (nexts[i] as number) * (skips[i] as number)) % size;
        while ((table[c] as number) >= 0) {
          nexts[i] = (nexts[i] as number) + 1;
          c = ((offsets[i] as number) + (nexts[i] as number) * (skips[i] as number)) % size;
        }
        table[c] = i;
        nexts[i] = (nexts[i] as number) + 1;
        filled++;
      }
    }
  }
  return {
    size: n,
    pick(hash, attempt) {
      return hosts[table[(hash + attempt) % size] as number];
    },
  };
}
