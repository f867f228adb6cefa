// Interop both ways: a stock @grpc/grpc-js-xds client (xds:///) and a meshlet client (mesh:///)
// against the same meshlet control server and Istio config route the same way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, bothClients, failure, serviceEntry, startBackend, tally, unary, type Backend } from './fixture.js';

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
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 80
    - destination: { host: reviews, subset: v3 }
      weight: 20
`;

describe('grpc-js-xds and meshlet clients agree', () => {
  let fx: GrpcFixture;
  let xdsClient: grpc.Client;
  let meshClient: grpc.Client;
  const b: Record<string, Backend> = {};

  before(async () => {
    for (const v of ['v1', 'v2', 'v3']) b[v] = await startBackend(`reviews-${v}`);
    fx = await GrpcFixture.start();
    await fx.apply(serviceEntry({ v1: [b.v1!], v2: [b.v2!], v3: [b.v3!] }));
    await fx.apply(ROUTES);
    ({ xdsClient, meshClient } = await bothClients(fx, 'interop-grpc'));
  });

  after(async () => {
    xdsClient?.close();
    await fx?.close();
    await Promise.all(Object.values(b).map((x) => x.close()));
  });

  test('the same 80/20 split (1000 calls each, within 4σ of 80% and of each other)', async () => {
    const N = 1000;
    const shares: number[] = [];
    for (const c of [xdsClient, meshClient]) {
      const counts = await tally(c, N);
      assert.equal(counts['reviews-v2'] ?? 0, 0);
      shares.push((counts['reviews-v1'] ?? 0) / N);
    }
    // σ(one share) ≈ 0.0126; σ(difference) ≈ 0.0179
    for (const s of shares) assert.ok(Math.abs(s - 0.8) < 0.051, `v1 share ${s}`);
    assert.ok(Math.abs(shares[0]! - shares[1]!) < 0.072, `shares ${shares}`);
  });

  test('the same header route', async () => {
    for (const c of [xdsClient, meshClient]) {
      for (let i = 0; i < 20; i++) assert.equal((await unary(c, { 'end-user': 'jason' })).from, 'reviews-v2');
    }
  });

  test('the same abort status (HTTP 503 → UNAVAILABLE), never reaching a backend', async () => {
    const before = b.v1!.calls;
    for (const c of [xdsClient, meshClient]) {
      for (let i = 0; i < 10; i++) assert.equal((await failure(unary(c, { 'x-fault': 'abort' }))).code, grpc.status.UNAVAILABLE);
    }
    assert.equal(b.v1!.calls, before);
  });
});
