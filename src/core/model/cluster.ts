/** Cluster model: LB policy, circuit breakers, outlier detection, discovery type. Plain immutable data built by src/xds/resources, read by the engine. */
import type { JsonObject } from '../../internal/json.js';
import type { EndpointsModel } from './endpoint.js';
import type { ClusterTransportModel } from './transport.js';

export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export interface CircuitBreakersModel {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** thresholds.retry_budget; unset: no budget, only max_retries limits retries. */
  readonly retryBudget?: { readonly percent: number; readonly minRetryConcurrency: number };
}

/** Envoy's outlier detection; every field carries Envoy's default when unset. */
export interface OutlierDetectionModel {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingSuccessRate: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly enforcingFailurePercentage: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  readonly splitExternalLocalOriginErrors: boolean;
}

export type ClusterType = 'EDS' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS';

/** A CDS resource. */
export interface ClusterModel {
  readonly name: string;
  readonly type: ClusterType;
  /** EDS only: the ClusterLoadAssignment name to watch (service_name, else the cluster name). */
  readonly edsServiceName?: string;
  /** STATIC / *_DNS: the inline load_assignment (DNS ones hold host names). */
  readonly loadAssignment?: EndpointsModel;
  readonly lbPolicy: LbPolicy;
  /** lb_policy came wrapped in wrr_locality (or locality_weighted_lb_config): weight localities. */
  readonly localityWeighted: boolean;
  /** RING_HASH only. Envoy defaults 1024 / 8 388 608. */
  readonly ringHash?: { readonly minRingSize: number; readonly maxRingSize: number };
  /** LEAST_REQUEST only; default 2. */
  readonly choiceCount?: number;
  /** MAGLEV only; default 65537. */
  readonly maglevTableSize?: number;
  /** DEFAULT priority thresholds; Envoy defaults 1024 / 1024 / 1024 / 3. */
  readonly circuitBreakers: CircuitBreakersModel;
  /** Unset: outlier detection disabled. */
  readonly outlierDetection?: OutlierDetectionModel;
  /** common_lb_config.healthy_panic_threshold in percent; Envoy's default 50, 0 disables panic. */
  readonly healthyPanicThreshold: number;
  /** HttpProtocolOptions.common_http_protocol_options.max_requests_per_connection; unset: unlimited. */
  readonly maxRequestsPerConnection?: number;
  /** HttpProtocolOptions.explicit_http_config.http2_protocol_options: HTTP requests go upstream over HTTP/2 (h2c, or ALPN h2 over TLS). */
  readonly http2?: true;
  /** Default 5000 (Envoy). */
  readonly connectTimeoutMs: number;
  readonly metadata: Readonly<Record<string, JsonObject>>;
  /** transport_socket is set (TLS to the upstream); its contents are the security layer's job. */
  readonly transportSocket?: { readonly name: string; readonly typeUrl: string; readonly value: Uint8Array };
  /** transport_socket and transport_socket_matches decoded (UpstreamTlsContext / raw_buffer); unset: plaintext. */
  readonly transport?: ClusterTransportModel;
}
