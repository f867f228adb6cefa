/**
 * CDS generator (Istio `pilot/pkg/networking/grpcgen/cds.go` conventions): one EDS cluster per
 * service port, `outbound|<port>||<host>`, plus one per DestinationRule subset, carrying the
 * merged traffic policy and its transport socket (cluster-tls.ts: ISTIO_MUTUAL, SIMPLE, auto mTLS);
 * of the connection-pool fields Envoy keeps in HttpProtocolOptions only max requests per
 * connection is (idle timeouts and h2 upgrade are not).
 */
import type { ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, RetryBudget } from '../../config/types.js';
import type { GeneratedResource } from './types.js';
import { localityGroups } from './locality.js';
import { msToDuration, toDuration } from './durations.js';
import { shortAliases } from './names.js';
import type { ClusterPlan } from './plan.js';
import { anyOf, toStruct, wrap } from './proto-helpers.js';
import { transportFields } from './cluster-tls.js';

/** Istio's default connect timeout. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Istio's (and Envoy's) default minimum ring size. */
const DEFAULT_MIN_RING_SIZE = 1024;
const ADS = { ads: {}, resource_api_version: 'V3' };

const LB_EXT = 'envoy.extensions.load_balancing_policies';

function policyEntry(name: string, fullName: string, config: Record<string, unknown> = {}): Record<string, unknown> {
  return { typed_extension_config: { name, typed_config: anyOf(fullName, config) } };
}

/**
 * Round robin weighted by locality: what `lb_policy: ROUND_ROBIN` means to gRPC, spelled as a
 * policy-list entry so it can be the fallback of a list.
 */
function roundRobinFallback(): Record<string, unknown> {
  return policyEntry('envoy.load_balancing_policies.wrr_locality', `${LB_EXT}.wrr_locality.v3.WrrLocality`, {
    endpoint_picking_policy: { policies: [{ typed_extension_config: { name: 'envoy.load_balancing_policies.round_robin', typed_config: anyOf(`${LB_EXT}.round_robin.v3.RoundRobin`) } }] },
  });
}

/**
 * Ring hash as a policy-list entry (the fallback for maglev). hash_function must be XX_HASH
 * explicitly: the extension's default (DEFAULT_HASH) is rejected by gRPC. minimum_ring_size is
 * deliberately left at its default (1024): grpc-js-xds 1.14 decodes this UInt64Value as a string
 * and then NACKs the cluster ("min_ring_size must be a number").
 */
function ringHashEntry(): Record<string, unknown> {
  return policyEntry('envoy.load_balancing_policies.ring_hash', `${LB_EXT}.ring_hash.v3.RingHash`, { hash_function: 'XX_HASH' });
}

/**
 * Load-balancer fields. `lb_policy` only ever holds values every gRPC client accepts
 * (ROUND_ROBIN, RING_HASH); a policy gRPC lacks (least request, random, maglev) is expressed as
 * a `load_balancing_policy` list, which clients walk in order taking the first they support
 * (gRFC A52; grpc-js-xds lb-policy-registry), with locality-weighted round robin last.
 */
export function loadBalancerFields(lb: LoadBalancerSettings | undefined): Record<string, unknown> {
  const ch = lb?.consistentHash;
  if (ch) {
    const minRing = ch.ringHash?.minimumRingSize ?? ch.minimumRingSize ?? DEFAULT_MIN_RING_SIZE;
    const fields: Record<string, unknown> = { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: wrap(minRing) } };
    if (ch.maglev) {
      const maglev = ch.maglev.tableSize !== undefined ? { table_size: wrap(ch.maglev.tableSize) } : {};
      fields.load_balancing_policy = {
        policies: [policyEntry('envoy.load_balancing_policies.maglev', `${LB_EXT}.maglev.v3.Maglev`, maglev), ringHashEntry(), roundRobinFallback()],
      };
    }
    return fields;
  }
  switch (lb?.simple) {
    case 'LEAST_REQUEST':
    case 'LEAST_CONN': // Istio's deprecated alias of LEAST_REQUEST
      return { lb_policy: 'ROUND_ROBIN', load_balancing_policy: { policies: [policyEntry('envoy.load_balancing_policies.least_request', `${LB_EXT}.least_request.v3.LeastRequest`), roundRobinFallback()] } };
    case 'RANDOM':
      return { lb_policy: 'ROUND_ROBIN', load_balancing_policy: { policies: [policyEntry('envoy.load_balancing_policies.random', `${LB_EXT}.random.v3.Random`), roundRobinFallback()] } };
    default:
      // ROUND_ROBIN, UNSPECIFIED, and PASSTHROUGH (no original-destination clusters in a client mesh).
      return { lb_policy: 'ROUND_ROBIN' };
  }
}

/**
 * Istio's default for every connection-pool limit is 2^32-1 (DestinationRule reference), and
 * Istio always writes the thresholds so Envoy's own much lower defaults (1024 requests, 3
 * concurrent retries) never apply silently.
 */
const ISTIO_UNLIMITED = 4294967295;

/**
 * Circuit-breaker thresholds: the rule's limits, Istio's "unlimited" for the rest; a retry
 * budget only when the rule asks for one (Istio `applyRetryBudget`: 20% / 3 by default).
 */
export function circuitBreakers(pool: ConnectionPoolSettings | undefined, budget?: RetryBudget): Record<string, unknown> {
  const threshold: Record<string, unknown> = {
    priority: 'DEFAULT',
    max_connections: wrap(pool?.tcp?.maxConnections ?? ISTIO_UNLIMITED),
    max_pending_requests: wrap(pool?.http?.http1MaxPendingRequests ?? ISTIO_UNLIMITED),
    max_requests: wrap(pool?.http?.http2MaxRequests ?? ISTIO_UNLIMITED),
    max_retries: wrap(pool?.http?.maxRetries ?? ISTIO_UNLIMITED),
  };
  if (budget) {
    threshold.retry_budget = {
      budget_percent: { value: budget.percent?.value ?? 20 },
      min_retry_concurrency: wrap(budget.minRetryConcurrency !== undefined && budget.minRetryConcurrency > 0 ? budget.minRetryConcurrency : 3),
    };
  }
  return { thresholds: [threshold] };
}

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/**
 * `typed_extension_protocol_options` for what Istio keeps there (`applyConnectionPool`,
 * `setH2Options`): max requests per connection (1 = a new connection per request), and HTTP/2
 * upstream for GRPC / HTTP2 ports. Undefined when neither applies.
 */
export function protocolOptions(pool: ConnectionPoolSettings | undefined, http2: boolean): Record<string, unknown> | undefined {
  const perConnection = pool?.http?.maxRequestsPerConnection;
  const limited = perConnection !== undefined && perConnection > 0;
  if (!limited && !http2) return undefined;
  const options = {
    ...(limited ? { common_http_protocol_options: { max_requests_per_connection: wrap(perConnection) } } : {}),
    explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
  };
  return { [HTTP_PROTOCOL_OPTIONS]: anyOf(HTTP_PROTOCOL_OPTIONS, options) };
}

/**
 * Outlier detection as Istio's `applyOutlierDetection` builds it: success-rate ejection off,
 * each consecutive-error detector enforced at 100% when its threshold is positive (0 disables it).
 */
export function outlierDetection(od: OutlierDetection | undefined): Record<string, unknown> | undefined {
  if (!od) return undefined;
  const out: Record<string, unknown> = { enforcing_success_rate: wrap(0) };
  const five = od.consecutive5xxErrors;
  if (five !== undefined) {
    out.consecutive_5xx = wrap(five);
    out.enforcing_consecutive_5xx = wrap(five > 0 ? 100 : 0);
  }
  const gateway = od.consecutiveGatewayErrors ?? (five === undefined ? od.consecutiveErrors : undefined);
  if (gateway !== undefined) {
    out.consecutive_gateway_failure = wrap(gateway);
    out.enforcing_consecutive_gateway_failure = wrap(gateway > 0 ? 100 : 0);
  }
  const interval = toDuration(od.interval);
  if (interval) out.interval = interval;
  const base = toDuration(od.baseEjectionTime);
  if (base) out.base_ejection_time = base;
  if (od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0) out.max_ejection_percent = wrap(Math.min(100, od.maxEjectionPercent));
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if ((od.consecutiveLocalOriginFailures ?? 0) > 0) {
      out.consecutive_local_origin_failure = wrap(od.consecutiveLocalOriginFailures);
      out.enforcing_consecutive_local_origin_failure = wrap(100);
    }
    out.enforcing_local_origin_success_rate = wrap(0);
  }
  return out;
}

/** `metadata.filter_metadata.istio`, as Istio stamps clusters (used by telemetry and dashboards). */
function istioMetadata(p: ClusterPlan, domainSuffix: string): Record<string, unknown> {
  const k8s = shortAliases(p.service.hostname, domainSuffix);
  const service = { host: p.service.hostname, name: k8s?.name ?? p.service.hostname, namespace: p.service.namespace };
  const data: Record<string, unknown> = { services: [service] };
  if (p.subset) data.subset = p.subset;
  return { filter_metadata: { istio: toStruct(data) } };
}

/** One Cluster message. */
export function buildCluster(p: ClusterPlan, domainSuffix: string): Record<string, unknown> {
  const pool = p.policy.connectionPool;
  const cluster: Record<string, unknown> = {
    name: p.name,
    connect_timeout: toDuration(pool?.tcp?.connectTimeout) ?? msToDuration(DEFAULT_CONNECT_TIMEOUT_MS),
    ...loadBalancerFields(p.policy.loadBalancer),
    metadata: istioMetadata(p, domainSuffix),
  };
  if (p.dnsEndpoint) {
    cluster.type = 'LOGICAL_DNS';
    cluster.load_assignment = { cluster_name: p.name, endpoints: localityGroups([p.dnsEndpoint], p.port.number) };
  } else {
    cluster.type = 'EDS';
    cluster.eds_cluster_config = { eds_config: ADS, service_name: p.name };
  }
  cluster.circuit_breakers = circuitBreakers(pool, p.policy.retryBudget);
  const protocol = protocolOptions(pool, p.port.protocol === 'GRPC' || p.port.protocol === 'HTTP2');
  if (protocol) cluster.typed_extension_protocol_options = protocol;
  const od = outlierDetection(p.policy.outlierDetection);
  if (od) {
    cluster.outlier_detection = od;
    // Istio `applyOutlierDetection`: the panic threshold is minHealthPercent, written even when
    // 0 (its default), so Envoy's 50% never applies to a cluster with outlier detection.
    cluster.common_lb_config = { healthy_panic_threshold: { value: p.policy.outlierDetection?.minHealthPercent ?? 0 } };
  }
  Object.assign(cluster, transportFields(p));
  return cluster;
}

/** Generates every planned cluster (already sorted by name). */
export function generateClusters(plans: readonly ClusterPlan[], domainSuffix: string): GeneratedResource[] {
  return plans.map((p) => ({ name: p.name, message: buildCluster(p, domainSuffix) }));
}
