// Hedged gRPC calls: the route's hedge policy (VirtualService annotation
// meshlet.io/hedge-on-per-try-timeout, the same switch HTTP routes use) makes a per-try timeout
// start a parallel attempt instead of cancelling, through core's retry state; real grpc-js
// backends behind a ServiceEntry and Istio YAML. No clock assertions: the backends' delays make
// the outcome itself tell hedging (the first attempt still wins) from a plain retry (it fails).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, failure, serviceEntry, startBackend, unary, waitFor, type Backend, type SvcClient } from './fixture.js';
import type { GrpcRequestRecord, MeshGrpc } from '../../../src/grpc/index.js';

/** A hedge at a per-try timeout does not depend on retry_on (Envoy's shouldHedgeRetryPerTryTimeout); a plain retry of one does. */
function routes(hedge: boolean, retryOn: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  annotations: { meshlet.io/hedge-on-per-try-timeout: "${hedge}" }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
    timeout: 4s
    retries: { attempts: 1, perTryTimeout: 150ms, retryOn: "${retryOn}" }
`;
}

describe('meshlet gRPC hedging', () => {
  let fx: GrpcFixture;
  let g: MeshGrpc;
  let client: SvcClient;
  let answers: Backend;
  let stalls: Backend;

  before(async () => {
    // Both outlast the per-try timeout; only `answers` is inside the route timeout's reach
    // for a call that keeps its first attempt running.
    answers = await startBackend('answers', { slowMs: 400 });
    stalls = await startBackend('stalls', { slowMs: 3000 });
    fx = await GrpcFixture.start();
    ({ grpc: g } = await fx.mesh({ service: 'productpage' }));
    client = fx.client(g);
    await fx.apply(serviceEntry({ v1: [answers, stalls] }));
  });

  after(async () => {
    await fx?.close();
    await answers?.close();
    await stalls?.close();
  });

  const hedgedRoute = () => {
    const r = fx.meshes[0]!.engine.route({ method: 'POST', path: '/meshlet.test.Svc/Slow', host: 'reviews', port: 9080, headers: { 'content-type': 'application/grpc' } });
    return r.kind === 'forward' ? r.plan.retry?.hedgeOnPerTryTimeout : undefined;
  };

  test('a per-try timeout starts a parallel attempt; the slow first attempt keeps running and wins', async () => {
    await fx.apply(routes(true, 'unavailable'));
    await waitFor(async () => hedgedRoute() === true, 5000, 'the hedged route');
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    // Round robin puts the first attempt on each backend in turn: on `answers` it races the
    // hedge on `stalls` and wins; on `stalls` the hedge goes to `answers` (previous hosts).
    for (let i = 0; i < 4; i++) assert.equal((await unary(client, {}, { deadline: Date.now() + 10_000 }, 'Slow')).from, 'answers');
    sub.dispose();
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r.attempts, 2, 'every call hedged once');
      assert.equal(r.grpcStatus, grpc.status.OK);
      assert.equal(r.endpoint, `127.0.0.1:${answers.port}`, 'the record names the attempt that answered');
    }
  });

  test('the same route without hedging cancels each attempt at its per-try timeout', async () => {
    await fx.apply(routes(false, 'unavailable,deadline-exceeded'));
    await waitFor(async () => hedgedRoute() === false, 5000, 'the route without hedging');
    const records: GrpcRequestRecord[] = [];
    const sub = g.on('request', (r) => records.push(r));
    const err = await failure(unary(client, {}, { deadline: Date.now() + 10_000 }, 'Slow'));
    sub.dispose();
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(records[0]?.attempts, 2);
    assert.ok(records[0]?.flags.includes('UT'));
  });
});
