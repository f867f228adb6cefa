// A failing control plane must not take the mesh down: our client keeps its last good config while
// the server is gone, and resynchronises when a server comes back on the same address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlServer } from '../../src/control/index.js';
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import type { RouteConfigModel } from '../../src/core/model/index.js';

const HOST = 'reviews.default.svc.cluster.local';
const ROUTE = `${HOST}:9080`;

function config(v1Weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 } }
  - { address: 10.0.0.2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${v1Weight} }
    - { destination: { host: reviews, subset: v2 }, weight: ${100 - v1Weight} }
`;
}

function weights(client: XdsClient): number[] | undefined {
  const action = (client.get(TYPE_URL.route, ROUTE) as RouteConfigModel | undefined)?.virtualHosts[0]?.routes[0]?.action;
  return action?.kind === 'weighted' ? action.clusters.map((c) => c.weight) : undefined;
}

function until(client: XdsClient, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const sub = client.on('update', () => {
      if (check()) { sub.dispose(); resolve(); }
    });
  });
}

test('last good config is kept across a control server restart, then resynchronised', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'meshlet-restart-'));
  await writeFile(join(dir, 'reviews.yaml'), config(80));
  let server = await createControlServer({ xdsPort: 0, adminPort: null, configDir: dir });
  const port = server.xdsPort;
  const client = new XdsClient({
    server: `127.0.0.1:${port}`,
    node: buildNode({ id: 'restart-probe' }),
    backoff: { initialMs: 50, maxMs: 200 },
  });
  try {
    client.watch(TYPE_URL.route, ROUTE, { onChange() {} });
    client.watch(TYPE_URL.cluster, '*', { onChange() {} });
    await until(client, () => weights(client)?.[0] === 80 && client.get(TYPE_URL.cluster, `outbound|9080|v1|${HOST}`) !== undefined);
    const disconnected = new Promise<void>((resolve) => { const d = client.on('disconnected', () => { d.dispose(); resolve(); }); });
    await server.close();
    await disconnected;

    // Down: the cache still answers, and no watcher was told anything was removed.
    assert.deepEqual(weights(client), [80, 20]);
    assert.ok(client.get(TYPE_URL.cluster, `outbound|9080|v1|${HOST}`));
    await new Promise((r) => setTimeout(r, 300)); // several failed reconnect attempts
    assert.deepEqual(weights(client), [80, 20]);

    // The config changed while the server was down; the new server serves it on the same port.
    await writeFile(join(dir, 'reviews.yaml'), config(30));
    const reconnected = new Promise<void>((resolve) => { const d = client.on('connected', () => { d.dispose(); resolve(); }); });
    server = await createControlServer({ xdsPort: port, adminPort: null, configDir: dir });
    await reconnected;
    await until(client, () => weights(client)?.[0] === 30);
    assert.deepEqual(weights(client), [30, 70]);
    const status = server.clients().find((c) => c.id === 'restart-probe');
    assert.ok(status, 'the client resubscribed to the new server');
    assert.deepEqual(status.types['RDS']?.subscribed, [ROUTE]);
  } finally {
    await client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
