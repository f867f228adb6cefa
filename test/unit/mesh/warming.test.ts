// Envoy's cluster and listener warming as the xDS feed applies it (src/mesh/warming.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Warming } from '../../../src/mesh/warming.js';
import type { ClusterModel, EndpointsModel, ListenerModel, RouteConfigModel } from '../../../src/core/model/index.js';
import { ENVOY_CIRCUIT_BREAKER_DEFAULTS } from '../../../src/xds/resources/cluster.js';

const cluster = (name: string): ClusterModel => ({
  name, type: 'EDS', edsServiceName: name, lbPolicy: 'ROUND_ROBIN', localityWeighted: false,
  circuitBreakers: ENVOY_CIRCUIT_BREAKER_DEFAULTS, healthyPanicThreshold: 50, connectTimeoutMs: 1000, metadata: {},
});
const eps = (name: string): EndpointsModel => ({ clusterName: name, localities: [], dropOverloads: [] });
const route = (name: string, to: string): RouteConfigModel => ({
  name,
  virtualHosts: [{ name: 'vh', domains: ['*'], typedPerFilterConfig: {}, routes: [{
    name: 'r', match: { path: { kind: 'prefix', value: '/', caseSensitive: true }, headers: [], queryParams: [], grpcOnly: false },
    action: { kind: 'cluster', cluster: to }, hashPolicy: [], requestHeadersToAdd: [], requestHeadersToRemove: [],
    responseHeadersToAdd: [], responseHeadersToRemove: [], mirrors: [], metadata: {},
  }] }],
});
const listener = (name: string, rds: string): ListenerModel => ({ name, routeConfigName: rds, httpFilters: [] });

test('a listener waits for the endpoints of the clusters its routes name, then for at most the warming timeout', () => {
  const w = new Warming(1000);
  const input = {
    listeners: new Map([['svc:80', listener('svc:80', 'svc:80')]]),
    routes: new Map([['svc:80', route('svc:80', 'c1')]]),
    clusters: new Map([['c1', cluster('c1')]]),
    endpoints: new Map<string, EndpointsModel>(),
    clustersSeen: true,
  };
  let r = w.apply(input, 0);
  assert.equal(r.listeners.size, 0, 'held back while c1 warms');
  assert.equal(r.clusters.has('c1'), false);
  assert.equal(r.nextDeadline, 1000);
  r = w.apply(input, 1000);
  assert.equal(r.listeners.size, 1, 'after the timeout the cluster is used without endpoints');
  assert.equal(r.nextDeadline, Infinity);
});

test('a route update naming a warming cluster keeps the previous route until that cluster has endpoints', () => {
  const w = new Warming(15_000);
  const base = {
    listeners: new Map([['svc:80', listener('svc:80', 'svc:80')]]),
    clusters: new Map([['c1', cluster('c1')]]),
    endpoints: new Map([['c1', eps('c1')]]),
    clustersSeen: true,
  };
  const v1 = route('svc:80', 'c1');
  assert.equal(w.apply({ ...base, routes: new Map([['svc:80', v1]]) }, 0).routes.get('svc:80'), v1);
  const v2 = route('svc:80', 'c2');
  const clusters = new Map([...base.clusters, ['c2', cluster('c2')]]);
  let r = w.apply({ ...base, clusters, routes: new Map([['svc:80', v2]]) }, 10);
  assert.equal(r.routes.get('svc:80'), v1, 'the old route serves while c2 warms');
  assert.equal(r.listeners.size, 1);
  r = w.apply({ ...base, clusters, endpoints: new Map([...base.endpoints, ['c2', eps('c2')]]), routes: new Map([['svc:80', v2]]) }, 20);
  assert.equal(r.routes.get('svc:80'), v2);
});

test('before any CDS response, a route naming an unknown cluster waits; after it, it does not', () => {
  const w = new Warming(15_000);
  const input = {
    listeners: new Map([['svc:80', listener('svc:80', 'svc:80')]]),
    routes: new Map([['svc:80', route('svc:80', 'c9')]]),
    clusters: new Map<string, ClusterModel>(),
    endpoints: new Map<string, EndpointsModel>(),
  };
  assert.equal(w.apply({ ...input, clustersSeen: false }, 0).listeners.size, 0);
  assert.equal(w.apply({ ...input, clustersSeen: true }, 0).listeners.size, 1, 'a cluster CDS does not hold is Envoy\'s "no cluster", not a warming one');
});
