/**
 * networking.istio.io DestinationRule schema: traffic policies (load balancer, connection pool,
 * outlier detection, client TLS), subsets, and Istio's single-resource checks.
 */
import { arrayOf, duration, enumOf, int, mapOf, moveMark, obj, report, str, type Schema } from '../schema.js';
import {
  bool, checkUnique, dnsLabelProblem, int32, exportTo, hostProblem, percentage, portSelector, stringMap, uint32, workloadSelector,
} from './common.js';

const isPrime = (n: number): boolean => {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
};

// Envoy's bounds (ring_hash.proto `lte: 8388608`, maglev.proto `lte: 5000011`): beyond them the
// cluster would be NACKed, so reject at validation instead.
const RING_MAX_SIZE = 8_388_608;
const MAGLEV_MAX_TABLE_SIZE = 5_000_011;
const ringSize = int({ min: 0, max: RING_MAX_SIZE });

const consistentHash = obj({
  fields: {
    httpHeaderName: str({ nonEmpty: true }),
    httpCookie: obj({ fields: { name: str({ nonEmpty: true }), path: str(), ttl: duration() }, required: ['name'] }),
    useSourceIp: bool(),
    httpQueryParameterName: str({ nonEmpty: true }),
    ringHash: obj({ fields: { minimumRingSize: ringSize } }),
    maglev: obj({
      fields: { tableSize: int({ min: 1, max: MAGLEV_MAX_TABLE_SIZE }) },
      required: ['tableSize'],
      check: (v, ctx, path) => {
        const t = v.tableSize as number | undefined;
        if (t !== undefined && !isPrime(t)) report(ctx, `${path}.tableSize`, 'MESHLET_ERR_CONFIG_SCHEMA', `maglev tableSize must be a prime number, got ${t}`);
      },
    }),
    minimumRingSize: ringSize,
  },
  oneOf: [
    { fields: ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], required: true },
    { fields: ['ringHash', 'maglev'] },
  ],
  deprecated: { minimumRingSize: 'ringHash.minimumRingSize' },
  check: (v, ctx, path) => {
    if (!('minimumRingSize' in v)) return;
    if ('maglev' in v) {
      report(ctx, `${path}.minimumRingSize`, 'MESHLET_ERR_CONFIG_SCHEMA', 'minimumRingSize cannot be combined with maglev');
      return;
    }
    const ring = (v.ringHash ??= {}) as Record<string, unknown>;
    if (!('minimumRingSize' in ring)) {
      ring.minimumRingSize = v.minimumRingSize;
      moveMark(ctx, `${path}.minimumRingSize`, `${path}.ringHash`);
      moveMark(ctx, `${path}.minimumRingSize`, `${path}.ringHash.minimumRingSize`);
    }
    delete v.minimumRingSize;
  },
});

const localityLbSetting = obj({
  fields: {
    distribute: arrayOf(
      obj({
        fields: { from: str({ nonEmpty: true }), to: mapOf(int({ min: 0, max: 100 })) },
        required: ['from', 'to'],
        check: (v, ctx, path) => {
          const total = Object.values(v.to as Record<string, number>).reduce((a, b) => a + b, 0);
          if (total !== 100) report(ctx, `${path}.to`, 'MESHLET_ERR_CONFIG_SCHEMA', `locality weights must sum to 100, got ${total}`);
        },
      }),
    ),
    failover: arrayOf(
      obj({
        fields: { from: str({ nonEmpty: true }), to: str({ nonEmpty: true }) },
        required: ['from', 'to'],
        check: (v, ctx, path) => {
          if (v.from === v.to) report(ctx, `${path}.to`, 'MESHLET_ERR_CONFIG_SCHEMA', 'locality failover must name a different region');
        },
      }),
    ),
    failoverPriority: arrayOf(str({ nonEmpty: true })),
    enabled: bool(),
  },
  oneOf: [{ fields: ['distribute', 'failover'] }],
});

const loadBalancer = obj({
  fields: {
    simple: enumOf(['UNSPECIFIED', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN']),
    consistentHash,
    localityLbSetting,
    warmupDurationSecs: duration(),
  },
  oneOf: [{ fields: ['simple', 'consistentHash'] }],
  unsupported: {
    localityLbSetting: 'locality-weighted load balancing and failover are not modelled yet (every endpoint is priority 0)',
    warmupDurationSecs: 'slow-start warm-up is not implemented',
  },
});

const connectionPool = obj({
  fields: {
    tcp: obj({
      fields: {
        maxConnections: int32(),
        connectTimeout: duration({ min: 1 }),
        tcpKeepalive: obj({ fields: { probes: uint32(), time: duration({ min: 1 }), interval: duration({ min: 1 }) } }),
        maxConnectionDuration: duration({ min: 1 }),
        idleTimeout: duration(),
      },
      unsupported: {
        tcpKeepalive: 'socket keep-alive probes are left to the HTTP and gRPC clients\' defaults',
        maxConnectionDuration: 'connections are not recycled by age',
        idleTimeout: 'idle connections follow undici\'s and grpc-js\'s own timeouts',
      },
    }),
    http: obj({
      fields: {
        http1MaxPendingRequests: int32(),
        http2MaxRequests: int32(),
        maxRequestsPerConnection: int32(),
        maxRetries: int32(),
        idleTimeout: duration({ min: 1 }),
        h2UpgradePolicy: enumOf(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
        useClientProtocol: bool(),
        maxConcurrentStreams: int32(),
      },
      unsupported: {
        idleTimeout: 'idle connections follow undici\'s and grpc-js\'s own timeouts',
        h2UpgradePolicy: 'the protocol follows the port (HTTP/1.1 through undici, HTTP/2 for gRPC)',
        useClientProtocol: 'the protocol follows the port (HTTP/1.1 through undici, HTTP/2 for gRPC)',
        maxConcurrentStreams: 'grpc-js negotiates HTTP/2 stream limits itself',
      },
    }),
  },
  check: (v, ctx, path) => {
    if (!v.tcp && !v.http) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'connectionPool must set tcp or http');
  },
});

const outlierDetection = obj({
  fields: {
    splitExternalLocalOriginErrors: bool(),
    consecutiveLocalOriginFailures: uint32(),
    consecutiveGatewayErrors: uint32(),
    consecutive5xxErrors: uint32(),
    consecutiveErrors: int32(),
    interval: duration({ min: 1 }),
    baseEjectionTime: duration({ min: 1 }),
    maxEjectionPercent: int({ min: 0, max: 100 }),
    minHealthPercent: int({ min: 0, max: 100 }),
  },
  deprecated: { consecutiveErrors: 'consecutiveGatewayErrors or consecutive5xxErrors' },
  check: (v, ctx, path) => {
    if ('consecutiveLocalOriginFailures' in v && v.splitExternalLocalOriginErrors !== true) {
      report(ctx, `${path}.consecutiveLocalOriginFailures`, 'MESHLET_ERR_CONFIG_SCHEMA', 'consecutiveLocalOriginFailures requires splitExternalLocalOriginErrors: true');
    }
    if ('consecutiveErrors' in v) {
      // Istio translated the old field to Envoy's consecutive *gateway* failures (502/503/504).
      if (!('consecutiveGatewayErrors' in v)) {
        v.consecutiveGatewayErrors = v.consecutiveErrors;
        moveMark(ctx, `${path}.consecutiveErrors`, `${path}.consecutiveGatewayErrors`);
      }
      delete v.consecutiveErrors;
    }
  },
});

const clientTls = obj({
  fields: {
    mode: enumOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
    clientCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    credentialName: str(),
    subjectAltNames: arrayOf(str({ nonEmpty: true })),
    sni: str(),
    insecureSkipVerify: bool(),
  },
  unsupported: {
    credentialName: 'there are no Kubernetes secrets to read: use clientCertificate, privateKey and caCertificates files',
    insecureSkipVerify: 'server certificates are always verified',
  },
  check: (v, ctx, path) => {
    if (v.mode === 'MUTUAL' && !v.credentialName) {
      if (!v.clientCertificate) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'MUTUAL TLS needs clientCertificate (or credentialName)');
      if (!v.privateKey) report(ctx, path, 'MESHLET_ERR_CONFIG_SCHEMA', 'MUTUAL TLS needs privateKey (or credentialName)');
    }
    if (v.mode === 'ISTIO_MUTUAL') {
      const extra = ['clientCertificate', 'privateKey', 'caCertificates', 'credentialName'].filter((k) => v[k]);
      if (extra.length > 0) report(ctx, `${path}.${extra[0]}`, 'MESHLET_ERR_CONFIG_SCHEMA', `ISTIO_MUTUAL uses mesh certificates; ${extra.join(', ')} must not be set`);
    }
  },
});

const policyFields = { loadBalancer, connectionPool, outlierDetection, tls: clientTls };

/** Istio's TrafficPolicy.retryBudget (top-level and subset policies only, as in Istio). */
const retryBudget = obj({
  fields: { percent: percentage, minRetryConcurrency: uint32(), budgetInterval: duration() },
  unsupported: { budgetInterval: 'the budget counts the requests in flight (Envoy\'s default)' },
});

const portTrafficPolicy = obj({
  fields: { port: portSelector, ...policyFields },
  required: ['port'],
  check: (v, ctx, path) => {
    if ((v.port as { number?: number }).number === undefined) report(ctx, `${path}.port`, 'MESHLET_ERR_CONFIG_SCHEMA', 'port level settings need port.number');
  },
});

const trafficPolicy = obj({ fields: { ...policyFields, retryBudget, portLevelSettings: arrayOf(portTrafficPolicy) } });

const subset = obj({
  fields: { name: str({ nonEmpty: true, check: dnsLabelProblem }), labels: stringMap, trafficPolicy },
  required: ['name'],
});

/** DestinationRule `spec`. */
export const destinationRuleSpec: Schema = obj({
  fields: {
    host: str({ nonEmpty: true, check: (h) => hostProblem(h) }),
    trafficPolicy,
    subsets: arrayOf(subset),
    exportTo,
    workloadSelector,
  },
  required: ['host'],
  unsupported: {
    exportTo: 'every resource is visible to every namespace',
    workloadSelector: 'a DestinationRule applies to every caller of its host',
  },
  check: (v, ctx, path) => checkUnique(v.subsets, 'name', ctx, `${path}.subsets`, 'subset name'),
});
