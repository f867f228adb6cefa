/**
 * Incremental translation: a change re-translates only the services it touches.
 *
 * The unit of work is one service (hostname): its listener claims, route configurations,
 * clusters and load assignments, computed by the same per-service functions the full
 * translation runs (serviceListeners, serviceRouteConfigurations, servicePlans, buildCluster,
 * buildLoadAssignment). While a unit is computed the context records every lookup it makes
 * (which service, which host's VirtualService or DestinationRule, which delegate, which bare
 * name owner — see context.ts); a change then names the lookups whose answers may differ, and
 * only the units that made one of them are computed again. Everything a unit reads goes through
 * those lookups, so the result equals a full translation (test/unit/translate/incremental.test.ts
 * checks it after every step of random change sequences).
 *
 * Inputs are diffed by object identity: the store keeps the objects of resources that did not
 * change (a key with a new object counts as changed), as does the registry for announcements.
 */
import { resourceKey, type DestinationRule, type IstioResource, type ServiceEntry, type VirtualService, type WorkloadEntry } from '../../config/types.js';
import { TYPE_URL, type ResourceTypeUrl } from '../../xds/type-urls.js';
import type { Announcement, ServiceModel } from '../model.js';
import { ServiceIndex, type ServiceChange } from '../service-index.js';
import { buildCluster } from './cds.js';
import { bareNameOwner, type ContextRead, type TranslateContext } from './context.js';
import { buildLoadAssignment } from './eds.js';
import { boundToMesh, destinationRuleHost, RuleIndex, virtualServiceHosts } from './host-index.js';
import type { GeneratedResource, TranslateOutput } from './index.js';
import { apiListener, serviceListeners, type ListenerClaim } from './lds.js';
import { hostMatch, shortAliases } from './names.js';
import { servicePlans } from './plan.js';
import { serviceRouteConfigurations } from './rds.js';

/** Changes of one resource type: resources to add or replace, names to remove. */
export interface TypeDelta {
  upsert: GeneratedResource[];
  remove: string[];
}

/** What changed per type URL since the previous update (types without changes are absent). */
export type TranslateDelta = Map<ResourceTypeUrl, TypeDelta>;

/** The first update yields everything; later ones only what changed. */
export type IncrementalResult = { kind: 'full'; output: TranslateOutput } | { kind: 'delta'; delta: TranslateDelta };

interface Unit {
  reads: string[];
  claims: { canonical: ListenerClaim[]; aliases: ListenerClaim[] };
  routes: string[];
  clusters: string[];
  endpoints: string[];
}

/** A claim on a listener name: the winner is the least (phase, hostname, position). */
interface Claim {
  phase: 0 | 1;
  index: number;
  route: string;
}

const readKey = (read: ContextRead, key: string): string => `${read}\0${key}`;
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Keeps the translator's state between updates and turns each new (resources, announcements)
 * pair into the change of the xDS output.
 *
 * @example
 * ```ts
 * const t = new IncrementalTranslator('cluster.local');
 * let snap = Snapshot.build((t.update(store.list(), registry.list()) as { output: TranslateOutput }).output);
 * const r = t.update(store.list(), registry.list()); // after one change
 * if (r.kind === 'delta') snap = Snapshot.patch(snap, r.delta);
 * ```
 */
export class IncrementalTranslator {
  private resources: readonly IstioResource[] = [];
  private announcements: readonly Announcement[] = [];
  private readonly announcedByNode = new Map<string, Announcement>();
  private readonly services: ServiceIndex;
  private readonly rules: RuleIndex;
  private readonly bareHosts = new Map<string, Set<string>>();
  private readonly owners = new Map<string, string>();
  private readonly units = new Map<string, Unit>();
  /** Read key → hostnames of the units that made that read. */
  private readonly readers = new Map<string, Set<string>>();
  private readonly claims = new Map<string, Map<string, Claim>>();
  private readonly winners = new Map<string, string>();
  private readonly ctx: TranslateContext;
  /** Every service, kept sorted by hostname on each change; `listed` is the copy handed out. */
  private readonly sorted: ServiceModel[] = [];
  private listed: ServiceModel[] | undefined = [];
  private started = false;

  constructor(readonly domainSuffix: string) {
    this.services = new ServiceIndex(domainSuffix);
    this.rules = new RuleIndex(domainSuffix);
    this.ctx = {
      domainSuffix,
      services: [],
      service: (h) => this.services.get(h),
      bareNameOwner: (n) => this.owners.get(n),
      rules: this.rules,
    };
  }

  /** Every service of the latest update, sorted by hostname. */
  serviceList(): ServiceModel[] {
    return (this.listed ??= this.sorted.slice());
  }

  /** The last update's changes: resources (key, before, after) and services, for consumers that follow deltas too. */
  lastChanges: { since: readonly IstioResource[]; resources: Array<[string, IstioResource | undefined, IstioResource | undefined]>; services: ServiceChange[] } = { since: [], resources: [], services: [] };

  private placeService(hostname: string, after: ServiceModel | undefined): void {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]!.hostname < hostname) lo = mid + 1;
      else hi = mid;
    }
    const here = this.sorted[lo]?.hostname === hostname;
    if (after && here) this.sorted[lo] = after;
    else if (after) this.sorted.splice(lo, 0, after);
    else if (here) this.sorted.splice(lo, 1);
    this.listed = undefined;
  }

  /**
   * Brings the state up to `resources` (sorted by `Kind/namespace/name`, one per key, as the
   * ConfigStore contract lists them; resources that did not change must be the same objects)
   * and `announcements` (one per node id).
   */
  update(resources: readonly IstioResource[], announcements: readonly Announcement[]): IncrementalResult {
    const dirtyReads = new Set<string>();
    const dirtyUnits = new Set<string>();
    const since = this.resources;
    const changedResources = diffResources(since, resources);
    for (const [key, before, after] of changedResources) this.applyResource(key, before, after, dirtyReads);
    this.resources = resources;
    if (announcements !== this.announcements) {
      const seen = new Set<string>();
      for (const a of announcements) {
        seen.add(a.nodeId);
        if (this.announcedByNode.get(a.nodeId) !== a) {
          this.announcedByNode.set(a.nodeId, a);
          this.services.setAnnouncement(a.nodeId, a);
        }
      }
      for (const nodeId of [...this.announcedByNode.keys()]) {
        if (seen.has(nodeId)) continue;
        this.announcedByNode.delete(nodeId);
        this.services.setAnnouncement(nodeId, undefined);
      }
      this.announcements = announcements;
    }
    const changedServices = this.services.flush();
    this.lastChanges = { since, resources: changedResources, services: changedServices };
    const bareNames = new Set<string>();
    for (const change of changedServices) {
      dirtyUnits.add(change.hostname);
      dirtyReads.add(readKey('svc', change.hostname));
      this.placeService(change.hostname, change.after);
      this.updateBareName(change.hostname, change.before, change.after, bareNames);
    }
    // Owners once every membership is current: several services sharing a name may change at once.
    for (const name of bareNames) this.updateOwner(name, dirtyReads);
    for (const read of dirtyReads) for (const h of this.readers.get(read) ?? []) dirtyUnits.add(h);

    const full = !this.started;
    this.started = true;
    const out = new Map<ResourceTypeUrl, TypeDelta>([TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint].map((t) => [t, { upsert: [], remove: [] }]));
    const touchedListeners = new Set<string>();
    for (const h of dirtyUnits) this.recompute(h, out, touchedListeners);
    const listeners = out.get(TYPE_URL.listener)!;
    for (const name of touchedListeners) {
      const route = this.winner(name);
      if (route === this.winners.get(name)) continue;
      if (route === undefined) {
        this.winners.delete(name);
        listeners.remove.push(name);
      } else {
        this.winners.set(name, route);
        listeners.upsert.push({ name, message: apiListener(name, route) });
      }
    }
    if (full) {
      return { kind: 'full', output: new Map([...out].map(([t, d]) => [t, d.upsert.sort(byName)])) };
    }
    for (const [t, d] of out) if (d.upsert.length === 0 && d.remove.length === 0) out.delete(t);
    return { kind: 'delta', delta: out };
  }

  private applyResource(key: string, before: IstioResource | undefined, after: IstioResource | undefined, dirtyReads: Set<string>): void {
    const r = (after ?? before)!;
    switch (r.kind) {
      case 'ServiceEntry':
        this.services.setServiceEntry(key, after as ServiceEntry | undefined);
        break;
      case 'WorkloadEntry':
        this.services.setWorkloadEntry(key, r.metadata.namespace, after as WorkloadEntry | undefined);
        break;
      case 'VirtualService': {
        for (const vs of [before, after] as Array<VirtualService | undefined>) {
          if (!vs) continue;
          this.hostsDirty('vs', virtualServiceHosts(vs, this.domainSuffix), dirtyReads);
          dirtyReads.add(readKey('delegate', `${vs.metadata.namespace}/${vs.metadata.name}`));
        }
        if (before && boundToMesh(before as VirtualService)) this.rules.removeVirtualService(before as VirtualService);
        if (after && boundToMesh(after as VirtualService)) this.rules.addVirtualService(after as VirtualService);
        break;
      }
      case 'DestinationRule':
        for (const dr of [before, after] as Array<DestinationRule | undefined>) if (dr) this.hostsDirty('dr', [destinationRuleHost(dr, this.domainSuffix)], dirtyReads);
        if (before) this.rules.removeDestinationRule(before as DestinationRule);
        if (after) this.rules.addDestinationRule(after as DestinationRule);
        break;
      default:
        // Gateways and security policies are not translated (yet): nothing depends on them.
        break;
    }
  }

  /** Marks the lookups of `read` for these host patterns as changed; a wildcard covers every host asked about. */
  private hostsDirty(read: 'vs' | 'dr', patterns: readonly string[], dirtyReads: Set<string>): void {
    const wildcards: string[] = [];
    for (const p of patterns) {
      dirtyReads.add(readKey(read, p));
      if (p === '*' || p.startsWith('*.')) wildcards.push(p);
    }
    if (wildcards.length === 0) return;
    const prefix = readKey(read, '');
    for (const k of this.readers.keys()) {
      if (!k.startsWith(prefix)) continue;
      const host = k.slice(prefix.length);
      if (wildcards.some((w) => hostMatch(w, host) !== undefined)) dirtyReads.add(k);
    }
  }

  /** Keeps the hosts sharing each bare short name current; names whose owner may change go to `touched`. */
  private updateBareName(hostname: string, before: ServiceModel | undefined, after: ServiceModel | undefined, touched: Set<string>): void {
    const k8s = shortAliases(hostname, this.domainSuffix);
    if (!k8s) return;
    if (after) {
      let set = this.bareHosts.get(k8s.name);
      if (!set) this.bareHosts.set(k8s.name, (set = new Set()));
      set.add(hostname);
    } else {
      const set = this.bareHosts.get(k8s.name);
      set?.delete(hostname);
      if (set?.size === 0) this.bareHosts.delete(k8s.name);
    }
    if (!(before && after && before.namespace === after.namespace)) touched.add(k8s.name);
  }

  /** Recomputes a bare name's owner; a change dirties the readers of that name. */
  private updateOwner(name: string, dirtyReads: Set<string>): void {
    const sharing = [...(this.bareHosts.get(name) ?? [])].sort().map((h) => this.services.get(h)!);
    const owner = bareNameOwner(sharing);
    if (owner === this.owners.get(name)) return;
    if (owner === undefined) this.owners.delete(name);
    else this.owners.set(name, owner);
    dirtyReads.add(readKey('bare', name));
  }

  /** Computes one service's unit again and records what its outputs became. */
  private recompute(hostname: string, out: Map<ResourceTypeUrl, TypeDelta>, touchedListeners: Set<string>): void {
    const old = this.units.get(hostname);
    if (old) {
      for (const read of old.reads) {
        const set = this.readers.get(read);
        set?.delete(hostname);
        if (set?.size === 0) this.readers.delete(read);
      }
      for (const c of [...old.claims.canonical, ...old.claims.aliases]) {
        const byHost = this.claims.get(c.name);
        byHost?.delete(hostname);
        if (byHost?.size === 0) this.claims.delete(c.name);
        touchedListeners.add(c.name);
      }
      this.units.delete(hostname);
    }
    const service = this.services.get(hostname);
    const unit = service ? this.compute(service, out) : undefined;
    if (unit) {
      this.units.set(hostname, unit);
      for (const read of unit.reads) {
        let set = this.readers.get(read);
        if (!set) this.readers.set(read, (set = new Set()));
        set.add(hostname);
      }
      const claim = (phase: 0 | 1) => (c: ListenerClaim, index: number) => {
        let byHost = this.claims.get(c.name);
        if (!byHost) this.claims.set(c.name, (byHost = new Map()));
        const prev = byHost.get(hostname);
        // A service claiming one name twice: its first claim is the one that counts.
        if (!prev || prev.phase > phase) byHost.set(hostname, { phase, index, route: c.route });
        touchedListeners.add(c.name);
      };
      unit.claims.canonical.forEach(claim(0));
      unit.claims.aliases.forEach(claim(1));
    }
    if (old) {
      const gone = (was: string[], now: string[] | undefined, type: ResourceTypeUrl) => {
        const keep = new Set(now ?? []);
        for (const name of was) if (!keep.has(name)) out.get(type)!.remove.push(name);
      };
      gone(old.routes, unit?.routes, TYPE_URL.route);
      gone(old.clusters, unit?.clusters, TYPE_URL.cluster);
      gone(old.endpoints, unit?.endpoints, TYPE_URL.endpoint);
    }
  }

  private compute(service: ServiceModel, out: Map<ResourceTypeUrl, TypeDelta>): Unit {
    const reads = new Set<string>();
    this.ctx.record = (read, key) => reads.add(readKey(read, key));
    try {
      const claims = serviceListeners(this.ctx, service);
      const routes = serviceRouteConfigurations(this.ctx, service);
      const plans = servicePlans(this.ctx, service);
      const clusters = plans.map((p) => ({ name: p.name, message: buildCluster(p, this.domainSuffix) }));
      const endpoints: GeneratedResource[] = [];
      for (const p of plans) {
        const message = buildLoadAssignment(p);
        if (message) endpoints.push({ name: p.name, message });
      }
      out.get(TYPE_URL.route)!.upsert.push(...routes);
      out.get(TYPE_URL.cluster)!.upsert.push(...clusters);
      out.get(TYPE_URL.endpoint)!.upsert.push(...endpoints);
      return { reads: [...reads], claims, routes: routes.map((r) => r.name), clusters: clusters.map((c) => c.name), endpoints: endpoints.map((e) => e.name) };
    } finally {
      this.ctx.record = undefined;
    }
  }

  /** The route of the claim that wins a listener name, as the full generator's first-come order decides. */
  private winner(name: string): string | undefined {
    let best: { host: string; c: Claim } | undefined;
    for (const [host, c] of this.claims.get(name) ?? []) {
      if (!best || c.phase < best.c.phase || (c.phase === best.c.phase && (host < best.host || (host === best.host && c.index < best.c.index)))) best = { host, c };
    }
    return best?.c.route;
  }
}

/**
 * (key, before, after) for every resource that differs between two lists sorted by key, found
 * by identity first: unchanged resources are the same objects and cost one comparison.
 */
export function diffResources(prev: readonly IstioResource[], next: readonly IstioResource[]): Array<[string, IstioResource | undefined, IstioResource | undefined]> {
  const out: Array<[string, IstioResource | undefined, IstioResource | undefined]> = [];
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
function diffByMap(prev: readonly IstioResource[], next: readonly IstioResource[]): Array<[string, IstioResource | undefined, IstioResource | undefined]> {
  const before = new Map(prev.map((r) => [resourceKey(r), r]));
  const out: Array<[string, IstioResource | undefined, IstioResource | undefined]> = [];
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
