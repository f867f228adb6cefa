/**
 * A socket listener that proxies TCP: Envoy's listener with filter chains ending in
 * `envoy.filters.network.tcp_proxy`, as Istio builds it for a gateway's TLS PASSTHROUGH and TCP
 * servers (`pilot/pkg/networking/core/gateway.go` buildGatewayNetworkFiltersFromTLSRoutes /
 * FromTCPRoutes). Plain data built by src/xds/resources/tcp-listener.ts.
 */

/** One upstream cluster of a chain, with its weight (a single cluster has weight 1). */
export interface TcpClusterWeight {
  readonly name: string;
  readonly weight: number;
}

/** The chain's tcp_proxy. */
export interface TcpProxyModel {
  readonly statPrefix: string;
  /** One entry (`cluster`) or several (`weighted_clusters`); weights ≥ 1. */
  readonly clusters: readonly TcpClusterWeight[];
  /** No bytes either way for this long closes both sides; undefined: Envoy's default (1 h); 0: none. */
  readonly idleTimeoutMs?: number;
  /** `max_downstream_connection_duration`; undefined or 0: none. */
  readonly maxConnectionDurationMs?: number;
  /** `hash_policy` source_ip (a DestinationRule's consistentHash.useSourceIp). */
  readonly hashSourceIp: boolean;
}

/** One filter chain: what it matches (empty lists: anything) and where it sends bytes. */
export interface TcpChainModel {
  readonly name: string;
  /** `filter_chain_match.server_names`, lower case: exact names or `*.suffix` wildcards. */
  readonly serverNames: readonly string[];
  /** `filter_chain_match.transport_protocol`: `tls`, `raw_buffer` or '' (any). */
  readonly transportProtocol: '' | 'tls' | 'raw_buffer';
  readonly applicationProtocols: readonly string[];
  readonly proxy: TcpProxyModel;
}

/** A TCP proxy listener. */
export interface TcpListenerModel {
  /** The bind address (`0.0.0.0`, or a Gateway server's `bind`). */
  readonly address: string;
  readonly port: number;
  /** The tls_inspector listener filter is configured: read the ClientHello before choosing a chain. */
  readonly inspectTls: boolean;
  readonly chains: readonly TcpChainModel[];
}
