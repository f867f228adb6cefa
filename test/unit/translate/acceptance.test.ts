// Every generated resource must survive a strict protobufjs round trip AND be ACKed by stock
// @grpc/grpc-js-xds's own validators (its decode() is exactly what a client runs on a response).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IstioResource } from '../../../src/config/types.js';
import { messageType } from '../../../src/xds/protos.js';
import { messageNameOf, TYPE_URL } from '../../../src/xds/type-urls.js';
import { annotated, bookinfoRules, dr, googleapis, ratingsAbort, REVIEWS, run, se, vs, we } from './fixtures.js';
import { encode, grpcDecode } from './grpc-xds.js';
import { decodeRouteConfig, validateRouteConfig } from '../../../src/xds/resources/route.js';

/** Bookinfo plus one of every feature the translator emits. */
const everything: IstioResource[] = [
  ...bookinfoRules.filter((r) => r.metadata.name !== 'reviews' && r.metadata.name !== 'ratings' && r.metadata.name !== 'details' && r.metadata.name !== 'productpage'),
  dr('reviews', {
    host: 'reviews',
    trafficPolicy: {
      loadBalancer: { simple: 'LEAST_REQUEST' },
      connectionPool: { tcp: { maxConnections: 100, connectTimeout: '3s' }, http: { http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRetries: 2 } },
      outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2, minHealthPercent: 20 },
    },
    subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }, { name: 'v3', labels: { version: 'v3' } }],
  }),
  dr('ratings', { host: 'ratings', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 4096 } } } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
  dr('details', { host: 'details', trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'c', ttl: '10s' }, maglev: { tableSize: 65537 } } } } }),
  dr('productpage', { host: 'productpage', trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } }),
  annotated(vs('reviews', {
    hosts: ['reviews'],
    http: [
      {
        name: 'jason',
        match: [{ headers: { 'end-user': { exact: 'jason' }, 'x-tier': { prefix: 'gold' }, 'x-re': { regex: 'a+' }, 'x-present': { prefix: '' } }, withoutHeaders: { 'x-no': { exact: '1' } } }],
        route: [{ destination: { host: 'reviews', subset: 'v2' }, headers: { request: { set: { a: 'b' } } } }],
        fault: { delay: { fixedDelay: '100ms', percentage: { value: 0.5 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 1 } } },
        retries: { attempts: 3, perTryTimeout: '1s', retryOn: 'unavailable,cancelled,5xx,503' },
        timeout: '2s',
      },
      {
        match: [{ uri: { exact: '/Exact' }, ignoreUriCase: true, method: { exact: 'POST' } }, { uri: { regex: '/r/.+' }, queryParams: { q: { exact: 'x' } } }],
        rewrite: { uri: '/x', authority: 'reviews.internal' },
        mirror: { host: 'ratings', subset: 'v1' },
        mirrorPercentage: { value: 10 },
        headers: { request: { add: { x: 'y' }, remove: ['z'] }, response: { set: { s: 't' }, remove: ['u'] } },
        route: [{ destination: { host: 'reviews', subset: 'v1' } }],
      },
      {
        route: [
          { destination: { host: 'reviews', subset: 'v1' }, weight: 70, headers: { response: { add: { v: '1' } } } },
          { destination: { host: 'reviews', subset: 'v3' }, weight: 20 },
        ],
        retries: { attempts: 0 },
      },
    ],
  }), { 'meshlet.io/hedge-on-per-try-timeout': 'true', 'meshlet.io/retry-non-idempotent': 'true' }),
  ratingsAbort,
  googleapis,
  se('vm', { hosts: ['vm.internal'], ports: [{ number: 8080, name: 'grpc-api', protocol: 'GRPC' }, { number: 8081, name: 'http' }], resolution: 'STATIC', location: 'MESH_INTERNAL', workloadSelector: { labels: { app: 'vm' } } }),
  we('vm-1', { address: '192.168.0.1', labels: { app: 'vm' }, ports: { 'grpc-api': 18080 }, locality: 'eu/west/a', weight: 5 }),
  we('vm-2', { address: 'fd00::2', labels: { app: 'vm' }, locality: 'eu/west/b' }),
  vs('vm', {
    hosts: ['vm.internal'],
    http: [
      { match: [{ uri: { prefix: '/old' } }], redirect: { uri: '/new' } },
      { match: [{ uri: { prefix: '/h' } }], directResponse: { status: 204 } },
      { route: [{ destination: { host: 'vm.internal', port: { number: 8080 } } }] },
    ],
  }),
];

test('every generated resource round-trips through protobufjs and is accepted by grpc-js-xds', () => {
  const r = run(everything);
  let checked = 0;
  for (const [url, resources] of r.out) {
    const type = messageType(messageNameOf(url));
    for (const res of resources) {
      // The vm:8081 (HTTP) route holds a redirect and a direct response: see the next test.
      if (url === TYPE_URL.route && res.name === 'vm.internal:8081') continue;
      const bytes = encode(url, res);
      const again = type.encode(type.decode(bytes)).finish();
      assert.deepEqual(Buffer.from(again), Buffer.from(bytes), `${res.name} re-encodes identically`);
      const verdict = grpcDecode(url, res);
      assert.equal(verdict.error, undefined, `${url} ${res.name}: ${verdict.error}`);
      const decodedName = verdict.name;
      assert.equal(decodedName, res.name, 'resource name survives');
      checked++;
    }
  }
  assert.ok(checked > 40, `checked ${checked}`);
});

test('known limitation: grpc-js-xds rejects redirect/direct_response routes, so they only appear on non-GRPC ports', () => {
  const r = run(everything);
  const http = r.out.get(TYPE_URL.route)!.find((x) => x.name === 'vm.internal:8081')!;
  assert.match(grpcDecode(TYPE_URL.route, http).error ?? '', /unsupported action: (redirect|direct_response)/);
  const grpc = r.out.get(TYPE_URL.route)!.find((x) => x.name === 'vm.internal:8080')!;
  assert.equal(grpcDecode(TYPE_URL.route, grpc).error, undefined);
  const routes = (grpc.message as any).virtual_hosts[0].routes;
  assert.deepEqual(routes.map((x: any) => x.route?.cluster), ['outbound|8080||vm.internal']);
});

test('grpc-js-xds reads the LB policy we meant', () => {
  const r = run(everything);
  const lb = (name: string) => grpcDecode(TYPE_URL.cluster, r.out.get(TYPE_URL.cluster)!.find((c) => c.name === name)!).value.lbPolicyConfig[0];
  const wrrRoundRobin = { xds_wrr_locality: { child_policy: [{ round_robin: {} }] } };
  // LEAST_REQUEST / RANDOM: unknown to gRPC, it falls through the list to locality-weighted round robin
  assert.deepEqual(lb(`outbound|9080||${REVIEWS}`), wrrRoundRobin);
  assert.deepEqual(lb(`outbound|9080|v2|${REVIEWS}`), wrrRoundRobin);
  // ring hash (lb_policy RING_HASH), maglev falls back to ring hash, default minimum ring size 1024
  assert.deepEqual(lb('outbound|9080||ratings.default.svc.cluster.local'), { ring_hash: { min_ring_size: 4096, max_ring_size: 8388608 } });
  assert.deepEqual(lb('outbound|9080||details.default.svc.cluster.local'), { ring_hash: { min_ring_size: 1024, max_ring_size: 8388608 } });
  assert.deepEqual(lb('outbound|9080||productpage.default.svc.cluster.local'), { ring_hash: { min_ring_size: 1024, max_ring_size: 8388608 } });
  assert.deepEqual(lb('outbound|8080||vm.internal'), wrrRoundRobin);
  const reviews = grpcDecode(TYPE_URL.cluster, r.out.get(TYPE_URL.cluster)!.find((c) => c.name === `outbound|9080||${REVIEWS}`)!).value;
  assert.equal(reviews.maxConcurrentRequests, 50);
  assert.equal(reviews.outlierDetectionUpdate.success_rate_ejection, undefined, 'success-rate ejection disabled as in Istio');
});

test('Struct metadata survives the wire (snake_case Value fields)', () => {
  const r = run(everything);
  const type = messageType(messageNameOf(TYPE_URL.endpoint));
  const cla = r.out.get(TYPE_URL.endpoint)!.find((x) => x.name === 'outbound|8080||vm.internal')!;
  const back = type.toObject(type.decode(encode(TYPE_URL.endpoint, cla)), { enums: String, longs: Number }) as any;
  const md = back.endpoints[0].lb_endpoints[0].metadata.filter_metadata;
  assert.equal(md['envoy.lb'].fields.app.string_value, 'vm');
  assert.equal(md.meshlet.fields.id.string_value, 'WorkloadEntry/default/vm-1');
});

test('EDS with IPv4 and IPv6 endpoints, weights and WorkloadEntry ports pass grpc-js-xds', () => {
  const r = run(everything);
  const cla = r.endpoints('outbound|8080||vm.internal');
  assert.deepEqual(cla.endpoints.map((g: any) => [g.locality.zone, g.locality.sub_zone, g.load_balancing_weight.value]), [['west', 'a', 5], ['west', 'b', 1]]);
  assert.equal(cla.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 18080);
  assert.equal(cla.endpoints[1].lb_endpoints[0].endpoint.address.socket_address.port_value, 8080);
  const v = grpcDecode(TYPE_URL.endpoint, { name: 'outbound|8080||vm.internal', message: cla });
  assert.equal(v.error, undefined);
});

test('meshlet annotations become hedge_policy and route metadata that grpc-js-xds accepts and our client reads', () => {
  const r = run(everything);
  const rc = r.out.get(TYPE_URL.route)!.find((x) => x.name === `${REVIEWS}:9080`)!;
  assert.equal(grpcDecode(TYPE_URL.route, rc).error, undefined);
  const routes = (rc.message as any).virtual_hosts[0].routes;
  assert.ok(routes.length >= 3);
  for (const route of routes) {
    assert.deepEqual(route.route.hedge_policy, { hedge_on_per_try_timeout: true });
    assert.equal(route.metadata.filter_metadata.meshlet.fields.retryNonIdempotent.bool_value, true);
  }
  const mine = validateRouteConfig(decodeRouteConfig(encode(TYPE_URL.route, rc)));
  assert.ok(mine.ok, JSON.stringify(mine));
  const model = mine.model.virtualHosts[0]!.routes[0]!;
  assert.equal(model.hedgeOnPerTryTimeout, true);
  assert.deepEqual(model.metadata.meshlet, { retryNonIdempotent: true });
  // Without the annotations: neither field.
  const plain = run([vs('plain', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], retries: { attempts: 1, perTryTimeout: '1s' } }] })]);
  const plainRoute = (plain.routeConfig(`${REVIEWS}:9080`).virtual_hosts[0].routes as any[])[0];
  assert.equal(plainRoute.route.hedge_policy, undefined);
  assert.equal(plainRoute.metadata, undefined);
});
