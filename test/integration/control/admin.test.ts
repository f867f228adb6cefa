import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, IstioResource } from '../../../src/config/types.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { getJson, host } from './fixtures.js';

const GOOD = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9080, name: http, protocol: HTTP }
  endpoints:
  - address: 127.0.0.1
`;

const BAD = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: broken }
spec:
  hosts: [broken.default.svc.cluster.local]
  ports:
  - { number: not-a-port, name: http }
`;

describe('admin API', () => {
  let server: ControlServer;
  let base: string;

  before(async () => {
    server = await createControlServer({ xdsPort: 0, adminPort: 0, debounceMs: 1 });
    base = `http://127.0.0.1:${server.adminPort}`;
  });
  after(() => server.close());

  test('GET /healthz', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  });

  test('POST /apply stores valid YAML and /config lists it', async () => {
    const { status, body } = await getJson<{ applied: string[] }>(base, '/apply', { method: 'POST', body: GOOD, headers: { 'content-type': 'application/yaml', 'x-meshlet-file': 'reviews.yaml' } });
    assert.equal(status, 200);
    assert.deepEqual(body.applied, ['ServiceEntry/default/reviews']);
    const list = await getJson<IstioResource[]>(base, '/config?kind=ServiceEntry&name=reviews');
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0]!.metadata.name, 'reviews');
    const none = await getJson<IstioResource[]>(base, '/config?kind=VirtualService');
    assert.deepEqual(none.body, []);
  });

  test('POST /apply with an invalid resource answers 400 and applies nothing', async () => {
    const before = server.store.list().length;
    const { status, body } = await getJson<{ diagnostics: Diagnostic[] }>(base, '/apply', { method: 'POST', body: `${GOOD.replace('reviews', 'other')}---\n${BAD}`, headers: { 'content-type': 'application/yaml', 'x-meshlet-file': 'bad.yaml' } });
    assert.equal(status, 400);
    const err = body.diagnostics.find((d) => d.severity === 'error');
    assert.equal(err?.file, 'admin:bad.yaml', 'x-meshlet-file is a label, never a path');
    assert.ok((err?.line ?? 0) > 1, 'errors carry a line');
    assert.equal(server.store.list().length, before);
  });

  test('GET /debug/xds decodes the served resources; /status has the snapshot version', async () => {
    server.rebuild();
    const { body } = await getJson<{ version: string; resources: Array<{ name: string; resource: Record<string, unknown> }> }>(base, '/debug/xds?type=CDS');
    assert.ok(body.resources.some((r) => r.name === `outbound|9080||${host('reviews')}`));
    const status = await getJson<{ version: string; clients: unknown[]; configErrors: unknown[] }>(base, '/status');
    assert.equal(status.body.version, server.snapshot().version);
    assert.deepEqual(status.body.clients, []);
    assert.ok(Array.isArray(status.body.configErrors));
    const bad = await getJson<{ error: { code: string } }>(base, '/debug/xds?type=XYZ');
    assert.equal(bad.status, 400);
  });

  test('DELETE /config/<Kind>/<ns>/<name> removes, then 404s', async () => {
    const first = await getJson<{ deleted: string }>(base, '/config/ServiceEntry/default/reviews', { method: 'DELETE' });
    assert.equal(first.status, 200);
    assert.equal(first.body.deleted, 'ServiceEntry/default/reviews');
    const again = await getJson<{ error: { code: string; message: string } }>(base, '/config/ServiceEntry/default/reviews', { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'MESHLET_ERR_ADMIN_REQUEST');
  });

  test('unknown routes answer a JSON error; /errors and /registry are arrays', async () => {
    const res = await getJson<{ error: { code: string } }>(base, '/nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'MESHLET_ERR_ADMIN_REQUEST');
    assert.ok(Array.isArray((await getJson(base, '/errors')).body));
    assert.ok(Array.isArray((await getJson(base, '/registry')).body));
  });
});
