// Traffic management end to end: our control server with Istio YAML, backends announced by
// other meshes through mesh.listen(), a client mesh calling them by name with mesh.fetch /
// undici.request. Each test fails without its feature (split, header match, rewrite, direct
// response, redirect, consistent hash, fault delay/abort, passthrough vs strict).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { isMeshError } from '../../../src/errors.js';
import type { Mesh } from '../../../src/mesh/types.js';
import type { RequestRecord } from '../../../src/telemetry/record.js';
import { startBackend, type Backend } from '../../helpers/http-backends.js';
import { MeshFixture, type Served } from '../../helpers/http-mesh.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { prefix: /old/ } }]
    rewrite: { uri: /new/ }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { exact: /hello } }]
    directResponse: { status: 200, body: { string: hi from the mesh } }
  - match: [{ uri: { exact: /moved } }]
    redirect: { uri: /new-home, redirectCode: 301 }
  - match: [{ uri: { prefix: /delay } }]
    fault: { delay: { fixedDelay: 200ms, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - match: [{ uri: { prefix: /abort } }]
    fault: { abort: { httpStatus: 418, percentage: { value: 100 } } }
    route: [{ destination: { host: reviews, subset: v1 } }]
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 80 }
    - { destination: { host: reviews, subset: v2 }, weight: 20 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: { consistentHash: { httpHeaderName: x-user } }
`;

let fx: MeshFixture;
let v1Hits: Served['hits'];
let client: Mesh;
let strictClient: Mesh;
let outside: Backend;
const records: RequestRecord[] = [];

before(async () => {
  fx = await MeshFixture.start(CONFIG);
  v1Hits = (await fx.serve('reviews', { app: 'reviews', version: 'v1' })).hits;
  await fx.serve('reviews', { app: 'reviews', version: 'v2' });
  for (const v of ['a', 'b', 'c']) await fx.serve('ratings', { app: 'ratings', version: v });
  client = await fx.mesh({ service: 'productpage' });
  strictClient = await fx.mesh({ service: 'productpage', strict: true });
  client.on('request', (r) => records.push(r));
  await fx.waitForEndpoints(client, 'reviews', 2);
  await fx.waitForEndpoints(client, 'ratings', 3);
  await fx.waitForEndpoints(strictClient, 'reviews', 2);
  outside = await startBackend('outside');
});

after(async () => {
  await outside?.close();
  await fx?.close();
});

async function get(path: string, headers: Record<string, string> = {}, mesh = client): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const res = await request(`http://reviews:9080${path}`, { dispatcher: mesh.dispatcher, headers });
  return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
}

test('weighted split: 80/20 over 2,000 requests, within 4σ', async () => {
  const n = 2000;
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => get('/split')));
    for (const r of batch) counts[r.body] = (counts[r.body] ?? 0) + 1;
  }
  const v1 = counts['reviews-v1'] ?? 0;
  const sigma = Math.sqrt(n * 0.8 * 0.2);
  assert.equal(v1 + (counts['reviews-v2'] ?? 0), n, JSON.stringify(counts));
  assert.ok(Math.abs(v1 - 0.8 * n) <= 4 * sigma, `v1 got ${v1} of ${n} (expected ${0.8 * n} ± ${Math.round(4 * sigma)})`);
});

test('header routing: end-user jason always reaches v2', async () => {
  const bodies = await Promise.all(Array.from({ length: 30 }, () => get('/x', { 'end-user': 'jason' })));
  assert.deepEqual(new Set(bodies.map((b) => b.body)), new Set(['reviews-v2']));
});

test('rewrite: /old/… reaches the backend as /new/…, Host stays the called authority', async () => {
  const hits = await fx.serve('echo', { app: 'echo' });
  await fx.apply(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
  - match: [{ uri: { prefix: /old/ } }]
    rewrite: { uri: /new/ }
    route: [{ destination: { host: echo } }]
`);
  await fx.waitForEndpoints(client, 'echo', 1);
  let res = await request('http://echo:9080/old/page?x=1', { dispatcher: client.dispatcher });
  for (let i = 0; i < 100 && hits.hits.at(-1)?.url !== '/new/page?x=1'; i++) {
    await res.body.text();
    await new Promise((r) => setTimeout(r, 20)); // the VirtualService may land after the endpoints
    res = await request('http://echo:9080/old/page?x=1', { dispatcher: client.dispatcher });
  }
  await res.body.text();
  assert.equal(res.statusCode, 200);
  assert.equal(hits.hits.at(-1)?.url, '/new/page?x=1');
  assert.equal(hits.hits.at(-1)?.headers.host, 'echo:9080');
});

test('direct response and redirect are answered by the mesh itself', async () => {
  const direct = await get('/hello');
  assert.equal(direct.status, 200);
  assert.equal(direct.body, 'hi from the mesh');
  const moved = await get('/moved');
  assert.equal(moved.status, 301);
  assert.match(String(moved.headers['location']), /\/new-home$/);
});

test('consistent hash on x-user sticks each user to one backend (and users spread)', async () => {
  const seen = new Map<string, Set<string>>();
  for (const user of ['ann', 'bob', 'cy', 'dee', 'eve', 'fay', 'gus', 'hal']) {
    for (let i = 0; i < 8; i++) {
      const res = await request('http://ratings:9080/r', { dispatcher: client.dispatcher, headers: { 'x-user': user } });
      const body = await res.body.text();
      seen.set(user, (seen.get(user) ?? new Set()).add(body));
    }
  }
  for (const [user, backends] of seen) assert.equal(backends.size, 1, `${user} saw ${[...backends].join(',')}`);
  const used = new Set([...seen.values()].flatMap((s) => [...s]));
  assert.ok(used.size >= 2, `all users on ${[...used].join(',')}`);
});

test('fault delay (fixedDelay 200ms, flag DI) and fault abort (418, flag FI, upstream never called)', async () => {
  records.length = 0;
  const t0 = performance.now();
  const delayed = await get('/delay');
  const elapsed = performance.now() - t0;
  assert.equal(delayed.status, 200);
  assert.ok(elapsed >= 195, `elapsed ${elapsed} ms`);
  assert.equal(delayed.headers['x-meshlet-response-flags'], 'DI');
  const hitsBefore = v1Hits.length;
  const aborted = await get('/abort');
  assert.equal(v1Hits.length, hitsBefore, 'an aborted request never reaches the upstream');
  assert.equal(aborted.status, 418);
  assert.equal(aborted.headers['x-meshlet-response-flags'], 'FI');
  const abortRecord = records.find((r) => r.path === '/abort');
  assert.deepEqual(abortRecord?.flags, ['FI']);
  assert.equal(abortRecord?.attempts, 0);
  assert.match(records.find((r) => r.path === '/delay')?.clusterName ?? '', /^outbound\|9080\|v1\|reviews/);
});

test('unknown hosts pass through; a strict mesh refuses them with MESHLET_ERR_UNKNOWN_HOST', async () => {
  const res = await client.fetch(`http://127.0.0.1:${outside.port}/x`);
  assert.equal(await res.text(), 'outside');
  await assert.rejects(strictClient.fetch(`http://127.0.0.1:${outside.port}/x`), (err: unknown) => {
    const cause = (err as { cause?: unknown }).cause;
    return isMeshError(cause, 'MESHLET_ERR_UNKNOWN_HOST');
  });
  const inMesh = await get('/x', {}, strictClient);
  assert.equal(inMesh.status, 200);
});
