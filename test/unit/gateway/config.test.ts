// The gateway's data-side pieces that need no sockets: listener metadata from the wire (checked
// and bounded), grouping by port, SNI/host choice, the Host parser and the edge headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerModel } from '../../../src/core/model/index.js';
import { gatewayPorts, hostCovered, routeForName, type GatewayRoute } from '../../../src/gateway/config.js';
import { edgeHeaders, grpcStatusOf, hostOf, isGrpc } from '../../../src/gateway/forward.js';
import { tlsFiles } from '../../../src/gateway/tls.js';

const listener = (name: string, meta: Record<string, unknown> | undefined): ListenerModel =>
  ({ name, routeConfigName: 'x', httpFilters: [], ...(meta ? { metadata: { 'meshlet.gateway': meta } } : {}) }) as ListenerModel;

test('listeners group by port; a bad description is skipped with its reason, a mesh listener ignored', () => {
  const { ports, problems } = gatewayPorts([
    listener('0.0.0.0_443/https.443.b.gw.default', { port: 443, protocol: 'HTTPS', route: 'https.443.b.gw.default', hosts: ['B.example.com'], redirectHosts: [], tls: { mode: 'SIMPLE', credentialName: 'b' } }),
    listener('0.0.0.0_443/https.443.a.gw.default', { port: 443, protocol: 'HTTPS', route: 'https.443.a.gw.default', hosts: ['*'], redirectHosts: [], tls: { mode: 'MUTUAL', serverCertificate: '/c', privateKey: '/k', caCertificates: '/ca', minProtocolVersion: 'TLSV1_3' } }),
    listener('0.0.0.0_80/http.80', { port: 80, protocol: 'HTTP', route: 'http.80', hosts: ['*'], redirectHosts: ['b.example.com'] }),
    listener('reviews.default.svc.cluster.local:9080', undefined),
    listener('0.0.0.0_99999/http.99999', { port: 99999, protocol: 'HTTP', route: 'http.99999', hosts: ['*'], redirectHosts: [] }),
    listener('0.0.0.0_444/x', { port: 444, protocol: 'HTTPS', route: 'x', hosts: ['*'], redirectHosts: [], tls: { mode: 'PASSTHROUGH' } }),
    listener('0.0.0.0_445/y', { port: 445, protocol: 'HTTPS', route: 'y', hosts: ['*'], redirectHosts: [], tls: { mode: 'SIMPLE' } }),
    listener('0.0.0.0_80/http.80.other', { port: 80, protocol: 'HTTPS', route: 'z', hosts: ['*'], redirectHosts: [], tls: { mode: 'SIMPLE', credentialName: 'z' } }),
  ]);
  assert.deepEqual(ports.map((p) => [p.port, p.protocol, p.routes.map((r) => r.route)]), [
    [80, 'HTTP', ['http.80']],
    [443, 'HTTPS', ['https.443.a.gw.default', 'https.443.b.gw.default']],
  ]);
  assert.deepEqual(ports[1]!.routes[1]!.hosts, ['b.example.com'], 'hosts are lower-cased');
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /port 99999 is not 1–65535/);
  assert.match(problems.join('\n'), /"PASSTHROUGH" is not served/);
  assert.match(problems.join('\n'), /neither credentialName nor serverCertificate/);
  assert.match(problems.join('\n'), /port 80 is already HTTP/);
});

test('SNI choice: exact host, then the longest wildcard, then *', () => {
  const r = (route: string, hosts: string[]): GatewayRoute => ({ listener: route, route, hosts, redirectHosts: [] });
  const routes = [r('star', ['*']), r('wild', ['*.example.com']), r('deep', ['*.api.example.com']), r('exact', ['shop.example.com'])];
  assert.equal(routeForName(routes, 'shop.example.com')?.route, 'exact');
  assert.equal(routeForName(routes, 'v1.api.example.com')?.route, 'deep');
  assert.equal(routeForName(routes, 'x.example.com')?.route, 'wild');
  assert.equal(routeForName(routes, 'other.org')?.route, 'star');
  assert.equal(routeForName(routes, undefined)?.route, 'star', 'no SNI: the * server');
  assert.equal(hostCovered('*.example.com', 'example.com'), false);
});

test('Host header: port stripped, case folded, invalid hosts refused', () => {
  assert.equal(hostOf('Shop.Example.com:8080'), 'shop.example.com');
  assert.equal(hostOf('example.com.'), 'example.com');
  assert.equal(hostOf('[::1]:80'), '[::1]');
  assert.equal(hostOf('10.0.0.1'), '10.0.0.1');
  for (const bad of [undefined, '', 'a b', 'a/b', 'evil.com@x', 'a'.repeat(300), 'x:1:2', '<script>', 'a..b', '-a', 'a:', ':80', '[::1', 'a:123456', `${'a'.repeat(64)}.com`]) assert.equal(hostOf(bad), undefined, String(bad));
});

test('edge headers: peer appended to x-forwarded-for, proto and external address set, internal headers dropped', () => {
  const h = edgeHeaders({
    host: 'a', connection: 'keep-alive, x-hop, te', 'x-hop': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', te: 'trailers',
    'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https', 'x-envoy-upstream-rq-timeout-ms': '1', 'x-forwarded-client-cert': 'By=x', 'x-request-id': 'mine', accept: 'text/html',
  }, '203.0.113.9', 'http');
  const { 'x-request-id': id, ...rest } = h;
  assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(rest, { 'x-forwarded-for': '198.51.100.1, 203.0.113.9', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '203.0.113.9', accept: 'text/html', te: 'trailers' });
  // Any other TE is hop-by-hop; HTTP/2 pseudo-headers are never copied as headers.
  const h2 = edgeHeaders({ ':authority': 'a', ':path': '/', ':method': 'GET', ':scheme': 'http', te: 'gzip', accept: '*/*' }, '203.0.113.9', 'https');
  assert.deepEqual(Object.keys(h2).sort(), ['accept', 'x-envoy-external-address', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id']);
});

test('gRPC local replies: Envoy\'s HTTP → gRPC status mapping; grpc content types', () => {
  assert.deepEqual([400, 401, 403, 404, 429, 502, 503, 504, 500].map(grpcStatusOf), [13, 16, 7, 12, 14, 14, 14, 14, 2]);
  for (const ct of ['application/grpc', 'application/grpc+proto', 'application/grpc;charset=utf-8']) assert.equal(isGrpc(ct), true, ct);
  for (const ct of [undefined, 'application/grpc-web', 'application/grpcx', 'text/plain']) assert.equal(isGrpc(ct), false, String(ct));
});

test('credentialName resolves inside the credentials directory only', () => {
  assert.deepEqual(tlsFiles({ mode: 'SIMPLE', credentialName: 'shop' }, '/secrets'), { cert: '/secrets/shop/tls.crt', key: '/secrets/shop/tls.key', ca: ['/secrets/shop/ca.crt', '/secrets/shop-cacert/ca.crt'] });
  assert.throws(() => tlsFiles({ mode: 'SIMPLE', credentialName: '../etc' }, '/secrets'), /not a valid secret name/);
  assert.throws(() => tlsFiles({ mode: 'SIMPLE', credentialName: 'shop' }, undefined), /needs a credentials directory/);
});

test('ISTIO_MUTUAL needs no certificate files; subjectAltNames must be a list of names', () => {
  const { ports, problems } = gatewayPorts([
    listener('0.0.0.0_443/https.443.m.gw.default', { port: 443, protocol: 'HTTPS', route: 'https.443.m.gw.default', hosts: ['*'], redirectHosts: [], tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/default/sa/web'] } }),
    listener('0.0.0.0_8443/https.8443.n.gw.default', { port: 8443, protocol: 'HTTPS', route: 'https.8443.n.gw.default', hosts: ['*'], redirectHosts: [], tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: 'spiffe://x' } }),
  ]);
  assert.deepEqual(ports.map((p) => p.port), [443]);
  assert.deepEqual(ports[0]!.routes[0]!.tls, { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/default/sa/web'] });
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /subjectAltNames: not a list/);
});
