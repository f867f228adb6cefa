/**
 * Istio's TCP metrics for connections a meshlet process proxies (the gateway's TLS passthrough
 * and TCP servers): `istio_tcp_connections_opened_total`, `istio_tcp_connections_closed_total`,
 * `istio_tcp_received_bytes_total` (bytes from the downstream client) and
 * `istio_tcp_sent_bytes_total` (bytes to it), with `reporter="source"`, this process as the
 * source workload and the upstream endpoint as the destination, in the mesh's one registry (the
 * same `/stats/prometheus`). Istio's stats filter reports a connection's bytes when it closes
 * and every `tcp_reporting_duration` (15 s) while it is open (istio/proxy
 * `source/extensions/filters/network/metadata_exchange` + `stats` plugin, TCP reporting);
 * callers do the same through {@link TcpSeriesHandle.bytes} deltas.
 *
 * Edges are bound once per (endpoint object, cluster) as for HTTP (call-metrics.ts): a
 * connection does two map reads at its start, then plain additions.
 */
import type { UpstreamEndpoint } from '../core/types.js';
import { serviceFromCluster, UNKNOWN, workloadLabels, type ServiceLabels, type WorkloadLabels } from './metrics-labels.js';
import type { IstioMetrics, MetricsEdge, TcpSeries } from './metrics.js';

/**
 * Where a mesh keeps its metrics registry (undefined when it records none), for code beside the
 * mesh client in this package (the gateway): a `Symbol.for` key, so two copies of the package agree.
 */
export const METRICS_REGISTRY: unique symbol = Symbol.for('meshlet.mesh.metricsRegistry') as never;

/** Istio's default `tcp_reporting_duration`. */
export const TCP_REPORTING_MS = 15_000;

const CACHE_LIMIT = 4096;
const NO_ENDPOINT: object = {};

/** The series one connection reports into. */
export type TcpSeriesHandle = TcpSeries;

/**
 * TCP metrics of one proxying process (reporter `source`).
 *
 * @example
 * ```ts
 * const tcp = new TcpMetrics(registry, workloadLabels({ service: 'istio-ingressgateway', namespace: 'istio-system' }));
 * const s = tcp.series(endpoint, 'outbound|443||nginx.example.com', '-');
 * s.opened(); s.bytes(sent, received); s.closed();
 * ```
 */
export class TcpMetrics {
  private readonly edges = new WeakMap<object, Map<string, MetricsEdge>>();
  private readonly services = new Map<string, ServiceLabels>();

  constructor(private readonly registry: IstioMetrics, private readonly local: WorkloadLabels) {}

  /** The series of a connection to `endpoint` (undefined: none was picked) of `cluster`, with Envoy response flags `flags`. */
  series(endpoint: UpstreamEndpoint | undefined, cluster: string, flags: string): TcpSeriesHandle {
    const key: object = endpoint ?? NO_ENDPOINT;
    let byCluster = this.edges.get(key);
    if (byCluster === undefined) this.edges.set(key, (byCluster = new Map()));
    let edge = byCluster.get(cluster);
    if (edge === undefined) {
      const service = this.service(cluster);
      const peer = endpoint ? endpointLabels(endpoint, service) : workloadLabels({});
      // A client-side proxy reports connection_security_policy `unknown` (istio/proxy testdata).
      edge = this.registry.edge('source', this.local, peer, service, 'tcp', 'unknown');
      if (byCluster.size < CACHE_LIMIT) byCluster.set(cluster, edge);
    }
    return edge.tcp(flags);
  }

  private service(cluster: string): ServiceLabels {
    let s = this.services.get(cluster);
    if (s === undefined) {
      s = serviceFromCluster(cluster, '');
      if (this.services.size < CACHE_LIMIT) this.services.set(cluster, s);
    }
    return s;
  }
}

/** An upstream endpoint as a workload: its EDS labels, in the destination service's namespace (as call-metrics.ts). */
function endpointLabels(endpoint: UpstreamEndpoint, service: ServiceLabels): WorkloadLabels {
  const internal = service.namespace !== UNKNOWN;
  return workloadLabels({ ...(internal ? { service: service.name, namespace: service.namespace } : {}), labels: endpoint.labels });
}
