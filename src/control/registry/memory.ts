/**
 * A source held in memory and set by code: static services, tests, or the starting point of an
 * adapter for a platform that pushes whole services (a Consul or etcd watch callback calls `set`).
 */
import { Emitter, type Disposable } from '../../internal/events.js';
import type { ServiceModel } from '../model.js';
import { HostMapRegistry } from './types.js';

/**
 * Services set one by one; `sync()` names the hostnames set or deleted since the previous call.
 *
 * @example
 * ```ts
 * const consul = new MemoryRegistry('consul');
 * server.serviceRegistry.addRegistry(consul);
 * consul.set({ hostname: 'billing.service.consul', namespace: 'default', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
 *   resolution: 'STATIC', location: 'MESH_INTERNAL', origin: 'consul',
 *   endpoints: [{ id: 'consul/billing-1', address: '10.1.0.4', ports: { 8080: 8080 }, labels: {}, healthy: true, origin: 'consul' }] });
 * ```
 */
export class MemoryRegistry extends HostMapRegistry {
  private readonly dirty = new Set<string>();
  private readonly changed = new Emitter<void>();

  constructor(readonly provider: string) {
    super();
  }

  /** Adds or replaces the service of `service.hostname`. */
  set(service: ServiceModel): void {
    this.byHost.set(service.hostname, service);
    this.dirty.add(service.hostname);
    this.changed.fire();
  }

  /** Removes a hostname's service; returns whether there was one. */
  delete(hostname: string): boolean {
    if (!this.byHost.delete(hostname)) return false;
    this.dirty.add(hostname);
    this.changed.fire();
    return true;
  }

  sync(): string[] {
    const hosts = [...this.dirty];
    this.dirty.clear();
    return hosts;
  }

  onChange(listener: () => void): Disposable {
    return this.changed.on(listener);
  }
}
