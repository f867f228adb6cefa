/**
 * The client-side model of validated xDS resources: plain, immutable data (discriminated unions
 * on `kind`), built once per update by src/xds/resources and read by the engine. Durations are
 * milliseconds, percentages are exact {@link Fraction}s, regexes are already compiled.
 */
import type { FullMatchRegex, RewriteRegex } from '../internal/regex.js';
import type { JsonObject } from './struct.js';

/**
 * An exact fraction, as Envoy's FractionalPercent (grpc-js-xds keeps the same shape):
 * `denominator` is 100, 10 000 or 1 000 000 and `numerator <= denominator`.
 * A runtime rolls `Math.floor(random() * denominator) < numerator`.
 */
export interface Fraction {
  readonly numerator: number;
  readonly denominator: 100 | 10_000 | 1_000_000;
}

// ---------------------------------------------------------------------------------------------
// Listener

/** Decoded config of an HTTP filter, top-level or per-route override. */
export type FilterConfigModel =
  | { readonly kind: 'router'; readonly typeUrl: string }
  | { readonly kind: 'fault'; readonly typeUrl: string; readonly fault: FaultModel }
  /** A filter meshlet does not implement that the server marked `is_optional`. */
  | { readonly kind: 'unsupported'; readonly typeUrl: string; readonly optional: true };

/** One entry of HttpConnectionManager.http_filters. */
export interface HttpFilterModel {
  readonly name: string;
  readonly typeUrl: string;
  readonly config: FilterConfigModel;
}

/** An LDS resource: an api_listener with an HttpConnectionManager. */
export interface ListenerModel {
  readonly name: string;
  /** Exactly one of `routeConfigName` (RDS) and `routeConfig` (inline) is set. */
  readonly routeConfigName?: string;
  readonly routeConfig?: RouteConfigModel;
  /** In order; the router filter is always last. */
  readonly httpFilters: readonly HttpFilterModel[];
  /** The fault filter is configured, so per-route fault overrides take effect. */
  readonly hasFaultFilter: boolean;
  /** HttpConnectionManager.common_http_protocol_options.max_stream_duration (gRPC). */
  readonly maxStreamDurationMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Routes

/** Matcher on the request path. `regex` is RE2, full match, as in Envoy. */
export type PathMatchModel =
  | { readonly kind: 'exact' | 'prefix' | 'path_separated_prefix'; readonly value: string; readonly caseSensitive: boolean }
  | { readonly kind: 'regex'; readonly value: string; readonly regex: FullMatchRegex; readonly caseSensitive: boolean };

/** A string matcher (exact/prefix/suffix/contains/regex), as in Envoy's StringMatcher. */
export type StringMatchModel =
  | { readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly value: string; readonly regex: FullMatchRegex };

/**
 * Header matcher. `invert` negates the result (Envoy's invert_match); `treatMissingAsEmpty`
 * (treat_missing_header_as_empty) matches a missing header as the empty string.
 */
export type HeaderMatchModel = { readonly name: string; readonly invert: boolean; readonly treatMissingAsEmpty?: boolean } & (
  | StringMatchModel
  | { readonly kind: 'present'; readonly present: boolean }
  /** Integer range [start, end) on the header value. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
);

/** Query parameter matcher: `present`, or a string match on the value. */
export type QueryParamMatchModel = { readonly name: string } & (StringMatchModel | { readonly kind: 'present' });

export interface RouteMatchModel {
  readonly path: PathMatchModel;
  readonly headers: readonly HeaderMatchModel[];
  readonly queryParams: readonly QueryParamMatchModel[];
  /** runtime_fraction.default_value: the route matches only this fraction of requests. */
  readonly fraction?: Fraction;
  /** grpc: {} — match gRPC requests only (content-type application/grpc*). */
  readonly grpcOnly: boolean;
}

export interface WeightedClusterModel {
  readonly name: string;
  readonly weight: number;
  /** Per-cluster fault override (typed_per_filter_config), most specific level. */
  readonly fault?: FaultModel;
  /** ClusterWeight header fields: applied after the route's when this cluster is picked. */
  readonly requestHeadersToAdd?: readonly HeaderToAddModel[];
  readonly requestHeadersToRemove?: readonly string[];
  readonly responseHeadersToAdd?: readonly HeaderToAddModel[];
  readonly responseHeadersToRemove?: readonly string[];
  /** ClusterWeight.host_rewrite_literal. */
  readonly hostRewrite?: string;
}

export interface RedirectModel {
  readonly scheme?: string;
  readonly host?: string;
  readonly port?: number;
  /** Exactly one path rewrite at most. */
  readonly path?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewriteModel;
  /** 301, 302, 303, 307 or 308. */
  readonly status: number;
  readonly stripQuery: boolean;
}

export type RouteActionModel =
  | { readonly kind: 'cluster'; readonly cluster: string }
  | { readonly kind: 'weighted'; readonly clusters: readonly WeightedClusterModel[]; readonly totalWeight: number }
  | { readonly kind: 'cluster_header'; readonly header: string }
  | { readonly kind: 'redirect'; readonly redirect: RedirectModel }
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string }
  | { readonly kind: 'non_forwarding' };

export interface RetryPolicyModel {
  /** Envoy retry_on conditions, split on commas: `5xx`, `connect-failure`, `unavailable`… */
  readonly retryOn: readonly string[];
  /** Default 1 (Envoy). */
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy defaults: base 25 ms, max 10 × base. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly retriableStatusCodes: readonly number[];
}

export interface FaultModel {
  readonly delay?:
    | { readonly kind: 'fixed'; readonly delayMs: number; readonly fraction: Fraction }
    /** Delay taken from the `x-envoy-fault-delay-request` header. */
    | { readonly kind: 'header'; readonly fraction: Fraction };
  readonly abort?:
    | { readonly kind: 'http'; readonly httpStatus: number; readonly fraction: Fraction }
    | { readonly kind: 'grpc'; readonly grpcStatus: number; readonly fraction: Fraction }
    /** Status taken from the `x-envoy-fault-abort-request` / `-grpc-request` headers. */
    | { readonly kind: 'header'; readonly fraction: Fraction };
  /** Unset: unlimited. */
  readonly maxActiveFaults?: number;
}

export type HashPolicyModel = { readonly terminal: boolean } & (
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs?: number; readonly path?: string }
  | { readonly kind: 'connection'; readonly sourceIp: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string }
);

/** How a header is added: Envoy's HeaderValueOption.append_action. */
export type HeaderAppendAction = 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';

export interface HeaderToAddModel {
  readonly name: string;
  readonly value: string;
  readonly action: HeaderAppendAction;
  readonly keepEmptyValue: boolean;
}

export interface RegexRewriteModel {
  /** RE2; Envoy replaces every match. */
  readonly regex: RewriteRegex;
  readonly substitution: string;
}

export interface MirrorModel {
  readonly cluster: string;
  /** Default 100%. */
  readonly fraction: Fraction;
}

export interface RouteModel {
  readonly name: string;
  readonly match: RouteMatchModel;
  readonly action: RouteActionModel;
  /**
   * route.timeout in ms; 0 disables. Undefined when unset — Envoy would apply 15 s
   * ({@link ENVOY_DEFAULT_ROUTE_TIMEOUT_MS}); gRPC clients use max_stream_duration instead.
   */
  readonly timeoutMs?: number;
  /** max_stream_duration.max_stream_duration (or grpc_timeout_header_max), ms. */
  readonly maxStreamDurationMs?: number;
  /** The route's own policy, else its virtual host's. */
  readonly retryPolicy?: RetryPolicyModel;
  /** hedge_policy.hedge_on_per_try_timeout of the route's policy, else its virtual host's. */
  readonly hedgeOnPerTryTimeout?: boolean;
  /** Most specific of route > virtual host (weighted clusters may override again). */
  readonly fault?: FaultModel;
  readonly hashPolicy: readonly HashPolicyModel[];
  /** In application order: route config, then virtual host, then route (Envoy's default). */
  readonly requestHeadersToAdd: readonly HeaderToAddModel[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderToAddModel[];
  readonly responseHeadersToRemove: readonly string[];
  readonly prefixRewrite?: string;
  readonly regexRewrite?: RegexRewriteModel;
  readonly hostRewrite?: string;
  readonly mirrors: readonly MirrorModel[];
  /** Route metadata (filter_metadata), e.g. Istio's `istio` block. */
  readonly metadata: Readonly<Record<string, JsonObject>>;
}

export interface VirtualHostModel {
  readonly name: string;
  /** As given: exact, `*.suffix`, `prefix*` or `*`. Port may be part of a domain. */
  readonly domains: readonly string[];
  readonly routes: readonly RouteModel[];
  readonly typedPerFilterConfig: Readonly<Record<string, FilterConfigModel>>;
  readonly retryPolicy?: RetryPolicyModel;
}

/** An RDS resource (or HttpConnectionManager.route_config). */
export interface RouteConfigModel {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostModel[];
}

/** Envoy's route timeout when `timeout` is unset. */
export const ENVOY_DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Clusters

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
  /** Default 5000 (Envoy). */
  readonly connectTimeoutMs: number;
  readonly metadata: Readonly<Record<string, JsonObject>>;
  /** transport_socket is set (TLS to the upstream); its contents are the security layer's job. */
  readonly transportSocket?: { readonly name: string; readonly typeUrl: string; readonly value: Uint8Array };
}

// ---------------------------------------------------------------------------------------------
// Endpoints

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LocalityModel {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface EndpointModel {
  /** IP address (EDS/STATIC) or host name (DNS clusters). */
  readonly address: string;
  readonly port: number;
  /** Default 1. */
  readonly weight: number;
  readonly health: HealthStatus;
  /** filter_metadata['envoy.lb'] string values (Istio puts subset labels there). */
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, JsonObject>>;
  readonly hostname?: string;
}

export interface LocalityEndpointsModel {
  readonly locality: LocalityModel;
  /** Default 1. */
  readonly weight: number;
  /** 0 is highest. */
  readonly priority: number;
  readonly endpoints: readonly EndpointModel[];
}

/** An EDS resource (ClusterLoadAssignment). */
export interface EndpointsModel {
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpointsModel[];
  readonly dropOverloads: ReadonlyArray<{ readonly category: string; readonly fraction: Fraction }>;
}

// ---------------------------------------------------------------------------------------------

/** Model type of each resource type URL. */
export interface ResourceModels {
  'type.googleapis.com/envoy.config.listener.v3.Listener': ListenerModel;
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': RouteConfigModel;
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': ClusterModel;
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': EndpointsModel;
}

/** Result of validating one resource: the model, or every error with its field path. */
export type ValidationResult<M> =
  | { readonly ok: true; readonly name: string; readonly model: M }
  | { readonly ok: false; readonly name?: string; readonly errors: readonly string[] };
