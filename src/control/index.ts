/**
 * `meshlet-node/control`: the bundled control server and its building blocks.
 *
 * @example
 * ```ts
 * import { createControlServer } from 'meshlet-node/control';
 * const server = await createControlServer({ configDir: './istio' });
 * ```
 */
export { createControlServer } from './server.js';
export type { ControlServer, ControlServerOptions, ControlServerEvents } from './server.js';
export type { ConfigStore } from './store/types.js';
export { MemoryStore } from './store/memory.js';
export { FileStore } from './store/file.js';
export type { FileStoreOptions } from './store/file.js';
export { Registry, DEFAULT_WITHDRAW_GRACE_MS } from './registry/announcements.js';
export type { RegistryEntry } from './registry/announcements.js';
export { AggregateRegistry, AnnouncedRegistry, ConfigRegistry, MemoryRegistry, PROVIDER, mergeServices } from './registry/index.js';
export type { ServiceRegistry, ServiceChange, AnnouncementSource, ResourceSource } from './registry/index.js';
export { Snapshot } from './snapshot.js';
export type { ResourceEntry, EncodeError } from './snapshot.js';
export type { ClientStatus, TypeStatus, PushEvent, NackEvent } from './ads-stream.js';
export type { Disposable } from '../internal/events.js';
export type { CertificateAuthority, CertificateAuthorityOptions, IssuedCertificate, CertificateCall, CertificateCaller, JoinTokenRequest } from './ca/index.js';
export type { Announcement, ServiceModel, EndpointModel, ServicePortModel } from './model.js';
export type { GraphScrapeOptions, TargetState } from './graph/scraper.js';
export type { ServiceGraph, GraphNode, GraphEdge } from './graph/graph.js';
export type { ClientConfigDump, GenericXdsConfig, ConfigStatus, ClientResourceStatus } from './admin/config-dump.js';
