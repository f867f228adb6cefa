/**
 * The service-registry seam (Istio's `model.ServiceDiscovery` + `serviceregistry.Instance`):
 * a source of services and their endpoints. The translator reads one {@link AggregateRegistry}
 * (aggregate.ts) that merges every source, so a new platform (Kubernetes, Consul, etcd) is a new
 * source and never a change to translate/.
 */
import type { Disposable } from '../../internal/events.js';
import type { ServiceModel } from '../model.js';

/**
 * Well-known provider ids (Istio's `provider.ID`). `kubernetes` sources are ordered before all
 * others by the aggregate, as Istio's aggregate controller does; any other string is allowed.
 *
 * @example
 * ```ts
 * aggregate.addRegistry(new MemoryRegistry(PROVIDER.kubernetes)); // goes before `config`
 * ```
 */
export const PROVIDER = { config: 'config', announced: 'announced', kubernetes: 'kubernetes' } as const;

/**
 * One source of services.
 *
 * Pull-based on purpose: sources may change many times between two snapshot builds (a burst of
 * joining clients, a directory of files), and the builder debounces. `onChange` only says "build
 * soon"; the next build calls `sync()` once, which settles the source and names the hostnames that
 * may differ, so a burst costs one diff instead of one per event. The aggregate reads
 * `service()` right after `sync()`, so a source may answer with its current state.
 *
 * @example
 * ```ts
 * class StaticRegistry implements ServiceRegistry {
 *   readonly provider = 'static';
 *   private first = true;
 *   constructor(private readonly svc: ServiceModel) {}
 *   sync() { const hosts = this.first ? [this.svc.hostname] : []; this.first = false; return hosts; }
 *   service(h: string) { return h === this.svc.hostname ? this.svc : undefined; }
 *   services() { return [this.svc]; }
 *   onChange() { return { dispose() {} }; }
 * }
 * ```
 */
export interface ServiceRegistry {
  /** Which platform this is (`config`, `announced`, `kubernetes`, …); unique within an aggregate. */
  readonly provider: string;
  /**
   * Settles pending changes and returns the hostnames whose service may have changed since the
   * previous call (every hostname on the first call). Extra hostnames are harmless; a missing one
   * is a stale service.
   */
  sync(): Iterable<string>;
  /** The service of `hostname` (as of the last `sync()` or later), `undefined` when this source has none. */
  service(hostname: string): ServiceModel | undefined;
  /** Every service (as of the last `sync()` or later), sorted by hostname. */
  services(): ServiceModel[];
  /** Fires when the source may have changed (a new `sync()` is due). */
  onChange(listener: () => void): Disposable;
}

/** One service that appeared, changed or went away in the aggregate. */
export interface ServiceChange {
  hostname: string;
  before: ServiceModel | undefined;
  after: ServiceModel | undefined;
}

export const byHostname = (a: ServiceModel, b: ServiceModel): number => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0);

/** The reads every source answers from a hostname → service map; sources fill `byHost` in `sync()`. */
export abstract class HostMapRegistry implements ServiceRegistry {
  abstract readonly provider: string;
  protected readonly byHost = new Map<string, ServiceModel>();
  abstract sync(): Iterable<string>;
  abstract onChange(listener: () => void): Disposable;

  service(hostname: string): ServiceModel | undefined {
    return this.byHost.get(hostname);
  }

  services(): ServiceModel[] {
    return [...this.byHost.values()].sort(byHostname);
  }
}
