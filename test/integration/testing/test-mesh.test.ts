// createTestMesh end to end: real control server, meshes and backends on port 0, faults through
// VirtualService config, seeded decisions, records, and the manual clock.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createTestMesh, ECHO_SERVICE, EchoClient, echoCall, type TestMesh } from '../../../src/testing/index.js';
import { MeshError } from '../../../src/errors.js';

const opened: TestMesh[] = [];
after(async () => {
  await Promise.all(opened.map((t) => t.close()));
});

async function kit(seed: number | string, clock = false): Promise<TestMesh> {
  const t = await createTestMesh({ seed, clock });
  opened.push(t);
  return t;
}

/** 1 per aborted call, 0 per answered one, for `n` sequential calls. */
async function sequence(t: TestMesh, n: number): Promise<string> {
  const pp = await t.mesh('productpage', { labels: { version: 'v1' } });
  await t.backend('ratings', { port: 9080 }, (_req, res) => res.end('5'));
  await t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 30 } });
  let out = '';
  for (let i = 0; i < n; i++) {
    const res = await pp.fetch('http://ratings:9080/ratings/1');
    await res.text();
    out += res.status === 503 ? '1' : '0';
  }
  return out;
}

describe('createTestMesh', () => {
  test('routes a call to a backend at its service port and records it', async () => {
    const t = await kit(1);
    const pp = await t.mesh('productpage', { labels: { version: 'v1' } });
    const b = await t.backend('reviews', { labels: { version: 'v2' }, port: 9080 }, (_req, res) => res.end('ok'));
    const res = await pp.fetch('http://reviews:9080/reviews/1');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    assert.equal(b.calls(), 1);
    const [r] = t.records({ service: 'reviews' });
    assert.ok(r);
    assert.equal(r.source, 'productpage');
    assert.equal(r.route, 'default');
    assert.equal(r.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.equal(r.endpoint, `127.0.0.1:${b.port}`);
    assert.deepEqual(r.endpointLabels, { app: 'reviews', version: 'v2' });
    assert.equal(r.attempts, 1);
    assert.deepEqual(r.flags, []);
  });

  test('the same seed gives the same fault sequence; another seed another', async () => {
    const a = await sequence(await kit(42), 60);
    const b = await sequence(await kit(42), 60);
    const c = await sequence(await kit(43), 60);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.ok(a.includes('1') && a.includes('0'), a);
  });

  test('apply resolves after every mesh has the config; dispose restores the user VirtualService', async () => {
    const t = await kit(2);
    const pp = await t.mesh('productpage');
    await t.backend('ratings', { labels: { version: 'v1' }, port: 9080 }, (_req, res) => res.end('v1'));
    await t.apply(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - name: api
    match: [{ uri: { prefix: /api } }]
    route: [{ destination: { host: ratings } }]
  - name: rest
    route: [{ destination: { host: ratings } }]
`);
    const before = JSON.stringify(t.control.store.list().map((r) => r.spec));
    assert.equal((await pp.fetch('http://ratings:9080/api/x')).status, 200);
    assert.equal(t.records().at(-1)?.route, 'api');
    const f = await t.fault({ service: 'ratings', route: 'api', abort: { httpStatus: 418, percentage: 100 } });
    const hit = await pp.fetch('http://ratings:9080/api/x');
    assert.equal(hit.status, 418);
    assert.deepEqual(t.records().at(-1)?.flags, ['FI']);
    assert.equal((await pp.fetch('http://ratings:9080/other')).status, 200);
    assert.equal(t.records().at(-1)?.route, 'rest');
    await f.dispose();
    assert.equal(JSON.stringify(t.control.store.list().map((r) => r.spec)), before);
    assert.equal((await pp.fetch('http://ratings:9080/api/x')).status, 200);
  });

  test('a partition cuts one caller off and leaves the others alone', async () => {
    const t = await kit(3);
    const pp = await t.mesh('productpage');
    const reviews = await t.mesh('reviews');
    await t.backend('ratings', { port: 9080 }, (_req, res) => res.end('5'));
    const cut = await t.fault({ service: 'ratings', partition: { from: 'reviews' } });
    assert.equal((await reviews.fetch('http://ratings:9080/')).status, 503);
    assert.equal((await pp.fetch('http://ratings:9080/')).status, 200);
    assert.deepEqual(t.records({ source: 'reviews' }).map((r) => [r.status, r.flags.join(','), r.attempts]), [[503, 'FI', 0]]);
    await cut.dispose();
    assert.equal((await reviews.fetch('http://ratings:9080/')).status, 200);
    // No synthetic VirtualService left behind.
    assert.deepEqual(t.control.store.list(), []);
  });

  test('gRPC backends get faults too (abort by gRPC status)', async () => {
    const t = await kit(4);
    const pp = await t.mesh('productpage');
    await t.backend('reviews', {
      port: 9090,
      grpc: { service: ECHO_SERVICE, impl: { Call: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: 'reviews-v1', metadata: {} }) } },
    });
    const client = pp.grpc.client(EchoClient, 'reviews:9090') as grpc.Client;
    try {
      assert.equal((await echoCall(client)).from, 'reviews-v1');
      const f = await t.fault({ service: 'reviews', abort: { grpcStatus: 'RESOURCE_EXHAUSTED', percentage: 100 } });
      await assert.rejects(echoCall(client), (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED);
      const r = t.records({ service: 'reviews' }).at(-1);
      assert.equal(r?.protocol, 'grpc');
      assert.equal(r?.grpcStatus, grpc.status.RESOURCE_EXHAUSTED);
      assert.deepEqual(r?.flags, ['FI']);
      await f.dispose();
      assert.equal((await echoCall(client)).from, 'reviews-v1');
    } finally {
      client.close();
    }
  });

  test('a reset fault resets the backend connection for real', async () => {
    const t = await kit(5);
    const pp = await t.mesh('productpage');
    const b = await t.backend('ratings', { port: 9080 }, (_req, res) => res.end('5'));
    const f = await t.fault({ service: 'ratings', reset: { percentage: 100 } });
    const res = await pp.fetch('http://ratings:9080/');
    assert.equal(res.status, 503);
    await res.text();
    assert.ok(b.resets() >= 1);
    assert.equal(b.calls(), 0);
    const r = t.records().at(-1);
    assert.ok(r && r.attempts >= 1 && r.flags.includes('UC'), JSON.stringify(r));
    await f.dispose();
    assert.equal((await pp.fetch('http://ratings:9080/')).status, 200);
  });

  test('a manual clock steps a fault delay and a route timeout', async () => {
    const t = await kit(6, true);
    const clock = t.clock!;
    const pp = await t.mesh('productpage');
    await t.backend('ratings', { port: 9080 }, (_req, res) => res.end('5'));
    await t.fault({ service: 'ratings', delay: { fixedDelay: 200, percentage: 100 } });
    const call = pp.fetch('http://ratings:9080/');
    await clock.waitForTimers();
    assert.deepEqual(clock.pending(), [200]);
    clock.advance(199);
    assert.deepEqual(clock.pending(), [1]);
    clock.advance(1);
    const res = await call;
    assert.equal(res.status, 200);
    assert.deepEqual(t.records().at(-1)?.flags, ['DI']);
  });

  test('a manual clock steps retry backoff: the retry waits until the clock moves', async () => {
    const t = await kit(9, true);
    const clock = t.clock!;
    const pp = await t.mesh('productpage');
    let n = 0;
    await t.backend('ratings', { port: 9080 }, (_req, res) => {
      res.statusCode = ++n === 1 ? 503 : 200;
      res.end();
    });
    await t.apply(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - name: retried
    retries: { attempts: 2, retryOn: 5xx }
    route: [{ destination: { host: ratings } }]
`);
    const call = pp.fetch('http://ratings:9080/');
    await clock.waitForTimers(); // the first attempt got 503: the backoff is armed on the clock
    assert.equal(n, 1);
    const [backoff] = clock.pending();
    assert.ok(backoff !== undefined && backoff >= 0 && backoff <= 25, String(backoff)); // Envoy: full jitter under a 25 ms base
    clock.advance(backoff);
    const res = await call;
    assert.equal(res.status, 200);
    assert.equal(n, 2);
    assert.equal(t.records().at(-1)?.attempts, 2);
  });

  test('bad input is a coded error, and nothing is applied', async () => {
    const t = await kit(7);
    await assert.rejects(t.apply('kind: VirtualService\nmetadata: {name: x}\nspec: {hosts: 3}'), (e: unknown) => e instanceof MeshError && e.code.startsWith('MESHLET_ERR_CONFIG'));
    assert.throws(() => t.fault({ service: 'ratings' }), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG');
    assert.throws(() => t.fault({ service: 'ratings', abort: { httpStatus: 503, percentage: 140 } }), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG');
    assert.throws(() => t.fault({ service: 'ratings', abort: { httpStatus: 99, percentage: 10 } }), (e: unknown) => e instanceof MeshError && e.code.startsWith('MESHLET_ERR_CONFIG'));
    await t.apply({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r' }, spec: { hosts: ['ratings'], http: [{ name: 'x', route: [{ destination: { host: 'ratings' } }] }] } });
    assert.throws(() => t.fault({ service: 'ratings', route: 'nope', abort: { httpStatus: 503 } }), /no HTTP route named "nope"/);
    await assert.rejects(t.mesh('Not_A_Label'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CONFIG');
    assert.equal(t.control.store.list().length, 1);
  });

  test('close() stops everything and later use is refused', async () => {
    const t = await createTestMesh({ seed: 8 });
    await t.mesh('productpage');
    await t.close();
    await t.close();
    await assert.rejects(t.mesh('x'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CLOSED');
    await assert.rejects(t.fault({ service: 'x', partition: true }).ready, (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CLOSED');
    await assert.rejects(t.apply('{}'), (e: unknown) => e instanceof MeshError && e.code === 'MESHLET_ERR_CLOSED');
  });
});
