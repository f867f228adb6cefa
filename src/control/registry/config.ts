/**
 * The `config` source: services declared by ServiceEntries, with endpoints from the entry or
 * from the WorkloadEntries its `workloadSelector` picks (Istio's `serviceentry` registry,
 * pilot/pkg/serviceregistry/serviceentry/controller.go). Kept current one resource at a time:
 * entries and workloads are indexed by the hosts they affect, and a change recomputes only those
 * hosts with servicesFromConfig restricted to their inputs, so the result equals a full build.
 */
import type { IstioResource, ServiceEntry, WorkloadEntry } from '../../config/types.js';
import type { Disposable } from '../../internal/events.js';
import type { ServiceModel } from '../model.js';
import { servicesFromConfig } from '../services.js';
import { resolveHost } from '../translate/names.js';
import { diffResources } from './resource-diff.js';
import { HostMapRegistry, PROVIDER } from './types.js';

/** What the config source reads: the ConfigStore fits. */
export interface ResourceSource {
  list(): readonly IstioResource[];
  onChange(listener: () => void): Disposable;
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
 * ServiceEntry/WorkloadEntry services of a resource source (normally the ConfigStore).
 *
 * @example
 * ```ts
 * const config = new ConfigRegistry(store, 'cluster.local');
 * config.sync(); // ['www.googleapis.com', …]
 * config.service('www.googleapis.com')?.endpoints;
 * ```
 */
export class ConfigRegistry extends HostMapRegistry {
  readonly provider: string = PROVIDER.config;
  private resources: readonly IstioResource[] = [];
  private readonly entries = new Map<string, ServiceEntry>();
  private readonly entryHosts = new Map<string, string[]>();
  private readonly entriesByHost = new Map<string, Set<string>>();
  private readonly entriesByNamespace = new Map<string, Set<string>>();
  private readonly workloads = new Map<string, Map<string, WorkloadEntry>>();
  private readonly dirty = new Set<string>();

  constructor(private readonly source: ResourceSource, private readonly domainSuffix: string) {
    super();
  }

  sync(): string[] {
    const next = this.source.list();
    if (next !== this.resources) {
      for (const [key, before, after] of diffResources(this.resources, next)) {
        const r = (after ?? before)!;
        if (r.kind === 'ServiceEntry') this.setServiceEntry(key, after as ServiceEntry | undefined);
        else if (r.kind === 'WorkloadEntry') this.setWorkloadEntry(key, r.metadata.namespace, after as WorkloadEntry | undefined);
      }
      this.resources = next;
    }
    const hosts = [...this.dirty];
    for (const h of hosts) {
      const svc = this.compute(h);
      if (svc) this.byHost.set(h, svc);
      else this.byHost.delete(h);
    }
    this.dirty.clear();
    return hosts;
  }

  onChange(listener: () => void): Disposable {
    return this.source.onChange(listener);
  }

  private setServiceEntry(key: string, se: ServiceEntry | undefined): void {
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

  /** Every host of a selecting ServiceEntry in the workload's namespace may pick it. */
  private setWorkloadEntry(key: string, namespace: string, we: WorkloadEntry | undefined): void {
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

  /** servicesFromConfig over exactly the inputs that can touch `hostname`. */
  private compute(hostname: string): ServiceModel | undefined {
    const keys = this.entriesByHost.get(hostname);
    if (!keys) return undefined;
    const entries = [...keys].map((k) => this.entries.get(k)!);
    const namespaces = new Set(entries.filter((se) => se.spec.workloadSelector).map((se) => se.metadata.namespace));
    const workloads = [...namespaces].flatMap((ns) => [...(this.workloads.get(ns)?.values() ?? [])]);
    return servicesFromConfig([...entries, ...workloads], this.domainSuffix).find((s) => s.hostname === hostname);
  }
}
