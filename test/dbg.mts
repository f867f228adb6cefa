import * as grpc from '@grpc/grpc-js';
import { createGateway } from '../src/gateway/index.js';
import { GrpcFixture, SVC, SvcClient, handlers, unary } from './integration/grpc/fixture.js';
const fx = await GrpcFixture.start();
await fx.apply(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings }
spec:
  hosts: [ratings.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { number: 9090, name: grpc, protocol: GRPC }
  workloadSelector: { labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: grpc, protocol: GRPC }
    hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: ['*']
  gateways: [edge]
  http:
  - route: [{ destination: { host: ratings, port: { number: 9090 } } }]
`);
const { grpc: g } = await fx.mesh({ service: 'ratings', labels: { app: 'ratings' } });
const server = g.createServer({ servicePort: 9090, drainTimeoutMs: 200 });
server.server.addService(SVC, handlers({ name: 'r', behaviour: {}, calls: 0 }));
await server.bind('127.0.0.1:0');
await new Promise((r) => setTimeout(r, 500));
const gw = await createGateway({ controlPlane: `127.0.0.1:${fx.control.xdsPort}`, host: '127.0.0.1', ports: { 80: 0 } });
console.log(gw.ports, gw.problems);
const c = new SvcClient(`127.0.0.1:${gw.ports[80]}`, grpc.credentials.createInsecure());
for (let i = 0; i < 3; i++) {
try { console.log(await unary(c)); } catch (e) { console.log('ERR', (e as Error).message); }
await new Promise((r) => setTimeout(r, 300));
}
const { request } = await import('undici');
const r = await request(`http://127.0.0.1:${gw.ports[80]}/meshlet.test.Svc/Unary`, { method: 'POST', body: 'x', headers: { 'content-type': 'application/grpc' } });
console.log(r.statusCode, r.headers, await r.body.text());
c.close(); await server.close(); await gw.close(); await fx.close();
