// How long a config change takes to reach N connected meshlet xDS clients, and how much server
// memory each connected client costs. The control server runs in its own process.
//
//   node --import tsx bench/xds-convergence.ts [--clients 100] [--changes 20]
import { parseArgs } from 'node:util';
import { XdsClient } from '../src/xds/ads-client.js';
import { buildNode } from '../src/xds/node.js';
import { TYPE_URL } from '../src/xds/type-urls.js';
import type { ClusterModel, EndpointsModel, RouteConfigModel } from '../src/xds/model.js';
import { startControlProcess, type ControlProcess } from './lib/control-process.js';
import { fmt, percentile } from './lib/stats.js';

const HOST = 'reviews.default.svc.cluster.local';
const ROUTE = `${HOST}:9080`;
const V1 = `outbound|9080|v1|${HOST}`;

function serviceEntry(weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: grpc, protocol: GRPC }]
  endpoints:
  - { address: 10.0.0.1, labels: { version: v1 }, weight: ${weight} }
  - { address: 10.0.0.2, labels: { version: v2 } }
  - { address: 10.0.0.3, labels: { version: v3 } }
`;
}

function destinationRule(extraSubsets: number): string {
  const extra = Array.from({ length: extraSubsets }, (_, i) => `  - { name: x${i}, labels: { version: v1 } }\n`).join('');
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
${extra}`;
}

function virtualService(v1Weight: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${v1Weight} }
    - { destination: { host: reviews, subset: v2 }, weight: ${100 - v1Weight} }
`;
}

interface Probe {
  /** Resolves with ms since `start` when this client has seen the change. */
  arrived: Promise<number>;
}

type Check = (client: XdsClient) => boolean;

/** Each client reports the first moment `check` holds after the change was applied. */
function probe(clients: XdsClient[], start: number, check: Check, timeoutMs: number): Probe[] {
  return clients.map((client) => ({
    arrived: new Promise<number>((resolve, reject) => {
      if (check(client)) return resolve(performance.now() - start);
      const timer = setTimeout(() => { sub.dispose(); reject(new Error('change did not arrive')); }, timeoutMs);
      const sub = client.on('update', () => {
        if (check(client)) {
          clearTimeout(timer);
          sub.dispose();
          resolve(performance.now() - start);
        }
      });
    }),
  }));
}

function routeWeight(client: XdsClient): number | undefined {
  const rc = client.get(TYPE_URL.route, ROUTE) as RouteConfigModel | undefined;
  const action = rc?.virtualHosts[0]?.routes[0]?.action;
  return action?.kind === 'weighted' ? action.clusters.find((c) => c.name === V1)?.weight : undefined;
}

function endpointWeight(client: XdsClient): number | undefined {
  const eds = client.get(TYPE_URL.endpoint, V1) as EndpointsModel | undefined;
  return eds?.localities[0]?.endpoints[0]?.weight;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, changes: { type: 'string' } } });
  const N = Number(values.clients ?? 100);
  const CHANGES = Number(values.changes ?? 20);
  const control: ControlProcess = await startControlProcess();
  const apply = (yaml: string) => control.admin('/apply', { method: 'POST', body: yaml });
  const clients: XdsClient[] = [];
  try {
    await apply(serviceEntry(1));
    await apply(destinationRule(0));
    await apply(virtualService(90));
    await new Promise((r) => setTimeout(r, 200));
    const idle = await control.admin<{ memory: NodeJS.MemoryUsage }>('/debug/process?gc=1');

    for (let i = 0; i < N; i++) {
      const client = new XdsClient({ server: `127.0.0.1:${control.xdsPort}`, node: buildNode({ id: `bench-${i}`, cluster: 'bench' }) });
      client.watch(TYPE_URL.listener, ROUTE, { onChange() {} });
      client.watch(TYPE_URL.route, ROUTE, { onChange() {} });
      client.watch(TYPE_URL.cluster, '*', { onChange() {} });
      client.watch(TYPE_URL.endpoint, V1, { onChange() {} });
      clients.push(client);
    }
    const synced = probe(clients, performance.now(), (c) => routeWeight(c) === 90 && endpointWeight(c) === 1, 60_000);
    await Promise.all(synced.map((p) => p.arrived));
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await control.admin<{ memory: NodeJS.MemoryUsage; clients: number }>('/debug/process?gc=1');

    const kinds: Array<{ kind: string; change: (i: number) => string; check: (i: number) => Check }> = [
      { kind: 'route weight', change: (i) => virtualService(10 + (i % 80)), check: (i) => (c) => routeWeight(c) === 10 + (i % 80) },
      { kind: 'endpoint', change: (i) => serviceEntry(2 + i), check: (i) => (c) => endpointWeight(c) === 2 + i },
      { kind: 'new cluster', change: (i) => destinationRule(i + 1), check: (i) => (c) => (c.get(TYPE_URL.cluster, `outbound|9080|x${i}|${HOST}`) as ClusterModel | undefined) !== undefined },
    ];
    const rows: string[][] = [];
    for (const { kind, change, check } of kinds) {
      const samples: number[] = [];
      for (let i = 0; i < CHANGES; i++) {
        const start = performance.now();
        const probes = probe(clients, start, check(i), 10_000);
        await apply(change(i));
        samples.push(...(await Promise.all(probes.map((p) => p.arrived))));
        await new Promise((r) => setTimeout(r, 50));
      }
      rows.push([kind, String(CHANGES), fmt(percentile(samples, 50)), fmt(percentile(samples, 99)), fmt(Math.max(...samples))]);
    }

    const perClientRss = (loaded.memory.rss - idle.memory.rss) / N / 1024;
    const perClientHeap = (loaded.memory.heapUsed - idle.memory.heapUsed) / N / 1024;
    console.log(`\nxDS convergence: ${N} meshlet xDS clients (one process) ← control server (own process), ${CHANGES} changes per kind`);
    console.log('change        | changes | p50 ms | p99 ms | max ms');
    for (const r of rows) console.log(`${r[0]!.padEnd(13)} | ${r[1]!.padStart(7)} | ${r[2]!.padStart(6)} | ${r[3]!.padStart(6)} | ${r[4]!.padStart(6)}`);
    console.log(`server memory per connected client: RSS ${fmt(perClientRss)} KiB, heap ${fmt(perClientHeap)} KiB (${loaded.clients} clients; idle RSS ${fmt(idle.memory.rss / 1048576)} MiB → ${fmt(loaded.memory.rss / 1048576)} MiB)`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await control.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
