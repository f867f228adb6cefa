// The ingress gateway end to end: our control server with Istio's bookinfo-gateway.yaml applied
// unchanged, productpage announced by a mesh through mesh.listen(), and a gateway process
// (createGateway) that must route /productpage to it by Host and path, with Envoy's edge headers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture, type Served } from '../../helpers/http-mesh.js';
import { waitFor } from '../../helpers/wait.js';

const BOOKINFO = readFileSync(new URL('../../../../shared/istio-samples/bookinfo/bookinfo-gateway.yaml', import.meta.url), 'utf8');

let fx: MeshFixture;
let productpage: Served;
let gw: Gateway;
let base: string;

before(async () => {
  fx = await MeshFixture.start('');
  productpage = await fx.serve('productpage', { app: 'productpage', version: 'v1' });
  await fx.apply(BOOKINFO);
  gw = await createGateway({ controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 80: 0 }, initialFetchTimeoutMs: 3000 });
  await waitFor(() => gw.ports[80], 5000, 'port 80 to be bound');
  base = `http://127.0.0.1:${gw.ports[80]}`;
  // The route reaches the engine once its clusters have endpoints (warming).
  await waitFor(async () => (await request(`${base}/productpage`)).statusCode === 200, 5000, '/productpage through the gateway');
});

after(async () => {
  await gw?.close();
  await fx?.close();
});

test('bookinfo-gateway.yaml routes /productpage through the gateway to productpage', async () => {
  const res = await request(`${base}/productpage?u=normal`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-envoy-retry-on': '5xx', 'x-request-id': 'client-chosen' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['server'], 'istio-envoy');
  assert.equal(await res.body.text(), 'productpage-v1');
  const hit = productpage.hits.at(-1)!;
  assert.equal(hit.url, '/productpage?u=normal');
  // Envoy edge semantics (use_remote_address, xff_num_trusted_hops 0): the peer is appended.
  assert.equal(hit.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(hit.headers['x-envoy-external-address'], '127.0.0.1');
  assert.equal(hit.headers['x-forwarded-proto'], 'http');
  assert.equal(hit.headers['x-envoy-retry-on'], undefined, 'x-envoy-* from outside is dropped');
  assert.match(String(hit.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.notEqual(hit.headers['x-request-id'], 'client-chosen');
});

test('paths the VirtualService does not match are 404 (no route)', async () => {
  const hits = productpage.hits.length;
  const res = await request(`${base}/admin`);
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['x-meshlet-response-flags'], 'NR');
  await res.body.dump();
  assert.equal(productpage.hits.length, hits, 'nothing reached the backend');
});

test('prefix matches from the sample route too (/static/…, /api/v1/products)', async () => {
  for (const path of ['/static/app.css', '/api/v1/products/1', '/login']) {
    const res = await request(`${base}${path}`, { method: path === '/login' ? 'POST' : 'GET', body: path === '/login' ? 'user=jason' : null });
    assert.equal(res.statusCode, 200, path);
    await res.body.dump();
  }
  assert.equal(productpage.hits.at(-1)!.body, 'user=jason');
});
