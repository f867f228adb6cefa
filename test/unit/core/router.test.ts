import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../src/core/index.js';
import type { CallPlan, RouteResult } from '../../../src/core/types.js';
import { CLUSTER, FQDN, cluster, flat, listener, oneService, req, route, routeConfig, seeded } from './fixtures.js';
import { compileRewrite } from '../../../src/internal/regex.js';

/** A listener whose chain runs the fault filter (with no config of its own), so route overrides apply. */
const FAULT_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const FAULT_FILTER = { httpFilters: [{ name: 'envoy.filters.http.fault', typeUrl: FAULT_URL, config: { kind: 'fault' as const, typeUrl: FAULT_URL, fault: {} } }] };

function plan(r: RouteResult): CallPlan {
  assert.equal(r.kind, 'forward');
  return (r as { plan: CallPlan }).plan;
}

test('host aliases resolve in the engine namespace; ServiceEntry hosts literally', () => {
  const engine = createEngine({ namespace: 'default', random: seeded() });
  const names = [`${FQDN}:9080`, 'ratings.other.svc.cluster.local:9080', 'api.example.com:443', '*.wild.com:443'];
  engine.update({
    listeners: new Map(names.map((n) => [n, listener(n)])),
    routes: new Map(names.map((n) => [n, routeConfig(n, [route()])])),
    clusters: new Map([[CLUSTER, cluster(CLUSTER)]]),
    endpoints: new Map([[CLUSTER, flat(CLUSTER, 1)]]),
  });
  for (const h of ['reviews', 'reviews.default', 'reviews.default.svc', FQDN, 'REVIEWS']) assert.equal(engine.knowsHost(h, 9080), true, h);
  assert.equal(engine.knowsHost('ratings', 9080), false, 'bare names only resolve in our namespace');
  assert.equal(engine.knowsHost('ratings.other', 9080), true);
  assert.equal(engine.knowsHost('api.example.com', 443), true);
  assert.equal(engine.knowsHost('api', 443), false);
  assert.equal(engine.knowsHost('x.wild.com', 443), true, 'wildcard ServiceEntry host');
  assert.equal(engine.knowsHost('reviews', 9081), false, 'explicit port must exist');
  // Port inference: 80/443 stand for "no port": the only port is used.
  assert.equal(engine.knowsHost('reviews', 80), true);
  assert.equal(engine.route(req({ host: 'unknown.example.org' })).kind, 'passthrough');
});

test('port inference prefers a listener on 80 when the host has several ports', () => {
  const engine = createEngine({ namespace: 'default', random: seeded() });
  const names = [`${FQDN}:80`, `${FQDN}:9080`];
  const c80 = `outbound|80||${FQDN}`;
  engine.update({
    listeners: new Map(names.map((n) => [n, listener(n)])),
    routes: new Map([
      [names[0] as string, routeConfig(names[0] as string, [route({ action: { kind: 'cluster', cluster: c80 } })])],
      [names[1] as string, routeConfig(names[1] as string, [route()])],
    ]),
    clusters: new Map([[c80, cluster(c80)], [CLUSTER, cluster(CLUSTER)]]),
    endpoints: new Map(),
  });
  assert.equal(plan(engine.route(req({ port: 80 }))).clusterName, c80);
  assert.equal(plan(engine.route(req({ port: 9080 }))).clusterName, CLUSTER);
  assert.equal(engine.knowsHost('reviews', 443), false, 'ambiguous: two ports, none is 443');
});

test('virtual host precedence: exact > suffix > prefix > *', () => {
  const engine = createEngine({ namespace: 'default', random: seeded() });
  const name = 'api.example.com:443';
  const mk = (n: string, domains: string[]) => ({ name: n, domains, routes: [route({ name: n })], typedPerFilterConfig: {} });
  engine.update({
    listeners: new Map([[name, listener(name)]]),
    routes: new Map([[name, { name, virtualHosts: [mk('any', ['*']), mk('prefix', ['api.*']), mk('suffix', ['*.example.com']), mk('exact', ['api.example.com'])] }]]),
    clusters: new Map([[CLUSTER, cluster(CLUSTER)]]),
    endpoints: new Map(),
  });
  assert.equal(plan(engine.route(req({ host: 'api.example.com', port: 443 }))).routeName, 'exact');
});

test('results: no_route, direct, redirect, forward with rewrites and header mutations', () => {
  const engine = oneService({
    routes: [
      route({ name: 'direct', match: { path: { kind: 'exact', value: '/health', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false }, action: { kind: 'direct', status: 200, body: 'ok' } }),
      route({
        name: 'redir',
        match: { path: { kind: 'prefix', value: '/old', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false },
        action: { kind: 'redirect', redirect: { scheme: 'https', host: 'new.example.com', prefixRewrite: '/new', status: 301, stripQuery: true } },
      }),
      route({
        name: 'api',
        match: { path: { kind: 'prefix', value: '/api/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false },
        prefixRewrite: '/',
        hostRewrite: 'internal',
        requestHeadersToAdd: [{ name: 'X-Route', value: 'api', action: 'overwrite', keepEmptyValue: false }, { name: 'x-empty', value: '', action: 'append', keepEmptyValue: false }],
        requestHeadersToRemove: ['x-secret'],
        timeoutMs: 0,
      }),
      route({
        name: 'regex',
        match: { path: { kind: 'prefix', value: '/v1/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false },
        regexRewrite: { regex: compileRewrite('/v1/(\\w+)'), substitution: '/v2/\\1' },
        timeoutMs: 2500,
      }),
    ],
  });
  assert.equal(engine.route(req({ path: '/nothing' })).kind, 'no_route');
  assert.deepEqual(engine.route(req({ path: '/health' })), { kind: 'direct', status: 200, body: 'ok', responseHeaders: { set: [], remove: [] } });
  assert.deepEqual(engine.route(req({ path: '/old/page?x=1' })), { kind: 'redirect', status: 301, location: 'https://new.example.com/new/page' });
  const api = plan(engine.route(req({ path: '/api/items?q=1' })));
  assert.equal(api.rewritePath, '/items?q=1');
  assert.equal(api.rewriteHost, 'internal');
  assert.equal(api.timeoutMs, undefined, 'timeout 0 disables');
  assert.deepEqual(api.requestHeaders, { set: [{ name: 'x-route', value: 'api', action: 'overwrite' }], remove: ['x-secret'] });
  const re = plan(engine.route(req({ path: '/v1/books/v1/pens' })));
  assert.equal(re.rewritePath, '/v2/books/v2/pens');
  assert.equal(re.timeoutMs, 2500);
  // Normalization is forwarded: the upstream sees what the router matched.
  assert.equal(plan(engine.route(req({ path: '/v1/../api/x' }))).rewritePath, '/x');
});

test('listener without its route configuration yet → no_route', () => {
  const engine = createEngine({ namespace: 'default' });
  const name = `${FQDN}:9080`;
  engine.update({ listeners: new Map([[name, listener(name)]]), routes: new Map(), clusters: new Map(), endpoints: new Map() });
  assert.equal(engine.route(req()).kind, 'no_route');
});

test('weighted clusters split 10,000 seeded picks within tolerance', () => {
  const names = ['a', 'b', 'c'].map((s) => `outbound|9080|${s}|${FQDN}`);
  const engine = oneService({
    routes: [route({ action: { kind: 'weighted', totalWeight: 100, clusters: [{ name: names[0] as string, weight: 70 }, { name: names[1] as string, weight: 20 }, { name: names[2] as string, weight: 10 }] } })],
    extraClusters: names.map((n) => cluster(n)),
  });
  const counts = new Map<string, number>();
  for (let i = 0; i < 10_000; i++) {
    const n = plan(engine.route(req())).clusterName;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  for (const [n, w] of [[names[0], 7000], [names[1], 2000], [names[2], 1000]] as const) {
    assert.ok(Math.abs((counts.get(n as string) ?? 0) - w) < 300, `${n}: ${counts.get(n as string)}`);
  }
});

test('hash policy: the same header sticks to one endpoint; keys spread', () => {
  for (const lbPolicy of ['RING_HASH', 'MAGLEV'] as const) {
    const engine = oneService({
      routes: [route({ hashPolicy: [{ kind: 'header', name: 'x-user', terminal: false }] })],
      cluster: { lbPolicy },
      endpoints: flat(CLUSTER, 10),
    });
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(plan(engine.route(req({ headers: { 'x-user': 'alice' } }))).pick()?.key ?? '');
    assert.equal(seen.size, 1, `${lbPolicy} sticky`);
    const spread = new Set<string>();
    for (let i = 0; i < 200; i++) spread.add(plan(engine.route(req({ headers: { 'x-user': `user-${i}` } }))).pick()?.key ?? '');
    assert.ok(spread.size >= 8, `${lbPolicy} spread ${spread.size}`);
  }
});

test('hash from cookie, query parameter, source ip; terminal stops', () => {
  const engine = oneService({
    routes: [route({ hashPolicy: [
      { kind: 'cookie', name: 'sid', terminal: true },
      { kind: 'query_parameter', name: 'u', terminal: false },
      { kind: 'connection', sourceIp: true, terminal: false },
    ] })],
    cluster: { lbPolicy: 'RING_HASH' },
    endpoints: flat(CLUSTER, 20),
  });
  const keyOf = (r: Parameters<typeof req>[0]) => plan(engine.route(req(r))).pick()?.key;
  const a = keyOf({ headers: { cookie: 'a=1; sid=xyz' }, sourceIp: '1.1.1.1' });
  assert.equal(keyOf({ headers: { cookie: 'sid=xyz' }, sourceIp: '9.9.9.9', path: '/?u=zz' }), a, 'terminal cookie ignores the rest');
  const b = keyOf({ path: '/?u=1', sourceIp: '1.1.1.1' });
  for (let i = 0; i < 50; i++) assert.equal(keyOf({ path: '/?u=1', sourceIp: '1.1.1.1' }), b);
});

test('fault fractions: abort and delay roll per request; weighted cluster fault wins', () => {
  const half = { numerator: 50, denominator: 100 as const };
  const engine = oneService({
    listener: FAULT_FILTER,
    routes: [route({ fault: { abort: { kind: 'http', httpStatus: 503, fraction: half }, delay: { kind: 'fixed', delayMs: 100, fraction: { numerator: 10, denominator: 100 } } } })],
  });
  let aborts = 0;
  let delays = 0;
  for (let i = 0; i < 10_000; i++) {
    const f = plan(engine.route(req())).fault;
    if (f?.abortStatus === 503) aborts++;
    if (f?.delayMs === 100) delays++;
  }
  assert.ok(Math.abs(aborts - 5000) < 300, `aborts ${aborts}`);
  assert.ok(Math.abs(delays - 1000) < 200, `delays ${delays}`);

  const noFilter = oneService({ routes: [route({ fault: { abort: { kind: 'http', httpStatus: 503, fraction: { numerator: 100, denominator: 100 } } } })] });
  assert.equal(plan(noFilter.route(req())).fault, undefined, 'no fault filter on the listener → no fault');

  const all = { numerator: 100, denominator: 100 as const };
  const weighted = oneService({
    listener: FAULT_FILTER,
    routes: [route({
      fault: { abort: { kind: 'http', httpStatus: 500, fraction: all } },
      action: { kind: 'weighted', totalWeight: 1, clusters: [{ name: CLUSTER, weight: 1, fault: { abort: { kind: 'grpc', grpcStatus: 14, fraction: all } } }] },
    })],
  });
  assert.deepEqual(plan(weighted.route(req())).fault, { abortGrpcStatus: 14 });
});

test('header-controlled faults', () => {
  const all = { numerator: 100, denominator: 100 as const };
  const engine = oneService({ listener: FAULT_FILTER, routes: [route({ fault: { delay: { kind: 'header', fraction: all }, abort: { kind: 'header', fraction: all } } })] });
  assert.deepEqual(plan(engine.route(req({ headers: { 'x-envoy-fault-abort-request': '429', 'x-envoy-fault-delay-request': '50' } }))).fault, { delayMs: 50, abortStatus: 429 });
  assert.equal(plan(engine.route(req())).fault, undefined);
  assert.deepEqual(plan(engine.route(req({ headers: { 'x-envoy-fault-abort-request': '503', 'x-envoy-fault-abort-request-percentage': '0' } }))).fault, undefined);
});

test('mirrors roll their fraction and name clusters', () => {
  const shadow = `outbound|9080|v2|${FQDN}`;
  const engine = oneService({
    routes: [route({ mirrors: [{ cluster: shadow, fraction: { numerator: 30, denominator: 100 } }, { cluster: 'always', fraction: { numerator: 100, denominator: 100 } }] })],
    extraClusters: [cluster(shadow)],
  });
  let shadowed = 0;
  for (let i = 0; i < 10_000; i++) {
    const m = plan(engine.route(req())).mirrors;
    assert.ok(m.includes('always'));
    if (m.includes(shadow)) shadowed++;
  }
  assert.ok(Math.abs(shadowed - 3000) < 250, `${shadowed}`);
  assert.equal(engine.pickFrom('always'), undefined, 'a mirror cluster without CDS has no endpoints');
});

test('onUpdate fires and version grows', () => {
  const engine = createEngine({ namespace: 'default' });
  let fired = 0;
  const sub = engine.onUpdate(() => fired++);
  engine.update({ listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() });
  sub.dispose();
  engine.update({ listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() });
  assert.equal(fired, 1);
  assert.equal(engine.version, 2);
});

test('route() + admit() + pick() timing at 1,000 endpoints (logged, not asserted)', () => {
  const out: string[] = [];
  for (const lbPolicy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH'] as const) {
    const engine = oneService({ cluster: { lbPolicy }, endpoints: flat(CLUSTER, 1000), routes: [route({ hashPolicy: [{ kind: 'header', name: 'x-user', terminal: false }] })] });
    const r = req({ path: '/reviews/1?x=1', headers: { 'x-user': 'u1' } });
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = engine.route(r);
        if (res.kind !== 'forward') throw new Error('no forward');
        const slot = res.plan.admit();
        const ep = res.plan.pick()!;
        res.plan.startAttempt(ep);
        res.plan.endAttempt(ep, { kind: 'response', status: 200 });
        if (slot.ok) slot.release();
      }
    };
    run(20_000);
    const N = 200_000;
    const t0 = process.hrtime.bigint();
    run(N);
    out.push(`${lbPolicy}: ${(Number(process.hrtime.bigint() - t0) / N).toFixed(0)} ns`);
  }
  console.log(`[core] route+admit+pick+report per request at 1,000 endpoints (tsx): ${out.join('; ')}`);
  assert.ok(out.length === 3);
});
