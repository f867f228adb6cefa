// gRPC retry conditions the Envoy way, through core's retry state (the same one HTTP uses):
// `unavailable` retries an UNAVAILABLE the upstream answered with, not a connection failure
// (that is `connect-failure`'s); the route deadline ends a call whose backoff outlasts it
// with DEADLINE_EXCEEDED and UT instead of being checked against the backoff up front.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, failure, serviceEntry, startBackend, unary, waitFor, type Backend, type SvcClient } from './fixture.js';
import type { GrpcRequestRecord, MeshGrpc } from '../../../src/grpc/index.js';

function routes(retries: string, name = 'reviews'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
${retries}`;
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<Backend> {
  const b = await startBackend('dead');
  await b.close();
  b.server.forceShutdown();
  return b;
}

describe('meshlet gRPC retry conditions (Envoy semantics)', () => {
  let fx: GrpcFixture;
  let g: MeshGrpc;
  let client: SvcClient;
  let good: Backend;
  let dead: Backend;

  before(async () => {
    good = await startBackend('good');
    dead = await deadPort();
    fx = await GrpcFixture.start();
    ({ grpc: g } = await fx.mesh({ service: 'productpage' }));
    client = fx.client(g);
  });

  after(async () => {
    await fx?.close();
    await good?.close();
  });

  const plan = () => {
    const r = fx.meshes[0]!.engine.route({ method: 'POST', path: '/meshlet.test.Svc/Unary', host: 'reviews', port: 9080, headers: { 'content-type': 'application/grpc' } });
    return r.kind === 'forward' ? r.plan : undefined;
  };
  const retryOn = () => [...(plan()?.retry?.retryOn ?? [])].sort().join(',');

  async function calls(n: number): Promise<{ ok: number; records: GrpcRequestRecord[] }> {
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    let ok = 0;
    for (let i = 0; i < n; i++) if ((await unary(client).catch(() => undefined))?.from === 'good') ok++;
    sub.dispose();
    return { ok, records };
  }

  test('connect failures are retried by connect-failure, not by unavailable', async () => {
    await fx.apply(serviceEntry({ v1: [good, dead] }));
    await fx.apply(routes('    retries: { attempts: 2, retryOn: connect-failure }\n'));
    await waitFor(async () => retryOn() === 'connect-failure' && (await unary(client)).from === 'good', 5000, 'connect-failure route');
    const retried = await calls(10);
    assert.equal(retried.ok, 10, 'every call reached the good endpoint');
    assert.ok(retried.records.some((r) => r.attempts === 2), 'a connect failure was retried');
    assert.ok(retried.records.every((r) => !r.flags.includes('UF')), 'UF flags only a failure that ends the call');

    await fx.apply(routes('    retries: { attempts: 2, retryOn: unavailable }\n'));
    await waitFor(async () => retryOn() === 'unavailable', 5000, 'unavailable route');
    const plain = await calls(10);
    const failed = plain.records.filter((r) => r.grpcStatus === grpc.status.UNAVAILABLE);
    assert.ok(failed.length > 0, 'some calls were placed on the dead endpoint');
    for (const r of failed) {
      assert.equal(r.attempts, 1, 'not retried: no upstream answered UNAVAILABLE');
      assert.ok(r.flags.includes('UF'));
    }
  });

  test('a backoff that outlasts the route timeout ends the call at the deadline (DEADLINE_EXCEEDED, UT)', async () => {
    const flaky = await startBackend('flaky', { failEvery: 1 });
    try {
      await fx.apply(serviceEntry({ v1: [flaky] }));
      // Istio has no backoff field: Envoy's default applies (25 ms base, ×2, 250 ms max, jittered),
      // so ten retries cannot all fit in a 20 ms route timeout; the deadline falls in a backoff.
      await fx.apply(routes('    timeout: 20ms\n    retries: { attempts: 10, retryOn: unavailable }\n'));
      await waitFor(async () => plan()?.timeoutMs === 20 && plan()?.clusterName.includes('reviews') === true, 5000, 'the 20 ms route');
      const records: GrpcRequestRecord[] = [];
      const sub = g.on('request', (r) => records.push(r));
      const err = await failure(unary(client));
      sub.dispose();
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED, 'the deadline ended the retries, not the last UNAVAILABLE');
      assert.ok(records[0]!.attempts >= 1);
      assert.ok(records[0]!.flags.includes('UT'));
    } finally {
      await flaky.close();
    }
  });

  test("the caller's deadline ends a call in a backoff and one in flight (DEADLINE_EXCEEDED, not UT)", async () => {
    const flaky = await startBackend('flaky', { failEvery: 1 });
    try {
      await fx.apply(serviceEntry({ v1: [flaky] }));
      // No route timeout: only the caller's 60 ms deadline bounds ten retries whose backoffs
      // (25 ms base, doubling) cannot all fit in it; grpc-js enforces it on open attempts and the
      // interceptor's own timer while none is open.
      await fx.apply(routes('    retries: { attempts: 10, retryOn: unavailable }\n'));
      await waitFor(async () => !plan()?.timeoutMs && plan()?.retry?.numRetries === 10, 5000, 'the retry route');
      const records: GrpcRequestRecord[] = [];
      const sub = g.on('request', (r) => records.push(r));
      const t0 = Date.now();
      const err = await failure(unary(client, {}, { deadline: Date.now() + 60 }));
      const took = Date.now() - t0;
      sub.dispose();
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      assert.ok(took < 1000, `ended near the caller's deadline (${took} ms)`);
      assert.ok(records[0]!.attempts >= 1);
      assert.ok(!records[0]!.flags.includes('UT'), 'UT is the route timeout, not the caller giving up');
    } finally {
      await flaky.close();
    }
  });
});
