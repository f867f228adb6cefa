// createMesh({ metricsPort }): Istio's standard metrics at GET /stats/prometheus for outbound
// HTTP and gRPC calls (reporter="source") and inbound requests through the inbound policy, HTTP
// and gRPC servers alike (reporter="destination"), the port announced over xDS and listed by the
// control server's admin GET /prometheus/targets; off by default; the endpoint gone after close().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { parseConfig } from '../../../src/config/index.js';
import { parsePrometheus, type Sample } from '../../helpers/prometheus-text.js';
import { failure, handlers, serviceEntry, startBackend, SVC, SvcClient, unary, waitFor, type Backend } from '../grpc/fixture.js';
import * as grpc from '@grpc/grpc-js';

let server: ControlServer;
let backend: Backend;
const meshes: Mesh[] = [];

async function mesh(options: Parameters<typeof createMesh>[0]): Promise<Mesh> {
  const m = await createMesh({ controlPlane: `127.0.0.1:${server.xdsPort}`, initialFetchTimeoutMs: 2000, drainTimeoutMs: 500, xdsBackoff: { initialMs: 50, maxMs: 200 }, ...options });
  meshes.push(m);
  return m;
}

async function scrape(m: Mesh): Promise<Sample[]> {
  const res = await request(`http://127.0.0.1:${m.metricsPort}/stats/prometheus`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(await res.body.text()).samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

async function targets(): Promise<Array<{ targets: string[]; labels: Record<string, string> }>> {
  const res = await request(`http://127.0.0.1:${server.adminPort}/prometheus/targets`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Array<{ targets: string[]; labels: Record<string, string> }>;
}

before(async () => {
  server = await createControlServer({ xdsPort: 0, adminPort: 0, debounceMs: 5, withdrawGraceMs: 100 });
  backend = await startBackend('reviews-grpc', { failEvery: 3, failCode: 5 });
  const { resources } = parseConfig(serviceEntry({ v1: [backend] }), 'grpc.yaml');
  await server.store.apply(resources);
});

after(async () => {
  await Promise.all(meshes.map((m) => m.close()));
  await server?.close();
  await backend?.close();
});

test('outbound HTTP: every standard family with Istio labels; 404 and 405 off the metrics path', async () => {
  const origin = createServer((req, res) => { res.statusCode = req.url === '/missing' ? 404 : 200; res.end('hello'); });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => origin.close(() => resolve())));
  const serving = await mesh({ service: 'details', labels: { app: 'details', version: 'v1' } });
  await serving.listen((_req, res) => res.end('details!'), { port: 0, servicePort: 9080 });
  const client = await mesh({ service: 'productpage', labels: { app: 'productpage', version: 'v1' }, metricsPort: 0 });
  assert.ok(client.metricsPort! > 0);
  assert.equal(serving.metricsPort, undefined, 'metrics are off by default');
  await waitFor(async () => (await client.fetch('http://details:9080/')).status === 200, 5000, 'details routed');
  for (let i = 0; i < 3; i++) await (await client.fetch('http://details:9080/details/0')).text();
  await (await client.fetch('http://details:9080/details/0', { method: 'POST', body: '0123456789' })).text();
  await request('http://details:9080/details/0', { dispatcher: client.dispatcher, method: 'PUT', body: Buffer.from('abcde') }).then((r) => r.body.text());
  const port = (origin.address() as AddressInfo).port;
  await (await client.fetch(`http://127.0.0.1:${port}/missing`)).text();

  const samples = await scrape(client);
  const ok = samples.filter((s) => s.name === 'istio_requests_total' && s.labels['destination_service_name'] === 'details' && s.labels['response_code'] === '200');
  assert.equal(ok.length, 1);
  assert.ok(ok[0]!.value >= 4); // the waitFor call plus three
  assert.deepEqual({ ...ok[0]!.labels }, {
    reporter: 'source', source_workload: 'productpage-v1', source_canonical_service: 'productpage', source_canonical_revision: 'v1',
    source_workload_namespace: 'default', source_principal: 'unknown', source_app: 'productpage', source_version: 'v1', source_cluster: 'Kubernetes',
    destination_workload: 'details-v1', destination_workload_namespace: 'default', destination_principal: 'unknown', destination_app: 'details',
    destination_version: 'v1', destination_service: 'details.default.svc.cluster.local', destination_canonical_service: 'details',
    destination_canonical_revision: 'v1', destination_service_name: 'details', destination_service_namespace: 'default', destination_cluster: 'Kubernetes',
    request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown',
  });
  assert.equal(value(samples, 'istio_request_duration_milliseconds_count', { destination_service_name: 'details' }), ok[0]!.value);
  assert.equal(value(samples, 'istio_response_bytes_sum', { destination_service_name: 'details', response_code: '200' }), ok[0]!.value * 'details!'.length);
  assert.equal(value(samples, 'istio_request_bytes_sum', { destination_service_name: 'details' }), 15, 'request body sizes (fetch: Content-Length; a Buffer: its length)');
  assert.equal(value(samples, 'istio_request_bytes_bucket', { destination_service_name: 'details', le: '10' }), ok[0]!.value, 'every body ≤ 10 bytes');
  // Passthrough: the service is the authority, namespace unknown.
  assert.equal(value(samples, 'istio_requests_total', { destination_service: '127.0.0.1', response_code: '404', destination_service_namespace: 'unknown' }), 1);

  const base = `http://127.0.0.1:${client.metricsPort}`;
  const notFound = await request(`${base}/metrics`);
  assert.equal(notFound.statusCode, 404);
  await notFound.body.text();
  const post = await request(`${base}/stats/prometheus`, { method: 'POST', body: 'x' });
  assert.equal(post.statusCode, 405);
  await post.body.text();
});

test('outbound gRPC: response_code 200, grpc_response_status per code, message counters', async () => {
  const client = await mesh({ service: 'ratings', labels: { app: 'ratings', version: 'v1' }, metricsPort: 0 });
  const c = client.grpc.client(SvcClient, 'reviews.default.svc.cluster.local:9080');
  after(() => c.close());
  await waitFor(async () => (await unary(c).catch(() => undefined))?.from === 'reviews-grpc', 5000, 'gRPC routed');
  backend.calls = 0;
  let failed = 0;
  for (let i = 0; i < 6; i++) {
    const r = await unary(c).catch((e: unknown) => e);
    if (!(r as { from?: string }).from) failed++;
  }
  assert.equal(failed, 2); // every third call fails with NOT_FOUND (5)
  const samples = await scrape(client);
  const svc = { destination_service: 'reviews.default.svc.cluster.local', request_protocol: 'grpc' };
  assert.equal(value(samples, 'istio_requests_total', { ...svc, response_code: '200', grpc_response_status: '5' }), 2);
  const okCalls = value(samples, 'istio_requests_total', { ...svc, response_code: '200', grpc_response_status: '0' });
  assert.ok(okCalls >= 4);
  const all = value(samples, 'istio_requests_total', svc);
  assert.equal(all, okCalls + 2);
  assert.equal(value(samples, 'istio_request_messages_total', svc), all, 'one request message per unary call');
  assert.equal(value(samples, 'istio_response_messages_total', svc), okCalls, 'a response message per OK call only');
  const ok = samples.find((s) => s.name === 'istio_requests_total' && s.labels['grpc_response_status'] === '0')!;
  assert.equal(ok.labels['destination_workload'], 'reviews-v1');
  assert.equal(ok.labels['destination_app'], 'reviews');
});

test('inbound HTTP and gRPC: reporter="destination" with the local workload as destination, denials counted with their code', async () => {
  const { resources } = parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9090, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: ratings } }
`, 'ratings.yaml');
  await server.store.apply(resources);
  const serving = await mesh({ service: 'ratings', labels: { app: 'ratings', version: 'v2' }, metricsPort: 0 });
  await serving.listen((req, res) => { res.statusCode = req.url === '/teapot' ? 418 : 200; res.end('ok'); }, { port: 0, servicePort: 9080 });
  const g = serving.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
  g.server.addService(SVC, handlers({ name: 'ratings-v2', behaviour: {}, calls: 0 }));
  g.use({ onCall: (ctx) => (ctx.metadata.get('x-deny').length > 0 ? { code: grpc.status.PERMISSION_DENIED, details: 'no' } : undefined) });
  await g.bind('127.0.0.1:0');
  after(() => g.close());
  const caller = await mesh({ service: 'reviews', labels: { app: 'reviews', version: 'v1' } });
  await waitFor(async () => (await caller.fetch('http://ratings:9080/')).status === 200, 5000, 'ratings HTTP routed');
  const c = caller.grpc.client(SvcClient, 'ratings:9090');
  after(() => c.close());
  await waitFor(async () => (await unary(c).catch(() => undefined))?.from === 'ratings-v2', 5000, 'ratings gRPC routed');
  const before = await scrape(serving);
  const httpOk0 = value(before, 'istio_requests_total', { reporter: 'destination', request_protocol: 'http', response_code: '200' });
  const grpcOk0 = value(before, 'istio_requests_total', { reporter: 'destination', request_protocol: 'grpc', grpc_response_status: '0' });
  for (let i = 0; i < 4; i++) await (await caller.fetch('http://ratings:9080/ratings/0')).text();
  await (await caller.fetch('http://ratings:9080/teapot')).text();
  for (let i = 0; i < 3; i++) await unary(c);
  assert.equal((await failure(unary(c, { 'x-deny': '1' }))).code, grpc.status.PERMISSION_DENIED);

  const samples = await scrape(serving);
  const inbound = { reporter: 'destination' };
  assert.equal(value(samples, 'istio_requests_total', { ...inbound, request_protocol: 'http', response_code: '200' }) - httpOk0, 4);
  assert.equal(value(samples, 'istio_requests_total', { ...inbound, request_protocol: 'http', response_code: '418' }), 1);
  assert.equal(value(samples, 'istio_requests_total', { ...inbound, request_protocol: 'grpc', response_code: '200', grpc_response_status: '0' }) - grpcOk0, 3);
  assert.equal(value(samples, 'istio_requests_total', { ...inbound, request_protocol: 'grpc', grpc_response_status: '7' }), 1, 'a denied call counts with PERMISSION_DENIED');
  const row = samples.find((x) => x.name === 'istio_requests_total' && x.labels['reporter'] === 'destination' && x.labels['response_code'] === '418')!;
  assert.deepEqual({ ...row.labels }, {
    reporter: 'destination', source_workload: 'unknown', source_canonical_service: 'unknown', source_canonical_revision: 'latest',
    source_workload_namespace: 'unknown', source_principal: 'unknown', source_app: 'unknown', source_version: 'unknown', source_cluster: 'Kubernetes',
    destination_workload: 'ratings-v2', destination_workload_namespace: 'default', destination_principal: 'unknown', destination_app: 'ratings',
    destination_version: 'v2', destination_service: 'ratings.default.svc.cluster.local', destination_canonical_service: 'ratings',
    destination_canonical_revision: 'v2', destination_service_name: 'ratings', destination_service_namespace: 'default', destination_cluster: 'Kubernetes',
    request_protocol: 'http', response_code: '418', grpc_response_status: '', response_flags: '-', connection_security_policy: 'none',
  });
  const grpcSvc = { ...inbound, request_protocol: 'grpc' };
  const grpcAll = value(samples, 'istio_requests_total', grpcSvc);
  assert.equal(value(samples, 'istio_response_messages_total', grpcSvc), grpcAll - 1, 'one response message per OK unary call');
  assert.equal(value(samples, 'istio_request_messages_total', grpcSvc), grpcAll - 1, 'the denied call never read its message');
});

test('metadata exchange: a caller that reports metrics names itself, so the server\'s reporter="destination" series carry its source_* labels (HTTP and gRPC)', async () => {
  const { resources } = parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: catalog }
spec:
  hosts: [catalog.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9091, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: catalog } }
`, 'catalog.yaml');
  await server.store.apply(resources);
  const serving = await mesh({ service: 'catalog', labels: { app: 'catalog', version: 'v1' }, metricsPort: 0 });
  await serving.listen((_req, res) => { res.end('ok'); }, { port: 0, servicePort: 9080 });
  const g = serving.grpc.createServer({ servicePort: 9091, drainTimeoutMs: 200 });
  g.server.addService(SVC, handlers({ name: 'catalog-v1', behaviour: {}, calls: 0 }));
  await g.bind('127.0.0.1:0');
  after(() => g.close());
  const caller = await mesh({ service: 'storefront', labels: { app: 'storefront', version: 'v1' }, metricsPort: 0 });
  await waitFor(async () => (await caller.fetch('http://catalog:9080/')).status === 200, 5000, 'catalog HTTP routed');
  const c = caller.grpc.client(SvcClient, 'catalog:9091');
  after(() => c.close());
  await waitFor(async () => (await unary(c).catch(() => undefined))?.from === 'catalog-v1', 5000, 'catalog gRPC routed');
  for (let i = 0; i < 3; i++) await (await caller.fetch('http://catalog:9080/items/0')).text();
  for (let i = 0; i < 2; i++) await unary(c);
  const samples = await scrape(serving);
  const named = { reporter: 'destination', source_workload: 'storefront-v1', source_workload_namespace: 'default', source_app: 'storefront', source_version: 'v1', source_canonical_service: 'storefront', source_canonical_revision: 'v1' };
  assert.ok(value(samples, 'istio_requests_total', { ...named, request_protocol: 'http', destination_workload: 'catalog-v1' }) >= 3);
  assert.ok(value(samples, 'istio_requests_total', { ...named, request_protocol: 'grpc', destination_workload: 'catalog-v1' }) >= 2);
  assert.equal(value(samples, 'istio_requests_total', { reporter: 'destination', source_workload: 'unknown', destination_workload: 'catalog-v1' }), 0, 'no call from storefront counted as an unknown caller');
  // Identity still comes from certificates only: plaintext callers stay source_principal="unknown".
  assert.equal(value(samples, 'istio_requests_total', { ...named, source_principal: 'unknown' }), value(samples, 'istio_requests_total', named));
});

test('admin /prometheus/targets: every mesh with a metrics port (pure clients too), gone after close()', async () => {
  const pure = await mesh({ metricsPort: 0, namespace: 'shop', labels: { app: 'cart', version: 'v7' } });
  const target = `127.0.0.1:${pure.metricsPort}`;
  const groups = await waitForTargets((g) => g.some((x) => x.targets[0] === target));
  const group = groups.find((x) => x.targets[0] === target)!;
  assert.deepEqual(group.labels, { __metrics_path__: '/stats/prometheus', namespace: 'shop', app: 'cart', version: 'v7', node_id: group.labels['node_id']! });
  assert.ok(group.labels['node_id']!.endsWith('.shop'));
  const withService = groups.find((x) => x.labels['service'] === 'productpage');
  assert.ok(withService, JSON.stringify(groups));
  assert.equal(groups.some((x) => x.labels['service'] === 'details'), false, 'a mesh without metricsPort is not a target');
  await pure.close();
  await waitForTargets((g) => !g.some((x) => x.targets[0] === target));
  await assert.rejects(request(`http://${target}/stats/prometheus`), /ECONNREFUSED/);
});

test('a metrics endpoint outside announceNetworks is not listed (Prometheus would dial it)', async () => {
  const strict = await createControlServer({ xdsPort: 0, adminPort: 0, debounceMs: 5, announceNetworks: ['10.0.0.0/8'] });
  after(() => strict.close());
  const m = await createMesh({ controlPlane: `127.0.0.1:${strict.xdsPort}`, metricsPort: 0, initialFetchTimeoutMs: 2000 });
  after(() => m.close());
  await waitFor(async () => strict.clients().some((c) => c.id !== ''), 5000, 'the client to connect');
  const res = await request(`http://127.0.0.1:${strict.adminPort}/prometheus/targets`);
  assert.deepEqual(await res.body.json(), []);
});

test('a bad metricsPort is a coded error', async () => {
  await assert.rejects(createMesh({ controlPlane: `127.0.0.1:${server.xdsPort}`, metricsPort: 70000, initialFetchTimeoutMs: 100 }), { code: 'MESHLET_ERR_CONFIG' });
  const taken = meshes.find((m) => m.metricsPort !== undefined && m.metricsPort > 0)!;
  await assert.rejects(createMesh({ controlPlane: `127.0.0.1:${server.xdsPort}`, metricsPort: taken.metricsPort!, initialFetchTimeoutMs: 100 }), { code: 'MESHLET_ERR_PORT_IN_USE' });
});

async function waitForTargets(pred: (g: Array<{ targets: string[]; labels: Record<string, string> }>) => boolean): Promise<Array<{ targets: string[]; labels: Record<string, string> }>> {
  let last: Array<{ targets: string[]; labels: Record<string, string> }> = [];
  await waitFor(async () => pred((last = await targets())), 5000, 'targets');
  return last;
}
