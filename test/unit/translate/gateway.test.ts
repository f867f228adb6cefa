// Gateway translation per gateway proxy (Istio MergeGateways / buildGatewayHTTPRouteConfig):
// selector vs labels, route names, server × VirtualService host intersection with namespace
// forms, the VirtualService `gateways` binding and the reserved `mesh`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gateway, IstioResource } from '../../../src/config/types.js';
import type { Proxy } from '../../../src/control/proxy.js';
import { buildContext } from '../../../src/control/translate/context.js';
import { gatewayResources, GATEWAY_METADATA } from '../../../src/control/translate/gateway.js';
import { hostSubsetOf, intersectHosts, serverHostsFor } from '../../../src/control/translate/gateway-hosts.js';
import { structToJson } from '../../../src/xds/struct.js';
import { bookinfoServices, meta, run, vs } from './fixtures.js';

const ingress: Proxy = { id: 'router~1~gw~istio-system.svc.cluster.local', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, kind: 'gateway' };

function gateway(name: string, spec: Gateway['spec'], namespace = 'default'): Gateway {
  return { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: meta(name, namespace), spec };
}

function gen(resources: IstioResource[], proxy: Proxy = ingress) {
  const ctx = buildContext(resources, bookinfoServices(resources));
  const out = gatewayResources(ctx, resources, proxy);
  const route = (name: string): { virtual_hosts: Array<{ domains: string[]; routes: Array<Record<string, any>> }> } => {
    const r = out.routes.find((x) => x.name === name);
    if (!r) throw new Error(`no route ${name}; have ${out.routes.map((x) => x.name).join(', ')}`);
    return r.message as never;
  };
  const metaOf = (name: string) => structToJson((out.listeners.find((l) => l.name === name)!.message as any).metadata.filter_metadata[GATEWAY_METADATA]);
  return { ...out, route, metaOf };
}

const bookinfoGateway = gateway('bookinfo-gateway', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] });
const bookinfoVs = vs('bookinfo', {
  hosts: ['*'],
  gateways: ['bookinfo-gateway'],
  http: [{ match: [{ uri: { exact: '/productpage' } }, { uri: { prefix: '/static' } }], route: [{ destination: { host: 'productpage', port: { number: 9080 } } }] }],
});

test('bookinfo: one listener 0.0.0.0_80/http.80, a * virtual host routing to productpage', () => {
  const g = gen([bookinfoGateway, bookinfoVs]);
  assert.deepEqual(g.listeners.map((l) => l.name), ['0.0.0.0_80/http.80']);
  assert.deepEqual(g.metaOf('0.0.0.0_80/http.80'), { port: 80, protocol: 'HTTP', route: 'http.80', hosts: ['*'], redirectHosts: [] });
  const vh = g.route('http.80').virtual_hosts;
  assert.deepEqual(vh.map((v) => v.domains), [['*']]);
  assert.deepEqual(vh[0]!.routes.map((r) => [r.match.path ?? r.match.prefix, r.route.cluster]), [
    ['/productpage', 'outbound|9080||productpage.default.svc.cluster.local'],
    ['/static', 'outbound|9080||productpage.default.svc.cluster.local'],
  ]);
});

test('selector: a gateway proxy without the labels gets no listeners', () => {
  const other: Proxy = { ...ingress, labels: { istio: 'egressgateway' } };
  assert.deepEqual(gen([bookinfoGateway, bookinfoVs], other).listeners, []);
});

test('a VirtualService bound to a gateway only does not route mesh traffic; one without gateways only the mesh', () => {
  const meshOnly = vs('reviews', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] });
  const gwOnly = vs('ratings', { hosts: ['ratings'], gateways: ['bookinfo-gateway'], http: [{ route: [{ destination: { host: 'ratings', subset: 'v1' } }] }] });
  const both = vs('details', { hosts: ['details'], gateways: ['bookinfo-gateway', 'mesh'], http: [{ route: [{ destination: { host: 'details', subset: 'v2' } }] }] });
  const resources = [bookinfoGateway, meshOnly, gwOnly, both];
  // Mesh (sidecar) side.
  const mesh = run(resources);
  const cluster = (rc: string) => mesh.routeConfig(rc).virtual_hosts[0].routes[0].route.cluster;
  assert.equal(cluster('reviews.default.svc.cluster.local:9080'), 'outbound|9080|v2|reviews.default.svc.cluster.local');
  assert.equal(cluster('ratings.default.svc.cluster.local:9080'), 'outbound|9080||ratings.default.svc.cluster.local', 'gateway-only VS does not apply to the mesh');
  assert.equal(cluster('details.default.svc.cluster.local:9080'), 'outbound|9080|v2|details.default.svc.cluster.local');
  // Gateway side: server host * covers both bound VirtualServices, not the mesh-only one.
  const vh = gen(resources).route('http.80').virtual_hosts;
  assert.deepEqual(vh.map((v) => v.domains[0]).sort(), ['details.default.svc.cluster.local', 'ratings.default.svc.cluster.local']);
});

test('match-level gateways: a match for mesh only is dropped at the gateway, one for the gateway is dropped in the mesh', () => {
  const split = vs('reviews', {
    hosts: ['reviews'],
    gateways: ['mesh', 'default/bookinfo-gateway'],
    http: [
      { match: [{ gateways: ['mesh'], uri: { prefix: '/m' } }], route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
      { match: [{ gateways: ['bookinfo-gateway'], uri: { prefix: '/g' } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
    ],
  });
  const gwRoutes = gen([bookinfoGateway, split]).route('http.80').virtual_hosts[0]!.routes;
  assert.deepEqual(gwRoutes.map((r) => r.match.prefix), ['/g']);
  const meshRoutes = run([bookinfoGateway, split]).routeConfig('reviews.default.svc.cluster.local:9080').virtual_hosts[0].routes;
  assert.deepEqual(meshRoutes.map((r: any) => r.match.prefix).filter((p: string) => p !== '/'), ['/m']);
});

test('hosts: namespace forms and wildcard intersection (Istio NamesForNamespace, Names.Intersection)', () => {
  assert.equal(hostSubsetOf('a.example.com', '*.example.com'), true);
  assert.equal(hostSubsetOf('*.example.com', 'a.example.com'), false);
  assert.equal(hostSubsetOf('*.a.example.com', '*.example.com'), true);
  assert.equal(hostSubsetOf('example.com', '*.example.com'), false);
  assert.deepEqual(intersectHosts(['*.example.com'], ['a.example.com', 'other.org']), ['a.example.com']);
  assert.deepEqual(intersectHosts(['a.example.com', 'b.example.com'], ['*.example.com']), ['a.example.com', 'b.example.com']);
  const server = { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['prod/a.com', './b.com', '*/c.com', 'd.com', '~/e.com'] };
  assert.deepEqual(serverHostsFor(server, 'prod', 'gw-ns'), ['a.com', 'c.com', 'd.com']);
  assert.deepEqual(serverHostsFor(server, 'gw-ns', 'gw-ns'), ['b.com', 'c.com', 'd.com']);
});

test('a server host for another namespace does not take that namespace\'s VirtualService', () => {
  const gw = gateway('gw', { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['prod/*.example.com'] }] }, 'istio-system');
  const inProd = vs('a', { hosts: ['a.example.com'], gateways: ['istio-system/gw'], http: [{ route: [{ destination: { host: 'productpage.default.svc.cluster.local' } }] }] }, 'prod');
  const inDefault = vs('b', { hosts: ['b.example.com'], gateways: ['istio-system/gw'], http: [{ route: [{ destination: { host: 'productpage' } }] }] });
  const vh = gen([gw, inProd, inDefault]).route('http.80').virtual_hosts;
  assert.deepEqual(vh.map((v) => v.domains), [['a.example.com']]);
});

test('HTTPS servers get their own route https.<port>.<name>.<gw>.<ns>, TLS and httpsRedirect in the metadata', () => {
  const gw = gateway('secure', {
    selector: { istio: 'ingressgateway' },
    servers: [
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['shop.example.com'], tls: { httpsRedirect: true } },
      { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['shop.example.com'], tls: { mode: 'SIMPLE', credentialName: 'shop-cert', minProtocolVersion: 'TLSV1_3' } },
      { port: { number: 443, name: 'https-api', protocol: 'HTTPS' }, hosts: ['api.example.com'], tls: { mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem' } },
    ],
  });
  const shop = vs('shop', { hosts: ['shop.example.com', 'api.example.com'], gateways: ['secure'], http: [{ route: [{ destination: { host: 'productpage' } }] }] });
  const g = gen([gw, shop]);
  assert.deepEqual(g.listeners.map((l) => l.name), ['0.0.0.0_80/http.80', '0.0.0.0_443/https.443.https-api.secure.default', '0.0.0.0_443/https.443.https.secure.default']);
  assert.deepEqual(g.metaOf('0.0.0.0_80/http.80').redirectHosts, ['shop.example.com']);
  assert.deepEqual(g.metaOf('0.0.0.0_443/https.443.https.secure.default').tls, { mode: 'SIMPLE', credentialName: 'shop-cert', minProtocolVersion: 'TLSV1_3' });
  assert.deepEqual(g.route('https.443.https-api.secure.default').virtual_hosts.map((v) => v.domains), [['api.example.com']]);
  assert.deepEqual(g.route('https.443.https.secure.default').virtual_hosts.map((v) => v.domains), [['shop.example.com']]);
});
