/** The picker strategy interface every load-balancing policy implements. */
import type { Host } from './host.js';

/**
 * An immutable picker over a fixed host list, rebuilt when the list changes. `pick` is
 * synchronous and allocation-free. `hi`/`lo` are the two 32-bit halves of the 64-bit request
 * hash (consistent-hash policies; others ignore them: plain numbers, so a pick creates no
 * bigint) and `attempt` counts re-picks for the same attempt (ring walks on to the next entry,
 * others simply draw again).
 */
export interface Picker {
  readonly size: number;
  pick(hi: number, lo: number, attempt: number): Host | undefined;
}

/** What a picker builder gets: hosts of one priority (or locality), random, policy knobs. */
export interface PickerOptions {
  readonly random: () => number;
  readonly ringHash?: { readonly minRingSize: number; readonly maxRingSize: number };
  readonly choiceCount?: number;
  readonly maglevTableSize?: number;
  /** Hash policies: the hosts include ejected ones, which lookups step over (see ring-hash.ts). */
  readonly skipExcluded?: boolean;
}

/** The empty picker. */
export const EMPTY_PICKER: Picker = { size: 0, pick: () => undefined };

/** Whether every host has the same weight (enables the unweighted fast paths). */
export function uniformWeights(hosts: readonly Host[]): boolean {
  const w = hosts[0]?.weight;
  for (let i = 1; i < hosts.length; i++) if ((hosts[i] as Host).weight !== w) return false;
  return true;
}

/** Cumulative weights (for weighted random), as a Float64Array. */
export function cumulativeWeights(hosts: readonly Host[]): Float64Array {
  const out = new Float64Array(hosts.length);
  let sum = 0;
  for (let i = 0; i < hosts.length; i++) out[i] = sum += Math.max(0, (hosts[i] as Host).weight);
  return out;
}

/** Index of the first cumulative weight > r (binary search). */
export function searchCumulative(cum: Float64Array, r: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cum[mid] as number) > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
