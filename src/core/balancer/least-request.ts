/**
 * LEAST_REQUEST as Envoy does it: draw `choiceCount` (default 2) random hosts and take the one
 * with the fewest active requests ("power of two choices"), which avoids the herd effect of a
 * global minimum. With unequal weights the candidates are drawn weighted (a cheap stand-in for
 * Envoy's EDF weight/(active+1) schedule).
 */
import type { Host } from './host.js';
import { cumulativeWeights, searchCumulative, uniformWeights, type Picker, type PickerOptions } from './types.js';

/** Builds a least-request picker reading each host's live `active` counter. */
export function leastRequest(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  const random = options.random;
  const choices = Math.max(1, options.choiceCount ?? 2);
  if (n === 0) return { size: 0, pick: () => undefined };
  if (n === 1) return { size: 1, pick: () => hosts[0] };
  const cum = uniformWeights(hosts) ? undefined : cumulativeWeights(hosts);
  const total = cum ? (cum[n - 1] as number) : n;
  const draw = cum ? () => hosts[searchCumulative(cum, random() * total)] as Host : () => hosts[Math.floor(random() * n)] as Host;
  return {
    size: n,
    pick() {
      let best = draw();
      for (let i = 1; i < choices; i++) {
        const c = draw();
        if (c.active < best.active) best = c;
      }
      return best;
    },
  };
}
