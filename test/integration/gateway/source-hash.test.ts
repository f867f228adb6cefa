// Consistent hashing on the source IP (DestinationRule loadBalancer.consistentHash.useSourceIp)
// from the gateway hashes the downstream client's address, as Envoy at the edge hashes the
// connection's source (use_remote_address, no trusted hops: an X-Forwarded-For from outside
// changes nothing), not the gateway's own address.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { createGateway, type Gateway } from '../../../src/gateway/index.js';
import { MeshFixture } from '../../helpers/http-mesh.js';
import { waitFor } from '../../helpers/wait.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: productpage, port: { number: 9080 } } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: productpage }
spec:
  host: productpage
  trafficPolicy:
    loadBalancer: { consistentHash: { useSourceIp: true } }
`;

let fx: MeshFixture;
let gw: Gateway;
const agents: Agent[] = [];
/** Client source addresses (Linux routes all of 127/8 to loopback). */
const SOURCES = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);

before(async () => {
  fx = await MeshFixture.start('');
  for (const v of ['v1', 'v2', 'v3']) {
    await fx.serve('productpage', { app: 'productpage', version: v }, { target: (_req: IncomingMessage, res: ServerResponse) => res.end(v) });
  }
  await fx.apply(CONFIG);
  gw = await createGateway({ controlPlane: `127.0.0.1:${fx.server.xdsPort}`, host: '127.0.0.1', ports: { 80: 0 }, initialFetchTimeoutMs: 3000 });
  await waitFor(() => gw.ports[80], 5000, 'port bound');
  // All three endpoints known to the gateway, and the ring-hash policy in place.
  await waitFor(() => fx.endpointsOf(gw.mesh, 'productpage').length === 3, 5000, 'three endpoints at the gateway');
});

after(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await gw?.close();
  await fx?.close();
});

async function from(source: string, headers: Record<string, string> = {}): Promise<string> {
  // A fresh connection per request: the source address is the connection's.
  const agent = new Agent({ localAddress: source });
  agents.push(agent);
  const res = await request(`http://127.0.0.1:${gw.ports[80]}/productpage`, { dispatcher: agent, headers });
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, body);
  return body;
}

test('useSourceIp through the gateway: each client address sticks to one backend, different clients spread', async () => {
  await waitFor(async () => (await request(`http://127.0.0.1:${gw.ports[80]}/productpage`).then((r) => r.body.text().then(() => r.statusCode))) === 200, 5000, 'route warm');
  const picked = new Map<string, string>();
  for (const s of SOURCES) picked.set(s, await from(s));
  for (const s of SOURCES) {
    assert.equal(await from(s), picked.get(s), `${s} again`);
    // Envoy at the edge hashes the connection's source: a forged X-Forwarded-For is no other client.
    assert.equal(await from(s, { 'x-forwarded-for': '198.51.100.7' }), picked.get(s), `${s} with an X-Forwarded-For`);
  }
  // With the gateway's own address as the key every client would land on one backend.
  assert.ok(new Set(picked.values()).size > 1, `clients spread over backends: ${JSON.stringify([...picked])}`);
});
