// meshlet gRPC clients route through the engine per call: weighted splits, header routes,
// fault aborts (HTTP and gRPC statuses), route timeouts, and all four call types.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, HOST, failure, serviceEntry, startBackend, tally, unary, waitFor, type Backend, type Reply, type SvcClient } from './fixture.js';
import type { MeshGrpc } from '../../../src/grpc/index.js';
import type { GrpcRequestRecord } from '../../../src/grpc/index.js';

const ROUTES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: { exact: jason }
    route:
    - destination: { host: reviews, subset: v2 }
  - match:
    - headers:
        x-fault: { exact: abort }
    fault:
      abort:
        httpStatus: 503
        percentage: { value: 100 }
    route:
    - destination: { host: reviews, subset: v1 }
  - match:
    - headers:
        x-fault: { exact: grpc }
    fault:
      abort:
        grpcStatus: RESOURCE_EXHAUSTED
        percentage: { value: 100 }
    route:
    - destination: { host: reviews, subset: v1 }
  - match:
    - headers:
        x-fault: { exact: delay }
    fault:
      delay:
        fixedDelay: 200ms
        percentage: { value: 100 }
    route:
    - destination: { host: reviews, subset: v1 }
  - match:
    - uri: { prefix: /meshlet.test.Svc/Slow }
    timeout: 100ms
    route:
    - destination: { host: reviews, subset: v1 }
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 80
    - destination: { host: reviews, subset: v3 }
      weight: 20
`;

describe('meshlet gRPC routing', () => {
  let fx: GrpcFixture;
  let g: MeshGrpc;
  let client: SvcClient;
  const b: Record<string, Backend> = {};

  before(async () => {
    for (const v of ['v1', 'v2', 'v3']) b[v] = await startBackend(`reviews-${v}`, { slowMs: 1000 });
    fx = await GrpcFixture.start();
    await fx.apply(serviceEntry({ v1: [b.v1!], v2: [b.v2!], v3: [b.v3!] }));
    await fx.apply(ROUTES);
    ({ grpc: g } = await fx.mesh({ service: 'productpage' }));
    client = fx.client(g);
    await waitFor(async () => (await unary(client)).from !== undefined, 5000, 'first routed call');
  });

  after(async () => {
    await fx?.close();
    await Promise.all(Object.values(b).map((x) => x.close()));
  });

  test('an 80/20 split holds within 4σ over 2000 calls', async () => {
    const N = 2000;
    const counts = await tally(client, N);
    assert.equal(counts['reviews-v2'] ?? 0, 0);
    const v1 = (counts['reviews-v1'] ?? 0) / N;
    // σ = sqrt(0.8·0.2/2000) ≈ 0.0089; 4σ ≈ 0.036
    assert.ok(Math.abs(v1 - 0.8) < 0.036, `v1 share ${v1}`);
  });

  test('a metadata (header) route sends jason to v2, with short host names too', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await unary(client, { 'end-user': 'jason' })).from, 'reviews-v2');
    const short = fx.client(g, 'reviews:9080');
    assert.equal((await unary(short, { 'end-user': 'jason' })).from, 'reviews-v2');
  });

  test('a fault abort with httpStatus 503 ends with UNAVAILABLE and never reaches a backend', async () => {
    const before = b.v1!.calls;
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    for (let i = 0; i < 10; i++) assert.equal((await failure(unary(client, { 'x-fault': 'abort' }))).code, grpc.status.UNAVAILABLE);
    sub.dispose();
    assert.equal(b.v1!.calls, before);
    assert.equal(records.length, 10);
    assert.deepEqual(records[0]!.flags, ['FI']);
    assert.equal(records[0]!.grpcStatus, grpc.status.UNAVAILABLE);
  });

  test('a fault abort with grpcStatus ends with that status', async () => {
    assert.equal((await failure(unary(client, { 'x-fault': 'grpc' }))).code, grpc.status.RESOURCE_EXHAUSTED);
  });

  test('a fault delay delays the call (flag DI)', async () => {
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    const t0 = Date.now();
    assert.equal((await unary(client, { 'x-fault': 'delay' })).from, 'reviews-v1');
    sub.dispose();
    assert.ok(Date.now() - t0 >= 190, `took ${Date.now() - t0} ms`);
    assert.deepEqual(records[0]?.flags, ['DI']);
  });

  test('a route timeout ends a slow call with DEADLINE_EXCEEDED (flag UT); a smaller caller deadline wins', async () => {
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    let t0 = Date.now();
    assert.equal((await failure(unary(client, {}, {}, 'Slow'))).code, grpc.status.DEADLINE_EXCEEDED);
    const took = Date.now() - t0;
    assert.ok(took >= 90 && took < 600, `route timeout took ${took} ms`);
    assert.ok(records[0]?.flags.includes('UT'), `flags ${records[0]?.flags}`);
    t0 = Date.now();
    assert.equal((await failure(unary(client, {}, { deadline: Date.now() + 30 }, 'Slow'))).code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 90);
    sub.dispose();
    assert.ok(!records[1]?.flags.includes('UT'), 'caller deadline is not UT');
  });

  test('a host the mesh does not know fails with UNAVAILABLE', async () => {
    const other = fx.client(g, 'nowhere.example.com:9080');
    assert.equal((await failure(unary(other))).code, grpc.status.UNAVAILABLE);
  });

  test('all four call types go through the mesh', async () => {
    const headers = new grpc.Metadata();
    headers.set('end-user', 'jason');
    const c = client as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<Reply> & grpc.ClientWritableStream<unknown>>;
    // server streaming
    const got: Reply[] = await new Promise((resolve, reject) => {
      const out: Reply[] = [];
      const s = c['ServerStream']!({ count: 4 }, headers);
      s.on('data', (r: Reply) => out.push(r));
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });
    assert.deepEqual(got.map((r) => [r.from, r.n]), [0, 1, 2, 3].map((n) => ['reviews-v2', n]));
    // client streaming
    const counted: Reply = await new Promise((resolve, reject) => {
      const w = (client as unknown as Record<string, (md: grpc.Metadata, cb: (e: Error | null, r?: Reply) => void) => grpc.ClientWritableStream<unknown>>)['ClientStream']!(headers, (e, r) => (e ? reject(e) : resolve(r!)));
      for (let i = 0; i < 5; i++) w.write({ i });
      w.end();
    });
    assert.deepEqual(counted, { from: 'reviews-v2', n: 5 });
    // bidi
    const echoed: Reply[] = await new Promise((resolve, reject) => {
      const out: Reply[] = [];
      const d = (client as unknown as Record<string, (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, Reply>>)['Bidi']!(headers);
      d.on('data', (r: Reply) => out.push(r));
      d.on('error', reject);
      d.on('end', () => resolve(out));
      for (let i = 0; i < 3; i++) d.write({ n: i });
      d.end();
    });
    assert.deepEqual(echoed.map((r) => [r.from, r.n]), [0, 1, 2].map((n) => ['reviews-v2', n]));
    assert.equal(HOST.startsWith('reviews'), true);
  });
});
