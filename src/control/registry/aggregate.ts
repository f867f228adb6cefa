/**
 * The aggregate of every service source — what the translator reads, and the only thing it
 * reads about services (Istio's pilot/pkg/serviceregistry/aggregate/controller.go).
 *
 * Rules, following Istio:
 * - Order (`addRegistry`): a `kubernetes` source goes before the first source that is not
 *   Kubernetes; every other source is appended. meshlet's own sources are `config` then
 *   `announced`.
 * - A hostname several sources know: the first source's service supplies the service's
 *   attributes (namespace, resolution, location, origin) as in `Controller.GetService`, and the
 *   endpoints of every source are merged in source order (Istio keeps one endpoint shard per
 *   registry, `model.EndpointShards` keyed by `ShardKey{Cluster, Provider}`, and EDS serves the
 *   union of the shards). An endpoint id seen twice keeps its first occurrence.
 * - Ports are unioned by number (the first source's port of a number wins). Istio only merges
 *   ClusterVIPs and logs a port mismatch (`mergeService`); meshlet unions because an announced
 *   instance may serve a port a ServiceEntry for the same host did not list, and routes for it
 *   have been served since the first release.
 */
import { trace } from '../../internal/debug.js';
import { Emitter, type Disposable } from '../../internal/events.js';
import type { EndpointModel, ServiceModel, ServicePortModel } from '../model.js';
import { deepEqual } from '../translate/deep-equal.js';
import { PROVIDER, type ServiceChange, type ServiceRegistry } from './types.js';

const log = trace('registry');

/**
 * One service from the parts several sources hold for its hostname, in source order.
 *
 * @example
 * ```ts
 * mergeServices([fromConfig, fromAnnounced]); // fromConfig's attributes, both sets of endpoints
 * ```
 */
export function mergeServices(parts: readonly ServiceModel[]): ServiceModel | undefined {
  if (parts.length <= 1) return parts[0];
  const first = parts[0]!;
  const ports: ServicePortModel[] = [];
  const portNumbers = new Set<number>();
  const endpoints: EndpointModel[] = [];
  const ids = new Set<string>();
  for (const part of parts) {
    for (const p of part.ports) if (!portNumbers.has(p.number)) (portNumbers.add(p.number), ports.push(p));
    for (const e of part.endpoints) if (!ids.has(e.id)) (ids.add(e.id), endpoints.push(e));
  }
  ports.sort((a, b) => a.number - b.number);
  return { ...first, ports, endpoints };
}

/**
 * Sources merged into one view, settled by `flush()`.
 *
 * @example
 * ```ts
 * const services = new AggregateRegistry();
 * services.addRegistry(new ConfigRegistry(store, 'cluster.local'));
 * services.addRegistry(new AnnouncedRegistry(announcements, 'cluster.local'));
 * services.flush(); // [{ hostname, before: undefined, after: { … } }, …]
 * ```
 */
export class AggregateRegistry implements ServiceRegistry {
  readonly provider = 'aggregate';
  private readonly registries: Array<{ registry: ServiceRegistry; sub: Disposable }> = [];
  private readonly byHost = new Map<string, ServiceModel>();
  private readonly dirty = new Set<string>();
  /** Every service, kept sorted by hostname on each change; `listed` is the copy handed out. */
  private readonly sorted: ServiceModel[] = [];
  private listed: ServiceModel[] | undefined = [];
  private readonly changed = new Emitter<void>((err) => log('onChange listener threw: %o', err));

  /** Adds a source in Istio's order (Kubernetes first); its services join at the next flush. */
  addRegistry(registry: ServiceRegistry): void {
    if (this.registries.some((r) => r.registry.provider === registry.provider)) {
      throw new Error(`a service registry with provider "${registry.provider}" is already registered`);
    }
    const entry = { registry, sub: registry.onChange(() => this.changed.fire()) };
    let at = this.registries.length;
    if (registry.provider === PROVIDER.kubernetes) {
      const i = this.registries.findIndex((r) => r.registry.provider !== PROVIDER.kubernetes);
      if (i >= 0) at = i;
    }
    this.registries.splice(at, 0, entry);
    // A new source may change the merge order of hosts others already hold.
    for (const h of this.byHost.keys()) this.dirty.add(h);
    log('registry %s added at position %d', registry.provider, at);
    this.changed.fire();
  }

  /** Removes a source by provider id; its services leave at the next flush. */
  removeRegistry(provider: string): boolean {
    const i = this.registries.findIndex((r) => r.registry.provider === provider);
    if (i < 0) return false;
    const [entry] = this.registries.splice(i, 1);
    entry!.sub.dispose();
    for (const s of entry!.registry.services()) this.dirty.add(s.hostname);
    log('registry %s removed', provider);
    this.changed.fire();
    return true;
  }

  /** Provider ids in merge order. */
  providers(): string[] {
    return this.registries.map((r) => r.registry.provider);
  }

  /**
   * Syncs every source and recomputes the hostnames they name; returns the services that really
   * changed (an unchanged service keeps its object).
   */
  flush(): ServiceChange[] {
    for (const { registry } of this.registries) for (const h of registry.sync()) this.dirty.add(h);
    const out: ServiceChange[] = [];
    for (const hostname of this.dirty) {
      const before = this.byHost.get(hostname);
      const parts: ServiceModel[] = [];
      for (const { registry } of this.registries) {
        const s = registry.service(hostname);
        if (s) parts.push(s);
      }
      let after = mergeServices(parts);
      if (before && after && deepEqual(before, after)) after = before;
      if (after === before) continue;
      if (after) this.byHost.set(hostname, after);
      else this.byHost.delete(hostname);
      this.place(hostname, after);
      out.push({ hostname, before, after });
    }
    this.dirty.clear();
    return out;
  }

  sync(): string[] {
    return this.flush().map((c) => c.hostname);
  }

  service(hostname: string): ServiceModel | undefined {
    return this.byHost.get(hostname);
  }

  /** Every merged service as of the last flush, sorted by hostname (a shared array: do not mutate). */
  services(): ServiceModel[] {
    return (this.listed ??= this.sorted.slice());
  }

  /** Binary insertion: a change costs O(log n) plus the move, not a sort of every service. */
  private place(hostname: string, after: ServiceModel | undefined): void {
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

  onChange(listener: () => void): Disposable {
    return this.changed.on(listener);
  }

  /** Unsubscribes from every source. */
  close(): void {
    for (const r of this.registries) r.sub.dispose();
    this.changed.clear();
  }
}
