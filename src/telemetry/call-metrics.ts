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
import type { InboundCall, InboundOutcome, InboundStage } from '../security/inbound-policy.js';
import { serviceFromCluster, UNKNOWN, workloadLabels, type ServiceLabels, type WorkloadLabels } from './metrics-labels.js';
import { decodePeerMetadata, PEER_METADATA_HEADER } from './peer-metadata.js';
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

/** Bound on per-key caches (clusters per endpoint, principals): past it, edges are still right, just looked up in IstioMetrics' map. */
const CACHE_LIMIT = 4096;
/** Stands for "no endpoint was picked" (local replies: NR, UH, fault aborts). */
const NO_ENDPOINT: object = {};

/** The Envoy response flags label: `-` when none, else comma separated. */
export function flagsLabel(flags: readonly string[]): string {
  return flags.length === 0 ? '-' : flags.length === 1 ? flags[0]! : flags.join(',');
}

/**
 * Istio's metrics from the call observer (outbound) and the inbound policy (inbound, through
 * {@link CallMetrics.stage}, which watches every request's end and refuses nothing).
 *
 * @example
 * ```ts
 * const metrics = new IstioMetrics();
 * const calls = new CallMetrics(metrics, { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
 * mesh.observe(calls);                         // every outbound call counts as reporter="source"
 * mesh.inbound.policy.use(calls.stage);        // every inbound request as reporter="destination"
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
   * The inbound policy stage: counts each request's end as reporter `destination` (denied ones
   * too, with the code they got). Registered after every other stage so their flags are in.
   */
  readonly stage: InboundStage = { name: 'istio-metrics', onEnd: (call, outcome) => this.inbound(call, outcome) };

  /**
   * Counts one inbound request (reporter `destination`).
   *
   * @example
   * ```ts
   * calls.inbound(call, { status: 200, grpcStatus: 0, durationMs: 1.2, requestBytes: 12, responseBytes: 40, requestMessages: 1, responseMessages: 1 });
   * ```
   */
  inbound(call: InboundCall, end: InboundOutcome): void {
    const view = call.view;
    const principal = view.peer.principal;
    // mTLS is a TLS connection whose client certificate verified (only then is a principal set).
    const mtls = view.tls && principal !== undefined;
    const protocol = view.protocol;
    const edges = this.inboundEdges[(protocol === 'grpc' ? 2 : 0) + (mtls ? 1 : 0)]!;
    // The caller's metadata exchange header, when it sent one (a meshlet mesh reporting metrics,
    // or an Istio sidecar): its workload labels; without it the caller is known by its certificate only.
    const mx = view.header(PEER_METADATA_HEADER);
    const key = mx === undefined ? principal ?? UNKNOWN : `${principal ?? UNKNOWN}\n${mx}`;
    let edge = edges.get(key);
    if (edge === undefined) {
      const facts = decodePeerMetadata(mx);
      const peer = workloadLabels({ ...facts, principal: principal ?? UNKNOWN });
      edge = this.metrics.edge('destination', peer, this.local, this.localService, protocol, mtls ? 'mutual_tls' : 'none');
      if (edges.size < CACHE_LIMIT) edges.set(key, edge);
    }
    const grpc = protocol === 'grpc';
    const series = edge.series(end.status, grpc ? end.grpcStatus ?? 2 : -1, flagsLabel(call.flags));
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
