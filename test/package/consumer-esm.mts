// A TypeScript ESM app using the installed package (checked by .ci/run in a fresh app with
// `moduleResolution: nodenext`, `skipLibCheck: false`): its own control server, an HTTP call
// and a gRPC call routed through the mesh by service name.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMesh, isMeshError, parseConfig, type Mesh } from 'meshlet-node';
import { createControlServer } from 'meshlet-node/control';
import { EchoClient, echoCall, startEchoServer } from 'meshlet-node/testing';

const origin = createServer((_req, res) => res.end('hello from the origin'));
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const echo = await startEchoServer('echo-v1');
const control = await createControlServer({ xdsPort: 0, adminPort: null });
const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: hello }
spec:
  hosts: [hello.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }, { number: 9090, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${(origin.address() as AddressInfo).port}, grpc: ${echo.port} } }]
`;
const parsed = parseConfig(yaml, 'hello.yaml');
await control.store.apply(parsed.resources);

const mesh: Mesh = await createMesh({ controlPlane: `127.0.0.1:${control.xdsPort}`, service: 'consumer' });
const res = await mesh.fetch('http://hello/');
const text = await res.text();
if (text !== 'hello from the origin') throw new Error(`unexpected answer: ${res.status} ${text}`);
const client = mesh.grpc.client(EchoClient, 'hello:9090');
const reply = await echoCall(client);
if (reply.from !== 'echo-v1') throw new Error(`unexpected gRPC answer: ${JSON.stringify(reply)}`);
if (isMeshError(new Error('plain'))) throw new Error('isMeshError took a plain Error for a MeshError');
client.close();
await mesh.close();
await control.close();
await echo.close();
origin.close();
process.stdout.write(`ESM consumer ok: HTTP "${text}", gRPC from ${reply.from}\n`);
