/** RANDOM: uniform, or weighted through cumulative weights and a binary search. */
import type { Host } from './host.js';
import { cumulativeWeights, searchCumulative, uniformWeights, type Picker, type PickerOptions } from './types.js';

/** Builds a (weighted) random picker. */
export function randomPicker(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  const random = options.random;
  if (n === 0) return { size: 0, pick: () => undefined };
  if (uniformWeights(hosts)) return { size: n, pick: () => hosts[Math.floor(random() * n)] };
  const cum = cumulativeWeights(hosts);
  const total = cum[n - 1] as number;
  return { size: n, pick: () => hosts[searchCumulative(cum, random() * total)] };
}
