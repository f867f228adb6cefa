/**
 * Service registries: the {@link ServiceRegistry} interface, its sources (`config`,
 * `announced`, in-memory) and the {@link AggregateRegistry} the translator reads.
 */
import { AggregateRegistry } from './aggregate.js';
import { AnnouncedRegistry, type AnnouncementSource } from './announced.js';
import { ConfigRegistry, type ResourceSource } from './config.js';

export { AggregateRegistry, mergeServices } from './aggregate.js';
export { AnnouncedRegistry, AnnouncementList } from './announced.js';
export type { AnnouncementSource } from './announced.js';
export { ConfigRegistry } from './config.js';
export type { ResourceSource } from './config.js';
export { MemoryRegistry } from './memory.js';
export { PROVIDER } from './types.js';
export type { ServiceRegistry, ServiceChange } from './types.js';

/**
 * meshlet's default aggregate: ServiceEntry/WorkloadEntry config first, then announced endpoints
 * (so a ServiceEntry's resolution and location win for a host both know).
 *
 * @example
 * ```ts
 * const services = defaultServiceRegistry(store, announcements, 'cluster.local');
 * services.addRegistry(new MemoryRegistry('consul')); // more sources, no translator change
 * ```
 */
export function defaultServiceRegistry(resources: ResourceSource, announcements: AnnouncementSource, domainSuffix: string): AggregateRegistry {
  const aggregate = new AggregateRegistry();
  aggregate.addRegistry(new ConfigRegistry(resources, domainSuffix));
  aggregate.addRegistry(new AnnouncedRegistry(announcements, domainSuffix));
  return aggregate;
}
