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
 * Services come from one AggregateRegistry (registry/aggregate.ts) and nothing else: its
 * `flush()` names the services that changed, whichever source (config, announced, Kubernetes…)
 * they came from. Resources are diffed by object identity: the store keeps the objects of
 * resources that did not change (a key with a new object counts as changed).
 */
import type { DestinationRule, IstioResource, VirtualService } from '../../config/types.js';
import { TYPE_URL, type ResourceTypeUrl } from '../../xds/type-urls.js';
import type { ServiceModel } from '../model.js';
import type { AggregateRegistry } from '../registry/aggregate.js';
import { diffResources, type ResourceChange } from '../registry/resource-diff.js';
import type { ServiceChange } from '../registry/types.js';
import { buildCluster } from './cds.js';
import { bareNameOwner, type ContextRead, type TranslateContext } from './context.js';
import { buildLoadAssignment } from './eds.js';
import { boundToMesh, destinationRuleHost, RuleIndex, virtualServiceHosts } from './host-index.js';
import type { GeneratedResource, TranslateOutput } from './types.js';
import { apiListener, serviceListeners, type ListenerClaim } from './lds.js';
import { hostMatch, shortAliases } from './names.js';
import { servicePlans } from './plan.js';
import { serviceRouteConfigurations } from './rds.js';

export { diffResources } from '../registry/resource-diff.js';

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
 * Keeps the translator's state between updates and turns each new resource list, with the
 * service changes its registry reports, into the change of the xDS output.
 *
 * @example
 * ```ts
 * const services = defaultServiceRegistry(store, announcements, 'cluster.local');
 * const t = new IncrementalTranslator('cluster.local', services);
 * let snap = Snapshot.build((t.update(store.list()) as { output: TranslateOutput }).output);
 * const r = t.update(store.list()); // after one change
 * if (r.kind === 'delta') snap = Snapshot.patch(snap, r.delta);
 * ```
 */
export class IncrementalTranslator {
  private resources: readonly IstioResource[] = [];
  private readonly rules: RuleIndex;
  private readonly bareHosts = new Map<string, Set<string>>();
  private readonly owners = new Map<string, string>();
  private readonly units = new Map<string, Unit>();
  /** Read key → hostnames of the units that made that read. */
  private readonly readers = new Map<string, Set<string>>();
  private readonly claims = new Map<string, Map<string, Claim>>();
  private readonly winners = new Map<string, string>();
  private readonly ctx: TranslateContext;
  private started = false;

  constructor(readonly domainSuffix: string, private readonly services: AggregateRegistry) {
    this.rules = new RuleIndex(domainSuffix);
    this.ctx = {
      domainSuffix,
      services: [],
      service: (h) => this.services.service(h),
      bareNameOwner: (n) => this.owners.get(n),
      rules: this.rules,
    };
  }

  /** Every service of the latest update, sorted by hostname. */
  serviceList(): ServiceModel[] {
    return this.services.services();
  }

  /** The last update's changes: resources (key, before, after) and services, for consumers that follow deltas too. */
  lastChanges: { since: readonly IstioResource[]; resources: ResourceChange[]; services: ServiceChange[] } = { since: [], resources: [], services: [] };

  /**
   * Brings the state up to `resources` (sorted by `Kind/namespace/name`, one per key, as the
   * ConfigStore contract lists them; resources that did not change must be the same objects)
   * and whatever changed in the service registry since the previous update.
   */
  update(resources: readonly IstioResource[]): IncrementalResult {
    const dirtyReads = new Set<string>();
    const dirtyUnits = new Set<string>();
    const since = this.resources;
    const changedResources = diffResources(since, resources);
    for (const [key, before, after] of changedResources) this.applyResource(key, before, after, dirtyReads);
    this.resources = resources;
    const flushed = this.services.flush();
    // A translator that starts against a registry already in use holds nothing yet: every service is new to it.
    const changedServices = this.started ? flushed : this.services.services().map((after): ServiceChange => ({ hostname: after.hostname, before: undefined, after }));
    this.lastChanges = { since, resources: changedResources, services: changedServices };
    const bareNames = new Set<string>();
    for (const change of changedServices) {
      dirtyUnits.add(change.hostname);
      dirtyReads.add(readKey('svc', change.hostname));
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
      case 'WorkloadEntry':
        // Services are the registry's: their changes arrive through flush().
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
    const sharing = [...(this.bareHosts.get(name) ?? [])].sort().map((h) => this.services.service(h)!);
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
    const service = this.services.service(hostname);
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
