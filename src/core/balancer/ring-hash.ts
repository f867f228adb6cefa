/**
 * RING_HASH exactly as Envoy's RingHashLoadBalancer and grpc-js-xds's ring_hash build it, so a
 * meshlet client, an Envoy and a stock gRPC client send one key to one host:
 *
 * - normalized weights w/Σw; scale = min(ceil(minNormalized × minRingSize) / minNormalized,
 *   maxRingSize); hosts in EDS order each get points while the running count stays below the
 *   running target Σ scale × w (so equal weights give every host ceil(minRingSize / n) points);
 * - point j of a host hashes `"<address:port>_<j>"` with xxHash64; the ring is sorted by hash;
 * - lookup is Envoy's ported ketama search (the first point ≥ the key, wrapping to 0); a retry
 *   attempt k moves k points on.
 *
 * Hosts ejected by outlier detection stay on the ring and are stepped over (as grpc-js-xds
 * steps over a TRANSIENT_FAILURE endpoint), so an ejection moves only that host's keys; hosts
 * leaving EDS rebuild the ring, as both Envoy and gRPC do.
 */
import { hostHashKey } from '../hash.js';
import { xxh64 } from '../xxhash.js';
import type { Host } from './host.js';
import type { Picker, PickerOptions } from './types.js';

/** Envoy's defaults. */
export const DEFAULT_RING = { minRingSize: 1024, maxRingSize: 8_388_608 } as const;

/** Normalized weights (Envoy `normalizeHostWeights`), with the smallest and largest. */
export function normalizedWeights(hosts: readonly Host[]): { weights: number[]; min: number; max: number } {
  let sum = 0;
  for (const h of hosts) sum += h.weight > 0 ? h.weight : 1;
  let min = 1;
  let max = 0;
  const weights = hosts.map((h) => {
    const w = (h.weight > 0 ? h.weight : 1) / sum;
    if (w < min) min = w;
    if (w > max) max = w;
    return w;
  });
  return { weights, min, max };
}

/** Builds a ring over the hosts (done once per host-set change). */
export function ringHash(hosts: readonly Host[], options: PickerOptions): Picker {
  const n = hosts.length;
  if (n === 0) return { size: 0, pick: () => undefined };
  const { minRingSize, maxRingSize } = options.ringHash ?? DEFAULT_RING;
  const { weights, min } = normalizedWeights(hosts);
  const scale = Math.min(Math.ceil(min * minRingSize) / min, maxRingSize);
  const points: Array<{ hash: bigint; host: number }> = [];
  let current = 0;
  let target = 0;
  for (let i = 0; i < n; i++) {
    const h = hosts[i] as Host;
    const key = hostHashKey(h.address, h.port);
    target += scale * (weights[i] as number);
    for (let j = 0; current < target; j++, current++) points.push({ hash: xxh64(`${key}_${j}`), host: i });
  }
  points.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const size = points.length;
  // The 64-bit points as two 32-bit halves: reading a BigUint64Array boxes a bigint per read,
  // which made a lookup ~10× slower; the search compares (hi, lo) pairs of plain numbers.
  const hi = new Uint32Array(size);
  const lo = new Uint32Array(size);
  const owners = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    const p = points[i] as { hash: bigint; host: number };
    hi[i] = Number(p.hash >> 32n);
    lo[i] = Number(p.hash & 0xffff_ffffn);
    owners[i] = p.host;
  }
  const skip = options.skipExcluded === true;
  return {
    size: n,
    pick(hHi, hLo, attempt) {
      let at = ketama(hi, lo, hHi, hLo);
      if (attempt > 0) at = (at + attempt) % size;
      if (!skip) return hosts[owners[at] as number];
      for (let step = 0; step < size; step++) {
        const host = hosts[owners[(at + step) % size] as number] as Host;
        if (!host.outlier.ejected) return host;
      }
      return undefined;
    },
  };
}

/**
 * Envoy's RingHashLoadBalancer::Ring::chooseHost search (ported ketama_get_server) for the key
 * (hHi, hLo) over points stored as 32-bit halves.
 */
function ketama(hi: Uint32Array, lo: Uint32Array, hHi: number, hLo: number): number {
  const size = hi.length;
  let lowp = 0;
  let highp = size;
  for (;;) {
    const midp = (lowp + highp) >> 1; // both ≥ 0 here: the same as Envoy's integer division
    if (midp === size) return 0;
    const mHi = hi[midp] as number;
    const mLo = lo[midp] as number;
    const midLess = mHi < hHi || (mHi === hHi && mLo < hLo); // midval < h
    if (!midLess) {
      // h <= midval: done when h > the previous point (or than 0 for the first).
      const pHi = midp === 0 ? 0 : (hi[midp - 1] as number);
      const pLo = midp === 0 ? 0 : (lo[midp - 1] as number);
      if (hHi > pHi || (hHi === pHi && hLo > pLo)) return midp;
      highp = midp - 1;
    } else lowp = midp + 1;
    if (lowp > highp) return 0;
  }
}
