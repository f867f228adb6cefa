// The gRPC adapter's pure pieces, and its hooks driven by a fake Engine (no control server).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { AttemptOutcome, CallPlan, Engine, RequestInfo, RouteResult, UpstreamEndpoint } from '../../../src/core/types.js';
import { grpcToHttpStatus, httpToGrpcStatus, meshGrpc, meshTarget } from '../../../src/grpc/index.js';
import { parseMeshTarget } from '../../../src/grpc/resolver.js';
import { compileRetryPlan } from '../../../src/core/resilience/retry.js';
import { attemptOutcome } from '../../../src/grpc/status.js';
import { SvcClient, startBackend, unary, type Backend } from '../../integration/grpc/fixture.js';

test('HTTP → gRPC status mapping follows gRPC', () => {
  const cases: Array<[number, grpc.status]> = [
    [400, grpc.status.INTERNAL], [401, grpc.status.UNAUTHENTICATED], [403, grpc.status.PERMISSION_DENIED],
    [404, grpc.status.UNIMPLEMENTED], [429, grpc.status.UNAVAILABLE], [502, grpc.status.UNAVAILABLE],
    [503, grpc.status.UNAVAILABLE], [504, grpc.status.UNAVAILABLE], [500, grpc.status.UNKNOWN], [418, grpc.status.UNKNOWN],
  ];
  for (const [http, code] of cases) assert.equal(httpToGrpcStatus(http), code, String(http));
  assert.equal(grpcToHttpStatus(grpc.status.UNAVAILABLE), 503);
  assert.equal(grpcToHttpStatus(grpc.status.INTERNAL), 500);
});

test('attempt outcomes: answered → response; silent UNAVAILABLE → reset; silent deadline → timeout', () => {
  const md = new grpc.Metadata();
  assert.deepEqual(attemptOutcome(grpc.status.UNAVAILABLE, md, true), { kind: 'response', status: 503 });
  assert.deepEqual(attemptOutcome(grpc.status.UNAVAILABLE, md, false), { kind: 'reset', beforeRequestSent: false });
  assert.deepEqual(attemptOutcome(grpc.status.DEADLINE_EXCEEDED, md, false), { kind: 'timeout' });
  md.set('content-type', 'application/grpc');
  assert.deepEqual(attemptOutcome(grpc.status.INTERNAL, md, false), { kind: 'response', status: 500 });
});

test('retry_on coverage by gRPC names and connection outcomes (Envoy: names match answered statuses only)', () => {
  const plan = (retryOn: string[]) => compileRetryPlan({ retryOn, numRetries: 1, backoff: { baseMs: 25, maxMs: 250 }, retriableStatusCodes: [] }, false);
  const on = plan(['unavailable', 'cancelled']);
  const answered = (code: grpc.status): AttemptOutcome => ({ kind: 'response', status: grpcToHttpStatus(code), grpcStatus: code });
  assert.equal(on.shouldRetry(answered(grpc.status.UNAVAILABLE), true), true);
  assert.equal(on.shouldRetry(answered(grpc.status.INTERNAL), true), false);
  // A connection failure is not an UNAVAILABLE answer: `connect-failure` covers it, as in Envoy.
  assert.equal(on.shouldRetry({ kind: 'connect-failure' }, true), false);
  assert.equal(plan(['connect-failure']).shouldRetry({ kind: 'connect-failure' }, true), true);
  assert.equal(plan(['deadline-exceeded']).shouldRetry({ kind: 'timeout', grpcStatus: grpc.status.DEADLINE_EXCEEDED }, true), true);
  assert.equal(plan(['internal']).shouldRetry({ kind: 'reset', beforeRequestSent: false }, true), false);
  assert.equal(plan(['reset']).shouldRetry({ kind: 'reset', beforeRequestSent: false }, true), true);
});

test('targets', () => {
  assert.deepEqual(parseMeshTarget('reviews:9080'), { host: 'reviews', port: 9080 });
  assert.deepEqual(parseMeshTarget('/Reviews.Default'), { host: 'reviews.default', port: 80 });
  assert.equal(parseMeshTarget('a:99999'), undefined);
  assert.equal(meshTarget('reviews:9080'), 'mesh:///reviews:9080');
  assert.equal(meshTarget('mesh:///reviews:9080'), 'mesh:///reviews:9080');
});

/** A fake engine: every call routes to `backends` round robin; the plan records what the adapter reports. */
function fakeEngine(backends: () => Backend[], retryOn: string[] = []) {
  const reports: Array<{ kind: 'start' | 'end'; key: string; outcome?: AttemptOutcome }> = [];
  const routed: RequestInfo[] = [];
  let rr = 0;
  const endpoint = (b: Backend): UpstreamEndpoint => ({ key: `127.0.0.1:${b.port}`, address: '127.0.0.1', port: b.port, labels: {}, locality: { region: '', zone: '', subZone: '' } });
  const engine: Engine = {
    version: 1,
    knowsHost: () => true,
    pickFrom: () => undefined,
    onUpdate: () => ({ dispose() {} }),
    route(req: RequestInfo): RouteResult {
      routed.push(req);
      const plan: CallPlan = {
        routeName: 'r', clusterName: 'c', mirrors: [],
        requestHeaders: { set: [], remove: [] }, responseHeaders: { set: [], remove: [] },
        // The engine's own plan compiler: retry conditions are decided there, for both adapters.
        ...(retryOn.length ? { retry: compileRetryPlan({ retryOn, numRetries: 2, backoff: { baseMs: 1, maxMs: 1 }, retriableStatusCodes: [] }, false) } : {}),
        admit: () => ({ ok: true, release() {} }),
        admitRetry: () => ({ ok: true, release() {} }),
        pick: (tried) => {
          const list = backends().filter((b) => !tried?.some((t) => t.port === b.port));
          const b = list[rr++ % list.length];
          return b ? endpoint(b) : undefined;
        },
        startAttempt: (ep) => void reports.push({ kind: 'start', key: ep.key }),
        endAttempt: (ep, outcome) => void reports.push({ kind: 'end', key: ep.key, outcome }),
      };
      return { kind: 'forward', plan };
    },
  };
  return { engine, reports, routed };
}

describe('adapter hooks with a fake engine', () => {
  const backends: Backend[] = [];
  const clients: grpc.Client[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('routes per call with method path and metadata, balances via plan.pick, reports attempts', async () => {
    backends.push(await startBackend('a'), await startBackend('b'));
    const fake = fakeEngine(() => backends);
    const g = meshGrpc({ engine: fake.engine });
    const client = g.client(SvcClient, 'svc:7000');
    clients.push(client);
    const froms = new Set<string>();
    for (let i = 0; i < 6; i++) froms.add((await unary(client, { 'x-user': 'u1' })).from);
    assert.deepEqual([...froms].sort(), ['a', 'b']);
    assert.equal(fake.routed.length, 6);
    assert.deepEqual({ ...fake.routed[0], headers: undefined }, { method: 'POST', path: '/meshlet.test.Svc/Unary', host: 'svc', port: 7000, headers: undefined });
    assert.equal(fake.routed[0]!.headers['x-user'], 'u1');
    assert.equal(fake.reports.filter((r) => r.kind === 'start').length, 6);
    assert.deepEqual(fake.reports.find((r) => r.kind === 'end')?.outcome, { kind: 'response', status: 200 });
    g.dispose();
  });

  test('a failing endpoint is retried on another one and reported as a 503', async () => {
    const bad = await startBackend('bad', { failEvery: 1 });
    const good = await startBackend('good');
    backends.push(bad, good);
    const fake = fakeEngine(() => [bad, good], ['unavailable']);
    const g = meshGrpc({ engine: fake.engine });
    const client = g.client(SvcClient, 'svc:7001');
    clients.push(client);
    for (let i = 0; i < 4; i++) assert.equal((await unary(client)).from, 'good');
    assert.equal(fake.routed.length, 4, 'retries reuse the plan');
    assert.ok(fake.reports.some((r) => r.kind === 'end' && r.outcome?.kind === 'response' && r.outcome.status === 503));
    g.dispose();
  });
});
