// Inbound side: Express and Fastify apps served through mesh.listen() register with the control
// server and are reachable by name from another mesh; the adapters run the pipeline hooks (and
// only once when combined with mesh.listen); mesh.close() drains an in-flight request and
// deregisters the endpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { request } from 'undici';
import { meshExpress } from '../../../src/express.js';
import { meshletFastify } from '../../../src/fastify.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { sleep } from '../../helpers/http-backends.js';
import { MeshFixture, waitFor } from '../../helpers/http-mesh.js';

let fx: MeshFixture;
let client: Mesh;

before(async () => {
  fx = await MeshFixture.start('');
  client = await fx.mesh({ service: 'productpage' });
});

after(async () => {
  await fx?.close();
});

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await request(url, { dispatcher: client.dispatcher, headers });
  return { status: res.statusCode, body: await res.body.text() };
}

test('an Express app served with mesh.listen is reachable by name; hooks see it once; req.mesh is set', async () => {
  const mesh = await fx.mesh({ service: 'details', labels: { version: 'v1' } });
  const calls: string[] = [];
  mesh.inbound.use({
    onRequest: (ctx) => {
      calls.push(`req ${ctx.req.url}`);
      return ctx.req.headers['x-deny'] ? { status: 403, body: 'RBAC: access denied' } : undefined;
    },
    onResponse: (ctx) => void calls.push(`res ${ctx.res.statusCode}`),
  });
  const app = express();
  app.use(meshExpress(mesh)); // with mesh.listen too: must not run the hooks twice
  app.get('/details/:id', (req, res) => {
    res.json({ id: req.params.id, peer: req.mesh?.peer.address });
  });
  const handle = await mesh.listen(app, { port: 0, servicePort: 9080 });
  assert.ok(handle.port > 0);
  await fx.waitForEndpoints(client, 'details', 1);
  const ok = await get('http://details:9080/details/7');
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { id: '7', peer: '127.0.0.1' });
  const denied = await get('http://details.default.svc.cluster.local:9080/details/7', { 'x-deny': '1' });
  assert.deepEqual(denied, { status: 403, body: 'RBAC: access denied' });
  await waitFor(() => calls.length === 4, 1000, 'onResponse hooks');
  assert.deepEqual(calls, ['req /details/7', 'res 200', 'req /details/7', 'res 403']);
  const registered = fx.server.registry.list().find((a) => a.service === 'details');
  assert.deepEqual(registered?.ports, [{ number: 9080, name: 'http', protocol: 'HTTP', targetPort: handle.port }]);
});

test('a Fastify instance with the meshlet plugin, served with mesh.listen, is reachable by name', async () => {
  const mesh = await fx.mesh({ service: 'ratings' });
  let hooks = 0;
  mesh.inbound.use({ onRequest: () => void hooks++ });
  const app = Fastify();
  await app.register(meshletFastify, { mesh });
  app.get('/ratings/:id', async (req) => ({ id: (req.params as { id: string }).id, meshed: req.mesh !== null }));
  await mesh.listen(app, { port: 0, servicePort: 9080 });
  await fx.waitForEndpoints(client, 'ratings', 1);
  const res = await get('http://ratings:9080/ratings/3');
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { id: '3', meshed: true });
  assert.equal(hooks, 1);
  await app.close();
});

test('the adapters alone (no mesh.listen) run the hooks; a denial never reaches the route', async () => {
  const mesh = await fx.mesh({ service: 'standalone' });
  mesh.inbound.use({ onRequest: async (ctx) => (ctx.req.url?.includes('secret') ? { status: 401, body: 'no' } : undefined) });
  const fastify = Fastify();
  await fastify.register(meshletFastify, { mesh });
  let reached = 0;
  fastify.get('/*', async () => {
    reached++;
    return 'fastify';
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const app = express();
  app.use(meshExpress(mesh));
  app.use((_req, res) => {
    reached++;
    res.send('express');
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const fport = (fastify.server.address() as AddressInfo).port;
    const eport = (server.address() as AddressInfo).port;
    assert.deepEqual(await get(`http://127.0.0.1:${fport}/open`), { status: 200, body: 'fastify' });
    assert.deepEqual(await get(`http://127.0.0.1:${fport}/secret`), { status: 401, body: 'no' });
    assert.deepEqual(await get(`http://127.0.0.1:${eport}/open`), { status: 200, body: 'express' });
    assert.deepEqual(await get(`http://127.0.0.1:${eport}/secret`), { status: 401, body: 'no' });
    assert.equal(reached, 2);
  } finally {
    await fastify.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('mesh.close drains an in-flight request, then the endpoint leaves the registry', async () => {
  const mesh = await fx.mesh({ service: 'drainy' });
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => (started = resolve));
  await mesh.listen((_req, res) => {
    started();
    setTimeout(() => res.end('finished'), 300);
  }, { port: 0, servicePort: 9080 });
  await fx.waitForEndpoints(client, 'drainy', 1);
  assert.ok(fx.server.registry.list().some((a) => a.service === 'drainy'));
  const pending = get('http://drainy:9080/slow');
  await inFlight;
  const t0 = performance.now();
  const closing = mesh.close();
  await waitFor(() => !fx.server.registry.list().some((a) => a.service === 'drainy'), 1000, 'deregistration');
  assert.ok(performance.now() - t0 < 250, 'deregistered while the request was still running');
  assert.deepEqual(await pending, { status: 200, body: 'finished' });
  await closing;
  assert.ok(performance.now() - t0 >= 250, 'close waited for the request');
  await mesh.close(); // idempotent
  await sleep(0);
});
