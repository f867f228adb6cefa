// createMesh() life cycle: it resolves (never rejects) when the control plane is down and
// serves passthrough meanwhile; it picks up config when the control server appears; the
// global dispatcher is opt-in and restorable; request records carry route, cluster and flags.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fetch as undiciFetch, getGlobalDispatcher } from 'undici';
import { createMesh } from '../../../src/mesh/create.js';
import type { RequestRecord } from '../../../src/telemetry/record.js';
import { closedPort, startBackend, type Backend } from '../../helpers/http-backends.js';
import { MeshFixture } from '../../helpers/http-mesh.js';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test('createMesh resolves after initialFetchTimeoutMs when the control plane is down; passthrough works', async () => {
  const outside: Backend = await startBackend('outside');
  cleanup.push(() => outside.close());
  const t0 = performance.now();
  const mesh = await createMesh({ controlPlane: `127.0.0.1:${await closedPort()}`, initialFetchTimeoutMs: 200, xdsBackoff: { initialMs: 50, maxMs: 100 } });
  cleanup.push(() => mesh.close());
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 190 && elapsed < 2000, `resolved after ${elapsed} ms`);
  const res = await mesh.fetch(`http://127.0.0.1:${outside.port}/`);
  assert.equal(await res.text(), 'outside');
  await mesh.close();
  await assert.rejects(mesh.fetch(`http://127.0.0.1:${outside.port}/`), (err: unknown) => (err as { cause?: { code?: string } }).cause?.code === 'MESHLET_ERR_CLOSED');
});

test('createMesh waits for the first full config; records carry route, cluster, endpoint and flags', async () => {
  const fx = await MeshFixture.start(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews } }]
    headers: { response: { set: { x-served-by: mesh } } }
`);
  cleanup.push(() => fx.close());
  const backend = await fx.serve('reviews', { version: 'v1' });
  await fx.waitForEndpoints((await fx.mesh()), 'reviews', 1);
  // A new mesh: ready when createMesh resolves, no waiting needed.
  const mesh = await fx.mesh({ service: 'productpage' });
  const records: RequestRecord[] = [];
  const sub = mesh.on('request', (r) => records.push(r));
  const res = await mesh.fetch('http://reviews:9080/reviews/1');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-served-by'), 'mesh');
  await res.text();
  assert.equal(records.length, 1);
  const r = records[0] as RequestRecord;
  assert.equal(r.method, 'GET');
  assert.equal(r.host, 'reviews');
  assert.equal(r.path, '/reviews/1');
  assert.equal(r.status, 200);
  assert.equal(r.attempts, 1);
  assert.equal(r.endpoint, `127.0.0.1:${backend.handle.port}`);
  assert.match(r.clusterName, /^outbound\|9080\|\|reviews\.default\.svc\.cluster\.local$/);
  assert.deepEqual(r.flags, []);
  sub.dispose();
  await (await mesh.fetch('http://reviews:9080/')).text();
  assert.equal(records.length, 1, 'disposed listeners get nothing');
});

test('installGlobalDispatcher is opt-in and restores the previous dispatcher', async () => {
  const fx = await MeshFixture.start('');
  cleanup.push(() => fx.close());
  await fx.serve('echo', {});
  const mesh = await fx.mesh();
  await fx.waitForEndpoints(mesh, 'echo', 1);
  const before = getGlobalDispatcher();
  assert.notEqual(before, mesh.dispatcher);
  const installed = mesh.installGlobalDispatcher();
  try {
    assert.equal(getGlobalDispatcher(), mesh.dispatcher);
    const res = await undiciFetch('http://echo:9080/');
    assert.equal(await res.text(), 'echo-x');
    // Node's built-in fetch reads the same global (it hands us undici's legacy handler API).
    const builtin = await globalThis.fetch('http://echo:9080/');
    assert.equal(await builtin.text(), 'echo-x');
  } finally {
    installed.dispose();
  }
  assert.equal(getGlobalDispatcher(), before);
});
