/**
 * The service registry kept current one input at a time: ServiceEntries, WorkloadEntries and
 * announcements are indexed by the hosts they affect, and a change recomputes only those
 * hosts' services, with the very functions a full build uses (servicesFromConfig and
 * mergeAnnouncements restricted to the inputs of one host), so the result is the same
 * service for service.
 */
import type { ServiceEntry, WorkloadEntry } from '../config/types.js';
import type { Announcement, ServiceModel } from './model.js';
import { mergeAnnouncements, servicesFromConfig } from './services.js';
import { deepEqual } from './translate/deep-equal.js';
import { resolveHost } from './translate/names.js';

/** One service that appeared, changed or went away. */
export interface ServiceChange {
  hostname: string;
  before: ServiceModel | undefined;
  after: ServiceModel | undefined;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}

/**
 * Services by hostname, updated by `set*` calls and settled by `flush()`.
 *
 * @example
 * ```ts
 * const index = new ServiceIndex('cluster.local');
 * index.setServiceEntry('ServiceEntry/default/web', se);
 * index.flush(); // [{ hostname: 'web.example.com', before: undefined, after: { … } }]
 * ```
 */
export class ServiceIndex {
  private readonly entries = new Map<string, ServiceEntry>();
  private readonly entryHosts = new Map<string, string[]>();
  private readonly entriesByHost = new Map<string, Set<string>>();
  private readonly entriesByNamespace = new Map<string, Set<string>>();
  private readonly workloads = new Map<string, Map<string, WorkloadEntry>>();
  private readonly announcements = new Map<string, Announcement>();
  private readonly announcedByHost = new Map<string, Set<string>>();
  private readonly byHost = new Map<string, ServiceModel>();
  private readonly dirty = new Set<string>();

  constructor(private readonly domainSuffix: string) {}

  /** The current service of a hostname (after the last flush). */
  get(hostname: string): ServiceModel | undefined {
    return this.byHost.get(hostname);
  }

  /** Adds, replaces (`se` given) or removes a ServiceEntry by its resource key. */
  setServiceEntry(key: string, se: ServiceEntry | undefined): void {
    const old = this.entries.get(key);
    if (old) {
      for (const h of this.entryHosts.get(key) ?? []) {
        removeFrom(this.entriesByHost, h, key);
        this.dirty.add(h);
      }
      removeFrom(this.entriesByNamespace, old.metadata.namespace, key);
      this.entries.delete(key);
      this.entryHosts.delete(key);
    }
    if (!se) return;
    const hosts = se.spec.hosts.map((h) => resolveHost(h, se.metadata.namespace, this.domainSuffix));
    this.entries.set(key, se);
    this.entryHosts.set(key, hosts);
    addTo(this.entriesByNamespace, se.metadata.namespace, key);
    for (const h of hosts) {
      addTo(this.entriesByHost, h, key);
      this.dirty.add(h);
    }
  }

  /** Adds, replaces or removes a WorkloadEntry: every host of a ServiceEntry in its namespace may select it. */
  setWorkloadEntry(key: string, namespace: string, we: WorkloadEntry | undefined): void {
    if (we) {
      let ns = this.workloads.get(namespace);
      if (!ns) this.workloads.set(namespace, (ns = new Map()));
      ns.set(key, we);
    } else {
      const ns = this.workloads.get(namespace);
      ns?.delete(key);
      if (ns?.size === 0) this.workloads.delete(namespace);
    }
    for (const k of this.entriesByNamespace.get(namespace) ?? []) {
      if (!this.entries.get(k)?.spec.workloadSelector) continue;
      for (const h of this.entryHosts.get(k) ?? []) this.dirty.add(h);
    }
  }

  /** Adds, replaces or removes a mesh client's announcement by node id. */
  setAnnouncement(nodeId: string, a: Announcement | undefined): void {
    const old = this.announcements.get(nodeId);
    if (old) {
      const h = this.announcedHost(old);
      removeFrom(this.announcedByHost, h, nodeId);
      this.announcements.delete(nodeId);
      this.dirty.add(h);
    }
    if (!a) return;
    const h = this.announcedHost(a);
    this.announcements.set(nodeId, a);
    addTo(this.announcedByHost, h, nodeId);
    this.dirty.add(h);
  }

  /** Recomputes the hosts the `set*` calls touched; returns the services that really changed. */
  flush(): ServiceChange[] {
    const out: ServiceChange[] = [];
    for (const hostname of this.dirty) {
      const before = this.byHost.get(hostname);
      let after = this.compute(hostname);
      if (before && after && deepEqual(before, after)) after = before;
      if (after === before) continue;
      if (after) this.byHost.set(hostname, after);
      else this.byHost.delete(hostname);
      out.push({ hostname, before, after });
    }
    this.dirty.clear();
    return out;
  }

  private announcedHost(a: Announcement): string {
    return `${a.service}.${a.namespace}.svc.${this.domainSuffix}`;
  }

  /** servicesFromConfig + mergeAnnouncements over exactly the inputs that can touch `hostname`. */
  private compute(hostname: string): ServiceModel | undefined {
    const entries = [...(this.entriesByHost.get(hostname) ?? [])].map((k) => this.entries.get(k)!);
    const namespaces = new Set(entries.filter((se) => se.spec.workloadSelector).map((se) => se.metadata.namespace));
    const workloads = [...namespaces].flatMap((ns) => [...(this.workloads.get(ns)?.values() ?? [])]);
    const fromConfig = entries.length ? servicesFromConfig([...entries, ...workloads], this.domainSuffix).find((s) => s.hostname === hostname) : undefined;
    const announced = [...(this.announcedByHost.get(hostname) ?? [])].map((n) => this.announcements.get(n)!);
    if (announced.length === 0) return fromConfig;
    return mergeAnnouncements(fromConfig ? [fromConfig] : [], announced, this.domainSuffix).find((s) => s.hostname === hostname);
  }
}
