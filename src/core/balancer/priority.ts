/**
 * Envoy's priority and locality load distribution over a cluster's hosts, rebuilt whenever the
 * host set or its health (EDS, outlier ejection) changes:
 *
 * - level health = min(100, 1.4 × 100 × healthy / total) (overprovisioning factor 1.4);
 * - load goes top-down: each level takes min(remaining, health × 100 / normalizedTotal), where
 *   normalizedTotal = min(100, Σ health); rounding leftovers go to the first available level;
 * - a level is in panic when normalizedTotal < 100 and under the cluster's healthy_panic_threshold
 *   (Envoy's default 50%; Istio writes minHealthPercent, default 0, for clusters with outlier
 *   detection) of its hosts are healthy: it then balances over all its hosts; with no healthy
 *   host anywhere, load follows host counts and every level is in panic — unless the
 *   threshold is 0, which disables panic (then P0 takes the load and finds no host: 503 UH);
 * - with locality weighting (non-hash policies), a locality is chosen by
 *   weight × min(1, 1.4 × healthy / total), then a host inside it.
 */
import type { LbPolicy } from '../model/index.js';
import type { Host } from './host.js';
import { buildPicker, isHashPolicy } from './index.js';
import { searchCumulative, type Picker, type PickerOptions } from './types.js';
import { mod64 } from '../hash.js';

/** Envoy's default overprovisioning factor (140%). */
export const OVERPROVISIONING = 1.4;
/** Envoy's default healthy panic threshold (percent). */
export const PANIC_THRESHOLD = 50;

interface Level {
  readonly priority: number;
  readonly panic: boolean;
  readonly picker: Picker;
  /** Locality-weighted levels: cumulative effective weights and one picker per locality. */
  readonly localities?: { readonly cum: Float64Array; readonly pickers: readonly Picker[] };
}

/** Diagnostics of a plan (tests, stats). */
export interface LevelInfo {
  readonly priority: number;
  readonly load: number;
  readonly panic: boolean;
  readonly hosts: number;
}

/** An immutable priority/locality plan; `pick` is synchronous. */
export class LoadPlan {
  private readonly cumLoad: Uint8Array;

  constructor(
    private readonly levels: readonly Level[],
    loads: readonly number[],
    private readonly hashed: boolean,
    private readonly random: () => number,
    readonly info: readonly LevelInfo[],
  ) {
    this.cumLoad = new Uint8Array(loads.length);
    let sum = 0;
    for (let i = 0; i < loads.length; i++) this.cumLoad[i] = sum += loads[i] as number;
  }

  /** Picks a host; undefined when the cluster has none. */
  pick(hi: number, lo: number, attempt: number): Host | undefined {
    const levels = this.levels;
    let level = levels[0];
    if (levels.length > 1) {
      // Hash policies choose the level from the hash too (Envoy's choosePriority: hash % 100).
      const r = this.hashed ? mod64(hi, lo, 100) : Math.floor(this.random() * 100);
      const cum = this.cumLoad;
      let i = 0;
      while (i < cum.length - 1 && (cum[i] as number) <= r) i++;
      level = levels[i];
    }
    if (!level) return undefined;
    const loc = level.localities;
    if (loc) {
      const total = loc.cum[loc.cum.length - 1] as number;
      if (total > 0) return loc.pickers[searchCumulative(loc.cum, this.random() * total)]?.pick(hi, lo, attempt);
    }
    return level.picker.pick(hi, lo, attempt);
  }
}

function availability(healthy: number, total: number): number {
  return total === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING * 100 * healthy) / total));
}

/** Builds the plan for a cluster's current hosts; `panicThreshold` in percent (0 disables panic). */
export function buildLoadPlan(hosts: readonly Host[], policy: LbPolicy, localityWeighted: boolean, options: PickerOptions, panicThreshold = PANIC_THRESHOLD): LoadPlan {
  const byPriority = new Map<number, Host[]>();
  for (const h of hosts) {
    let list = byPriority.get(h.priority);
    if (!list) byPriority.set(h.priority, (list = []));
    list.push(h);
  }
  const priorities = [...byPriority.keys()].sort((a, b) => a - b);
  const groups = priorities.map((p) => {
    const all = byPriority.get(p) as Host[];
    const healthy = all.filter((h) => !h.excluded);
    return { priority: p, all, healthy, health: availability(healthy.length, all.length) };
  });
  const normalizedTotal = Math.min(100, groups.reduce((s, g) => s + g.health, 0));
  const loads: number[] = [];
  const panics: boolean[] = [];
  if (normalizedTotal === 0 && panicThreshold === 0) {
    // Envoy's corner case: panic disabled and nothing available — all load to P0, no panic.
    for (const g of groups) {
      loads.push(loads.length === 0 ? 100 : 0);
      panics.push(false);
    }
  } else if (normalizedTotal === 0) {
    // Total panic: every level balances over all hosts, load by host count.
    const total = hosts.length || 1;
    let remaining = 100;
    for (const g of groups) {
      const l = Math.min(remaining, Math.floor((100 * g.all.length) / total));
      loads.push(l);
      remaining -= l;
      panics.push(true);
    }
    if (loads.length > 0) loads[0] = (loads[0] as number) + remaining;
  } else {
    let remaining = 100;
    let firstAvailable = -1;
    for (const g of groups) {
      const l = Math.min(remaining, Math.floor((g.health * 100) / normalizedTotal));
      if (g.health > 0 && firstAvailable < 0) firstAvailable = loads.length;
      loads.push(l);
      remaining -= l;
      panics.push(normalizedTotal < 100 && g.all.length > 0 && (100 * g.healthy.length) / g.all.length < panicThreshold);
    }
    if (firstAvailable >= 0) loads[firstAvailable] = (loads[firstAvailable] as number) + remaining;
  }
  const hashed = isHashPolicy(policy);
  const levels: Level[] = groups.map((g, i) => {
    const panic = panics[i] as boolean;
    // Hash policies keep ejected hosts in the ring/table and step over them (only their keys
    // move); EDS-unhealthy hosts are left out, as Envoy and gRPC build over healthy endpoints.
    const set = panic ? g.all : hashed ? g.all.filter((h) => !h.edsUnhealthy) : g.healthy;
    const picker = buildPicker(policy, set, hashed && !panic ? { ...options, skipExcluded: true } : options);
    if (!localityWeighted || hashed) return { priority: g.priority, panic, picker };
    return { priority: g.priority, panic, picker, localities: localityPickers(g.all, set, policy, options) };
  });
  const info = groups.map((g, i) => ({ priority: g.priority, load: loads[i] as number, panic: panics[i] as boolean, hosts: g.all.length }));
  return new LoadPlan(levels, loads, hashed, options.random, info);
}

function localityKey(h: Host): string {
  return `${h.locality.region}/${h.locality.zone}/${h.locality.subZone}`;
}

function localityPickers(all: readonly Host[], usable: readonly Host[], policy: LbPolicy, options: PickerOptions): { cum: Float64Array; pickers: Picker[] } {
  const totals = new Map<string, number>();
  for (const h of all) totals.set(localityKey(h), (totals.get(localityKey(h)) ?? 0) + 1);
  const groups = new Map<string, Host[]>();
  for (const h of usable) {
    const k = localityKey(h);
    let list = groups.get(k);
    if (!list) groups.set(k, (list = []));
    list.push(h);
  }
  const pickers: Picker[] = [];
  const cum = new Float64Array(groups.size);
  let sum = 0;
  let i = 0;
  for (const [k, list] of groups) {
    const total = totals.get(k) ?? list.length;
    const healthy = list.filter((h) => !h.excluded).length || list.length; // panic sets count all
    const effective = (list[0] as Host).localityWeight * Math.min(1, (OVERPROVISIONING * healthy) / total);
    pickers.push(buildPicker(policy, list, options));
    cum[i++] = sum += effective;
  }
  return { cum, pickers };
}
