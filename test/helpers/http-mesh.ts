// A control server with Istio YAML plus meshes that announce backends through mesh.listen():
// what every HTTP data-plane integration test starts from. close() tears everything down.
import { request, type Dispatcher } from 'undici';
import { createControlServer, type ControlServer } from '../../src/control/index.js';
import { applyYaml, waitFor } from './wait.js';
import { createMesh } from '../../src/mesh/create.js';
import type { Mesh, MeshOptions } from '../../src/mesh/types.js';
import type { ListenHandle, ListenTarget } from '../../src/http/inbound.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import { backendHandler, type Behaviour, type Hit } from './http-backends.js';

export interface Served {
  mesh: Mesh;
  handle: ListenHandle;
  hits: Hit[];
}

export class MeshFixture {
  readonly meshes: Mesh[] = [];
  private constructor(readonly server: ControlServer) {}

  static async start(yaml: string): Promise<MeshFixture> {
    const server = await createControlServer({ xdsPort: 0, adminPort: null, debounceMs: 5, withdrawGraceMs: 100 });
    const fixture = new MeshFixture(server);
    if (yaml.trim()) await fixture.apply(yaml);
    return fixture;
  }

  /** Applies `yaml`; resolves once every connected mesh has ACKed (or NACKed) what it produced. */
  apply(yaml: string): Promise<void> {
    return applyYaml(this.server, yaml);
  }

  async mesh(options: MeshOptions = {}): Promise<Mesh> {
    const mesh = await createMesh({
      controlPlane: `127.0.0.1:${this.server.xdsPort}`,
      initialFetchTimeoutMs: 2000,
      drainTimeoutMs: 2000,
      xdsBackoff: { initialMs: 50, maxMs: 200 },
      ...options,
    });
    this.meshes.push(mesh);
    return mesh;
  }

  /** A mesh serving `service` (labels) on a free port announced as `servicePort` (default 9080). */
  async serve(service: string, labels: Record<string, string>, opts: { behaviour?: Behaviour; target?: ListenTarget; servicePort?: number } = {}): Promise<Served> {
    const mesh = await this.mesh({ service, labels });
    const hits: Hit[] = [];
    const target = opts.target ?? backendHandler(`${service}-${labels['version'] ?? 'x'}`, opts.behaviour, hits);
    const handle = await mesh.listen(target, { port: 0, servicePort: opts.servicePort ?? 9080 });
    return { mesh, handle, hits };
  }

  /** Endpoints (`address:port`) a mesh currently has for a host, across its EDS resources. */
  endpointsOf(mesh: Mesh, host: string): string[] {
    const out = new Set<string>();
    for (const [name, cla] of mesh.xds.all(TYPE_URL.endpoint)) {
      if (!name.endsWith(`|${host}.default.svc.cluster.local`) || name.split('|')[2] !== '') continue;
      for (const l of cla.localities) for (const e of l.endpoints) out.add(`${e.address}:${e.port}`);
    }
    return [...out];
  }

  /** Waits until `mesh` knows `count` endpoints of `host` and its engine routes the host. */
  async waitForEndpoints(mesh: Mesh, host: string, count: number, timeoutMs = 5000): Promise<void> {
    const routed = (): boolean => mesh.engine.route({ method: 'GET', path: '/', host, port: 9080, headers: {} }).kind !== 'passthrough';
    await waitFor(() => this.endpointsOf(mesh, host).length === count, timeoutMs, `${host} to have ${count} endpoints`);
    await waitFor(routed, timeoutMs, `${host} to be routed`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async close(): Promise<void> {
    await Promise.all(this.meshes.map((m) => m.close()));
    await this.server.close();
  }
}

export { waitFor } from './wait.js';

/** One request through `dispatcher` (POST sends a small replayable body): status, response flags, latency. */
export async function timedCall(dispatcher: Dispatcher, url: string, method = 'GET'): Promise<{ status: number; flags: string; ms: number }> {
  const t0 = performance.now();
  const res = await request(url, { dispatcher, method, ...(method === 'POST' ? { body: 'x' } : {}) });
  await res.body.text();
  return { status: res.statusCode, flags: String(res.headers['x-meshlet-response-flags'] ?? ''), ms: performance.now() - t0 };
}
