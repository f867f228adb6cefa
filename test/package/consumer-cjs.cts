// A TypeScript CommonJS app using the installed package (require): one HTTP call routed
// through the mesh; `instanceof MeshError` holds across the CJS build.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import meshlet = require('meshlet-node');
import control = require('meshlet-node/control');

async function main(): Promise<void> {
  const origin = createServer((_req, res) => res.end('hello from cjs'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const server = await control.createControlServer({ xdsPort: 0, adminPort: null });
  const { resources } = meshlet.parseConfig(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: hello }
spec:
  hosts: [hello.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${(origin.address() as AddressInfo).port} } }]
`, 'hello.yaml');
  await server.store.apply(resources);
  const mesh = await meshlet.createMesh({ controlPlane: `127.0.0.1:${server.xdsPort}`, strict: true });
  const text = await (await mesh.fetch('http://hello/')).text();
  if (text !== 'hello from cjs') throw new Error(`unexpected answer: ${text}`);
  const strictMiss = await mesh.fetch('http://nobody-knows/').then(() => undefined, (err: Error) => err.cause ?? err);
  if (!(strictMiss instanceof meshlet.MeshError)) throw new Error(`expected a MeshError for an unknown host, got ${String(strictMiss)}`);
  await mesh.close();
  await server.close();
  origin.close();
  process.stdout.write(`CJS consumer ok: HTTP "${text}", ${strictMiss.code} for an unknown host\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
