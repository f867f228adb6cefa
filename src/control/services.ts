/**
 * ServiceEntry/WorkloadEntry config and mesh-client announcements folded into
 * {@link ServiceModel}s. Pure functions over plain data: the `config` and `announced` sources
 * (registry/config.ts, registry/announced.ts) call them per hostname, and the reference
 * `mergeAnnouncements(servicesFromConfig(…), …)` equals what the aggregate of both holds.
 */
import type { IstioResource, ServiceEntry, ServicePort, WorkloadEntry, WorkloadEntrySpec } from '../config/types.js';
import type { Announcement } from '../xds/node.js';
import { DEFAULT_DOMAIN_SUFFIX, type EndpointModel, type ServiceModel, type ServicePortModel } from './model.js';
import { resolveHost } from './translate/names.js';

/**
 * Protocol from an Istio port name prefix (`http-web`, `grpc`, ...), Istio's "explicit protocol
 * selection by name", so ports configured without `protocol` still get one.
 */
const NAME_PROTOCOLS = ['grpc-web', 'grpc', 'http2', 'https', 'http', 'tcp', 'tls', 'mongo', 'redis', 'mysql'];

function protocolOf(port: { protocol?: string | undefined; name?: string | undefined }): string {
  if (port.protocol) return port.protocol.toUpperCase();
  const name = (port.name ?? '').toLowerCase();
  const hit = NAME_PROTOCOLS.find((p) => name === p || name.startsWith(`${p}-`));
  // Unknown: HTTP, because every meshlet client speaks HTTP or gRPC (which the HTTP routes cover).
  return hit ? hit.toUpperCase() : 'HTTP';
}

function portModel(port: { number: number; name?: string | undefined; protocol?: string | undefined }): ServicePortModel {
  const protocol = protocolOf(port);
  return { number: port.number, name: port.name ?? `${protocol}-${port.number}`.toLowerCase(), protocol };
}

function byKey<T extends IstioResource>(a: T, b: T): number {
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Endpoint ports by service port number: WorkloadEntry `ports` by port name, else targetPort. */
function endpointPorts(servicePorts: readonly ServicePort[], named: Record<string, number> | undefined): Record<number, number> {
  const out: Record<number, number> = {};
  for (const sp of servicePorts) {
    const byName = sp.name !== undefined ? named?.[sp.name] : undefined;
    const target = byName ?? sp.targetPort;
    if (target !== undefined) out[sp.number] = target;
  }
  return out;
}

function workloadEndpoint(id: string, spec: WorkloadEntrySpec, servicePorts: readonly ServicePort[], origin: EndpointModel['origin']): EndpointModel | undefined {
  if (!spec.address) return undefined;
  const ep: EndpointModel = {
    id,
    address: spec.address,
    ports: endpointPorts(servicePorts, spec.ports),
    labels: { ...(spec.labels ?? {}) },
    healthy: true,
    origin,
  };
  if (spec.locality !== undefined) ep.locality = spec.locality;
  if (spec.weight !== undefined) ep.weight = spec.weight;
  if (spec.serviceAccount !== undefined) ep.serviceAccount = spec.serviceAccount;
  if (spec.network !== undefined) ep.network = spec.network;
  return ep;
}

function entryEndpoints(se: ServiceEntry, host: string, workloads: readonly WorkloadEntry[]): EndpointModel[] {
  const { spec, metadata } = se;
  const ports = spec.ports ?? [];
  const out: EndpointModel[] = [];
  if (spec.workloadSelector?.labels) {
    const selector = spec.workloadSelector.labels;
    for (const we of workloads) {
      if (we.metadata.namespace !== metadata.namespace) continue;
      if (!labelsMatch(selector, we.spec.labels)) continue;
      const ep = workloadEndpoint(`WorkloadEntry/${we.metadata.namespace}/${we.metadata.name}`, we.spec, ports, 'WorkloadEntry');
      if (ep) out.push(ep);
    }
  } else {
    (spec.endpoints ?? []).forEach((spec, i) => {
      const ep = workloadEndpoint(`ServiceEntry/${metadata.namespace}/${metadata.name}/${i}`, spec, ports, 'ServiceEntry');
      if (ep) out.push(ep);
    });
  }
  const resolution = spec.resolution ?? 'NONE';
  if (out.length === 0 && (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && !host.startsWith('*')) {
    // Istio resolves the host itself when a DNS entry lists no endpoints.
    out.push({ id: `ServiceEntry/${metadata.namespace}/${metadata.name}/dns/${host}`, address: host, ports: {}, labels: {}, healthy: true, origin: 'ServiceEntry' });
  }
  return out;
}

function unionPorts(into: ServicePortModel[], more: readonly ServicePortModel[]): void {
  for (const p of more) if (!into.some((q) => q.number === p.number)) into.push(p);
  into.sort((a, b) => a.number - b.number);
}

/**
 * Services declared by ServiceEntries, one per host, with endpoints from the entry itself or from
 * the WorkloadEntries its `workloadSelector` picks in its namespace. Two entries declaring the
 * same host are merged (ports and endpoints unioned; the first by namespace/name sets
 * resolution and location). Ordered by hostname.
 *
 * @example
 * const services = servicesFromConfig(resources); // [{ hostname: 'www.googleapis.com', ... }]
 */
export function servicesFromConfig(resources: readonly IstioResource[], domainSuffix: string = DEFAULT_DOMAIN_SUFFIX): ServiceModel[] {
  const entries = resources.filter((r): r is ServiceEntry => r.kind === 'ServiceEntry').sort(byKey);
  const workloads = resources.filter((r): r is WorkloadEntry => r.kind === 'WorkloadEntry').sort(byKey);
  const byHost = new Map<string, ServiceModel>();
  for (const se of entries) {
    for (const rawHost of se.spec.hosts) {
      const hostname = resolveHost(rawHost, se.metadata.namespace, domainSuffix);
      const ports = (se.spec.ports ?? []).map(portModel);
      const endpoints = entryEndpoints(se, hostname, workloads);
      const existing = byHost.get(hostname);
      if (existing) {
        unionPorts(existing.ports, ports);
        existing.endpoints.push(...endpoints.filter((e) => !existing.endpoints.some((x) => x.id === e.id)));
        continue;
      }
      byHost.set(hostname, {
        hostname,
        namespace: se.metadata.namespace,
        ports: ports.sort((a, b) => a.number - b.number),
        resolution: se.spec.resolution ?? 'NONE',
        location: se.spec.location ?? 'MESH_EXTERNAL',
        endpoints,
        origin: 'ServiceEntry',
      });
    }
  }
  return [...byHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

/**
 * Adds the mesh clients that announced themselves as serving: each announcement of service S in
 * namespace N becomes endpoint `announced/<nodeId>` of `S.N.svc.<suffix>`, which is created when
 * no ServiceEntry declares it; announced ports are unioned into the service's. Inputs are not
 * mutated. Ordered by hostname.
 *
 * @example
 * mergeAnnouncements(services, [{ nodeId: 'n1', service: 'reviews', namespace: 'default',
 *   labels: { version: 'v1' }, address: '10.0.0.7', ports: [{ number: 9080 }] }]);
 */
export function mergeAnnouncements(services: readonly ServiceModel[], announcements: readonly Announcement[], domainSuffix: string = DEFAULT_DOMAIN_SUFFIX): ServiceModel[] {
  const byHost = new Map<string, ServiceModel>();
  for (const s of services) byHost.set(s.hostname, { ...s, ports: [...s.ports], endpoints: [...s.endpoints] });
  const sorted = [...announcements].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  for (const a of sorted) {
    const hostname = `${a.service}.${a.namespace}.svc.${domainSuffix}`;
    const ports = a.ports.map(portModel);
    let service = byHost.get(hostname);
    if (!service) {
      service = { hostname, namespace: a.namespace, ports: [], resolution: 'STATIC', location: 'MESH_INTERNAL', endpoints: [], origin: 'announced' };
      byHost.set(hostname, service);
    }
    unionPorts(service.ports, ports);
    const endpoint: EndpointModel = {
      id: `announced/${a.nodeId}`,
      address: a.address,
      // The instance listens on targetPort (default: the service port itself).
      ports: Object.fromEntries(a.ports.map((p) => [p.number, p.targetPort ?? p.number])),
      labels: { ...a.labels },
      healthy: true,
      origin: 'announced',
    };
    if (a.serviceAccount !== undefined) endpoint.serviceAccount = a.serviceAccount;
    if (a.locality !== undefined) endpoint.locality = a.locality;
    service.endpoints = [...service.endpoints.filter((e) => e.id !== endpoint.id), endpoint];
  }
  return [...byHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}
