import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficPolicy } from '../../../src/config/types.js';
import type { ServiceModel } from '../../../src/control/model.js';
import { normalizeWeights } from '../../../src/control/translate/routes.js';
import { effectivePolicy } from '../../../src/control/translate/traffic-policy.js';
import { bookinfoServices, dr, REVIEWS, run, se, vs } from './fixtures.js';
import { baseRouteName } from '../../../src/xds/route-name.js';
import { decodeCluster, validateCluster } from '../../../src/xds/resources/cluster.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { encode } from '../../helpers/xds-resources.js';

const routesOf = (r: ReturnType<typeof run>, host = REVIEWS, port = 9080) => r.routeConfig(`${host}:${port}`).virtual_hosts[0].routes as any[];
const reviewsDr = (trafficPolicy: TrafficPolicy, subsetPolicy?: TrafficPolicy) =>
  dr('reviews', { host: 'reviews', trafficPolicy, subsets: [{ name: 'v1', labels: { version: 'v1' }, ...(subsetPolicy ? { trafficPolicy: subsetPolicy } : {}) }] });

test('CDS load balancing: lb_policy stays gRPC-safe, others as ordered load_balancing_policy lists', () => {
  const least = run([reviewsDr({ loadBalancer: { simple: 'LEAST_REQUEST' } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.equal(least.lb_policy, 'ROUND_ROBIN');
  assert.deepEqual(least.load_balancing_policy.policies.map((p: any) => p.typed_extension_config.typed_config.type_url), [
    'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
    'type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
  ]);
  const random = run([reviewsDr({ loadBalancer: { simple: 'RANDOM' } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.match(random.load_balancing_policy.policies[0].typed_extension_config.name, /random/);
  const ring = run([reviewsDr({ loadBalancer: { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 2048 } } } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.equal(ring.lb_policy, 'RING_HASH');
  assert.deepEqual(ring.ring_hash_lb_config, { minimum_ring_size: { value: 2048 } });
  assert.equal(ring.load_balancing_policy, undefined);
  const maglev = run([reviewsDr({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.equal(maglev.lb_policy, 'RING_HASH');
  assert.deepEqual(maglev.load_balancing_policy.policies.map((p: any) => p.typed_extension_config.name), [
    'envoy.load_balancing_policies.maglev',
    'envoy.load_balancing_policies.ring_hash',
    'envoy.load_balancing_policies.wrr_locality',
  ]);
  const rr = run([reviewsDr({ loadBalancer: { simple: 'ROUND_ROBIN' } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.equal(rr.lb_policy, 'ROUND_ROBIN');
  assert.equal(rr.load_balancing_policy, undefined);
});

test("CDS circuit breakers: the rule's limits, Istio's 2^32-1 for unset ones; connect timeout from the pool", () => {
  const c = run([reviewsDr({ connectionPool: { tcp: { maxConnections: 100, connectTimeout: '250ms' }, http: { http2MaxRequests: 1000, maxRetries: 3 } } })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.deepEqual(c.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_connections: { value: 100 }, max_pending_requests: { value: 4294967295 }, max_requests: { value: 1000 }, max_retries: { value: 3 } }] });
  assert.deepEqual(c.connect_timeout, { seconds: 0, nanos: 250_000_000 });
  const none = run([reviewsDr({})]).cluster(`outbound|9080||${REVIEWS}`);
  const unlimited = { value: 4294967295 };
  assert.deepEqual(none.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_connections: unlimited, max_pending_requests: unlimited, max_requests: unlimited, max_retries: unlimited }] });
  assert.equal(none.outlier_detection, undefined);
});

test('CDS outlier detection as Istio builds it', () => {
  const c = run([reviewsDr({
    outlierDetection: { consecutive5xxErrors: 7, consecutiveGatewayErrors: 0, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 50, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 4, minHealthPercent: 30 },
  })]).cluster(`outbound|9080||${REVIEWS}`);
  assert.deepEqual(c.outlier_detection, {
    enforcing_success_rate: { value: 0 },
    consecutive_5xx: { value: 7 },
    enforcing_consecutive_5xx: { value: 100 },
    consecutive_gateway_failure: { value: 0 },
    enforcing_consecutive_gateway_failure: { value: 0 },
    interval: { seconds: 300, nanos: 0 },
    base_ejection_time: { seconds: 900, nanos: 0 },
    max_ejection_percent: { value: 50 },
    split_external_local_origin_errors: true,
    consecutive_local_origin_failure: { value: 4 },
    enforcing_consecutive_local_origin_failure: { value: 100 },
    enforcing_local_origin_success_rate: { value: 0 },
  });
  assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 30 } });
});

test('traffic policy merge: port-level replaces without inheriting, subset overrides field by field', () => {
  const rule = dr('reviews', {
    host: 'reviews',
    trafficPolicy: {
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { tcp: { maxConnections: 10 } },
      portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'LEAST_REQUEST' } }],
    },
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 1 } } }],
  });
  assert.deepEqual(effectivePolicy(rule, 9090), { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 10 } } });
  assert.deepEqual(effectivePolicy(rule, 9080), { loadBalancer: { simple: 'LEAST_REQUEST' } });
  assert.deepEqual(effectivePolicy(rule, 9080, 'v1'), { loadBalancer: { simple: 'LEAST_REQUEST' }, outlierDetection: { consecutive5xxErrors: 1 } });
  const r = run([rule]);
  assert.equal(r.cluster(`outbound|9080|v1|${REVIEWS}`).outlier_detection.consecutive_5xx.value, 1);
  assert.equal(r.cluster(`outbound|9080||${REVIEWS}`).outlier_detection, undefined);
});

test('retries: explicit policy, retryOn with status codes, attempts 0 disables', () => {
  const mk = (retries: any) => routesOf(run([vs('reviews', { hosts: ['reviews'], http: [{ retries, route: [{ destination: { host: 'reviews' } }] }] })]))[0].route.retry_policy;
  const p = mk({ attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,503,unavailable' });
  assert.equal(p.retry_on, 'gateway-error,unavailable,retriable-status-codes');
  assert.deepEqual(p.retriable_status_codes, [503]);
  assert.deepEqual(p.num_retries, { value: 3 });
  assert.deepEqual(p.per_try_timeout, { seconds: 2, nanos: 0 });
  assert.equal(mk({ attempts: 0 }), undefined);
  assert.equal(mk(undefined).num_retries.value, 2);
});

test('routes: uri/method/authority/query/withoutHeaders matchers, ignoreUriCase, OR of matches, route names', () => {
  const r = run([vs('reviews', {
    hosts: ['reviews'],
    http: [{
      name: 'api',
      match: [
        { name: 'exact', uri: { exact: '/Reviews/1' }, ignoreUriCase: true, method: { exact: 'GET' }, authority: { prefix: 'reviews' } },
        { uri: { regex: '/r/[0-9]+' }, queryParams: { debug: { exact: '1' }, trace: { prefix: '' }, any: {} }, headers: { 'x-foo': {}, 'x-star': { regex: '*' } }, withoutHeaders: { 'X-Canary': { regex: 'yes|true' }, 'x-gone': {} } },
        { uri: { prefix: '/other' }, sourceLabels: { app: 'productpage' } },
        { uri: { prefix: '/v2' }, port: 9999 },
      ],
      timeout: '1.5s',
      route: [{ destination: { host: 'reviews', subset: 'v1' } }],
    }],
  })]);
  const routes = routesOf(r);
  assert.equal(routes.length, 2, 'sourceLabels and other-port matches dropped');
  assert.equal(routes[0].name, 'api.exact');
  assert.deepEqual(routes[0].match, {
    path: '/Reviews/1',
    case_sensitive: { value: false },
    headers: [{ name: ':method', string_match: { exact: 'GET' } }, { name: ':authority', string_match: { prefix: 'reviews' } }],
  });
  assert.equal(routes[1].name, 'api');
  assert.deepEqual(routes[1].match, {
    safe_regex: { regex: '/r/[0-9]+' },
    headers: [
      { name: 'x-foo', present_match: true },
      { name: 'x-star', present_match: true },
      // Istio: withoutHeaders string matches treat a missing header as empty (so it matches), never with present_match.
      { name: 'x-canary', string_match: { safe_regex: { regex: 'yes|true' } }, invert_match: true, treat_missing_header_as_empty: true },
      { name: 'x-gone', present_match: true, invert_match: true },
    ],
    query_parameters: [{ name: 'any', present_match: true }, { name: 'debug', string_match: { exact: '1' } }, { name: 'trace', present_match: true }],
  });
  assert.deepEqual(routes[0].route.timeout, { seconds: 1, nanos: 500_000_000 });
  assert.deepEqual(routes[0].route.max_stream_duration, { max_stream_duration: { seconds: 1, nanos: 500_000_000 } });
});

test('weights: normalized to 100, zero weights dropped, destination headers on cluster entries', () => {
  assert.deepEqual(normalizeWeights([1, 1, 1]), [34, 33, 33]);
  assert.deepEqual(normalizeWeights([80, 20]), [80, 20]);
  assert.deepEqual(normalizeWeights([3, 1]), [75, 25]);
  const routes = routesOf(run([vs('reviews', {
    hosts: ['reviews'],
    http: [{
      headers: { request: { set: { 'x-route': 'r' }, remove: ['x-drop'] }, response: { add: { 'x-served-by': 'mesh' } } },
      route: [
        { destination: { host: 'reviews', subset: 'v1' }, weight: 3, headers: { request: { set: { 'x-subset': 'v1' } } } },
        { destination: { host: 'reviews', subset: 'v2' }, weight: 1 },
        { destination: { host: 'reviews', subset: 'v3' }, weight: 0 },
      ],
    }],
  })]));
  const wc = routes[0].route.weighted_clusters.clusters;
  assert.deepEqual(wc.map((c: any) => [c.name.split('|')[2], c.weight.value]), [['v1', 75], ['v2', 25]]);
  assert.deepEqual(wc[0].request_headers_to_add, [{ header: { key: 'x-subset', value: 'v1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
  assert.deepEqual(routes[0].request_headers_to_add, [{ header: { key: 'x-route', value: 'r' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
  assert.deepEqual(routes[0].request_headers_to_remove, ['x-drop']);
  assert.deepEqual(routes[0].response_headers_to_add, [{ header: { key: 'x-served-by', value: 'mesh' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }]);
});

test('mirror, rewrite, redirect, direct response and hash policy', () => {
  const rule = dr('ratings', { host: 'ratings', trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'user', path: '/', ttl: '0s' } } } } });
  const r = run([rule, vs('reviews', {
    hosts: ['reviews'],
    http: [
      { match: [{ uri: { prefix: '/old' } }], redirect: { uri: '/new', authority: 'example.com', redirectCode: 308, scheme: 'https', port: 8443 } },
      { match: [{ uri: { exact: '/health' } }], directResponse: { status: 200, body: { string: 'ok' } } },
      { match: [{ uri: { prefix: '/api/' } }], rewrite: { uri: '/', authority: 'ratings.internal' }, mirror: { host: 'reviews', subset: 'v3' }, mirrorPercentage: { value: 12.5 }, route: [{ destination: { host: 'ratings' } }] },
      { match: [{ uri: { exact: '/exact' } }], rewrite: { uri: '/rewritten' }, route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      { match: [{ uri: { prefix: '/rx' } }], rewrite: { uriRegexRewrite: { match: '^/rx/(.*)$', rewrite: '/\\1' } }, mirrors: [{ destination: { host: 'ratings', port: { number: 9080 } } }], route: [{ destination: { host: 'reviews' } }] },
    ],
  })]);
  const routes = routesOf(r);
  assert.deepEqual(routes[0].redirect, { response_code: 'PERMANENT_REDIRECT', path_redirect: '/new', host_redirect: 'example.com', port_redirect: 8443, scheme_redirect: 'https' });
  assert.equal(routes[0].route, undefined);
  assert.deepEqual(routes[1].direct_response, { status: 200, body: { inline_string: 'ok' } });
  const api = routes[2].route;
  assert.equal(api.cluster, 'outbound|9080||ratings.default.svc.cluster.local');
  assert.equal(api.prefix_rewrite, '/');
  assert.equal(api.host_rewrite_literal, 'ratings.internal');
  assert.deepEqual(api.request_mirror_policies, [{ cluster: `outbound|9080|v3|${REVIEWS}`, runtime_fraction: { default_value: { numerator: 125_000, denominator: 'MILLION' } } }]);
  assert.deepEqual(api.hash_policy, [{ cookie: { name: 'user', path: '/', ttl: { seconds: 0, nanos: 0 } } }]);
  assert.equal(api.retry_policy.retry_host_predicate, undefined, 'no previous-hosts predicate with consistent hashing');
  assert.deepEqual(routes[3].route.regex_rewrite, { pattern: { regex: '^/exact$' }, substitution: '/rewritten' });
  assert.equal(routes[3].route.hash_policy, undefined);
  assert.deepEqual(routes[4].route.regex_rewrite, { pattern: { regex: '^/rx/(.*)$' }, substitution: '/\\1' });
  assert.equal(routes[4].route.request_mirror_policies[0].runtime_fraction.default_value.numerator, 1_000_000);
});

test('hash policy kinds: header, source ip, query parameter', () => {
  const hashFor = (consistentHash: any) =>
    routesOf(run([dr('reviews', { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash } } })]))[0].route.hash_policy;
  assert.deepEqual(hashFor({ httpHeaderName: 'x-user' }), [{ header: { header_name: 'x-user' } }]);
  assert.deepEqual(hashFor({ useSourceIp: true }), [{ connection_properties: { source_ip: true } }]);
  assert.deepEqual(hashFor({ httpQueryParameterName: 'u' }), [{ query_parameter: { name: 'u' } }]);
});

test('redirect and direct response are dropped on GRPC ports (gRPC clients reject them)', () => {
  const services: ServiceModel[] = bookinfoServices().map((s) => (s.hostname === REVIEWS ? { ...s, ports: [{ number: 9080, name: 'grpc', protocol: 'GRPC' }] } : s));
  const r = run([vs('reviews', {
    hosts: ['reviews'],
    http: [
      { match: [{ uri: { prefix: '/old' } }], redirect: { uri: '/new' } },
      { match: [{ uri: { prefix: '/h' } }], directResponse: { status: 503 } },
      { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
    ],
  })], services);
  const routes = routesOf(r);
  assert.equal(routes.length, 1);
  assert.equal(routes[0].route.cluster, `outbound|9080|v1|${REVIEWS}`);
});

test('VirtualService selection: gateway-only VS ignored, first by namespace/name wins, mesh gateway kept', () => {
  const r = run([
    vs('a-gw', { hosts: ['reviews'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v3' } }] }] }),
    vs('b-mesh', { hosts: ['reviews.default.svc.cluster.local'], gateways: ['mesh', 'bookinfo-gateway'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] }),
    vs('c-later', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
  ]);
  assert.equal(routesOf(r)[0].route.cluster, `outbound|9080|v2|${REVIEWS}`);
});

test('delegation: root match narrows the delegate routes, conflicts dropped, hosts resolved in the delegate namespace', () => {
  const r = run([
    vs('reviews', { hosts: ['reviews'], http: [{ match: [{ uri: { prefix: '/api' }, headers: { 'x-env': { exact: 'prod' } } }], delegate: { name: 'reviews-api', namespace: 'team' } }, { route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
    vs('reviews-api', {
      http: [
        { name: 'v2', match: [{ uri: { prefix: '/api/v2' } }], route: [{ destination: { host: 'reviews.default.svc.cluster.local', subset: 'v2' } }] },
        { match: [{ uri: { prefix: '/other' } }], route: [{ destination: { host: 'reviews', subset: 'v3' } }] },
        { match: [{ headers: { 'x-env': { exact: 'dev' } } }], route: [{ destination: { host: 'reviews', subset: 'v3' } }] },
        { route: [{ destination: { host: 'local' } }] },
      ],
    }, 'team'),
  ]);
  const routes = routesOf(r);
  assert.deepEqual(routes.map((x) => [x.match.prefix, x.match.headers?.[0]?.string_match.exact, x.route.cluster]), [
    ['/api/v2', 'prod', `outbound|9080|v2|${REVIEWS}`],
    ['/api', 'prod', 'outbound|9080||local.team.svc.cluster.local'],
    ['/', undefined, `outbound|9080|v1|${REVIEWS}`],
  ]);
  assert.equal(routes[0].name, 'v2');
});

test('a route with filter overrides carries their digest in its name, so a client comparing old keys sees a new fault', () => {
  const build = (fault: boolean) => routesOf(run([vs('reviews', {
    hosts: ['reviews'],
    http: [{ name: 'main', ...(fault ? { fault: { abort: { httpStatus: 503, percentage: { value: 100 } } } } : {}), route: [{ destination: { host: 'reviews' } }] }],
  })]))[0];
  const plain = build(false);
  const faulty = build(true);
  assert.equal(plain.name, 'main');
  assert.match(faulty.name, /^main~[0-9a-f]{8}$/);
  assert.equal(baseRouteName(faulty.name), 'main', 'our client strips the digest again');
  assert.equal(build(true).name, faulty.name, 'stable for the same override');
});

test('clusters: retryBudget (opt-in), panic threshold with outlier detection, maxRequestsPerConnection', () => {
  const r = run([dr('reviews', {
    host: 'reviews',
    trafficPolicy: {
      retryBudget: { percent: { value: 25 }, minRetryConcurrency: 5 },
      outlierDetection: { consecutive5xxErrors: 3 },
      connectionPool: { http: { maxRequestsPerConnection: 1 } },
    },
    subsets: [{ name: 'v1', labels: { version: 'v1' } }],
  })]);
  const whole = r.cluster('outbound|9080||reviews.default.svc.cluster.local');
  assert.deepEqual(whole.circuit_breakers.thresholds[0].retry_budget, { budget_percent: { value: 25 }, min_retry_concurrency: { value: 5 } });
  assert.deepEqual(whole.common_lb_config, { healthy_panic_threshold: { value: 0 } }, 'Istio: minHealthPercent, default 0');
  assert.ok(whole.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'], 'max requests per connection');
  const v1 = r.cluster('outbound|9080|v1|reviews.default.svc.cluster.local');
  assert.ok(v1.circuit_breakers.thresholds[0].retry_budget, 'subsets inherit the budget');
  const plain = run([dr('reviews', { host: 'reviews' })]).cluster('outbound|9080||reviews.default.svc.cluster.local');
  assert.equal(plain.circuit_breakers.thresholds[0].retry_budget, undefined, 'no budget unless asked');
  assert.equal(plain.common_lb_config, undefined, 'no outlier detection: Envoy\'s panic default, as Istio leaves it');
});

test('CDS HTTP/2 upstream: a GRPC port\'s cluster carries http2_protocol_options (Istio setH2Options), an HTTP port\'s none', () => {
  const HPO = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
  const grpcSe = se('ratings-grpc', { hosts: ['ratings-grpc.example.internal'], ports: [{ number: 9090, name: 'grpc', protocol: 'GRPC' }], location: 'MESH_INTERNAL', resolution: 'STATIC', endpoints: [{ address: '10.1.1.1' }] });
  const r = run([grpcSe]);
  assert.equal(r.cluster(`outbound|9080||${REVIEWS}`).typed_extension_protocol_options?.[HPO], undefined, 'HTTP: no protocol options unless the pool sets some');
  const grpcCluster = r.cluster('outbound|9090||ratings-grpc.example.internal');
  assert.ok(grpcCluster.typed_extension_protocol_options?.[HPO], 'GRPC: protocol options');
  // What the data side reads from those bytes.
  const model = (c: Record<string, unknown>) => {
    const v = validateCluster(decodeCluster(encode(TYPE_URL.cluster, c)));
    assert.ok(v.ok, JSON.stringify(v));
    return v.model;
  };
  assert.equal(model(grpcCluster).http2, true);
  assert.equal(model(r.cluster(`outbound|9080||${REVIEWS}`)).http2, undefined);
});
