/**
 * The control server's view of the world: services and their endpoints, merged from
 * ServiceEntry/WorkloadEntry config and from mesh clients that announce themselves over xDS.
 * Plain data, rebuilt on change; the translators read it, never mutate it.
 */

export interface ServicePortModel {
  number: number;
  /** Port name; defaults to `<protocol>-<number>` lowercased when config gives none. */
  name: string;
  /** Upper case: HTTP, HTTP2, GRPC, HTTPS, TCP, TLS, MONGO... */
  protocol: string;
}

export interface EndpointModel {
  /** Stable identity, e.g. `announced/<node id>/10.0.0.1`, `WorkloadEntry/default/ratings-vm`. */
  id: string;
  address: string;
  /** Endpoint port for each service port number (targetPort / WorkloadEntry ports by name). */
  ports: Record<number, number>;
  labels: Record<string, string>;
  /** `region/zone/subzone`, any part may be empty. */
  locality?: string;
  /** Load-balancing weight, default 1. */
  weight?: number;
  healthy: boolean;
  serviceAccount?: string;
  network?: string;
  /** The config kind, `announced`, or another source's provider id (control/registry). */
  origin: 'ServiceEntry' | 'WorkloadEntry' | 'announced' | (string & {});
}

export interface ServiceModel {
  /** Fully qualified host: `reviews.default.svc.cluster.local` or a ServiceEntry host. */
  hostname: string;
  namespace: string;
  ports: ServicePortModel[];
  resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  location: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  endpoints: EndpointModel[];
  /** Where the service came from, for diagnostics: `ServiceEntry`, `announced`, or another source's provider id. */
  origin: 'ServiceEntry' | 'announced' | (string & {});
}

/** The node announcement is owned by the xDS layer (src/xds/node.ts); re-exported for control code. */
export type { Announcement } from '../xds/node.js';
export { DEFAULT_NAMESPACE } from '../xds/node.js';

/** Cluster-local DNS suffix (Kubernetes' default). */
export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';
