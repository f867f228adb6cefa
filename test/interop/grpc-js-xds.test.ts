// The unmodified @grpc/grpc-js-xds client joins our control server through a bootstrap and must
// follow Istio config: weighted subsets, header routes, fault aborts, and live config changes.
import { applyYaml, waitFor } from '../helpers/wait.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { EchoClient, echoCall, startEchoServer, type EchoServer } from '../../src/testing/echo.js';

const HOST = 'reviews.default.svc.cluster.local';

function serviceEntry(backends: Record<string, EchoServer>): string {
  const endpoints = Object.entries(backends)
    .map(([version, b]) => `  - address: 127.0.0.1\n    ports: { grpc: ${b.port} }\n    labels: { app: reviews, version: ${version} }`)
    .join('\n');
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9080, name: grpc, protocol: GRPC }
  endpoints:
${endpoints}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }
`;
}

const ROUTES = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: { exact: jason }
    route:
    - destination: { host: reviews, subset: v2 }
  - match:
    - headers:
        x-fault: { exact: abort }
    fault:
      abort:
        httpStatus: 503
        percentage: { value: 100 }
    route:
    - destination: { host: reviews, subset: v1 }
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 80
    - destination: { host: reviews, subset: v3 }
      weight: 20
`;

const ALL_V3 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v3 }
`;

const apply = applyYaml;

describe('stock @grpc/grpc-js-xds against the meshlet control server', () => {
  let server: ControlServer;
  let client: grpc.Client;
  const backends: Record<string, EchoServer> = {};

  before(async () => {
    for (const v of ['v1', 'v2', 'v3']) backends[v] = await startEchoServer(`reviews-${v}`);
    server = await createControlServer({ xdsPort: 0, adminPort: 0 });
    await apply(server, serviceEntry(backends), 'reviews.yaml');
    await apply(server, ROUTES, 'routes.yaml');
    // grpc-js-xds reads its bootstrap once, when the first xds: channel is made.
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${server.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'interop-client', cluster: 'interop', locality: {} },
    });
    grpcXds.register();
    client = new EchoClient(`xds:///${HOST}:9080`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await server?.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  test('a weighted split between subsets holds within tolerance', async () => {
    await waitFor(async () => (await echoCall(client)).from !== undefined, 10_000, 'first xDS-routed call');
    const counts: Record<string, number> = {};
    const N = 1000;
    for (let i = 0; i < N; i++) {
      const reply = await echoCall(client);
      counts[reply.from] = (counts[reply.from] ?? 0) + 1;
    }
    assert.equal(counts['reviews-v2'] ?? 0, 0, 'v2 only serves the jason route');
    const v1 = (counts['reviews-v1'] ?? 0) / N;
    const v3 = (counts['reviews-v3'] ?? 0) / N;
    // 80/20 over 1000 calls: 4 standard deviations is ±0.051.
    assert.ok(Math.abs(v1 - 0.8) < 0.051, `v1 share ${v1}`);
    assert.ok(Math.abs(v3 - 0.2) < 0.051, `v3 share ${v3}`);
  });

  test('a header-matched route sends jason to v2', async () => {
    for (let i = 0; i < 50; i++) {
      const reply = await echoCall(client, { 'end-user': 'jason' });
      assert.equal(reply.from, 'reviews-v2');
    }
  });

  test('a fault abort answers with the mapped gRPC status and never reaches a backend', async () => {
    const before = backends.v1!.calls();
    for (let i = 0; i < 20; i++) {
      await assert.rejects(echoCall(client, { 'x-fault': 'abort' }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE); // HTTP 503 → UNAVAILABLE (gRPC's mapping)
        return true;
      });
    }
    assert.equal(backends.v1!.calls(), before);
  });

  test('a config change takes effect without restarting the client', async () => {
    await apply(server, ALL_V3, 'routes-v3.yaml');
    await waitFor(async () => (await echoCall(client)).from === 'reviews-v3', 5_000, 'route change to v3');
    for (let i = 0; i < 50; i++) assert.equal((await echoCall(client)).from, 'reviews-v3');
  });
});
