/**
 * Istio's standard metric labels: names in the order istio/proxy's stats filter emits them
 * (testdata/metric/*.yaml.tmpl there), and how a workload's labels become their values. Values a
 * proxy cannot know are `unknown`, as Istio writes them.
 */

/** Labels of the HTTP/gRPC metrics (requests, duration, sizes, messages). */
export const HTTP_LABELS = [
  'reporter',
  'source_workload', 'source_canonical_service', 'source_canonical_revision', 'source_workload_namespace',
  'source_principal', 'source_app', 'source_version', 'source_cluster',
  'destination_workload', 'destination_workload_namespace', 'destination_principal', 'destination_app',
  'destination_version', 'destination_service', 'destination_canonical_service', 'destination_canonical_revision',
  'destination_service_name', 'destination_service_namespace', 'destination_cluster',
  'request_protocol', 'response_code', 'grpc_response_status', 'response_flags', 'connection_security_policy',
] as const;

/** Labels of the TCP metrics: the same without response_code and grpc_response_status. */
export const TCP_LABELS = HTTP_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status');

/** Index of the edge labels (everything before request_protocol) in {@link HTTP_LABELS}. */
export const EDGE_LABEL_COUNT = HTTP_LABELS.indexOf('request_protocol');

export const UNKNOWN = 'unknown';

/** Istio's default cluster id (`values.global.multiCluster.clusterName` unset). */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** One side of a call as the metrics name it. */
export interface WorkloadLabels {
  /** Deployment-like name, e.g. `reviews-v2`. */
  workload: string;
  namespace: string;
  /** `spiffe://td/ns/NS/sa/SA` from a verified certificate, else `unknown`. */
  principal: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  cluster: string;
}

/** The destination service of a call. */
export interface ServiceLabels {
  /** FQDN, e.g. `reviews.default.svc.cluster.local` (or the authority when not in the mesh). */
  host: string;
  name: string;
  namespace: string;
}

/** Input of {@link workloadLabels}. */
export interface WorkloadFacts {
  /** Workload name when known (defaults to `<service>-<version>` or the service). */
  workload?: string;
  service?: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
  /** Verified peer identity (URI SAN). */
  principal?: string;
  cluster?: string;
}

/**
 * Label values for one workload, derived as Istio does: app from `app` (else
 * `app.kubernetes.io/name`), version from `version` (else `app.kubernetes.io/version`), canonical
 * service/revision from `service.istio.io/canonical-{name,revision}`, else app / version, else
 * the workload name / `latest`.
 *
 * @example
 * ```ts
 * workloadLabels({ service: 'reviews', namespace: 'default', labels: { app: 'reviews', version: 'v2' } });
 * // { workload: 'reviews-v2', app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2', … }
 * ```
 */
export function workloadLabels(f: WorkloadFacts): WorkloadLabels {
  const l = f.labels ?? {};
  const app = l['app'] ?? l['app.kubernetes.io/name'];
  const version = l['version'] ?? l['app.kubernetes.io/version'];
  const workload = f.workload ?? (f.service ? (version ? `${f.service}-${version}` : f.service) : undefined);
  return {
    workload: workload ?? UNKNOWN,
    namespace: f.namespace ?? UNKNOWN,
    principal: f.principal ?? UNKNOWN,
    app: app ?? UNKNOWN,
    version: version ?? UNKNOWN,
    canonicalService: l['service.istio.io/canonical-name'] ?? app ?? workload ?? UNKNOWN,
    canonicalRevision: l['service.istio.io/canonical-revision'] ?? version ?? 'latest',
    cluster: f.cluster ?? DEFAULT_CLUSTER_ID,
  };
}

/** The peer nobody told us about (a caller outside the mesh). */
export const UNKNOWN_WORKLOAD: WorkloadLabels = workloadLabels({});

/**
 * The destination service from an upstream cluster name (`outbound|9080|v1|reviews.default.svc.cluster.local`)
 * or, for passthrough, the authority the caller used.
 *
 * @example
 * ```ts
 * serviceFromCluster('outbound|9080|v1|reviews.default.svc.cluster.local', 'reviews');
 * // { host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }
 * ```
 */
export function serviceFromCluster(cluster: string, authority: string): ServiceLabels {
  const parts = cluster.split('|');
  const host = parts.length === 4 && parts[3] ? parts[3] : authority.replace(/:\d+$/, '') || UNKNOWN;
  const labels = host.split('.');
  const internal = labels.length >= 3 && labels[2] === 'svc';
  return { host, name: internal ? labels[0]! : host, namespace: internal ? labels[1]! : UNKNOWN };
}

/** `source_*`/`destination_*` values of an edge, in {@link HTTP_LABELS} order (without reporter). */
export function edgeValues(source: WorkloadLabels, destination: WorkloadLabels, service: ServiceLabels): string[] {
  return [
    source.workload, source.canonicalService, source.canonicalRevision, source.namespace,
    source.principal, source.app, source.version, source.cluster,
    destination.workload, destination.namespace, destination.principal, destination.app,
    destination.version, service.host, destination.canonicalService, destination.canonicalRevision,
    service.name, service.namespace, destination.cluster,
  ];
}
