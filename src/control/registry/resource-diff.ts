/**
 * The change between two resource lists, found by object identity: the store keeps the objects
 * of resources that did not change, so an unchanged resource costs one comparison. Shared by the
 * config registry, the incremental translator and the analysis.
 */
import { resourceKey, type IstioResource } from '../../config/types.js';

/** (key, before, after) of one resource that was added, changed or removed. */
export type ResourceChange = [string, IstioResource | undefined, IstioResource | undefined];

/**
 * (key, before, after) for every resource that differs between two lists sorted by key, found
 * by identity first: unchanged resources are the same objects and cost one comparison.
 *
 * @example
 * ```ts
 * for (const [key, before, after] of diffResources(previous, store.list())) index.set(key, after);
 * ```
 */
export function diffResources(prev: readonly IstioResource[], next: readonly IstioResource[]): ResourceChange[] {
  // The config source and the translator diff the same two lists in one build: compute it once.
  const hit = memo.get(next);
  if (hit?.prev === prev) return hit.out;
  const out = diffSorted(prev, next);
  memo.set(next, { prev, out });
  return out;
}

/** Keyed by the newer list, so an entry lives only as long as that list (callers must not mutate the result). */
const memo = new WeakMap<readonly IstioResource[], { prev: readonly IstioResource[]; out: ResourceChange[] }>();

function diffSorted(prev: readonly IstioResource[], next: readonly IstioResource[]): ResourceChange[] {
  const out: ResourceChange[] = [];
  let i = 0;
  let j = 0;
  let last = '';
  while (i < prev.length || j < next.length) {
    const a = prev[i];
    const b = next[j];
    if (a !== undefined && a === b) {
      i++;
      j++;
      continue;
    }
    const ka = a !== undefined ? resourceKey(a) : undefined;
    const kb = b !== undefined ? resourceKey(b) : undefined;
    if (kb !== undefined && (ka === undefined || kb < ka)) {
      out.push([kb, undefined, b]);
      j++;
    } else if (ka !== undefined && (kb === undefined || ka < kb)) {
      out.push([ka, a, undefined]);
      i++;
    } else {
      out.push([ka!, a, b]);
      i++;
      j++;
    }
    const k = out[out.length - 1]![0];
    if (k <= last && out.length > 1) return diffByMap(prev, next);
    last = k;
  }
  return out;
}

/** The same diff for lists that are not sorted by key. */
function diffByMap(prev: readonly IstioResource[], next: readonly IstioResource[]): ResourceChange[] {
  const before = new Map(prev.map((r) => [resourceKey(r), r]));
  const out: ResourceChange[] = [];
  const seen = new Set<string>();
  for (const r of next) {
    const k = resourceKey(r);
    seen.add(k);
    const old = before.get(k);
    if (old !== r) out.push([k, old, r]);
  }
  for (const [k, r] of before) if (!seen.has(k)) out.push([k, r, undefined]);
  return out;
}
