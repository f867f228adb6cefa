/**
 * ROUND_ROBIN. Equal weights: a rotating index. Unequal weights: interleaved weighted round
 * robin — hosts sorted by weight descending; round r serves every host with weight ≥ r (a prefix
 * of the sorted list), rounds go 1..maxWeight. Each host gets exactly its weight per cycle, with
 * O(1) amortized picks and no allocation (smooth WRR would be O(n) per pick).
 */
import type { Host } from './host.js';
import { uniformWeights, type Picker, type PickerOptions } from './types.js';

/** Builds a round-robin picker; the start index is random so clients don't move in lockstep. */
export function roundRobin(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  if (n === 0) return { size: 0, pick: () => undefined };
  let next = Math.floor(options.random() * n);
  if (uniformWeights(hosts)) {
    return {
      size: n,
      pick() {
        const h = hosts[next] as Host;
        next = next + 1 === n ? 0 : next + 1;
        return h;
      },
    };
  }
  const sorted = [...hosts].sort((a, b) => b.weight - a.weight);
  const weights = sorted.map((h) => Math.max(1, Math.round(h.weight)));
  const maxWeight = weights[0] as number;
  /** Number of hosts with weight ≥ r. */
  const eligible = (r: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((weights[mid] as number) >= r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let round = 1;
  let limit = n;
  next = next % limit;
  return {
    size: n,
    pick() {
      if (next >= limit) {
        next = 0;
        round = round >= maxWeight ? 1 : round + 1;
        limit = eligible(round);
      }
      return sorted[next++] as Host;
    },
  };
}
