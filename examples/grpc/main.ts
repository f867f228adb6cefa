// A runnable gRPC mesh in one process: a control server with Istio YAML, two versions of a
// "ratings" gRPC service that announce themselves, and a client routed 80/20 with a header
// route and a retry policy. Run: node --import tsx examples/grpc/main.ts
import * as grpc from '@grpc/grpc-js';
import { createControlServer } from 'meshlet-node/control';
import { createMesh, parseConfig } from 'meshlet-node';
import { meshGrpc } from 'meshlet-node/grpc';
import { ECHO_SERVICE, EchoClient, echoCall, type EchoReply } from 'meshlet-node/testing';

const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9090, name: grpc, protocol: GRPC }]
  workloadSelector: { labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: ratings, subset: v2 } }]
  - route:
    - { destination: { host: ratings, subset: v1 }, weight: 80 }
    - { destination: { host: ratings, subset: v2 }, weight: 20 }
    retries: { attempts: 2, retryOn: unavailable }
    timeout: 2s
`;

const control = await createControlServer({ xdsPort: 0, adminPort: null });
await control.store.apply(parseConfig(CONFIG, 'ratings.yaml').resources);
const controlPlane = `127.0.0.1:${control.xdsPort}`;

// Two servers, each in its own mesh (as two processes would be).
const servers = [];
for (const version of ['v1', 'v2']) {
  const mesh = await createMesh({ controlPlane, service: 'ratings', labels: { app: 'ratings', version } });
  const server = meshGrpc(mesh).createServer({ servicePort: 9090 });
  server.server.addService(ECHO_SERVICE, {
    Call: (_call: grpc.ServerUnaryCall<unknown, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => cb(null, { from: `ratings-${version}`, metadata: {} }),
  });
  await server.bind('127.0.0.1:0');
  servers.push({ mesh, server });
}

// The client.
const mesh = await createMesh({ controlPlane, service: 'productpage' });
const g = meshGrpc(mesh);
g.on('request', (r) => {
  if (r.flags.length > 0) process.stdout.write(`  ${r.path} → ${r.grpcStatus} [${r.flags.join(',')}]\n`);
});
const ratings = g.client(EchoClient, 'ratings:9090');
await new Promise((r) => setTimeout(r, 500)); // let the announcements reach the client's config

const counts: Record<string, number> = {};
for (let i = 0; i < 200; i++) {
  const reply = await echoCall(ratings);
  counts[reply.from] = (counts[reply.from] ?? 0) + 1;
}
process.stdout.write(`200 calls: ${JSON.stringify(counts)} (80/20 expected)\n`);
process.stdout.write(`end-user: jason → ${(await echoCall(ratings, { 'end-user': 'jason' })).from}\n`);

ratings.close();
await mesh.close();
for (const s of servers) {
  await s.server.close();
  await s.mesh.close();
}
await control.close();
