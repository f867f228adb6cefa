// Retries on gRPC statuses, per-try timeouts, outlier ejection and the circuit breaker, with
// real grpc-js backends behind a ServiceEntry and Istio YAML.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, failure, serviceEntry, startBackend, unary, waitFor, type Backend, type SvcClient } from './fixture.js';
import type { GrpcRequestRecord, MeshGrpc } from '../../../src/grpc/index.js';

function routes(extra: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
${extra}`;
}

describe('meshlet gRPC resilience', () => {
  let fx: GrpcFixture;
  let g: MeshGrpc;
  let client: SvcClient;
  let flaky: Backend;
  let good: Backend;

  before(async () => {
    flaky = await startBackend('flaky');
    good = await startBackend('good');
    fx = await GrpcFixture.start();
    ({ grpc: g } = await fx.mesh({ service: 'productpage' }));
    client = fx.client(g);
  });

  after(async () => {
    await fx?.close();
    await flaky?.close();
    await good?.close();
  });

  test('retry on UNAVAILABLE turns a backend failing 50% into ~100% success', async () => {
    await fx.apply(serviceEntry({ v1: [flaky] }));
    await fx.apply(routes('    retries: { attempts: 3, retryOn: unavailable }\n'));
    await waitFor(async () => (await unary(client)).from === 'flaky', 5000, 'route');
    flaky.behaviour.failEvery = 2;
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    let ok = 0;
    for (let i = 0; i < 200; i++) if ((await unary(client).catch(() => undefined))?.from === 'flaky') ok++;
    sub.dispose();
    flaky.behaviour.failEvery = 0;
    assert.equal(ok, 200);
    assert.ok(records.some((r) => r.attempts === 2), 'some calls needed a retry');
  });

  test('without a matching retry_on the failure reaches the caller', async () => {
    await fx.apply(routes('    retries: { attempts: 3, retryOn: internal }\n'));
    await new Promise((r) => setTimeout(r, 300));
    flaky.behaviour.failEvery = 1;
    const err = await failure(unary(client));
    flaky.behaviour.failEvery = 0;
    assert.equal(err.code, grpc.status.UNAVAILABLE);
  });

  test('retries exhausted: URX and the last status', async () => {
    await fx.apply(routes('    retries: { attempts: 2, retryOn: unavailable }\n'));
    await new Promise((r) => setTimeout(r, 300));
    flaky.behaviour.failEvery = 1;
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    const err = await failure(unary(client));
    sub.dispose();
    flaky.behaviour.failEvery = 0;
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.equal(records[0]?.attempts, 3);
    assert.ok(records[0]?.flags.includes('URX'));
  });

  test('a per-try timeout retries a slow attempt within the route timeout', async () => {
    await fx.apply(routes('    timeout: 2s\n    retries: { attempts: 2, perTryTimeout: 100ms, retryOn: deadline-exceeded }\n'));
    await new Promise((r) => setTimeout(r, 300));
    flaky.behaviour.slowMs = 400;
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    const t0 = Date.now();
    const err = await failure(unary(client, {}, {}, 'Slow'));
    sub.dispose();
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(records[0]?.attempts, 3);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0}`);
  });

  test('outlier detection ejects an endpoint failing with UNAVAILABLE', async () => {
    await fx.apply(
      serviceEntry(
        { v1: [flaky, good] },
        '  trafficPolicy:\n    outlierDetection: { consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }\n',
      ),
    );
    // Istio's default route retries (unavailable, connect-failure, …) would hide the failures.
    await fx.apply(routes('    retries: { attempts: 0 }\n'));
    await waitFor(async () => (await unary(client)).from === 'good', 5000, 'both endpoints');
    // Wait for the change itself (no retry policy, outlier detection on the cluster), not a clock.
    const mesh = fx.meshes[0]!;
    await waitFor(async () => {
      const r = mesh.engine.route({ method: 'POST', path: '/meshlet.test.Svc/Unary', host: 'reviews', port: 9080, headers: { 'content-type': 'application/grpc' } });
      return r.kind === 'forward' && r.plan.retry === undefined;
    }, 5000, 'the route without retries');
    // A success on the flaky endpoint resets its consecutive-5xx count, which (as in Envoy) a
    // host keeps across config updates: a failure left over from an earlier test would
    // otherwise eject it one failure early.
    await waitFor(async () => (await unary(client)).from === 'flaky', 5000, 'a success from the flaky endpoint');
    flaky.behaviour.failEvery = 1;
    let failures = 0;
    for (let i = 0; i < 40; i++) if (!(await unary(client).catch(() => undefined))) failures++;
    const before = flaky.calls;
    for (let i = 0; i < 40; i++) assert.equal((await unary(client)).from, 'good');
    flaky.behaviour.failEvery = 0;
    assert.equal(flaky.calls, before, 'the ejected endpoint gets no calls');
    assert.ok(failures >= 3 && failures <= 6, `failures before ejection: ${failures}`);
  });

  test('the circuit breaker fails calls beyond http2MaxRequests fast with UNAVAILABLE (UO)', async () => {
    await fx.apply(serviceEntry({ v1: [good] }, '  trafficPolicy:\n    connectionPool: { http: { http2MaxRequests: 2 } }\n'));
    await fx.apply(routes(''));
    good.behaviour.slowMs = 300;
    await new Promise((r) => setTimeout(r, 300));
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => unary(client, {}, {}, 'Slow')));
    sub.dispose();
    const codes = results.map((r) => (r.status === 'fulfilled' ? 0 : (r.reason as grpc.ServiceError).code)).sort();
    assert.deepEqual(codes, [0, 0, grpc.status.UNAVAILABLE, grpc.status.UNAVAILABLE]);
    assert.equal(records.filter((r) => r.flags.includes('UO')).length, 2);
  });
});
