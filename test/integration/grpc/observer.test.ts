// mesh.observe() for gRPC: a CallObserver sees start, each attempt, each attempt's end and the
// end of a call that retried on UNAVAILABLE, with route, cluster, endpoint, gRPC status, flags.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { GrpcRequestRecord, MeshGrpc } from '../../../src/grpc/index.js';
import { GrpcFixture, failure, HOST, serviceEntry, startBackend, unary, waitFor, type Backend, type SvcClient } from './fixture.js';
import { observerLog } from '../../helpers/observer-log.js';

const ROUTES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - name: grpc-primary
    route:
    - destination: { host: reviews, subset: v1 }
    retries: { attempts: 2, retryOn: unavailable }
`;

let fx: GrpcFixture;
let mesh: Mesh;
let g: MeshGrpc;
let client: SvcClient;
let flaky: Backend;

before(async () => {
  flaky = await startBackend('flaky');
  fx = await GrpcFixture.start();
  ({ mesh, grpc: g } = await fx.mesh({ service: 'productpage' }));
  client = fx.client(g);
  await fx.apply(serviceEntry({ v1: [flaky] }));
  await fx.apply(ROUTES);
  await waitFor(async () => (await unary(client).catch(() => undefined))?.from === 'flaky', 5000, 'route');
});

after(async () => {
  await fx?.close();
  await flaky?.close();
});

test('a gRPC call with a retry: onStart, onAttempt/onAttemptEnd per attempt, onEnd, in order', async () => {
  const log = observerLog();
  const sub = mesh.observe(log.observer);
  flaky.behaviour.failEvery = 2;
  flaky.calls = 1; // the next call's first attempt is call 2: it fails, the retry (3) answers
  const reply = await unary(client);
  flaky.behaviour.failEvery = 0;
  sub.dispose();
  assert.equal(reply.from, 'flaky');
  const ep = `127.0.0.1:${flaky.port}`;
  assert.deepEqual(log.calls, [[
    `start grpc POST ${HOST}/meshlet.test.Svc/Unary`,
    `attempt 1 ${ep}`, `attemptEnd 1 ${ep} response 503`,
    `attempt 2 ${ep}`, `attemptEnd 2 ${ep} response 200`,
    'end 200',
  ]]);
  const end = log.ends[0]!;
  assert.equal(end.protocol, 'grpc');
  assert.equal(end.route, 'grpc-primary');
  assert.equal(end.cluster, `outbound|9080|v1|${HOST}`);
  assert.equal(end.subset, 'v1');
  assert.equal(end.endpoint, ep);
  assert.equal(end.labels?.['version'], 'v1');
  assert.equal(end.grpcStatus, grpc.status.OK);
  assert.deepEqual(end.flags, []);
  assert.equal(end.attempts, 2);
});

test('retries exhausted: UNAVAILABLE and URX at the end; mesh.grpc.on(request) sees the call too', async () => {
  const log = observerLog();
  const records: GrpcRequestRecord[] = [];
  const sub = mesh.observe(log.observer);
  const rec = g.on('request', (r) => records.push(r));
  flaky.behaviour.failEvery = 1;
  const err = await failure(unary(client));
  flaky.behaviour.failEvery = 0;
  sub.dispose();
  rec.dispose();
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.equal(log.calls.length, 1);
  assert.deepEqual(log.calls[0]!.map((l) => l.split(' ')[0]), ['start', 'attempt', 'attemptEnd', 'attempt', 'attemptEnd', 'attempt', 'attemptEnd', 'end']);
  const end = log.ends[0]!;
  assert.equal(end.grpcStatus, grpc.status.UNAVAILABLE);
  assert.deepEqual(end.flags, ['URX']);
  assert.equal(end.attempts, 3);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.grpcStatus, grpc.status.UNAVAILABLE);
  assert.equal(records[0]!.attempts, 3);
});
