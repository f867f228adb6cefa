// Mesh gRPC servers: bind() announces the port (service port + targetPort) so callers reach it
// through the control server; inbound hooks can deny calls; close() withdraws and drains.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { GrpcFixture, SVC, handlers, failure, unary, waitFor } from './fixture.js';
import type { MeshGrpcServer } from '../../../src/grpc/index.js';

const SERVICE = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9090, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: ratings } }
`;

describe('mesh gRPC servers', () => {
  let fx: GrpcFixture;
  let server: MeshGrpcServer;
  const state = { name: 'ratings-v1', behaviour: {}, calls: 0 };

  before(async () => {
    fx = await GrpcFixture.start();
    await fx.apply(SERVICE);
  });

  after(async () => {
    await server?.close();
    await fx?.close();
  });

  test('a bound server is announced and reachable by service name; hooks see and deny calls', async () => {
    const { grpc: serving } = await fx.mesh({ service: 'ratings', labels: { app: 'ratings', version: 'v1' } });
    server = serving.createServer({ servicePort: 9090, drainTimeoutMs: 500 });
    server.server.addService(SVC, handlers(state));
    const seen: string[] = [];
    server.use({
      onCall: (ctx) => {
        seen.push(ctx.method);
        if (ctx.metadata.get('x-deny').length > 0) return { code: grpc.status.PERMISSION_DENIED, details: 'denied by hook' };
      },
    });
    const port = await server.bind('127.0.0.1:0');
    assert.ok(port > 0);
    const { grpc: calling } = await fx.mesh({ service: 'productpage' });
    const client = fx.client(calling, 'ratings:9090');
    await waitFor(async () => (await unary(client)).from === 'ratings-v1', 5000, 'announced endpoint');
    assert.ok(seen.includes('/meshlet.test.Svc/Unary'));
    const denied = await failure(unary(client, { 'x-deny': '1' }));
    assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
    await server.close();
    await waitFor(async () => (await failure(unary(client)).catch(() => ({ code: -1 }))).code === grpc.status.UNAVAILABLE, 5000, 'withdrawal');
  });
});

describe('a mesh serving HTTP and gRPC at once', () => {
  let fx: GrpcFixture;
  before(async () => {
    fx = await GrpcFixture.start();
  });
  after(async () => {
    await fx?.close();
  });

  test('mesh.grpc shares the node: both ports are announced, and close() withdraws both', async () => {
    const { mesh } = await fx.mesh({ service: 'hybrid', labels: { app: 'hybrid' } });
    assert.equal(mesh.grpc, mesh.grpc, 'one gRPC face per mesh');
    const http = await mesh.listen((_req, res) => res.end('ok'), { port: 0, servicePort: 8080 });
    const server = mesh.grpc.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
    server.server.addService(SVC, handlers({ name: 'hybrid', behaviour: {}, calls: 0 }));
    const grpcPort = await server.bind('127.0.0.1:0');
    const endpointPorts = () => {
      const svc = fx.control.services().find((s) => s.hostname === 'hybrid.default.svc.cluster.local');
      return svc?.endpoints[0]?.ports ?? {};
    };
    await waitFor(async () => endpointPorts()[9090] === grpcPort && endpointPorts()[8080] === http.port, 5000, 'both ports announced');
    await mesh.close();
    await waitFor(async () => fx.control.services().every((s) => s.hostname !== 'hybrid.default.svc.cluster.local' || s.endpoints.length === 0), 5000, 'withdrawal');
    await server.close();
  });
});
