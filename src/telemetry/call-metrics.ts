/**
 * Drives {@link IstioMetrics} from the call observer: outbound calls report as `source`, inbound
 * as `destination`, like a client and a server sidecar. Edges are cached per (peer workload
 * object, cluster); workload objects come from the compiled EDS snapshot (outbound) or from the
 * memoized peer-metadata decoder (inbound), so a request does map reads and counter increments.
 */
import type { CallEnd, CallEvents, CallStart, CallWorkload } from './call-events.js';
import { serviceFromCluster, workloadLabels, type ServiceLabels, type WorkloadLabels } from './metrics-labels.js';
import type { IstioMetrics, MetricsEdge } from './metrics.js';

/** This process as a workload (from `createMesh` options). */
export interface LocalWorkload extends CallWorkload {
  /** Cluster DNS suffix; default `cluster.local`. */
  domainSuffix?: string;
  cluster?: string;
}

const NO_PEER: CallWorkload = {};
/** Bound on the per-name caches (service labels, edges per peer). */
const CACHE_LIMIT = 4096;

/** The Envoy response flags label: `-` when none, else comma separated. */
export function flagsLabel(flags: readonly string[]): string {
  return flags.length === 0 ? '-' : flags.length === 1 ? flags[0]! : flags.join(',');
}

/**
 * @example
 * ```ts
 * const metrics = new IstioMetrics();
 * const events = new CallMetrics(metrics, { service: 'productpage', namespace: 'default', labels: { app: 'productpage', version: 'v1' } });
 * const s = events.onStart(call);
 * events.onEnd(s, { status: 200, flags: [], requestBytes: 0, responseBytes: 120, durationMs: 4, attempts: 1 });
 * ```
 */
export class CallMetrics implements CallEvents<CallStart> {
  private readonly local: WorkloadLabels;
  private readonly localService: ServiceLabels;
  private readonly peers = new WeakMap<CallWorkload, WorkloadLabels>();
  private readonly services = new Map<string, ServiceLabels>();
  private readonly outbound = new WeakMap<CallWorkload, Map<string, MetricsEdge>>();
  private readonly inbound = new WeakMap<CallWorkload, Map<string, MetricsEdge>>();

  constructor(private readonly metrics: IstioMetrics, local: LocalWorkload) {
    this.local = workloadLabels({ ...local, ...(local.principal !== undefined ? { principal: local.principal } : {}) });
    const ns = local.namespace ?? 'default';
    const svc = local.service ?? this.local.workload;
    this.localService = { host: `${svc}.${ns}.svc.${local.domainSuffix ?? 'cluster.local'}`, name: svc, namespace: ns };
  }

  onStart(call: CallStart): CallStart {
    return call;
  }

  onEnd(call: CallStart, end: CallEnd): void {
    const edge = call.direction === 'outbound' ? this.outboundEdge(call, end.workload ?? NO_PEER) : this.inboundEdge(call);
    const series = edge.series(end.status, end.grpcStatus ?? -1, flagsLabel(end.flags));
    series.record(end.durationMs, end.requestBytes, end.responseBytes);
    if (call.protocol === 'grpc') series.messages(end.requestMessages ?? 0, end.responseMessages ?? 0);
  }

  private peerLabels(w: CallWorkload): WorkloadLabels {
    let labels = this.peers.get(w);
    if (labels === undefined) {
      labels = workloadLabels({
        ...(w.service !== undefined ? { service: w.service } : {}),
        ...(w.namespace !== undefined ? { namespace: w.namespace } : {}),
        ...(w.labels !== undefined ? { labels: w.labels } : {}),
        ...(w.principal !== undefined ? { principal: w.principal } : {}),
      });
      this.peers.set(w, labels);
    }
    return labels;
  }

  private outboundEdge(call: CallStart, peer: CallWorkload): MetricsEdge {
    const key = call.clusterName || call.authority;
    let byCluster = this.outbound.get(peer);
    if (byCluster === undefined) this.outbound.set(peer, (byCluster = new Map()));
    let edge = byCluster.get(key);
    if (edge === undefined) {
      let service = this.services.get(key);
      if (service === undefined) {
        service = serviceFromCluster(call.clusterName, call.authority);
        if (this.services.size < CACHE_LIMIT) this.services.set(key, service);
      }
      // A client sidecar reports connection_security_policy `unknown` (istio/proxy testdata).
      edge = this.metrics.edge('source', this.local, this.peerLabels(peer), service, call.protocol, 'unknown');
      if (byCluster.size < CACHE_LIMIT) byCluster.set(key, edge);
    }
    return edge;
  }

  private inboundEdge(call: CallStart): MetricsEdge {
    const peer = call.peer ?? NO_PEER;
    let bySecurity = this.inbound.get(peer);
    if (bySecurity === undefined) this.inbound.set(peer, (bySecurity = new Map()));
    const security = call.mtls ? 'mutual_tls' : 'none';
    const key = call.protocol === 'grpc' ? (call.mtls ? 'grpc/mtls' : 'grpc') : call.mtls ? 'http/mtls' : 'http';
    let edge = bySecurity.get(key);
    if (edge === undefined) {
      edge = this.metrics.edge('destination', this.peerLabels(peer), this.local, this.localService, call.protocol, security);
      bySecurity.set(key, edge);
    }
    return edge;
  }
}
