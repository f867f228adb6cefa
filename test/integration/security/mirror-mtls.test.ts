// A VirtualService mirror to a STRICT mTLS workload: the shadow copy goes through the same mesh
// TLS connector as the main route (Envoy sends a shadow through the mirror cluster's transport
// socket), so the shadow sees the caller's verified principal; a plaintext copy would be refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh, MeshOptions } from '../../../src/mesh/types.js';
import { tempDir } from '../../helpers/ca.js';
import { applyYaml, waitFor } from '../../helpers/wait.js';

const ns = 'default';
const id = (sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

describe('mirror to an mTLS endpoint', () => {
  let server: ControlServer;
  const meshes: Mesh[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];

  before(async () => {
    const t = await tempDir();
    cleanup.push(t.remove);
    server = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: null, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await server.close();
    for (const f of cleanup.reverse()) await f();
  });

  async function mesh(sa: string, options: MeshOptions = {}): Promise<Mesh> {
    const token = await server.ca!.createJoinToken({ namespace: ns, serviceAccount: sa });
    const m = await createMesh({ controlPlane: `127.0.0.1:${server.securePort}`, token, initialFetchTimeoutMs: 5000, drainTimeoutMs: 1000, ...options });
    meshes.push(m);
    return m;
  }

  test('the shadow copy is mTLS and carries the caller principal', async () => {
    const shadowSeen: Array<{ principal: string | null; host: string | undefined }> = [];
    const main = await mesh('catalog', { service: 'catalog', inboundTlsMode: () => 'STRICT' });
    await main.listen((_req, res) => res.end('main'), { port: 0, servicePort: 9080 });
    const shadow = await mesh('shadow', { service: 'shadow', inboundTlsMode: () => 'STRICT' });
    await shadow.listen((req: IncomingMessage, res) => {
      shadowSeen.push({ principal: shadow.inbound.context(req)?.peer.identity ?? null, host: req.headers.host });
      res.end('shadow');
    }, { port: 0, servicePort: 9080 });
    await applyYaml(server, `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: catalog, namespace: ${ns} }
spec:
  hosts: [catalog]
  http:
  - route: [{ destination: { host: catalog } }]
    mirror: { host: shadow }
    mirrorPercentage: { value: 100 }
`);
    const client = await mesh('frontend');
    await waitFor(() => {
      const r = client.engine.route({ method: 'GET', path: '/', host: 'catalog', port: 9080, headers: {} });
      return r.kind === 'forward' && r.plan.mirrors.length === 1 && client.engine.pickFrom(r.plan.mirrors[0]!) !== undefined;
    }, 5000, 'the mirror in the client config');
    const res = await client.fetch('http://catalog:9080/items');
    assert.equal(await res.text(), 'main');
    await waitFor(() => shadowSeen.length > 0, 5000, 'the shadow copy');
    assert.deepEqual(shadowSeen[0], { principal: id('frontend'), host: 'catalog-shadow:9080' });
  });
});
