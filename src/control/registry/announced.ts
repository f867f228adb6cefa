/**
 * The `announced` source: mesh clients that serve announce themselves in their xDS node metadata
 * (src/xds/node.ts); each announcement of service S in namespace N is endpoint
 * `announced/<node id>` of `S.N.svc.<suffix>`. Playing the part Istio's platform registries play
 * for pods (a workload registers itself, there is no Kubernetes to ask).
 */
import { Emitter, type Disposable } from '../../internal/events.js';
import type { Announcement } from '../../xds/node.js';
import { mergeAnnouncements } from '../services.js';
import { HostMapRegistry, PROVIDER } from './types.js';

/** What the announced source reads: the announcement Registry (announcements.ts) fits. */
export interface AnnouncementSource {
  /** One announcement per node id; unchanged announcements are the same objects. */
  list(): readonly Announcement[];
  onChange(listener: () => void): Disposable;
}

/**
 * Services of announced endpoints, recomputed per hostname that an announcement entered or left.
 *
 * @example
 * ```ts
 * const announced = new AnnouncedRegistry(registry, 'cluster.local');
 * registry.announce({ nodeId: 'n1', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.5', ports: [{ number: 9080 }] });
 * announced.sync(); // ['reviews.default.svc.cluster.local']
 * ```
 */
export class AnnouncedRegistry extends HostMapRegistry {
  readonly provider: string = PROVIDER.announced;
  private last: readonly Announcement[] = [];
  private readonly byNode = new Map<string, Announcement>();
  private readonly nodesByHost = new Map<string, Set<string>>();

  constructor(private readonly source: AnnouncementSource, private readonly domainSuffix: string) {
    super();
  }

  sync(): string[] {
    const next = this.source.list();
    if (next === this.last) return [];
    this.last = next;
    const dirty = new Set<string>();
    const seen = new Set<string>();
    for (const a of next) {
      seen.add(a.nodeId);
      const old = this.byNode.get(a.nodeId);
      if (old === a) continue;
      if (old) this.unindex(old, dirty);
      this.byNode.set(a.nodeId, a);
      const h = this.hostOf(a);
      let set = this.nodesByHost.get(h);
      if (!set) this.nodesByHost.set(h, (set = new Set()));
      set.add(a.nodeId);
      dirty.add(h);
    }
    for (const [nodeId, a] of this.byNode) {
      if (seen.has(nodeId)) continue;
      this.unindex(a, dirty);
      this.byNode.delete(nodeId);
    }
    for (const h of dirty) {
      const nodes = this.nodesByHost.get(h);
      const svc = nodes ? mergeAnnouncements([], [...nodes].map((n) => this.byNode.get(n)!), this.domainSuffix)[0] : undefined;
      if (svc) this.byHost.set(h, svc);
      else this.byHost.delete(h);
    }
    return [...dirty];
  }

  onChange(listener: () => void): Disposable {
    return this.source.onChange(listener);
  }

  private hostOf(a: Announcement): string {
    return `${a.service}.${a.namespace}.svc.${this.domainSuffix}`;
  }

  private unindex(a: Announcement, dirty: Set<string>): void {
    const h = this.hostOf(a);
    const set = this.nodesByHost.get(h);
    set?.delete(a.nodeId);
    if (set?.size === 0) this.nodesByHost.delete(h);
    dirty.add(h);
  }
}

/**
 * An {@link AnnouncementSource} over a list set by code (tests, benchmarks, one-shot translation).
 *
 * @example
 * ```ts
 * const list = new AnnouncementList();
 * const announced = new AnnouncedRegistry(list, 'cluster.local');
 * list.set([{ nodeId: 'n1', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.5', ports: [{ number: 9080 }] }]);
 * ```
 */
export class AnnouncementList implements AnnouncementSource {
  private readonly changed = new Emitter<void>();
  constructor(private items: readonly Announcement[] = []) {}
  list(): readonly Announcement[] {
    return this.items;
  }
  set(items: readonly Announcement[]): void {
    this.items = items;
    this.changed.fire();
  }
  onChange(listener: () => void): Disposable {
    return this.changed.on(listener);
  }
}
