// Resilience end to end through our control server: retries (idempotent only), outlier
// ejection and return, circuit-breaker overflow, the retry budget under a dead backend, and
// mirroring. Backends are other meshes that announce themselves with mesh.listen().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mesh } from '../../../src/mesh/types.js';
import { coin, reply, sleep } from '../../helpers/http-backends.js';
import { MeshFixture, timedCall, waitFor, type Served } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: flaky }
spec:
  hosts: [flaky]
  http:
  - route: [{ destination: { host: flaky } }]
    retries: { attempts: 10, retryOn: 5xx }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ejecty }
spec:
  hosts: [ejecty]
  http:
  - route: [{ destination: { host: ejecty } }]
    retries: { attempts: 0 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ejecty }
spec:
  host: ejecty
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    outlierDetection: { consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 1s, maxEjectionPercent: 100 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: slow }
spec:
  host: slow
  trafficPolicy:
    connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: down }
spec:
  hosts: [down]
  http:
  - route: [{ destination: { host: down } }]
    retries: { attempts: 5, retryOn: 5xx }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: down }
spec:
  host: down
  trafficPolicy:
    retryBudget: {}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: catalog }
spec:
  hosts: [catalog]
  http:
  - route: [{ destination: { host: catalog } }]
    mirror: { host: mirror }
    mirrorPercentage: { value: 100 }
`;

let fx: MeshFixture;
let client: Mesh;
let bad: Served;
let down: Served;
let mirror: Served;

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  const fail = coin(7);
  await fx.serve('flaky', { app: 'flaky' }, { behaviour: (_h, res) => reply(res, fail() ? 503 : 200, 'flaky') });
  bad = await fx.serve('ejecty', { version: 'bad' }, { behaviour: (_h, res) => reply(res, 503, 'bad') });
  await fx.serve('ejecty', { version: 'good' }, { behaviour: (_h, res) => reply(res, 200, 'good') });
  await fx.serve('slow', {}, { behaviour: async (_h, res) => { await sleep(600); reply(res, 200, 'slow'); } });
  down = await fx.serve('down', {}, { behaviour: (_h, res) => reply(res, 503, 'down') });
  await fx.serve('halfbad', { version: 'bad' }, { behaviour: (_h, res) => reply(res, 503, 'bad') });
  await fx.serve('halfbad', { version: 'good' }, { behaviour: (_h, res) => reply(res, 200, 'good') });
  await fx.serve('catalog', {});
  mirror = await fx.serve('mirror', {}, { behaviour: (_h, res) => reply(res, 500, 'mirror fails, nobody cares') });
  client = await fx.mesh({ service: 'productpage' });
  for (const [host, n] of [['flaky', 1], ['ejecty', 2], ['slow', 1], ['down', 1], ['catalog', 1], ['mirror', 1], ['halfbad', 2]] as const) {
    await fx.waitForEndpoints(client, host, n);
  }
});

after(async () => {
  await fx?.close();
});

const call = (url: string, method = 'GET'): ReturnType<typeof timedCall> => timedCall(client.dispatcher, url, method);

async function waves<T>(n: number, width: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, fn))));
  return out;
}

test('retries: a backend failing 50% with 503 succeeds ~100% for GET, ~50% for POST', async () => {
  const gets = await waves(150, 3, () => call('http://flaky:9080/'));
  const posts = await waves(150, 3, () => call('http://flaky:9080/', 'POST'));
  const rate = (rs: Array<{ status: number }>): number => rs.filter((r) => r.status === 200).length / rs.length;
  assert.ok(rate(gets) >= 0.99, `GET success ${rate(gets)}`);
  assert.ok(rate(posts) > 0.35 && rate(posts) < 0.65, `POST success ${rate(posts)} (POST is not idempotent: no retry on 5xx)`);
});

test('Istio\'s default retries, no budget: 4 callers × 15 requests, one 503 endpoint of two, all succeed', async () => {
  // No VirtualService: the default route carries Istio's default policy (2 attempts on
  // connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes + 503, previous
  // hosts) and the cluster no retry budget, so concurrent retries are never refused.
  const results = (await Promise.all(Array.from({ length: 4 }, async () => {
    const mine: Array<Awaited<ReturnType<typeof call>>> = [];
    for (let i = 0; i < 15; i++) mine.push(await call('http://halfbad:9080/'));
    return mine;
  }))).flat();
  assert.equal(results.length, 60);
  assert.deepEqual(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.flags}`), []);
});

test('outlier detection: 3 consecutive 503s eject a host for the base ejection time, then it returns', async () => {
  for (let i = 0; i < 12 && bad.hits.length < 3; i++) await call('http://ejecty:9080/');
  assert.equal(bad.hits.length, 3);
  const ejectedAt = performance.now();
  const during = await waves(20, 1, () => call('http://ejecty:9080/'));
  assert.equal(bad.hits.length, 3, 'the ejected host gets no traffic');
  assert.ok(during.every((r) => r.status === 200));
  for (let i = 0; i < 200 && bad.hits.length === 3; i++) {
    await call('http://ejecty:9080/');
    await sleep(20);
  }
  assert.ok(bad.hits.length > 3, 'the host came back after its ejection');
  assert.ok(performance.now() - ejectedAt >= 900, 'it stayed out for the base ejection time');
});

test('circuit breaker: beyond maxConnections + http1MaxPendingRequests, 503 UO fast', async () => {
  const results = await Promise.all(Array.from({ length: 10 }, () => call('http://slow:9080/')));
  const ok = results.filter((r) => r.status === 200);
  const overflow = results.filter((r) => r.status === 503 && r.flags === 'UO');
  assert.equal(ok.length, 2, JSON.stringify(results));
  assert.equal(overflow.length, 8);
  assert.ok(overflow.every((r) => r.ms < 300), `overflows answered in ${overflow.map((r) => Math.round(r.ms)).join(',')} ms`);
  assert.ok(ok.every((r) => r.ms >= 590));
});

test('retry budget: attempts 5 against a dead backend amplify a sustained offered load ≤ 1.2×', async (t) => {
  // Offered load: 100 callers, each sending its next request as soon as the last one answered.
  const callers = 100;
  const perCaller = 6;
  const results = (await Promise.all(Array.from({ length: callers }, async () => {
    const mine: Array<Awaited<ReturnType<typeof call>>> = [];
    for (let i = 0; i < perCaller; i++) mine.push(await call('http://down:9080/'));
    return mine;
  }))).flat();
  const offered = callers * perCaller;
  assert.ok(results.every((r) => r.status === 503));
  assert.ok(results.some((r) => r.flags.includes('URX')), 'refused retries are flagged URX');
  t.diagnostic(`amplification ${(down.hits.length / offered).toFixed(3)}× (${down.hits.length} hits / ${offered} requests)`);
  assert.ok(down.hits.length > offered, 'some retries happened');
  assert.ok(down.hits.length <= offered * 1.2, `${down.hits.length} backend hits for ${offered} requests`);
});

test('mirroring: the mirror gets a copy with Host <host>-shadow; its 500 does not matter', async () => {
  const results = await waves(5, 5, () => call('http://catalog:9080/item'));
  assert.ok(results.every((r) => r.status === 200));
  await waitFor(() => mirror.hits.length >= 5, 2000, 'mirror copies');
  assert.equal(mirror.hits[0]?.headers.host, 'catalog-shadow:9080');
  assert.equal(mirror.hits[0]?.url, '/item');
});
