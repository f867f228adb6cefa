/**
 * CDS: Cluster → {@link ClusterModel}. EDS clusters (what the mesh uses) plus STATIC and DNS
 * clusters with an inline load_assignment (external services). Unset knobs get Envoy's defaults
 * so the engine never has to know them.
 */
import type { CircuitBreakersModel, ClusterModel, ClusterType, EndpointsModel, OutlierDetectionModel, ValidationResult } from '../../core/model/index.js';
import { decodeAny, decodeMessage, durationMs, metadataJson, wrapped } from './common.js';
import { endpointsModel } from './endpoint.js';
import { lbSettings } from './lb-policy.js';
import type { ClusterProto, OutlierDetectionProto, UInt32Proto } from './proto-types.js';
import { clusterTransport } from './transport.js';

/** Envoy's circuit-breaker thresholds when none are configured. */
export const ENVOY_CIRCUIT_BREAKER_DEFAULTS: CircuitBreakersModel = Object.freeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
});

const CONNECT_TIMEOUT_DEFAULT_MS = 5000;

function circuitBreakers(c: ClusterProto, errors: string[]): CircuitBreakersModel {
  // Only the DEFAULT routing priority applies to a client; HIGH is for Envoy's priority routing.
  const t = (c.circuit_breakers?.thresholds ?? []).find((x) => (x.priority ?? 'DEFAULT') === 'DEFAULT');
  if (!t) return ENVOY_CIRCUIT_BREAKER_DEFAULTS;
  const d = ENVOY_CIRCUIT_BREAKER_DEFAULTS;
  const model = {
    maxConnections: wrapped(t.max_connections, d.maxConnections),
    maxPendingRequests: wrapped(t.max_pending_requests, d.maxPendingRequests),
    maxRequests: wrapped(t.max_requests, d.maxRequests),
    maxRetries: wrapped(t.max_retries, d.maxRetries),
  };
  const rb = t.retry_budget;
  if (!rb) return model;
  // Envoy's defaults when the budget message is present: 20% and 3.
  const percent = rb.budget_percent ? Number(rb.budget_percent.value ?? 0) : 20;
  if (!(percent >= 0 && percent <= 100)) errors.push(`circuit_breakers.thresholds.retry_budget.budget_percent: ${percent} is not in [0, 100]`);
  return { ...model, retryBudget: { percent, minRetryConcurrency: wrapped(rb.min_retry_concurrency, 3) } };
}

/** Envoy's default healthy panic threshold. */
const PANIC_THRESHOLD_DEFAULT = 50;

function panicThreshold(c: ClusterProto, errors: string[]): number {
  const t = c.common_lb_config?.healthy_panic_threshold;
  if (!t) return PANIC_THRESHOLD_DEFAULT;
  const v = Number(t.value ?? 0);
  if (!(v >= 0 && v <= 100)) errors.push(`common_lb_config.healthy_panic_threshold: ${v} is not in [0, 100]`);
  return v;
}

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** HttpProtocolOptions: max requests per connection, and whether the upstream speaks HTTP/2 (explicit_http_config). */
function httpProtocolOptions(c: ClusterProto, errors: string[]): { perConnection?: number; http2: boolean } {
  const any = c.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS];
  if (!any) return { http2: false };
  const path = `typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"]`;
  const msg = decodeAny<{ common_http_protocol_options?: { max_requests_per_connection?: UInt32Proto }; explicit_http_config?: { http2_protocol_options?: unknown } }>(any, `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`, path, errors);
  const n = msg?.common_http_protocol_options?.max_requests_per_connection;
  const perConnection = n === undefined || n === null ? undefined : wrapped(n, 0) || undefined;
  const http2 = msg?.explicit_http_config?.http2_protocol_options !== undefined && msg.explicit_http_config.http2_protocol_options !== null;
  return perConnection === undefined ? { http2 } : { perConnection, http2 };
}

function outlierDetection(od: OutlierDetectionProto | undefined, errors: string[]): OutlierDetectionModel | undefined {
  if (!od) return undefined;
  const before = errors.length;
  const pct = (v: UInt32Proto | undefined, field: string, fallback: number): number => {
    const n = wrapped(v, fallback);
    if (n > 100) errors.push(`outlier_detection.${field}: ${n} exceeds 100`);
    return n;
  };
  const ms = (field: 'interval' | 'base_ejection_time' | 'max_ejection_time', fallback: number): number =>
    durationMs(od[field], `outlier_detection.${field}`, errors) ?? fallback;
  // Defaults from envoy/config/cluster/v3/outlier_detection.proto.
  const model: OutlierDetectionModel = {
    consecutive5xx: wrapped(od.consecutive_5xx, 5),
    consecutiveGatewayFailure: wrapped(od.consecutive_gateway_failure, 5),
    consecutiveLocalOriginFailure: wrapped(od.consecutive_local_origin_failure, 5),
    intervalMs: ms('interval', 10_000),
    baseEjectionTimeMs: ms('base_ejection_time', 30_000),
    maxEjectionTimeMs: ms('max_ejection_time', 300_000),
    maxEjectionPercent: pct(od.max_ejection_percent, 'max_ejection_percent', 10),
    enforcingConsecutive5xx: pct(od.enforcing_consecutive_5xx, 'enforcing_consecutive_5xx', 100),
    enforcingConsecutiveGatewayFailure: pct(od.enforcing_consecutive_gateway_failure, 'enforcing_consecutive_gateway_failure', 0),
    enforcingSuccessRate: pct(od.enforcing_success_rate, 'enforcing_success_rate', 100),
    successRateMinimumHosts: wrapped(od.success_rate_minimum_hosts, 5),
    successRateRequestVolume: wrapped(od.success_rate_request_volume, 100),
    successRateStdevFactor: wrapped(od.success_rate_stdev_factor, 1900),
    failurePercentageThreshold: pct(od.failure_percentage_threshold, 'failure_percentage_threshold', 85),
    enforcingFailurePercentage: pct(od.enforcing_failure_percentage, 'enforcing_failure_percentage', 0),
    failurePercentageMinimumHosts: wrapped(od.failure_percentage_minimum_hosts, 5),
    failurePercentageRequestVolume: wrapped(od.failure_percentage_request_volume, 50),
    splitExternalLocalOriginErrors: od.split_external_local_origin_errors === true,
  };
  if (model.intervalMs === 0) errors.push('outlier_detection.interval: must be positive');
  return errors.length === before ? model : undefined;
}

interface Discovery {
  type: ClusterType;
  edsServiceName?: string;
  loadAssignment?: EndpointsModel;
}

function discovery(c: ClusterProto, name: string, errors: string[]): Discovery | undefined {
  if (c.cluster_discovery_type === 'cluster_type') {
    errors.push(`cluster_type: custom cluster type ${c.cluster_type?.name ?? ''} not supported`);
    return undefined;
  }
  const type = c.type ?? 'STATIC'; // proto3 default enum value
  switch (type) {
    case 'EDS': {
      const eds = c.eds_cluster_config;
      if (!eds) {
        errors.push('eds_cluster_config: unset for an EDS cluster');
        return undefined;
      }
      if (!eds.eds_config?.ads && !eds.eds_config?.self) errors.push('eds_cluster_config.eds_config: neither ads nor self set');
      return { type, edsServiceName: eds.service_name || name };
    }
    case 'STATIC':
    case 'STRICT_DNS':
    case 'LOGICAL_DNS': {
      if (!c.load_assignment) {
        errors.push(`load_assignment: unset for a ${type} cluster`);
        return undefined;
      }
      const loadAssignment = endpointsModel(c.load_assignment, errors, 'load_assignment.', type !== 'STATIC');
      return loadAssignment ? { type, loadAssignment } : undefined;
    }
    default:
      errors.push(`type: ${type} not supported`);
      return undefined;
  }
}

/**
 * Decodes a serialized envoy.config.cluster.v3.Cluster.
 *
 * @example
 * ```ts
 * const cluster = decodeCluster(any.value);
 * ```
 */
export function decodeCluster(bytes: Uint8Array): ClusterProto {
  return decodeMessage<ClusterProto>('envoy.config.cluster.v3.Cluster', bytes);
}

/**
 * Validates a decoded Cluster into a {@link ClusterModel}, collecting every error with its field
 * path (`outlier_detection.max_ejection_percent: 150 exceeds 100`).
 *
 * @example
 * ```ts
 * const result = validateCluster(decodeCluster(bytes));
 * if (result.ok && result.model.edsServiceName) watchEndpoints(result.model.edsServiceName);
 * ```
 */
export function validateCluster(c: ClusterProto): ValidationResult<ClusterModel> {
  const errors: string[] = [];
  const name = c.name ?? '';
  if (name === '') errors.push('name: empty');
  const disc = discovery(c, name, errors);
  const lb = lbSettings(c, errors);
  const od = outlierDetection(c.outlier_detection, errors);
  const breakers = circuitBreakers(c, errors);
  const healthyPanicThreshold = panicThreshold(c, errors);
  const { perConnection, http2 } = httpProtocolOptions(c, errors);
  const connectTimeoutMs = durationMs(c.connect_timeout, 'connect_timeout', errors) ?? CONNECT_TIMEOUT_DEFAULT_MS;
  if (connectTimeoutMs === 0) errors.push('connect_timeout: must be positive');
  const ts = c.transport_socket;
  const transport = clusterTransport(ts, c.transport_socket_matches, errors);
  if (!disc || !lb || errors.length > 0) return { ok: false, ...(name ? { name } : {}), errors };
  const model: ClusterModel = {
    name,
    ...disc,
    ...lb,
    circuitBreakers: breakers,
    ...(od ? { outlierDetection: od } : {}),
    healthyPanicThreshold,
    ...(perConnection !== undefined ? { maxRequestsPerConnection: perConnection } : {}),
    ...(http2 ? { http2: true as const } : {}),
    connectTimeoutMs,
    metadata: metadataJson(c.metadata),
    ...(ts?.typed_config?.type_url
      ? { transportSocket: { name: ts.name ?? '', typeUrl: ts.typed_config.type_url, value: ts.typed_config.value ?? new Uint8Array() } }
      : {}),
    ...(transport ? { transport } : {}),
  };
  return { ok: true, name, model };
}
