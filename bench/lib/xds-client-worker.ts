// A bench worker process holding a share of the xDS clients. The parent sends {cmd:'expect', key, …}
// before each change; the worker answers with each client's arrival time (epoch ms, high-res) so
// clients spread over processes can be compared on one clock.
import { XdsClient } from '../../src/xds/ads-client.js';
import { buildNode } from '../../src/xds/node.js';
import { TYPE_URL } from '../../src/xds/type-urls.js';
import type { ClusterModel, EndpointsModel, RouteConfigModel } from '../../src/core/model/index.js';

export const HOST = 'reviews.default.svc.cluster.local';
export const ROUTE = `${HOST}:9080`;
export const V1 = `outbound|9080|v1|${HOST}`;

export type Expectation =
  | { kind: 'route'; v1Weight: number }
  | { kind: 'endpoint'; weight: number }
  | { kind: 'cluster'; name: string }
  | { kind: 'synced'; v1Weight: number; weight: number };

const now = () => performance.timeOrigin + performance.now();

function routeWeight(c: XdsClient): number | undefined {
  const action = (c.get(TYPE_URL.route, ROUTE) as RouteConfigModel | undefined)?.virtualHosts[0]?.routes[0]?.action;
  return action?.kind === 'weighted' ? action.clusters.find((w) => w.name === V1)?.weight : undefined;
}

function endpointWeight(c: XdsClient): number | undefined {
  return (c.get(TYPE_URL.endpoint, V1) as EndpointsModel | undefined)?.localities[0]?.endpoints[0]?.weight;
}

function holds(c: XdsClient, e: Expectation): boolean {
  switch (e.kind) {
    case 'route': return routeWeight(c) === e.v1Weight;
    case 'endpoint': return endpointWeight(c) === e.weight;
    case 'cluster': return (c.get(TYPE_URL.cluster, e.name) as ClusterModel | undefined) !== undefined;
    case 'synced': return routeWeight(c) === e.v1Weight && endpointWeight(c) === e.weight;
  }
}

function arrival(c: XdsClient, e: Expectation, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    if (holds(c, e)) return resolve(now());
    const timer = setTimeout(() => { sub.dispose(); resolve(NaN); }, timeoutMs);
    const sub = c.on('update', () => {
      if (!holds(c, e)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(now());
    });
  });
}

/**
 * `delta`: the xDS protocol (undefined: the client's default). `endpoints`: ClusterLoadAssignments
 * watched besides V1 (a mesh client watches one per cluster it calls).
 */
function startClients(server: string | string[], first: number, count: number, delta: boolean | undefined, endpoints: readonly string[]): XdsClient[] {
  return Array.from({ length: count }, (_, i) => {
    const c = new XdsClient({ server, node: buildNode({ id: `bench-${first + i}`, cluster: 'bench' }), ...(delta !== undefined ? { delta } : {}) });
    c.watch(TYPE_URL.listener, ROUTE, { onChange() {} });
    c.watch(TYPE_URL.route, ROUTE, { onChange() {} });
    c.watch(TYPE_URL.cluster, '*', { onChange() {} });
    c.watch(TYPE_URL.endpoint, V1, { onChange() {} });
    for (const name of endpoints) c.watch(TYPE_URL.endpoint, name, { onChange() {} });
    return c;
  });
}

if (process.send) {
  let clients: XdsClient[] = [];
  process.on('message', async (msg: { cmd: string; server?: string | string[]; first?: number; count?: number; expect?: Expectation; id?: number; timeoutMs?: number; delta?: boolean; endpoints?: string[] }) => {
    if (msg.cmd === 'start') {
      clients = startClients(msg.server!, msg.first!, msg.count!, msg.delta, msg.endpoints ?? []);
      process.send!({ id: msg.id, ok: true });
    } else if (msg.cmd === 'expect') {
      // Armed before the parent applies the change; answers once every client has it.
      const pending = clients.map((c) => arrival(c, msg.expect!, msg.timeoutMs ?? 10_000));
      const cpu = process.cpuUsage();
      process.send!({ id: msg.id, armed: true });
      const arrivals = await Promise.all(pending);
      // CPU this worker spent until its last client had the change: robust to a busy machine,
      // unlike the latencies.
      const used = process.cpuUsage(cpu);
      process.send!({ id: msg.id, arrivals, cpuUs: used.user + used.system });
    } else if (msg.cmd === 'stop') {
      await Promise.all(clients.map((c) => c.close()));
      process.send!({ id: msg.id, ok: true }, () => process.exit(0));
    }
  });
}
