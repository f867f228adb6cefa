import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCluster, validateCluster, ENVOY_CIRCUIT_BREAKER_DEFAULTS } from '../../../src/xds/resources/cluster.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { packAny } from '../../../src/xds/wire/any.js';
import { cla, edsCluster, encode } from '../../helpers/xds-resources.js';

const validate = (msg: Record<string, unknown>) => validateCluster(decodeCluster(encode(TYPE_URL.cluster, msg)));
const LB = 'type.googleapis.com/envoy.extensions.load_balancing_policies.';
const policy = (typeUrl: string, msg: Record<string, unknown> = {}) => ({ typed_extension_config: { name: typeUrl, typed_config: packAny(typeUrl, msg) } });

test('plain EDS cluster gets Envoy defaults', () => {
  const r = validate(edsCluster('outbound|9080|v1|reviews.default.svc.cluster.local'));
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.model.type, 'EDS');
  assert.equal(r.model.edsServiceName, 'outbound|9080|v1|reviews.default.svc.cluster.local');
  assert.equal(r.model.lbPolicy, 'ROUND_ROBIN');
  assert.equal(r.model.localityWeighted, false);
  assert.deepEqual(r.model.circuitBreakers, ENVOY_CIRCUIT_BREAKER_DEFAULTS);
  assert.deepEqual(r.model.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
  assert.equal(r.model.outlierDetection, undefined);
  assert.equal(r.model.connectTimeoutMs, 5000);
  assert.equal(r.model.transportSocket, undefined);
});

test('load_balancing_policy list: first supported wins, wrr_locality unwrapped', () => {
  const ring = validate(edsCluster('c', { load_balancing_policy: { policies: [
    { typed_extension_config: { name: 'unknown', typed_config: { type_url: 'type.googleapis.com/x.Unknown', value: Buffer.alloc(0) } } },
    policy(`${LB}ring_hash.v3.RingHash`, { minimum_ring_size: { value: 64 }, maximum_ring_size: { value: 4096 } }),
    policy(`${LB}round_robin.v3.RoundRobin`),
  ] } }));
  assert.ok(ring.ok, JSON.stringify(ring));
  assert.equal(ring.model.lbPolicy, 'RING_HASH');
  assert.deepEqual(ring.model.ringHash, { minRingSize: 64, maxRingSize: 4096 });

  const wrr = validate(edsCluster('c', { load_balancing_policy: { policies: [policy(`${LB}wrr_locality.v3.WrrLocality`, {
    endpoint_picking_policy: { policies: [policy(`${LB}least_request.v3.LeastRequest`, { choice_count: { value: 3 } })] },
  })] } }));
  assert.ok(wrr.ok, JSON.stringify(wrr));
  assert.equal(wrr.model.lbPolicy, 'LEAST_REQUEST');
  assert.equal(wrr.model.choiceCount, 3);
  assert.equal(wrr.model.localityWeighted, true);

  // load_balancing_policy wins over the legacy enum, as in Envoy.
  const both = validate(edsCluster('c', { lb_policy: 'RING_HASH', load_balancing_policy: { policies: [policy(`${LB}random.v3.Random`)] } }));
  assert.ok(both.ok && both.model.lbPolicy === 'RANDOM');
});

test('legacy lb_policy enum, circuit breakers, outlier detection, TLS', () => {
  const r = validate(edsCluster('c', {
    lb_policy: 'MAGLEV',
    connect_timeout: { nanos: 250_000_000 },
    circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: { value: 1 } }, { max_requests: { value: 100 }, max_retries: { value: 0 } }] },
    outlier_detection: { consecutive_5xx: { value: 3 }, interval: { seconds: 5 }, max_ejection_percent: { value: 50 } },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', value: Buffer.alloc(0) } },
    metadata: { filter_metadata: { istio: { fields: { default_original_port: { number_value: 9080 } } } } },
  }));
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.model.lbPolicy, 'MAGLEV');
  assert.equal(r.model.maglevTableSize, 65537);
  assert.equal(r.model.connectTimeoutMs, 250);
  assert.deepEqual(r.model.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 100, maxRetries: 0 });
  assert.equal(r.model.outlierDetection?.consecutive5xx, 3);
  assert.equal(r.model.outlierDetection?.intervalMs, 5000);
  assert.equal(r.model.outlierDetection?.baseEjectionTimeMs, 30_000);
  assert.equal(r.model.outlierDetection?.maxEjectionPercent, 50);
  assert.equal(r.model.outlierDetection?.enforcingConsecutive5xx, 100);
  assert.equal(r.model.transportSocket?.name, 'envoy.transport_sockets.tls');
  assert.deepEqual(r.model.metadata, { istio: { default_original_port: 9080 } });
});

test('STATIC and STRICT_DNS clusters carry their load assignment', () => {
  const stat = validate({ name: 's', type: 'STATIC', load_assignment: cla('s', [['10.0.0.1', 80]]) });
  assert.ok(stat.ok && stat.model.loadAssignment?.localities[0]?.endpoints[0]?.address === '10.0.0.1');
  const dns = validate({ name: 'd', type: 'STRICT_DNS', load_assignment: cla('d', [['api.example.com', 443]]) });
  assert.ok(dns.ok && dns.model.type === 'STRICT_DNS');
  const badStatic = validate({ name: 's', type: 'STATIC', load_assignment: cla('s', [['api.example.com', 443]]) });
  assert.deepEqual(!badStatic.ok && badStatic.errors, ['load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "api.example.com" is not an IP address']);
});

test('collects every cluster error with its field path', () => {
  const r = validate({
    name: 'bad',
    type: 'EDS',
    lb_policy: 'RING_HASH',
    ring_hash_lb_config: { minimum_ring_size: { value: 10_000 }, maximum_ring_size: { value: 100 }, hash_function: 'MURMUR_HASH_2' },
    outlier_detection: { max_ejection_percent: { value: 150 } },
    connect_timeout: { seconds: 0 },
  });
  assert.equal(r.ok, false);
  assert.equal(r.name, 'bad');
  assert.deepEqual(!r.ok && [...r.errors].sort(), [
    'connect_timeout: must be positive',
    'eds_cluster_config: unset for an EDS cluster',
    'outlier_detection.max_ejection_percent: 150 exceeds 100',
    'ring_hash_lb_config.hash_function: MURMUR_HASH_2 not supported (use XX_HASH)',
    'ring_hash_lb_config.minimum_ring_size: 10000 is not in [1, maximum_ring_size 100]',
  ]);
  const none = validate(edsCluster('c', { load_balancing_policy: { policies: [policy(`${LB}pick_first.v3.PickFirst`)] } }));
  assert.deepEqual(!none.ok && none.errors, [`load_balancing_policy: no supported policy among [${LB}pick_first.v3.PickFirst]`]);
});

test('HttpProtocolOptions: explicit_http_config.http2_protocol_options marks the cluster HTTP/2; http_protocol_options or none does not', () => {
  const HPO = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
  const withOptions = (msg: Record<string, unknown>) => validate(edsCluster('c', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(HPO, msg) } }));
  const h2 = withOptions({ explicit_http_config: { http2_protocol_options: {} } });
  assert.ok(h2.ok, JSON.stringify(h2));
  assert.equal(h2.model.http2, true);
  assert.equal(h2.model.maxRequestsPerConnection, undefined);
  const h1 = withOptions({ explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: { max_requests_per_connection: { value: 3 } } });
  assert.ok(h1.ok, JSON.stringify(h1));
  assert.equal(h1.model.http2, undefined);
  assert.equal(h1.model.maxRequestsPerConnection, 3);
  const none = validate(edsCluster('c'));
  assert.ok(none.ok);
  assert.equal(none.model.http2, undefined);
});
