/**
 * Drives {@link IstioMetrics} from the mesh's seams: outbound calls (core/observer.ts's
 * CallObserver, both adapters) report as `source`, inbound requests as `destination`, like a
 * client and a server sidecar. Edges are bound once per (endpoint object, cluster) — endpoint
 * objects come from the compiled EDS snapshot, so they are stable until the endpoints change —
 * and each edge holds its series per (code, gRPC status, flags): a request does two or three map
 * reads and a few typed-array increments, and builds no label object.
 */
import type { CallObserver, ObservedCall } from '../core/observer.js';
import type { UpstreamEndpoint } from '../core/types.js';
import { serviceFromCluster, UNKNOWN, workloadLabels, type ServiceLabels, type WorkloadLabels } from './metrics-labels.js';
import type { IstioMetrics, MetricsEdge, RequestProtocol } from './metrics.js';

/** This process as a workload (from `createMesh` options). */
export interface LocalWorkload {
  service?: string;
  namespace?: string;
  labels?: Readonly<Record<string, string>>;
  /** SPIFFE ID of this workload's certificate, once it has one. */
  principal?: string;
  /** Cluster DNS suffix; default `cluster.local`. */
  domainSuffix?: string;
  cluster?: string;
}

/** What the inbound side reports at the end of one request (from the inbound policy's observer). */
export interface InboundEnd {
  readonly protocol: 'http' | 'grpc';
  /** The caller's verified SPIFFE ID (mTLS), else undefined. */
  readonly principal?: string | undefined;
  /** True when the connection was mTLS with a verified peer. */
  readonly mtls: boolean;
  /** HTTP status the server answered (gRPC: the HTTP status, normally 200); 0 when none was sent. */
  readonly status: number;
  /** gRPC status; undefined for HTTP. */
  readonly grpcStatus?: number | undefined;
  /** Envoy response flags (a denial is `UAEX`/`-`…); empty when none. */
  readonly flags?: readonly string[];
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly requestMessages?: number;
  readonly responseMessages?: number;
}

/** Bound on per-key caches (clusters per endpoint, principals): past it, edges are still right, just looked up in IstioMetrics' map. */
const CACHE_LIMIT = 4096;
/** Stands for "no endpoint was picked" (local replies: NR, UH, fault aborts). */
const NO_ENDPOINT: object = {};

/** The Envoy response flags label: `-` when none, else comma separated. */
export function flagsLabel(flags: readonly string[]): string {
  return flags.length === 0 ? '-' : flags.length === 1 ? flags[0]! : flags.join(',');
}

/**
 * Istio's metrics from the call observer (outbound) and {@link CallMetrics.inbound} (inbound).
 *
 * @example
 * ```ts
 * const metrics = new IstioMetrics();
 * const calls = new CallMetrics(metrics, { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
 * mesh.observe(calls);                      // every outbound call counts as reporter="source"
 * calls.inbound({ protocol: 'http', mtls: false, status: 200, durationMs: 3, requestBytes: 0, responseBytes: 120 });
 * ```
 */
export class CallMetrics implements CallObserver<undefined> {
  private readonly local: WorkloadLabels;
  private readonly localService: ServiceLabels;
  private readonly services = new Map<string, ServiceLabels>();
  /** Outbound edges per protocol: endpoint object → cluster (or authority) → edge. */
  private readonly outboundHttp = new WeakMap<object, Map<string, MetricsEdge>>();
  private readonly outboundGrpc = new WeakMap<object, Map<string, MetricsEdge>>();
  /** Inbound edges by principal, one map per (protocol, mTLS): the peer is known by its certificate only. */
  private readonly inboundEdges = [new Map<string, MetricsEdge>(), new Map<string, MetricsEdge>(), new Map<string, MetricsEdge>(), new Map<string, MetricsEdge>()] as const;

  constructor(private readonly metrics: IstioMetrics, local: LocalWorkload) {
    this.local = workloadLabels({
      ...(local.service !== undefined ? { service: local.service } : {}),
      ...(local.namespace !== undefined ? { namespace: local.namespace } : {}),
      ...(local.labels !== undefined ? { labels: local.labels } : {}),
      ...(local.principal !== undefined ? { principal: local.principal } : {}),
      ...(local.cluster !== undefined ? { cluster: local.cluster } : {}),
    });
    const ns = local.namespace ?? 'default';
    const svc = local.service ?? this.local.workload;
    this.localService = { host: `${svc}.${ns}.svc.${local.domainSuffix ?? 'cluster.local'}`, name: svc, namespace: ns };
  }

  onStart(): undefined {
    return undefined;
  }

  onEnd(_state: undefined, call: ObservedCall): void {
    const edge = this.outboundEdge(call);
    const grpc = call.protocol === 'grpc';
    // Envoy answers gRPC with HTTP 200 and the status in trailers (local replies too), so Istio's
    // gRPC series say response_code 200 and carry the code in grpc_response_status.
    const series = edge.series(grpc ? 200 : call.status, grpc ? call.grpcStatus ?? 2 : -1, flagsLabel(call.flags));
    series.record(call.durationMs, call.requestBytes ?? 0, call.responseBytes);
    if (grpc) series.messages(call.requestMessages ?? 0, call.responseMessages ?? 0);
  }

  /**
   * Counts one inbound request (reporter `destination`).
   *
   * @example
   * ```ts
   * calls.inbound({ protocol: 'grpc', mtls: true, principal: 'spiffe://cluster.local/ns/default/sa/productpage', status: 200, grpcStatus: 0, durationMs: 1.2, requestBytes: 12, responseBytes: 40, requestMessages: 1, responseMessages: 1 });
   * ```
   */
  inbound(end: InboundEnd): void {
    const principal = end.principal ?? UNKNOWN;
    const edges = this.inboundEdges[(end.protocol === 'grpc' ? 2 : 0) + (end.mtls ? 1 : 0)]!;
    let edge = edges.get(principal);
    if (edge === undefined) {
      // Without metadata exchange the caller is known by its certificate only.
      const peer = workloadLabels({ principal });
      const security = end.mtls ? 'mutual_tls' : 'none';
      edge = this.metrics.edge('destination', peer, this.local, this.localService, end.protocol, security);
      if (edges.size < CACHE_LIMIT) edges.set(principal, edge);
    }
    const grpc = end.protocol === 'grpc';
    const series = edge.series(end.status, grpc ? end.grpcStatus ?? 2 : -1, flagsLabel(end.flags ?? []));
    series.record(end.durationMs, end.requestBytes, end.responseBytes);
    if (grpc) series.messages(end.requestMessages ?? 0, end.responseMessages ?? 0);
  }

  private outboundEdge(call: ObservedCall): MetricsEdge {
    const key = call.clusterName || call.authority;
    const endpoint: object = call.endpoint ?? NO_ENDPOINT;
    const outbound = call.protocol === 'grpc' ? this.outboundGrpc : this.outboundHttp;
    let byCluster = outbound.get(endpoint);
    if (byCluster === undefined) outbound.set(endpoint, (byCluster = new Map()));
    let edge = byCluster.get(key);
    if (edge === undefined) {
      const service = this.service(call.clusterName, call.authority, key);
      const peer = call.endpoint ? endpointLabels(call.endpoint, service) : workloadLabels({});
      // A client sidecar reports connection_security_policy `unknown` (istio/proxy testdata).
      edge = this.metrics.edge('source', this.local, peer, service, call.protocol as RequestProtocol, 'unknown');
      if (byCluster.size < CACHE_LIMIT) byCluster.set(key, edge);
    }
    return edge;
  }

  private service(cluster: string, authority: string, key: string): ServiceLabels {
    let service = this.services.get(key);
    if (service === undefined) {
      service = serviceFromCluster(cluster, authority);
      if (this.services.size < CACHE_LIMIT) this.services.set(key, service);
    }
    return service;
  }
}

/** An upstream endpoint as a workload: its EDS labels, in the destination service's namespace. */
function endpointLabels(endpoint: UpstreamEndpoint, service: ServiceLabels): WorkloadLabels {
  const internal = service.namespace !== UNKNOWN;
  return workloadLabels({
    ...(internal ? { service: service.name, namespace: service.namespace } : {}),
    labels: endpoint.labels,
  });
}
