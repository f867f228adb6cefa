// Workload identity on the dashboard's data: a mesh that joins over the secure port with a token
// proves its SPIFFE ID with its client certificate, and /status, /graph and /config_dump (and
// `meshlet status <client>`) show it; a plaintext mesh shows none, whatever it claims.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli/main.js';
import type { ClientConfigDump } from '../../../src/control/admin/config-dump.js';
import type { ClientStatus } from '../../../src/control/ads-stream.js';
import type { ServiceGraph } from '../../../src/control/graph/graph.js';
import { createControlServer, type ControlServer } from '../../../src/control/index.js';
import { createMesh } from '../../../src/mesh/create.js';
import type { Mesh } from '../../../src/mesh/types.js';
import { tempDir } from '../../helpers/ca.js';
import { waitFor } from '../../helpers/wait.js';

let server: ControlServer;
const meshes: Mesh[] = [];
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  const t = await tempDir();
  cleanup.push(t.remove);
  server = await createControlServer({ caDir: t.dir, securePort: 0, xdsPort: 0, adminPort: 0, signerThreads: 1, debounceMs: 5, withdrawGraceMs: 100 });
  const token = await server.ca!.createJoinToken({ namespace: 'default', serviceAccount: 'bookinfo-reviews' });
  for (const secure of [true, false]) {
    meshes.push(await createMesh({
      controlPlane: `127.0.0.1:${secure ? server.securePort : server.xdsPort}`, ...(secure ? { token } : {}),
      service: secure ? 'reviews' : 'ratings', labels: { app: secure ? 'reviews' : 'ratings', version: 'v1' }, metricsPort: 0,
      initialFetchTimeoutMs: 5000, drainTimeoutMs: 1000, xdsBackoff: { initialMs: 50, maxMs: 200 },
    }));
  }
});

after(async () => {
  await Promise.all(meshes.map((m) => m.close()));
  await server?.close();
  for (const f of cleanup.reverse()) await f();
});

const get = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${server.adminPort}${path}`)).json()) as T;
const SPIFFE = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';

test('the certificate\'s SPIFFE ID is each workload\'s identity on /status, /graph and /config_dump', async () => {
  const status = await waitFor(async () => {
    const s = await get<{ clients: ClientStatus[] }>('/status');
    return s.clients.length === 2 && s.clients.every((c) => c.metrics) ? s : undefined;
  }, 10_000, 'both meshes connected');
  const reviews = status.clients.find((c) => c.metrics?.service === 'reviews')!;
  const ratings = status.clients.find((c) => c.metrics?.service === 'ratings')!;
  assert.equal(reviews.identity?.spiffeId, SPIFFE);
  assert.equal(ratings.identity, undefined, 'plaintext: no identity');

  const graph = await get<ServiceGraph>('/graph');
  assert.deepEqual(graph.nodes.map((n) => [n.id, n.identities]), [['default/ratings/v1', []], ['default/reviews/v1', [SPIFFE]]]);

  const dump = await get<{ config: ClientConfigDump[] }>('/config_dump?client=reviews&resources=0');
  assert.equal(dump.config[0]!.node.identity, SPIFFE);
  const out: string[] = [];
  const code = await main(['status', reviews.id, '--server', `127.0.0.1:${server.adminPort}`], { info: (l) => out.push(l), error: (l) => out.push(l) });
  assert.equal(code, 0, out.join('\n'));
  assert.ok(out.includes(`identity ${SPIFFE}`), out.join('\n'));
});
