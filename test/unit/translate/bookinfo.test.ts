import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageType } from '../../../src/xds/protos.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';
import { bookinfoRules, googleapis, ratingsAbort, ratingsDelay, RATINGS, REVIEWS, reviews8020, reviewsJason, run } from './fixtures.js';

const decodeAny = (any: { type_url: string; value: Uint8Array }) => {
  const type = messageType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
  return type.toObject(type.decode(any.value), { longs: Number, enums: String, defaults: false }) as Record<string, any>;
};

test('LDS: api listener per service port with RDS over ADS, fault then router filter, plus short-name aliases', () => {
  const r = run([...bookinfoRules]);
  const l = r.listener(`${REVIEWS}:9080`);
  assert.equal(l.api_listener.api_listener.type_url, TYPE_URL.httpConnectionManager);
  const hcm = decodeAny(l.api_listener.api_listener);
  assert.deepEqual(hcm.rds, { route_config_name: `${REVIEWS}:9080`, config_source: { ads: {}, resource_api_version: 'V3' } });
  assert.deepEqual(hcm.http_filters.map((f: any) => [f.name, f.typed_config.type_url]), [
    ['envoy.filters.http.fault', TYPE_URL.fault],
    ['envoy.filters.http.router', TYPE_URL.router],
  ]);
  for (const alias of ['reviews:9080', 'reviews.default:9080', 'reviews.default.svc:9080', 'reviews', REVIEWS]) {
    assert.equal(decodeAny(r.listener(alias).api_listener.api_listener).rds.route_config_name, `${REVIEWS}:9080`, alias);
  }
});

test('RDS: reviews 80/20 → weighted clusters on v1/v2 subsets, domains include the short names', () => {
  const r = run([...bookinfoRules, reviews8020]);
  const rc = r.routeConfig(`${REVIEWS}:9080`);
  const [vh] = rc.virtual_hosts;
  assert.ok(vh.domains.includes(REVIEWS) && vh.domains.includes(`${REVIEWS}:9080`));
  assert.ok(vh.domains.includes('reviews') && vh.domains.includes('reviews:9080') && vh.domains.includes('reviews.default:9080'));
  assert.equal(vh.routes.length, 1);
  const [route] = vh.routes;
  assert.deepEqual(route.match, { prefix: '/' });
  assert.deepEqual(route.route.weighted_clusters.clusters, [
    { name: `outbound|9080|v1|${REVIEWS}`, weight: { value: 80 } },
    { name: `outbound|9080|v2|${REVIEWS}`, weight: { value: 20 } },
  ]);
  assert.deepEqual(route.route.timeout, { seconds: 0, nanos: 0 });
  assert.equal(route.route.max_stream_duration, undefined);
});

test('RDS: jason header → v2, everything else → v3, in order', () => {
  const r = run([...bookinfoRules, reviewsJason]);
  const routes = r.routeConfig(`${REVIEWS}:9080`).virtual_hosts[0].routes;
  assert.equal(routes.length, 2);
  assert.deepEqual(routes[0].match, { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
  assert.equal(routes[0].route.cluster, `outbound|9080|v2|${REVIEWS}`);
  assert.deepEqual(routes[1].match, { prefix: '/' });
  assert.equal(routes[1].route.cluster, `outbound|9080|v3|${REVIEWS}`);
});

test('RDS: ratings abort 500 at 100% and delay 7s at 100% as HTTPFault overrides', () => {
  const abort = run([...bookinfoRules, ratingsAbort]).routeConfig(`${RATINGS}:9080`).virtual_hosts[0].routes;
  const a = abort[0].typed_per_filter_config['envoy.filters.http.fault'];
  assert.equal(a.type_url, TYPE_URL.fault);
  assert.deepEqual(decodeAny(a), { abort: { http_status: 500, percentage: { numerator: 1_000_000, denominator: 'MILLION' } } });
  assert.equal(abort[1].typed_per_filter_config, undefined, 'fault only on the jason route');
  const delay = run([...bookinfoRules, ratingsDelay]).routeConfig(`${RATINGS}:9080`).virtual_hosts[0].routes;
  assert.deepEqual(decodeAny(delay[0].typed_per_filter_config['envoy.filters.http.fault']), {
    delay: { fixed_delay: { seconds: 7, nanos: 0 }, percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
  });
});

test('RDS: no VirtualService → one prefix / route to the port cluster with Istio default retries', () => {
  const r = run([...bookinfoRules]);
  const [route] = r.routeConfig('details.default.svc.cluster.local:9080').virtual_hosts[0].routes;
  assert.deepEqual(route.match, { prefix: '/' });
  assert.equal(route.route.cluster, 'outbound|9080||details.default.svc.cluster.local');
  assert.equal(route.route.retry_policy.retry_on, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  assert.deepEqual(route.route.retry_policy.num_retries, { value: 2 });
  assert.equal(route.route.retry_policy.host_selection_retry_max_attempts, 5);
  assert.equal(route.route.retry_policy.retry_host_predicate[0].name, 'envoy.retry_host_predicates.previous_hosts');
});

test('CDS: base and subset clusters, EDS over ADS, 10s connect timeout, Istio metadata', () => {
  const r = run([...bookinfoRules]);
  const reviewsClusters = r.names(TYPE_URL.cluster).filter((n) => n.endsWith(`|${REVIEWS}`));
  assert.deepEqual(reviewsClusters.sort(), [`outbound|9080|v1|${REVIEWS}`, `outbound|9080|v2|${REVIEWS}`, `outbound|9080|v3|${REVIEWS}`, `outbound|9080||${REVIEWS}`].sort());
  const c = r.cluster(`outbound|9080|v2|${REVIEWS}`);
  assert.equal(c.type, 'EDS');
  assert.deepEqual(c.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: `outbound|9080|v2|${REVIEWS}` });
  assert.deepEqual(c.connect_timeout, { seconds: 10, nanos: 0 });
  assert.equal(c.lb_policy, 'ROUND_ROBIN');
  const istio = c.metadata.filter_metadata.istio.fields;
  assert.equal(istio.subset.string_value, 'v2');
  const svc = istio.services.list_value.values[0].struct_value.fields;
  assert.deepEqual([svc.host.string_value, svc.name.string_value, svc.namespace.string_value], [REVIEWS, 'reviews', 'default']);
});

test('EDS: subset clusters hold only matching endpoints, grouped by locality with weights', () => {
  const r = run([...bookinfoRules]);
  const all = r.endpoints(`outbound|9080||${REVIEWS}`);
  assert.equal(all.cluster_name, `outbound|9080||${REVIEWS}`);
  assert.deepEqual(all.endpoints.map((g: any) => [g.locality, g.lb_endpoints.length, g.load_balancing_weight.value, g.priority]), [
    [{ region: 'us-east', zone: 'a', sub_zone: '1' }, 1, 1, 0],
    [{ region: 'us-east', zone: 'b', sub_zone: '' }, 2, 2, 0],
  ]);
  const v2 = r.endpoints(`outbound|9080|v2|${REVIEWS}`);
  assert.equal(v2.endpoints.length, 1);
  const [ep] = v2.endpoints[0].lb_endpoints;
  assert.equal(ep.health_status, 'HEALTHY');
  assert.deepEqual(ep.load_balancing_weight, { value: 1 });
  assert.equal(ep.endpoint.address.socket_address.port_value, 9080);
  assert.equal(ep.metadata.filter_metadata['envoy.lb'].fields.version.string_value, 'v2');
  assert.equal(ep.metadata.filter_metadata.meshlet.fields.serviceAccount.string_value, 'bookinfo-reviews');
  assert.match(ep.metadata.filter_metadata.meshlet.fields.id.string_value, /^announced\/reviews-v2-/);
  // a subset without workloads is an empty (valid) assignment
  assert.deepEqual(r.endpoints(`outbound|9080|v2-mysql|${RATINGS}`).endpoints, []);
});

test('DNS ServiceEntry → LOGICAL_DNS cluster with the host inline, no EDS resource', () => {
  const r = run([googleapis]);
  const c = r.cluster('outbound|443||www.googleapis.com');
  assert.equal(c.type, 'LOGICAL_DNS');
  assert.equal(c.eds_cluster_config, undefined);
  assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: 'www.googleapis.com', port_value: 443 });
  assert.ok(!r.names(TYPE_URL.endpoint).includes('outbound|443||www.googleapis.com'));
  assert.deepEqual(r.routeConfig('www.googleapis.com:443').virtual_hosts[0].domains, ['www.googleapis.com', 'www.googleapis.com:443']);
});

test('output is deterministic and sorted by name', () => {
  const resources = [...bookinfoRules, reviewsJason, ratingsAbort, googleapis];
  const a = run(resources);
  const b = run([...resources].reverse());
  for (const url of [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]) {
    const names = a.names(url);
    assert.deepEqual(names, [...names].sort(), url);
    assert.equal(new Set(names).size, names.length, `${url} names unique`);
    assert.deepEqual(a.out.get(url as never), b.out.get(url as never), url);
  }
  assert.deepEqual([...a.out.keys()], [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.endpoint]);
});

test('bare short names: unique namespace owns them, else default; qualified aliases always', async () => {
  const { mergeAnnouncements } = await import('../../../src/control/services.js');
  const services = mergeAnnouncements([], [
    { nodeId: 'a', service: 'reviews', namespace: 'default', labels: {}, address: '10.0.0.1', ports: [{ number: 9080 }] },
    { nodeId: 'b', service: 'reviews', namespace: 'prod', labels: {}, address: '10.0.0.2', ports: [{ number: 9080 }] },
    { nodeId: 'c', service: 'billing', namespace: 'prod', labels: {}, address: '10.0.0.3', ports: [{ number: 8080 }, { number: 8081 }] },
  ]);
  const r = run([], services);
  const rds = (l: string) => decodeAny(r.listener(l).api_listener.api_listener).rds.route_config_name;
  assert.equal(rds('reviews:9080'), `${REVIEWS}:9080`);
  assert.equal(rds('reviews.prod:9080'), 'reviews.prod.svc.cluster.local:9080');
  assert.equal(rds('billing:8081'), 'billing.prod.svc.cluster.local:8081');
  assert.ok(!r.names(TYPE_URL.listener).includes('billing'), 'no port-less listener for a multi-port service');
  assert.ok(!r.routeConfig('reviews.prod.svc.cluster.local:9080').virtual_hosts[0].domains.includes('reviews'));
});
