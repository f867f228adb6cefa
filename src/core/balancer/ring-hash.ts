/**
 * RING_HASH, Ketama style as in Envoy's RingHashLoadBalancer: each host gets a number of points
 * proportional to its weight, hashed from `address:port_i`; the ring holds at least
 * minRingSize points (Envoy defaults 1024 / 8M), at most ~maxRingSize, ≥ 1 point per host.
 * Lookup: first point ≥ request hash (binary search), wrapping. Retries walk to later points.
 */
import { hash53 } from '../hash.js';
import type { Host } from './host.js';
import type { Picker, PickerOptions } from './types.js';

/** Envoy's defaults. */
export const DEFAULT_RING = { minRingSize: 1024, maxRingSize: 8_388_608 } as const;

/** Builds a ring over the hosts (done once per host-set change). */
export function ringHash(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  if (n === 0) return { size: 0, pick: () => undefined };
  const { minRingSize, maxRingSize } = options.ringHash ?? DEFAULT_RING;
  const positive = hosts.map((h) => h.weight).filter((w) => w > 0);
  const minWeight = positive.length > 0 ? Math.min(...positive) : 1;
  const units = hosts.map((h) => (h.weight > 0 ? h.weight / minWeight : 1));
  const totalUnits = units.reduce((a, b) => a + b, 0);
  // Points per weight unit. Envoy derives it from the exact host count, so removing one host
  // changes every host's point count and ~8% of keys move between survivors. We derive it from
  // the host count rounded down to a power of two: the ring stays within [min, 2·min] and a
  // removal (within the same power-of-two band) moves only the removed host's keys.
  const band = 2 ** Math.floor(Math.log2(Math.max(1, totalUnits)));
  const perUnit = Math.max(1, Math.min(Math.ceil(minRingSize / band), Math.floor(maxRingSize / totalUnits)));
  const points: Array<{ hash: number; host: number }> = [];
  for (let i = 0; i < n; i++) {
    const count = Math.max(1, Math.round((units[i] as number) * perUnit));
    const key = (hosts[i] as Host).key;
    for (let j = 0; j < count; j++) points.push({ hash: hash53(`${key}_${j}`), host: i });
  }
  points.sort((a, b) => a.hash - b.hash || a.host - b.host);
  const size = points.length;
  const hashes = new Float64Array(size);
  const owners = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    hashes[i] = (points[i] as { hash: number }).hash;
    owners[i] = (points[i] as { host: number }).host;
  }
  return {
    size: n,
    pick(hash, attempt) {
      if (size === 0) return undefined;
      let lo = 0;
      let hi = size;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((hashes[mid] as number) < hash) lo = mid + 1;
        else hi = mid;
      }
      return hosts[owners[(lo + attempt) % size] as number];
    },
  };
}
