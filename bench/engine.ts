// The engine's hot path on its own: pick() per balancer at 1,000 endpoints, a whole routed request
// (route + admit + pick + attempt bookkeeping), and the heap the engine holds for 100 endpoints
// and 50 routes. Config goes through the real pipeline (Istio YAML → translate → protobuf →
// our xDS decoders) so the engine sees exactly what a mesh would.
//
//   npm run bench:engine     (bundles with esbuild first: tsx's keep-names wrappers cost 5-20x here)
import { parseConfig } from '../src/config/index.js';
import { servicesFromConfig } from '../src/control/services.js';
import { translate } from '../src/control/translate/index.js';
import { createEngine } from '../src/core/index.js';
import { codecFor } from '../src/xds/resources/index.js';
import { messageNameOf, TYPE_URL } from '../src/xds/type-urls.js';
import { messageType } from '../src/xds/protos.js';
import type { ClusterModel, EndpointsModel, ListenerModel, RouteConfigModel } from '../src/core/model/index.js';
import { loadXxhash } from '../src/core/xxhash.js';

await loadXxhash();

const LB = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] as const;

function yaml(endpoints: number, routes: number): string {
  const eps = Array.from({ length: endpoints }, (_, i) => `  - { address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, labels: { version: v${i % 2} } }`).join('\n');
  const docs = [`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc }
spec:
  hosts: [svc.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  endpoints:
${eps}`];
  for (const lb of LB) {
    const host = `svc-${lb.toLowerCase().replace('_', '-')}.default.svc.cluster.local`;
    const policy = lb === 'RING_HASH' ? '{ consistentHash: { httpHeaderName: x-user, ringHash: { minimumRingSize: 1024 } } }'
      : lb === 'MAGLEV' ? '{ consistentHash: { httpHeaderName: x-user, maglev: { tableSize: 65537 } } }' : `{ simple: ${lb} }`;
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${lb.toLowerCase().replace('_', '-')} }
spec:
  hosts: [${host}]
  resolution: STATIC
  ports: [{ number: 8080, name: http, protocol: HTTP }]
  endpoints:
${eps}`, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${lb.toLowerCase().replace('_', '-')} }
spec:
  host: ${host}
  trafficPolicy:
    loadBalancer: ${policy}
    connectionPool: { tcp: { maxConnections: 100000 }, http: { http2MaxRequests: 100000 } }
    outlierDetection: { consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s }`);
  }
  const http = Array.from({ length: routes }, (_, i) => `  - match: [{ uri: { prefix: /api/${i}/ }, headers: { x-tenant: { exact: t${i} } } }]
    route: [{ destination: { host: svc, subset: v0 }, weight: 80 }, { destination: { host: svc, subset: v1 }, weight: 20 }]
    retries: { attempts: 3, perTryTimeout: 1s, retryOn: 5xx }
    timeout: 5s`).join('\n');
  docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc }
spec:
  host: svc
  subsets: [{ name: v0, labels: { version: v0 } }, { name: v1, labels: { version: v1 } }]`, `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc }
spec:
  hosts: [svc]
  http:
${http}
  - route: [{ destination: { host: svc, subset: v0 } }]`);
  return docs.join('\n---\n');
}

/** Istio YAML → the maps of validated models the mesh feeds its engine. */
function models(text: string) {
  const { resources, diagnostics } = parseConfig(text, 'bench.yaml');
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join('; '));
  const out = translate({ resources, services: servicesFromConfig(resources) });
  const maps = { listeners: new Map<string, ListenerModel>(), routes: new Map<string, RouteConfigModel>(), clusters: new Map<string, ClusterModel>(), endpoints: new Map<string, EndpointsModel>() };
  const target = { [TYPE_URL.listener]: maps.listeners, [TYPE_URL.route]: maps.routes, [TYPE_URL.cluster]: maps.clusters, [TYPE_URL.endpoint]: maps.endpoints } as Record<string, Map<string, unknown>>;
  for (const [typeUrl, list] of out) {
    const type = messageType(messageNameOf(typeUrl));
    const codec = codecFor(typeUrl)!;
    for (const r of list) {
      const result = codec.validate(codec.decode(type.encode(type.fromObject(r.message)).finish()));
      if (!result.ok) throw new Error(`${r.name}: ${result.errors.join('; ')}`);
      target[typeUrl]!.set(result.name, result.model);
    }
  }
  return maps;
}

function nsPer(iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  const engine = createEngine({ namespace: 'default' });
  engine.update(models(yaml(1000, 50)));
  const users = Array.from({ length: 1024 }, (_, i) => `user-${i}`);
  console.log('pick() at 1,000 endpoints (ns per call, median of 5 runs of 200k picks; goal ≤ 1,000 ns):');
  for (const lb of LB) {
    const host = `svc-${lb.toLowerCase().replace('_', '-')}`;
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      let i = 0;
      const result = engine.route({ method: 'GET', path: '/', host, port: 8080, headers: { 'x-user': users[i++ & 1023] } });
      if (result.kind !== 'forward') throw new Error(`${host}: ${result.kind}`);
      runs.push(nsPer(200_000, () => { result.plan.pick(); }));
    }
    console.log(`  ${lb.padEnd(13)} ${median(runs).toFixed(0).padStart(6)} ns  [${Math.min(...runs).toFixed(0)}–${Math.max(...runs).toFixed(0)}]`);
  }
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    runs.push(nsPer(100_000, (i) => {
      const result = engine.route({ method: 'GET', path: `/api/${i % 50}/items`, host: 'svc', port: 8080, headers: { 'x-tenant': `t${i % 50}` } });
      if (result.kind !== 'forward') throw new Error('no route');
      const ticket = result.plan.admit();
      const ep = result.plan.pick();
      if (ticket.ok && ep) {
        result.plan.startAttempt(ep);
        result.plan.endAttempt(ep, { kind: 'response', status: 200 });
        ticket.release();
      }
    }));
  }
  console.log(`whole routed request (50 routes, header + prefix match, weighted subsets, retry plan): ${median(runs).toFixed(0)} ns [${Math.min(...runs).toFixed(0)}–${Math.max(...runs).toFixed(0)}]`);

  // Heap the engine holds for 100 endpoints and 50 routes (the memory goal: ≤ 8 MB added).
  const small = models(yaml(100, 50));
  gc?.();
  const before = process.memoryUsage();
  const engines = Array.from({ length: 10 }, () => {
    const e = createEngine({ namespace: 'default' });
    e.update(small);
    return e;
  });
  gc?.();
  const after = process.memoryUsage();
  const perEngine = (after.heapUsed - before.heapUsed) / engines.length / 1024 / 1024;
  console.log(`engine heap with 100 endpoints × 6 services and 50 routes: ${perEngine.toFixed(2)} MiB per engine (10 engines; ${gc ? 'after gc' : 'run with --expose-gc for exact numbers'})`);
}

main();
